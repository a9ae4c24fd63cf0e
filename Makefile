# Two commands for a fresh clone: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test check lint format messages install

$(INSTALLED): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/chorus run

test: $(INSTALLED)
	bash scripts/test.sh

check: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the French catalogue after changing strings, then translate and commit it.
messages: $(INSTALLED)
	cd chorus && ../$(BIN)/chorus makemessages -l fr --no-obsolete --ignore "nlp/*" --ignore "networks/*"
	cd chorus && ../$(BIN)/chorus compilemessages -l fr
