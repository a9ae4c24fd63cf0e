"""The REST API as an integrator uses it: a workspace tree, members, tokens, audit, errors."""

from __future__ import annotations

import csv
import io

import pytest
from django.core import mail

from chorus.orgs.models import AuditEntry
from chorus.orgs.roles import Role
from tests.conftest import add_workspace, make_org, member, owner_of, token_for

pytestmark = pytest.mark.django_db


def test_an_owner_builds_a_workspace_tree_of_any_depth(api):
    root = make_org(slug="lumen")
    token = token_for(owner_of(root))
    parent = "lumen"
    for level, (slug, tz) in enumerate(
        [
            ("energy", "Europe/Paris"),
            ("france", "Europe/Paris"),
            ("normandy", "Europe/Paris"),
            ("plant-7", "Europe/Paris"),
        ],
        start=1,
    ):
        response = api(
            "post",
            "/workspaces",
            token=token,
            json={"parent": parent, "name": slug.title(), "slug": slug, "timezone": tz},
        )
        assert response.status_code == 201, response.content
        assert response.json()["depth"] == level
        assert response.json()["parent"] == parent
        parent = slug

    listed = api("get", "/workspaces", token=token).json()
    assert [ws["slug"] for ws in listed["items"]] == [
        "lumen",
        "energy",
        "france",
        "normandy",
        "plant-7",
    ]
    assert all(ws["role"] == "owner" for ws in listed["items"])


def test_a_sub_workspace_inherits_locale_and_zone_from_its_parent(api):
    root = make_org(slug="group")
    token = token_for(owner_of(root))
    api(
        "patch",
        "/workspaces/group",
        token=token,
        json={"timezone": "America/New_York", "default_locale": "fr"},
    )
    created = api(
        "post", "/workspaces", token=token, json={"parent": "group", "name": "US", "slug": "us"}
    ).json()
    assert (created["timezone"], created["default_locale"]) == ("America/New_York", "fr")


def test_validation_errors_name_each_field_in_one_envelope(api):
    root = make_org(slug="acme")
    response = api(
        "post",
        "/workspaces",
        token=token_for(owner_of(root)),
        json={"parent": "acme", "name": "Paris", "slug": "Not A Slug", "timezone": "Mars/Olympus"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert {field["path"] for field in error["fields"]} == {"slug", "timezone"}


def test_schema_errors_give_the_path_of_the_field(api):
    root = make_org(slug="acme")
    response = api(
        "post", "/workspaces", token=token_for(owner_of(root)), json={"parent": "acme", "slug": "x"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"in": "body", "path": "name", "message": "Field required"}
    ]


def test_a_taken_slug_is_a_conflict_and_nothing_is_written(api):
    root = make_org(slug="acme")
    token = token_for(owner_of(root))
    api(
        "post",
        "/workspaces",
        token=token,
        json={"parent": "acme", "name": "Paris", "slug": "paris"},
    )
    before = AuditEntry.objects.count()
    response = api(
        "post",
        "/workspaces",
        token=token,
        json={"parent": "acme", "name": "Paris again", "slug": "paris"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["fields"][0]["path"] == "slug"
    assert AuditEntry.objects.count() == before


def test_moving_a_branch_carries_its_sub_workspaces(api):
    root = make_org(slug="group")
    token = token_for(owner_of(root))
    for parent, slug in [
        ("group", "brand-a"),
        ("group", "brand-b"),
        ("brand-a", "france"),
        ("france", "lyon"),
    ]:
        api("post", "/workspaces", token=token, json={"parent": parent, "name": slug, "slug": slug})
    moved = api("patch", "/workspaces/france", token=token, json={"parent": "brand-b"})
    assert moved.status_code == 200, moved.content
    lyon = api("get", "/workspaces/lyon", token=token).json()
    assert (lyon["parent"], lyon["depth"]) == ("france", 3)
    cycle = api("patch", "/workspaces/brand-b", token=token, json={"parent": "lyon"})
    assert cycle.status_code == 422


def test_pages_of_a_long_list_follow_the_cursor(api):
    root = make_org(slug="acme")
    for index in range(7):
        add_workspace(root, slug=f"site-{index}")
    token = token_for(owner_of(root))
    seen, cursor = [], None
    while True:
        page = api(
            "get",
            "/workspaces",
            token=token,
            data={"limit": 3, **({"cursor": cursor} if cursor else {})},
        ).json()
        seen += [ws["slug"] for ws in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 8 and len(set(seen)) == 8
    bad = api("get", "/workspaces", token=token, data={"cursor": "garbage!"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["path"] == "cursor"


def test_a_token_limited_to_a_subtree_and_a_role_sees_and_does_only_that(api):
    root = make_org(slug="group")
    france = add_workspace(root, slug="france")
    add_workspace(root, slug="spain")
    token = token_for(owner_of(root), workspace=france, role_ceiling=Role.EDITOR)

    visible = [ws["slug"] for ws in api("get", "/workspaces", token=token).json()["items"]]
    assert visible == ["france"]
    assert api("get", "/workspaces/spain", token=token).status_code == 404
    creating = api(
        "post",
        "/workspaces",
        token=token,
        json={"parent": "france", "name": "Lyon", "slug": "lyon"},
    )
    assert creating.status_code == 403


def test_a_token_made_with_a_limited_token_cannot_reach_further(api):
    root = make_org(slug="group")
    france = add_workspace(root, slug="france")
    limited = token_for(owner_of(root), workspace=france, role_ceiling=Role.ANALYST)
    made = api(
        "post",
        "/tokens",
        token=limited,
        json={"name": "escalation attempt", "role_ceiling": "owner"},
    ).json()
    assert (made["workspace"], made["role_ceiling"]) == ("france", "analyst")


def test_revoked_and_made_up_tokens_are_refused(api):
    root = make_org()
    token = token_for(owner_of(root))
    token_id = api("get", "/tokens", token=token).json()["items"][0]["id"]
    assert api("post", f"/tokens/{token_id}/revoke", token=token).status_code == 200
    refused = api("get", "/me", token=token)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    assert api("get", "/me", token="chorus_abc_def").status_code == 401


def test_the_token_secret_is_shown_once_and_stored_hashed(api):
    root = make_org()
    token = token_for(owner_of(root))
    created = api("post", "/tokens", token=token, json={"name": "BI export"}).json()
    assert created["secret"].startswith("chorus_")
    listed = api("get", "/tokens", token=token).json()["items"]
    assert all("secret" not in item for item in listed)
    assert api("get", "/me", token=created["secret"]).status_code == 200
    from chorus.orgs.models import ApiToken

    assert created["secret"].split("_", 2)[2] not in {t.token_hash for t in ApiToken.objects.all()}


def test_members_are_listed_with_inherited_roles(api):
    root = make_org(slug="group")
    site = add_workspace(root, slug="site")
    member(site, Role.CONTRIBUTOR, email="local@example.org")
    rows = api("get", "/workspaces/site/members", token=token_for(owner_of(root))).json()
    assert {(row["email"], row["role"], row["inherited"]) for row in rows} == {
        (owner_of(root).email, "owner", True),
        ("local@example.org", "contributor", False),
    }


def test_the_last_owner_cannot_be_demoted(api):
    root = make_org(slug="group")
    owner = owner_of(root)
    membership_id = api("get", "/workspaces/group/members", token=token_for(owner)).json()[0]["id"]
    response = api(
        "patch", f"/members/{membership_id}", token=token_for(owner), json={"role": "admin"}
    )
    assert response.status_code == 422
    assert "owner" in response.json()["error"]["message"]


def test_an_admin_cannot_make_owners(api):
    root = make_org(slug="group")
    admin = member(root, Role.ADMIN)
    response = api(
        "post",
        "/workspaces/group/invitations",
        token=token_for(admin),
        json={"email": "x@example.org", "role": "owner"},
    )
    assert response.status_code == 403


def test_an_invitation_is_mailed_and_listed(api, django_capture_on_commit_callbacks):
    root = make_org(slug="group")
    with django_capture_on_commit_callbacks(execute=True):
        response = api(
            "post",
            "/workspaces/group/invitations",
            token=token_for(owner_of(root)),
            json={"email": "New.Person@Example.org", "role": "editor"},
        )
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert mail.outbox[-1].to == ["new.person@example.org"]
    assert "/invitations/" in mail.outbox[-1].body
    listed = api("get", "/workspaces/group/invitations", token=token_for(owner_of(root))).json()[
        "items"
    ]
    assert listed[0]["email"] == "new.person@example.org"


def test_every_change_is_in_the_audit_log_with_who_and_from_where(api):
    root = make_org(slug="group")
    token = token_for(owner_of(root))
    api(
        "post",
        "/workspaces",
        token=token,
        json={"parent": "group", "name": "Paris", "slug": "paris"},
        REMOTE_ADDR="203.0.113.9",
    )
    api(
        "post",
        "/workspaces/paris/invitations",
        token=token,
        json={"email": "a@example.org", "role": "editor"},
    )
    entries = api("get", "/audit", token=token, data={"workspace": "paris"}).json()["items"]
    assert [entry["action"] for entry in entries] == ["invitation.sent", "workspace.created"]
    created = entries[1]
    assert (created["actor"], created["ip_address"]) == (owner_of(root).email, "203.0.113.9")
    assert created["token"] is not None
    filtered = api("get", "/audit", token=token, data={"action": "invitation."}).json()["items"]
    assert [entry["action"] for entry in filtered] == ["invitation.sent"]


def test_the_audit_log_exports_as_csv_without_formula_injection(api):
    root = make_org(slug="group")
    token = token_for(owner_of(root))
    api(
        "post",
        "/workspaces",
        token=token,
        json={"parent": "group", "name": '=HYPERLINK("x")', "slug": "evil"},
    )
    response = api("get", "/audit.csv", token=token)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    created = next(row for row in rows if row["action"] == "workspace.created")
    assert created["target"].startswith("'=")


def test_unknown_api_routes_answer_in_the_envelope(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_openapi_document_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/workspaces" in schema["paths"]
    assert client.get("/api/v1/docs").status_code in {200, 302}
