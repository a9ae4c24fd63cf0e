"""Approval requests by e-mail: each approver gets approve / reject links that work once.

A link carries a random secret (only its hash is stored) bound to one approver and to one
post's approval in one workspace. It lands on a confirmation page: looking at it (GET) never
changes anything, the decision is a POST with the CSRF token, and only the approver, logged
in, can make it — a forwarded or leaked e-mail, or a mail scanner opening its links, cannot
approve anything. A link expires after ``LINK_LIFETIME``, is spent once used, and every open
link of that approval is closed as soon as someone decides (the next step gets new links).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from chorus.errors import Conflict, Invalid, NotFound
from chorus.orgs import audit
from chorus.orgs.access import Actor
from chorus.orgs.models import Membership, Workspace
from chorus.orgs.roles import ROLE_MATRIX, ROLE_RANK, Action
from chorus.publishing.models import Approval, DecisionLink, Post, Variant

LINK_LIFETIME = timedelta(days=3)


class Decision:
    APPROVE = "approve"
    REJECT = "reject"
    CHOICES = (APPROVE, REJECT)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _writers(post: Post, scope: Workspace) -> set[int]:
    """Who wrote the words to approve: they are never asked to approve them."""
    adapters = Variant.objects.filter(post=post, workspace=scope, adapted_by__isnull=False)
    return {post.author_id or 0} | set(adapters.values_list("adapted_by_id", flat=True))


def approvers_for_next_step(post: Post, scope: Workspace) -> list[Membership]:
    """People who may sign the next approval step of the post in ``scope``: named in the step,
    or strong enough for it; never among its writers, nor one who signed an earlier step."""
    from chorus.publishing.services import approval_tiers

    tiers = approval_tiers(scope)
    signed = list(
        Approval.objects.filter(post=post, workspace=scope).values_list("approver_id", flat=True)
    )
    tier = tiers[min(len(signed), len(tiers) - 1)]
    approvers = ROLE_MATRIX[Action.APPROVE_CONTENT]
    if isinstance(tier, dict):
        candidates = Membership.objects.filter(user_id__in=tier["members"], role__in=approvers)
    else:
        roles = [role for role in approvers if ROLE_RANK[role] >= ROLE_RANK[tier]]
        candidates = Membership.objects.filter(role__in=roles)
    excluded = _writers(post, scope) | set(signed)
    found: dict[int, Membership] = {}
    for membership in (
        candidates.select_related("user")
        .filter(workspace_id__in=scope.ancestor_ids, user__is_active=True)
        .exclude(user_id__in=excluded)
        .order_by("user_id")
    ):
        found.setdefault(membership.user_id, membership)
    return list(found.values())


def close_links(post: Post, scope: Workspace) -> None:
    """Someone decided: the other approvers' links of this step stop working."""
    DecisionLink.objects.filter(post=post, workspace=scope, used_at__isnull=True).update(
        used_at=timezone.now()
    )


def request_approval(post: Post, scope: Workspace) -> int:
    """E-mails the approvers of the next step their approve / reject links (once the
    transaction commits). Returns how many were asked."""
    close_links(post, scope)
    now = timezone.now()
    messages = []
    for membership in approvers_for_next_step(post, scope):
        secret = secrets.token_urlsafe(32)
        DecisionLink.objects.create(
            workspace=scope,
            post=post,
            approver=membership.user,
            secret_hash=_hash(secret),
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
        messages.append((membership.user, secret))
    market_page = settings.PUBLIC_URL + reverse(
        "post-markets", kwargs={"slug": scope.slug, "post_id": post.pk}
    )
    text = _text_for(post, scope)

    def send() -> None:
        for user, secret in messages:
            link = settings.PUBLIC_URL + reverse("approval-link", kwargs={"token": secret})
            with override(user.language or scope.default_locale):
                subject = _("Approval needed: a post for %(workspace)s") % {"workspace": scope.name}
                body = _(
                    "A post for %(workspace)s awaits your approval:\n\n%(text)s\n\n"
                    "Approve it: %(approve)s\nReject it: %(reject)s\n\n"
                    "Each link works once, for you only, after you log in; it expires in "
                    "%(days)s days. Every market of the post: %(page)s"
                ) % {
                    "workspace": scope.name,
                    "text": text[:1000],
                    "approve": f"{link}?decision={Decision.APPROVE}",
                    "reject": f"{link}?decision={Decision.REJECT}",
                    "days": LINK_LIFETIME.days,
                    "page": market_page,
                }
            send_mail(subject, body, None, [user.email])

    transaction.on_commit(send)
    return len(messages)


def _text_for(post: Post, scope: Workspace) -> str:
    local = Variant.objects.filter(post=post, workspace=scope).exclude(workspace=post.workspace)
    variant = local.first()
    return variant.effective_text if variant else post.text


@dataclass(frozen=True)
class OpenLink:
    link: DecisionLink
    text: str


def open_link(actor: Actor, secret: str) -> OpenLink:
    """The link's request, for its approver only (404 for anyone else or an unknown link);
    a spent or expired link is refused (409)."""
    link = (
        DecisionLink.objects.select_related("post__workspace", "post__author", "workspace")
        .filter(secret_hash=_hash(secret), approver=actor.user)
        .first()
    )
    if link is None:
        raise NotFound()
    if link.used_at is not None:
        raise Conflict(_("This link was already used, or the post was decided meanwhile."))
    if link.expires_at <= timezone.now():
        raise Conflict(_("This link has expired: decide from the post's page."))
    return OpenLink(link, _text_for(link.post, link.workspace))


@transaction.atomic
def decide(actor: Actor, secret: str, decision: str, note: str = "") -> DecisionLink:
    """Approves or rejects what the link asks about, as its approver, with the same rules as
    from the page or the API; the link is spent even if nothing is left to decide."""
    from chorus.publishing import services

    if decision not in Decision.CHOICES:
        raise Invalid(
            _("decision must be one of: %(choices)s.") % {"choices": ", ".join(Decision.CHOICES)},
            fields={"decision": _("Unknown choice.")},
        )
    link = open_link(actor, secret).link
    spent = DecisionLink.objects.filter(Q(pk=link.pk) & Q(used_at__isnull=True)).update(
        used_at=timezone.now()
    )
    if not spent:  # another request used it between the read and now
        raise Conflict(_("This link was already used, or the post was decided meanwhile."))
    if decision == Decision.APPROVE:
        services.approve(actor, link.post, link.workspace)
    else:
        services.reject(actor, link.post, note, link.workspace)
    audit.record(
        actor,
        "post.decided_by_email",
        workspace=link.workspace,
        target=link.post,
        details={"decision": decision, "link": link.pk},
    )
    return link
