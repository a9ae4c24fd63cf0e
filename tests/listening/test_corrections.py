"""People correct the models' readings in a workspace; its own models then learn from them."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from chorus.listening.models import LabelCorrection
from chorus.nlp import Analyzer
from chorus.orgs.roles import Role
from tests.conftest import add_workspace, make_org, member, owner_of, token_for

pytestmark = pytest.mark.django_db

TEXT = "La centrale est tranquille ce week-end, rien à signaler"


def test_a_correction_is_recorded_and_audited(api):
    root = make_org(slug="energy")
    token = token_for(owner_of(root))
    response = api(
        "post",
        "/listening/corrections",
        token=token,
        json={
            "workspace": "energy",
            "text": TEXT,
            "task": "sentiment",
            "label": "positive",
            "predicted": "neutral",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["label"] == "positive"
    audit = api("get", "/audit", token=token, data={"action": "nlp."}).json()["items"]
    assert audit[0]["action"] == "nlp.label_corrected"


def test_an_unknown_label_names_the_field_and_the_choices(api):
    root = make_org(slug="energy")
    response = api(
        "post",
        "/listening/corrections",
        token=token_for(owner_of(root)),
        json={"workspace": "energy", "text": TEXT, "task": "emotion", "label": "optimism"},
    )
    assert response.status_code == 422
    field = response.json()["error"]["fields"][0]
    assert field["path"] == "label" and "anger" in field["message"]
    assert not LabelCorrection.objects.exists()


def test_analysts_cannot_correct(api):
    root = make_org(slug="energy")
    analyst = member(root, Role.ANALYST)
    response = api(
        "post",
        "/listening/corrections",
        token=token_for(analyst),
        json={"workspace": "energy", "text": TEXT, "task": "sentiment", "label": "positive"},
    )
    assert response.status_code == 403


def test_training_a_workspace_uses_its_corrections_and_those_of_its_parents(
    api, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    root = make_org(slug="energy")
    plant = add_workspace(root, slug="plant")
    token = token_for(owner_of(root))
    for workspace, text in (("energy", TEXT), ("plant", "Tranquille à la centrale, tout roule")):
        api(
            "post",
            "/listening/corrections",
            token=token,
            json={"workspace": workspace, "text": text, "task": "sentiment", "label": "positive"},
        )

    call_command("nlp", "train", "--workspace", plant.slug)

    heads = tmp_path / "nlp" / "workspaces" / "plant"
    assert Analyzer(workspace_dir=heads).analyze([TEXT])[0]["sentiment"] == "positive"


def test_training_without_corrections_says_so():
    root = make_org(slug="energy")
    with pytest.raises(CommandError, match="no label correction"):
        call_command("nlp", "train", "--workspace", root.slug)
