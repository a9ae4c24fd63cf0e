"""Shared fixtures: small functions that build the organisation a scenario needs."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from django.test import Client

from chorus.jobs.queue import huey
from chorus.orgs import services
from chorus.orgs.access import Actor
from chorus.orgs.models import User, Workspace

pytest_plugins = [
    "tests.fixtures.bluesky",
    "tests.fixtures.mastodon",
    "tests.fixtures.browser",
    "tests.fixtures.workers",
    "tests.fixtures.chaos",
]

PASSWORD = "correct-horse-battery-staple"
_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _jobs_run_inline():
    """Jobs run inline unless a test starts a real worker (see tests/jobs)."""
    huey.immediate = True
    yield
    huey.immediate = False
    # The publishing ledger's threads (if a test started them) hold database connections.
    from chorus.publishing.ledger import shutdown_publisher

    shutdown_publisher()


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Real hashing costs a third of a second per account; tests create hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(email: str | None = None, password: str = PASSWORD) -> User:
    return User.objects.create_user(email or f"person{next(_counter)}@example.org", password)


def make_org(name: str = "Acme", slug: str | None = None, owner: User | None = None) -> Workspace:
    slug = slug or f"acme-{next(_counter)}"
    return services.create_organisation(owner=owner or make_user(), name=name, slug=slug)


def owner_of(workspace: Workspace) -> User:
    return workspace.memberships.filter(role="owner").earliest("id").user


def add_workspace(parent: Workspace, slug: str | None = None, **fields: str) -> Workspace:
    slug = slug or f"ws-{next(_counter)}"
    return services.create_workspace(
        Actor(owner_of(_root(parent))),
        parent=parent,
        name=fields.pop("name", slug.title()),
        slug=slug,
        **fields,
    )


def _root(workspace: Workspace) -> Workspace:
    return Workspace.objects.get(pk=workspace.ancestor_ids[0])


def member(workspace: Workspace, role: str, email: str | None = None) -> User:
    user = make_user(email)
    services.set_role(Actor(owner_of(_root(workspace))), workspace, user, role)
    return user


def token_for(user: User, **limits: object) -> str:
    _token, secret = services.create_token(Actor(user), name="test", **limits)  # type: ignore[arg-type]
    return secret


@pytest.fixture
def api(client: Client) -> Callable[..., object]:
    """Calls the API as the holder of ``token``: api("get", "/me", token=…, json=…)."""

    def call(method: str, path: str, *, token: str, json: object | None = None, **extra: object):
        kwargs: dict[str, object] = {"HTTP_AUTHORIZATION": f"Bearer {token}", **extra}
        if json is not None:
            kwargs.update(data=json, content_type="application/json")
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call
