#!/usr/bin/env bash
# The whole suite, twice: SQLite + SQLite queue, then PostgreSQL + Redis queue.
# Extra arguments go to pytest (e.g. scripts/test.sh -k tenancy).
set -uo pipefail
cd "$(dirname "$0")/.."
# The Node tools of the local Bluesky network take minutes to build: keep them between runs.
export CHORUS_TOOLS_DIR=${CHORUS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chorus/tools}
bash scripts/test-setup.sh || exit 1

PG_URL=${CHORUS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/chorus}
REDIS_URL=${CHORUS_TEST_REDIS_URL:-redis://127.0.0.1:6379/14}
status=0

run_leg() {
  local name=$1; shift
  echo "=== test leg: $name"
  env "$@" .venv/bin/pytest "${PYTEST_ARGS[@]}"
  local code=$?
  # 5 means no test was collected: a suite that tests nothing has failed.
  if [ $code -ne 0 ]; then echo "=== leg $name failed (pytest exit $code)"; status=1; fi
}

PYTEST_ARGS=("$@")
rm -rf var/test-sqlite var/test-postgres
run_leg sqlite CHORUS_VAR_DIR="$PWD/var/test-sqlite" DATABASE_URL= QUEUE_URL=
run_leg postgres+redis CHORUS_VAR_DIR="$PWD/var/test-postgres" DATABASE_URL="$PG_URL" QUEUE_URL="$REDIS_URL"
exit $status
