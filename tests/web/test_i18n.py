"""French is a first-class language: every string is translated and the compiled catalogue is current."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.utils import translation

from tests.conftest import make_org, owner_of

CATALOGUE = (
    Path(__file__).resolve().parents[2] / "chorus" / "locale" / "fr" / "LC_MESSAGES" / "django.po"
)


def test_every_string_has_a_french_translation():
    untranslated = [entry.msgid for entry in polib.pofile(str(CATALOGUE)) if not entry.translated()]
    assert untranslated == []


def test_the_compiled_catalogue_matches_the_translations():
    with translation.override("fr"):
        stale = [
            entry.msgid
            for entry in polib.pofile(str(CATALOGUE))
            if entry.msgstr
            and not entry.msgid_plural
            and translation.gettext(entry.msgid) != entry.msgstr
        ]
    assert stale == [], "run `make messages` and commit chorus/locale"


@pytest.mark.django_db
def test_pages_answer_in_the_language_chosen(client):
    root = make_org(slug="groupe")
    client.force_login(owner_of(root))
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    page = client.get("/w/groupe/").content.decode()
    assert "Vue d’ensemble" in page and "Réglages" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Overview" in client.get("/w/groupe/").content.decode()
