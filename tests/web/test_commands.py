"""The ``chorus`` command as an operator runs it."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from chorus.orgs.models import ApiToken, Membership, Organisation, User, Workspace
from chorus.orgs.services import authenticate_token
from tests.conftest import add_workspace, make_org, owner_of

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_token_create_prints_only_the_token():
    root = make_org(slug="group")
    add_workspace(root, slug="france")
    printed = run(
        "token",
        "create",
        "--email",
        owner_of(root).email,
        "--workspace",
        "france",
        "--role",
        "analyst",
    )
    secret = printed.strip()
    assert printed == secret + "\n"
    token = authenticate_token(secret)
    assert token is not None and token.workspace is not None
    assert (token.workspace.slug, token.role_ceiling) == ("france", "analyst")


def test_token_create_for_an_unknown_person_says_so():
    with pytest.raises(CommandError, match=r"nobody@example\.org"):
        run("token", "create", "--email", "nobody@example.org")
    assert not ApiToken.objects.exists()


def test_createuser_owner_creates_the_organisation_when_there_is_none():
    run(
        "createuser",
        "--email",
        "Boss@Example.org",
        "--password",
        "a-long-enough-passphrase",
        "--owner",
    )
    boss = User.objects.get(email="boss@example.org")
    assert boss.check_password("a-long-enough-passphrase") and boss.is_superuser
    assert Membership.objects.get(user=boss).role == "owner"
    assert Organisation.objects.count() == 1


def test_createuser_refuses_a_weak_password_and_writes_nothing():
    with pytest.raises(CommandError, match="password"):
        run("createuser", "--email", "x@example.org", "--password", "123")
    assert not User.objects.filter(email="x@example.org").exists()


def test_demo_loads_a_group_with_every_role_once():
    printed = run("demo")
    assert "demo-chorus-2026" in printed
    organisation = Organisation.objects.get(is_demo=True)
    assert Workspace.objects.filter(organisation=organisation).count() >= 12
    assert set(
        Membership.objects.filter(workspace__organisation=organisation).values_list(
            "role", flat=True
        )
    ) == {
        "owner",
        "admin",
        "manager",
        "editor",
        "contributor",
        "analyst",
        "ambassador",
    }
    with pytest.raises(CommandError, match="already loaded"):
        run("demo")


def test_first_run_creates_an_owner_and_prints_a_generated_password(monkeypatch):
    from chorus.orgs.bootstrap import ensure_first_owner

    monkeypatch.delenv("CHORUS_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("CHORUS_ADMIN_PASSWORD", raising=False)
    created = ensure_first_owner()
    assert created is not None
    email, password = created
    assert password is not None and User.objects.get(email=email).check_password(password)
    assert ensure_first_owner() is None


def test_first_run_uses_the_configured_account_and_keeps_its_password_quiet(monkeypatch):
    from chorus.orgs.bootstrap import ensure_first_owner

    monkeypatch.setenv("CHORUS_ADMIN_EMAIL", "ops@example.org")
    monkeypatch.setenv("CHORUS_ADMIN_PASSWORD", "configured-passphrase")
    assert ensure_first_owner() == ("ops@example.org", None)
    assert User.objects.get(email="ops@example.org").check_password("configured-passphrase")
