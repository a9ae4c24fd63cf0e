"""The composer: write the master once, adapt it in per-network and per-locale tabs, pick media
from the library, and see every network's preview, live counter and errors before saving.

The form posts the master's fields under plain names (``text``, ``hashtags``, ``link_url``,
``media``, ``first_comment``, ``thread``…) and each tab's overrides under the tab's key
(``net-bluesky-text``, ``loc-fr-media``…); the live preview posts the whole form to ``check``,
which applies the same inheritance as the services.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chorus.channels.models import Channel
from chorus.channels.selectors import channels as visible_channels
from chorus.errors import ServiceError
from chorus.networks.base import Capability, ValidationIssue
from chorus.networks.registry import NETWORKS
from chorus.networks.validation import DEFAULT_LIMITS
from chorus.orgs.access import Actor
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action
from chorus.publishing import media, selectors, services
from chorus.publishing.forms import ComposeForm
from chorus.publishing.models import MediaAsset, Post
from chorus.publishing.timing import local_instant
from chorus.web.shell import actor_of, workspace_page


@dataclass(frozen=True)
class Tab:
    """One variant being edited: a network ("net-x") or a locale ("loc-fr")."""

    key: str
    label: str
    network: str = ""
    locale: str = ""

    @property
    def threads(self) -> bool:
        return not self.network or Capability.THREADS in NETWORKS[self.network].capabilities

    @property
    def first_comment(self) -> bool:
        return not self.network or Capability.FIRST_COMMENT in NETWORKS[self.network].capabilities


def _channel_choices(actor: Actor, workspace: Workspace) -> list[Channel]:
    return list(
        visible_channels(actor, workspace)
        .filter(workspace_id__in=actor.workspace_ids(Action.PROPOSE_CONTENT))
        .exclude(status=Channel.Status.DISABLED)
        .select_related("workspace")
    )


def _tabs(channels: list[Channel]) -> list[Tab]:
    """A tab per network of the channels, and per locale when their markets speak several."""
    networks = sorted({channel.network for channel in channels if channel.network in NETWORKS})
    tabs = [Tab(f"net-{slug}", NETWORKS[slug].display_name, network=slug) for slug in networks]
    locales = sorted({channel.workspace.default_locale for channel in channels})
    if len(locales) > 1:
        tabs += [Tab(f"loc-{locale}", locale.upper(), locale=locale) for locale in locales]
    return tabs


def _networks_of(channels: list[Channel]) -> list[str]:
    """The networks the post can go to here (every network while no channel is connected)."""
    return [slug for slug in NETWORKS if any(c.network == slug for c in channels)] or list(NETWORKS)


def _words(value: str) -> list[str]:
    return [word for word in value.replace(",", " ").split() if word]


def _ids(values: list[str]) -> list[int]:
    return [int(value) for value in values if value.isdigit()]


def _spec(data: QueryDict, prefix: str = "", tab: Tab | None = None) -> services.VariantSpec:
    """The master's fields (no prefix) or a tab's overrides, as the form sent them."""
    return services.VariantSpec(
        network=tab.network if tab else "",
        locale=tab.locale if tab else "",
        text=data.get(prefix + "text", ""),
        media=_ids(data.getlist(prefix + "media")),
        link={
            "url": data.get(prefix + "link_url", ""),
            "title": data.get(prefix + "link_title", ""),
            "description": data.get(prefix + "link_description", ""),
        },
        hashtags=_words(data.get(prefix + "hashtags", "")),
        first_comment=data.get(prefix + "first_comment", ""),
        thread=[part for part in data.getlist(prefix + "thread") if part.strip()],
    )


def _is_empty(spec: services.VariantSpec) -> bool:
    return not (
        spec.text.strip()
        or spec.media
        or any(value.strip() for value in spec.link.values())
        or spec.hashtags
        or spec.first_comment.strip()
        or spec.thread
    )


def _editable(actor: Actor, library: list[MediaAsset]) -> set[int]:
    """Items whose alt text the actor may change (those of their own workspaces)."""
    return {item.pk for item in library if actor.can(Action.PROPOSE_CONTENT, item.workspace)}


def _save_alt_texts(actor: Actor, data: QueryDict, library: list[MediaAsset]) -> None:
    """Alt text typed next to a picked item updates the library (where the actor may)."""
    editable = _editable(actor, library)
    for item in library:
        typed = data.get(f"alt-{item.pk}")
        if typed is not None and typed.strip() != item.alt_text and item.pk in editable:
            media.update_alt_text(actor, item, typed)


@workspace_page(Action.PROPOSE_CONTENT)
def compose(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    channels = _channel_choices(actor, workspace)
    tabs = _tabs(channels)
    library = list(media.library(actor, workspace))
    campaigns = {c.pk: c for c in selectors.campaigns_applying_to(workspace).order_by("name")}
    form = ComposeForm(
        request.POST or None,
        channels=[(c.pk, f"{c} · {c.workspace.name}") for c in channels],
        campaigns=[(pk, c.name) for pk, c in campaigns.items()],
        initial={"timezone": workspace.timezone},
    )
    problems: dict[str, str] = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _save_alt_texts(actor, request.POST, library)
            when = (
                local_instant(data["scheduled_at"].replace(tzinfo=None), data["timezone"])
                if data["scheduled_at"]
                else None
            )
            master = _spec(request.POST)
            variants = [_spec(request.POST, f"{tab.key}-", tab) for tab in tabs]
            post = services.create_post(
                actor,
                workspace,
                text=master.text,
                channels=data["channels"],
                when=when,
                timezone_name=data["timezone"],
                campaign=campaigns.get(data["campaign"]) if data["campaign"] else None,
                variants=[spec for spec in variants if not _is_empty(spec)],
                media=master.media,
                link=master.link,
                hashtags=master.hashtags,
                first_comment=master.first_comment,
                thread=master.thread,
                locked_fields=request.POST.getlist("locked_fields"),
                mandatory_mention=request.POST.get("mandatory_mention", ""),
                send_as_is=request.POST.get("send_as_is") == "on",
                publish_now=data["when"] == "now",
                queue=data["when"] == "queue",
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
            problems = exc.fields
        else:
            messages.success(request, _("The post is saved."))
            for warning in selectors.duplicate_warnings(post):
                messages.warning(request, warning)
            return redirect("publish", slug=workspace.slug)
    posted = request.POST
    return render(
        request,
        "publishing/compose.html",
        {
            "area": "publish",
            "form": form,
            "problems": sorted(problems.items()),
            "tabs": [
                {
                    "tab": tab,
                    "text": posted.get(f"{tab.key}-text", ""),
                    "hashtags": posted.get(f"{tab.key}-hashtags", ""),
                    "link_url": posted.get(f"{tab.key}-link_url", ""),
                    "first_comment": posted.get(f"{tab.key}-first_comment", ""),
                    "thread": [p for p in posted.getlist(f"{tab.key}-thread") if p.strip()],
                    "media": set(_ids(posted.getlist(f"{tab.key}-media"))),
                }
                for tab in tabs
            ],
            "master": {
                "hashtags": posted.get("hashtags", ""),
                "link_url": posted.get("link_url", ""),
                "link_title": posted.get("link_title", ""),
                "link_description": posted.get("link_description", ""),
                "first_comment": posted.get("first_comment", ""),
                "thread": [p for p in posted.getlist("thread") if p.strip()],
                "media": set(_ids(posted.getlist("media"))),
                "locked_fields": posted.getlist("locked_fields"),
                "mandatory_mention": posted.get("mandatory_mention", ""),
            },
            "library": library,
            # Channels of sub-workspaces (markets): the post may go to them as it is.
            "market_channels": [c.pk for c in channels if c.workspace_id != workspace.pk],
            "send_as_is": posted.get("send_as_is") == "on",
            "editable_media": _editable(actor, library),
            "lockable": [(name, services.field_label(name)) for name in Post.LOCKABLE_FIELDS],
            "counts": _rows(services.Fields(), _networks_of(channels)),
            "first_comment_networks": ", ".join(
                info.display_name
                for info in NETWORKS.values()
                if Capability.FIRST_COMMENT in info.capabilities
            ),
            "thread_networks": ", ".join(
                info.display_name
                for info in NETWORKS.values()
                if Capability.THREADS in info.capabilities
            ),
        },
    )


def _rows(
    fields: services.Fields, networks: Iterable[str], locale: str = ""
) -> list[dict[str, object]]:
    """Per network: the text's length counted its way (thread parts too), and every rule the
    content breaks there."""
    rows = []
    for slug in networks:
        limits = DEFAULT_LIMITS[slug]
        content = services.build_content(fields, locale=locale, network=slug)
        rows.append(
            {
                "network": NETWORKS[slug].display_name,
                "count": limits.count_text(content.text),
                "limit": limits.text_length,
                "unit": limits.text_unit,
                "issues": [
                    _describe(issue)
                    for issue in services.validate_for_network(slug, content)
                    if fields.text or issue.where != "text"
                ],
                "parts": [
                    {"count": count, "over": count > limits.text_length}
                    for count in (limits.count_text(part.text) for part in content.thread)
                ],
            }
        )
    return rows


def _describe(issue: ValidationIssue) -> str:
    """The issue, with the part of the content it is about when it is not the main text."""
    described = services.describe_issue(issue)
    part = re.match(r"thread\[(\d+)\]", issue.where)
    if part:
        where = _("Part %(number)s") % {"number": int(part.group(1)) + 2}
    elif issue.where != "text":
        where = issue.where
    else:
        return described
    return f"{where} — {described}"


@workspace_page(Action.PROPOSE_CONTENT)
@require_POST
def check(request: HttpRequest) -> HttpResponse:
    """The live preview of the master (every network) or of one tab (its network or locale),
    with the same inheritance and rules as saving: lengths, media, alt text, thread parts."""
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    key = request.POST.get("tab", "")
    channels = _channel_choices(actor, workspace)
    tab = next((t for t in _tabs(channels) if t.key == key), None)
    problems: dict[str, str] = {}
    typed = {
        int(name.removeprefix("alt-")): request.POST.get(name, "")
        for name in request.POST
        if name.startswith("alt-") and name.removeprefix("alt-").isdigit()
    }
    variant_id = request.POST.get("variant", "")
    if variant_id:  # the variant page: its own fields over the saved master
        variant = selectors.variant(actor, variant_id, Action.WRITE_CONTENT)
        tab = Tab("", "", variant.network, variant.locale)
        master = services.stored_fields(variant.post)
        own = services.resolve_fields(
            actor, variant.workspace, _spec(request.POST), "", problems, typed
        )
        fields, mention = own.over(master), variant.post.mandatory_mention
    else:
        master = services.resolve_fields(actor, workspace, _spec(request.POST), "", problems, typed)
        fields, mention = master, request.POST.get("mandatory_mention", "").strip()
        if tab is not None:
            own = services.resolve_fields(
                actor, workspace, _spec(request.POST, f"{tab.key}-", tab), "", problems, typed
            )
            fields = own.over(master)
    networks = [tab.network] if tab and tab.network else _networks_of(channels)
    problems.update(services.mention_errors(mention, fields.text, "text"))
    return render(
        request,
        "publishing/_counts.html",
        {
            "counts": _rows(fields, networks, tab.locale if tab else ""),
            "tab": tab,
            "preview": fields if tab is not None else None,
            "preview_text": services.text_with_hashtags(fields.text, fields.hashtags),
            "problems": sorted(problems.items()),
        },
    )


@workspace_page(Action.WRITE_CONTENT)
def edit_variant(request: HttpRequest, variant_id: int) -> HttpResponse:
    """One variant's own fields over the master's; what HQ locked is shown, not editable,
    to the markets (the services refuse it anyway)."""
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    variant = selectors.variant(actor, variant_id, Action.WRITE_CONTENT)
    if variant.workspace_id != workspace.pk:
        # A variant is edited in its own workspace, whose library it draws from.
        return redirect("variant-edit", slug=variant.workspace.slug, variant_id=variant.pk)
    post = variant.post
    problems: dict[str, str] = {}
    library = list(media.library(actor, variant.workspace))
    if request.method == "POST":
        try:
            _save_alt_texts(actor, request.POST, library)
            services.update_variant(actor, variant, _spec(request.POST))
        except ServiceError as exc:
            if exc.status in (403, 404):
                raise
            messages.error(request, exc.message)
            problems = exc.fields
        else:
            messages.success(request, _("The variant is saved."))
            return redirect("variant-edit", slug=workspace.slug, variant_id=variant.pk)
    own = services.stored_fields(post, variant)
    posted = request.POST if request.method == "POST" else None
    locked = set(post.locked_fields) if services.bound_by_locks(actor, post) else set()
    # The networks it goes to decide whether a first comment and a thread make sense here.
    networks = {variant.network} - {""} or set(
        variant.deliveries.values_list("channel__network", flat=True)
    )
    capabilities = [NETWORKS[slug].capabilities for slug in networks if slug in NETWORKS]
    return render(
        request,
        "publishing/variant.html",
        {
            "area": "publish",
            "variant": variant,
            "post": post,
            "master": services.stored_fields(post),
            "label": variant.network or variant.locale or "*",
            "first_comment": not capabilities
            or any(Capability.FIRST_COMMENT in c for c in capabilities),
            "threads": not capabilities or any(Capability.THREADS in c for c in capabilities),
            "own": {
                "text": posted.get("text", "") if posted else own.text,
                "hashtags": posted.get("hashtags", "") if posted else " ".join(own.hashtags),
                "link": {
                    key: posted.get(f"link_{key}", "") if posted else own.link.get(key, "")
                    for key in ("url", "title", "description")
                },
                "media": set(_ids(posted.getlist("media")))
                if posted
                else {i.pk for i in own.media},
                "first_comment": posted.get("first_comment", "") if posted else own.first_comment,
                "thread": [p for p in posted.getlist("thread") if p.strip()]
                if posted
                else list(own.thread),
            },
            "locked": locked,
            "locked_labels": [services.field_label(name) for name in post.locked_fields],
            "library": library,
            "editable_media": _editable(actor, library),
            "problems": sorted(problems.items()),
        },
    )
