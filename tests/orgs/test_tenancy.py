"""Every API route and every page keeps each organisation's data to itself, and each role can
do exactly what the role matrix says.

The route table below must list every API operation: a new route fails
``test_every_api_route_is_in_the_table`` until it is described here, so tenancy and role
checks cover it from its first day.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from chorus.api import api as ninja_api
from chorus.channels.models import Channel
from chorus.orgs import services
from chorus.orgs.access import Actor
from chorus.orgs.models import Invitation, Membership, User, Workspace
from chorus.orgs.roles import Action, Role, role_allows
from chorus.publishing.models import Campaign, MediaAsset, Post
from tests.conftest import add_workspace, make_org, make_user, member, owner_of, token_for
from tests.publishing.helpers import post_to, proposed_post
from tests.publishing.media_helpers import png_file

pytestmark = pytest.mark.django_db
_unique = itertools.count(1)


@dataclass
class Route:
    action: str | None  # None: the caller acts on their own things only (profile, own tokens)
    body: dict | None = None
    query: dict = field(default_factory=dict)
    #: {post_id} is the root's post to the workspace's channel (a market's copy to adapt).
    of_global_post: bool = False
    #: Sent as a multipart form with an image under "file".
    upload: bool = False


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/me"): Route(None),
    ("GET", "/workspaces"): Route(None),
    ("POST", "/workspaces"): Route(
        Action.CREATE_WORKSPACE, {"parent": "{workspace}", "name": "New", "slug": "{unique}"}
    ),
    ("GET", "/workspaces/{workspace}"): Route(Action.VIEW_WORKSPACE),
    ("PATCH", "/workspaces/{workspace}"): Route(Action.UPDATE_WORKSPACE, {"name": "Renamed"}),
    ("DELETE", "/workspaces/{workspace}"): Route(Action.DELETE_WORKSPACE),
    ("GET", "/workspaces/{workspace}/members"): Route(Action.VIEW_MEMBERS),
    ("PUT", "/workspaces/{workspace}/members"): Route(
        Action.MANAGE_MEMBERS, {"email": "{bystander}", "role": "editor"}
    ),
    ("PATCH", "/members/{membership_id}"): Route(Action.MANAGE_MEMBERS, {"role": "analyst"}),
    ("DELETE", "/members/{membership_id}"): Route(Action.MANAGE_MEMBERS),
    ("GET", "/workspaces/{workspace}/invitations"): Route(Action.VIEW_MEMBERS),
    ("POST", "/workspaces/{workspace}/invitations"): Route(
        Action.MANAGE_MEMBERS, {"email": "new-{unique}@example.org", "role": "editor"}
    ),
    ("POST", "/invitations/{invitation_id}/revoke"): Route(Action.MANAGE_MEMBERS),
    ("GET", "/tokens"): Route(None),
    ("POST", "/tokens"): Route(Action.VIEW_WORKSPACE, {"name": "ci", "workspace": "{workspace}"}),
    ("POST", "/tokens/{token_id}/revoke"): Route(None),
    ("GET", "/audit"): Route(Action.VIEW_AUDIT, query={"workspace": "{workspace}"}),
    ("GET", "/audit.csv"): Route(Action.VIEW_AUDIT, query={"workspace": "{workspace}"}),
    ("GET", "/channels"): Route(Action.VIEW_WORKSPACE, query={"workspace": "{workspace}"}),
    ("POST", "/channels"): Route(
        Action.UPDATE_WORKSPACE,
        {
            "network": "mastodon",
            "workspace": "{workspace}",
            "instance_url": "{mastodon_url}",
            "access_token": "{mastodon_token}",
        },
    ),
    ("GET", "/channels/{channel_id}"): Route(Action.VIEW_WORKSPACE),
    ("GET", "/listening/corrections"): Route(
        Action.VIEW_CONTENT, query={"workspace": "{workspace}"}
    ),
    ("POST", "/listening/corrections"): Route(
        Action.PROPOSE_CONTENT,
        {"workspace": "{workspace}", "text": "Trop bien", "task": "sentiment", "label": "positive"},
    ),
    ("POST", "/channels/{channel_id}/disconnect"): Route(Action.UPDATE_WORKSPACE),
    ("GET", "/posts"): Route(Action.VIEW_CONTENT, query={"workspace": "{workspace}"}),
    ("POST", "/posts"): Route(
        Action.PROPOSE_CONTENT,
        {
            "workspace": "{workspace}",
            "text": "Hello",
            "channels": ["{channel_id}"],
            "scheduled_at": "2030-01-01T09:00:00+01:00",
        },
    ),
    ("GET", "/posts/{post_id}"): Route(Action.VIEW_CONTENT),
    ("POST", "/posts/import"): Route(
        Action.PROPOSE_CONTENT,
        {"workspace": "{workspace}", "csv": "text,channels\nHello,{channel_id}\n"},
    ),
    ("GET", "/calendar"): Route(
        Action.VIEW_CONTENT,
        query={"workspace": "{workspace}", "start": "2030-01-01", "end": "2030-01-02"},
    ),
    ("POST", "/posts/{post_id}/approve"): Route(Action.APPROVE_CONTENT),
    ("POST", "/posts/{post_id}/reject"): Route(Action.APPROVE_CONTENT, {"note": "No"}),
    ("POST", "/posts/{post_id}/cancel"): Route(Action.WRITE_CONTENT),
    ("POST", "/posts/{post_id}/schedule"): Route(
        Action.WRITE_CONTENT, {"scheduled_at": "2030-01-02T09:00:00+01:00"}
    ),
    ("GET", "/deliveries"): Route(Action.VIEW_CONTENT, query={"post": "{post_id}"}),
    ("POST", "/deliveries/{delivery_id}/schedule"): Route(
        Action.WRITE_CONTENT, {"day": "2030-01-03"}
    ),
    ("GET", "/campaigns"): Route(Action.VIEW_CONTENT, query={"workspace": "{workspace}"}),
    ("POST", "/campaigns"): Route(
        Action.WRITE_CONTENT, {"workspace": "{workspace}", "name": "Summer"}
    ),
    ("GET", "/workspaces/{workspace}/approval-rule"): Route(Action.VIEW_CONTENT),
    ("PUT", "/workspaces/{workspace}/approval-rule"): Route(
        Action.UPDATE_WORKSPACE, {"required": True}
    ),
    ("POST", "/workspaces/{workspace}/pause"): Route(Action.APPROVE_CONTENT, {"reason": "crisis"}),
    ("GET", "/posts/{post_id}/markets"): Route(Action.VIEW_CONTENT),
    ("PUT", "/posts/{post_id}/markets/{workspace}/variant"): Route(
        Action.PROPOSE_CONTENT, {"text": "Adapted here", "adapted": True}, of_global_post=True
    ),
    ("POST", "/posts/{post_id}/markets/{workspace}/approve"): Route(Action.APPROVE_CONTENT),
    ("POST", "/posts/{post_id}/markets/{workspace}/reject"): Route(
        Action.APPROVE_CONTENT, {"note": "No"}
    ),
    ("GET", "/posts/{post_id}/comments"): Route(Action.VIEW_CONTENT),
    ("POST", "/posts/{post_id}/comments"): Route(
        Action.PROPOSE_CONTENT, {"text": "Say “summer”?", "workspace": "{workspace}"}
    ),
    ("POST", "/workspaces/{workspace}/resume"): Route(Action.APPROVE_CONTENT, {}),
    ("GET", "/media"): Route(Action.VIEW_CONTENT, query={"workspace": "{workspace}"}),
    ("POST", "/media"): Route(
        Action.PROPOSE_CONTENT, {"workspace": "{workspace}", "alt_text": "A dot"}, upload=True
    ),
    ("PATCH", "/media/{media_id}"): Route(Action.PROPOSE_CONTENT, {"alt_text": "A red dot"}),
    ("DELETE", "/media/{media_id}"): Route(Action.WRITE_CONTENT),
    ("PATCH", "/variants/{variant_id}"): Route(Action.WRITE_CONTENT, {"hashtags": ["summer"]}),
}


@dataclass
class Targets:
    """Objects a route can point at, all inside one (non-root) workspace."""

    workspace: Workspace
    membership: Membership
    invitation: Invitation
    token_id: int
    bystander: User
    channel: Channel
    mastodon: object | None = None  # the Mastodon fake, for routes that connect an account
    post: Post | None = None  # a contributor's post on ``channel``, awaiting approval
    global_post: Post | None = None  # the root's post on ``channel``, for the workspace to adapt
    media: MediaAsset | None = None  # an image of the workspace's media library

    def fill(self, text: str) -> str:
        return (
            text.replace("{workspace}", self.workspace.slug)
            .replace("{membership_id}", str(self.membership.pk))
            .replace("{invitation_id}", str(self.invitation.pk))
            .replace("{token_id}", str(self.token_id))
            .replace("{bystander}", self.bystander.email)
            .replace("{channel_id}", str(self.channel.pk))
            .replace("{post_id}", str(self.post.pk if self.post else ""))
            .replace("{delivery_id}", str(self.post.deliveries.get().pk if self.post else ""))
            .replace("{media_id}", str(self.media.pk if self.media else ""))
            .replace("{variant_id}", str(self.post.variants.get().pk if self.post else ""))
            .replace("{mastodon_url}", getattr(self.mastodon, "url", ""))
            .replace("{mastodon_token}", getattr(self.mastodon, "token", ""))
            .replace("{unique}", f"made-{next(_unique)}")
        )


def targets_in(workspace: Workspace, token_owner: User) -> Targets:
    root_owner = Actor(owner_of(Workspace.objects.get(pk=workspace.ancestor_ids[0])))
    someone = member(workspace, Role.EDITOR)
    invitation = services.invite(
        root_owner, workspace, email=f"guest-{next(_unique)}@example.org", role=Role.EDITOR
    )
    token, _secret = services.create_token(Actor(token_owner), name="target")
    targets = Targets(
        workspace=workspace,
        membership=someone.memberships.get(workspace=workspace),
        invitation=invitation,
        token_id=token.pk,
        bystander=make_user(),
        channel=Channel.objects.create(
            workspace=workspace,
            network="bluesky",
            remote_id=f"did:plc:{next(_unique)}",
            handle="brand.test",
            credentials_ciphertext="",
        ),
    )
    targets.post = proposed_post(workspace, targets.channel, datetime(2030, 1, 1, 8, tzinfo=UTC))
    targets.media = MediaAsset.objects.create(
        workspace=workspace,
        name="dot.png",
        stored_as=f"tenancy/{next(_unique)}.png",
        mime_type="image/png",
        kind=MediaAsset.Kind.IMAGE,
        size=1,
        alt_text="A dot",
    )
    targets.global_post = post_to(
        root_owner.user,
        Workspace.objects.get(pk=workspace.ancestor_ids[0]),
        [targets.channel],
        datetime(2030, 1, 1, 8, tzinfo=UTC),
        adapt=True,
    )
    return targets


def call(client, method: str, path: str, route: Route, targets: Targets, secret: str):
    if route.of_global_post and targets.global_post:
        path = path.replace("{post_id}", str(targets.global_post.pk))
    url = "/api/v1" + targets.fill(path)
    query = {key: targets.fill(value) for key, value in route.query.items()}
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    body = json.loads(targets.fill(json.dumps(route.body or {})))
    if route.upload:
        return client.post(url, {**body, "file": png_file()}, HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client.generic(
        method,
        url,
        data=json.dumps(body) if route.body is not None else "",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


def test_every_api_route_is_in_the_table():
    schema = ninja_api.get_openapi_schema()
    served = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in schema["paths"].items()
        for method in operations
    }
    assert served == set(ROUTES), "describe new API routes in ROUTES (tenancy and role checks)"


@pytest.mark.parametrize(("method", "path"), list(ROUTES), ids=[f"{m} {p}" for m, p in ROUTES])
def test_another_organisations_objects_answer_404(client, method, path):
    mine = make_org()
    me = owner_of(mine)
    theirs = add_workspace(make_org())
    secret = token_for(me)
    route = ROUTES[(method, path)]
    response = call(client, method, path, route, targets_in(theirs, make_user()), secret)
    if "{" in path or (route.body and "{workspace}" in str(route.body.values())) or route.query:
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "not_found"
    else:
        assert response.status_code < 400
        assert theirs.slug.encode() not in response.content


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize(("method", "path"), list(ROUTES), ids=[f"{m} {p}" for m, p in ROUTES])
def test_each_role_can_do_exactly_what_the_matrix_says(request, client, role, method, path):
    root = make_org()
    team = add_workspace(root)
    person = member(root, role)  # inherited by ``team``, where the targets live
    route = ROUTES[(method, path)]
    targets = targets_in(team, person)
    if "{mastodon_url}" in str(route.body):
        targets.mastodon = request.getfixturevalue("mastodon_server")
    response = call(client, method, path, route, targets, token_for(person))
    allowed = route.action is None or role_allows(role, route.action)
    if allowed:
        assert response.status_code < 400, (role, response.content)
    else:
        assert response.status_code == 403, (role, response.status_code, response.content)
        assert response.json()["error"]["code"] == "forbidden"


# Pages --------------------------------------------------------------------------------------


def _page_patterns(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, str]]:
    """(name, route) of every named page, however deeply included."""
    found = []
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if getattr(pattern, "namespace", None) in {"admin", "api"}:
                continue
            found += _page_patterns(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and pattern.name:
            found.append((pattern.name, prefix + str(pattern.pattern)))
    return found


PAGE_ARGS = {
    "slug",
    "channel_id",
    "network",
    "membership_id",
    "invitation_id",
    "token_id",
    "area",
    "secret",
    "uidb64",
    "token",
    "post_id",
    "delivery_id",
    "media_id",
    "variant_id",
    "campaign_id",
    "grant",
    # A signed public media link (tests/publishing/test_media_links.py): the token is the
    # permission, for anyone; the file name is decoration.
    "filename",
}


def test_every_page_parameter_is_known():
    for name, route in _page_patterns():
        names = set(re.findall(r"<(?:\w+:)?(\w+)>", route))
        assert names <= PAGE_ARGS, f"page {name} takes {names - PAGE_ARGS}: add a tenancy case"


@pytest.mark.parametrize(
    "name", sorted({name for name, route in _page_patterns() if "slug" in route or "_id" in route})
)
def test_pages_of_another_organisation_answer_404(client, name):
    mine = make_org()
    client.force_login(owner_of(mine))
    theirs_root = make_org()
    theirs = add_workspace(theirs_root)
    targets = targets_in(theirs, owner_of(theirs_root))
    kwargs = {
        "slug": theirs.slug,
        "membership_id": targets.membership.pk,
        "invitation_id": targets.invitation.pk,
        "token_id": targets.token_id,
        "channel_id": targets.channel.pk,
        "area": "publish",
        "grant": "a-grant-of-theirs",
        "post_id": targets.post.pk if targets.post else 0,
        "delivery_id": targets.post.deliveries.get().pk if targets.post else 0,
        "media_id": targets.media.pk if targets.media else 0,
        "variant_id": targets.post.variants.get().pk if targets.post else 0,
        "campaign_id": Campaign.objects.create(workspace=theirs, name="Theirs").pk,
    }
    route = dict(_page_patterns())[name]
    wanted = {key: value for key, value in kwargs.items() if key in route}
    url = _reverse_with_any_network(name, wanted)
    assert client.get(url).status_code in {404, 405}, url  # 405: a POST-only action
    assert client.post(url).status_code == 404, url
    if "slug" in wanted and any(key.endswith("_id") for key in wanted):
        # Own workspace in the address, another organisation's object in it: still 404.
        wanted["slug"] = mine.slug
        assert client.post(_reverse_with_any_network(name, wanted)).status_code == 404


def _reverse_with_any_network(name: str, kwargs: dict) -> str:
    """Reverses a page URL, picking a network its pattern accepts when it takes one."""
    if "network" not in dict(_page_patterns())[name]:
        return reverse(name, kwargs=kwargs)
    for network in ("bluesky", "x"):
        try:
            return reverse(name, kwargs={**kwargs, "network": network})
        except NoReverseMatch:
            continue
    raise AssertionError(f"no known network fits the page {name}")
