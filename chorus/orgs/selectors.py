"""Reads on organisations, scoped to what the actor may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models

from chorus.errors import NotFound
from chorus.orgs.access import Actor, get_scoped, require, top_paths
from chorus.orgs.models import ApiToken, AuditEntry, Invitation, Membership, Workspace
from chorus.orgs.roles import Action


def workspaces(actor: Actor) -> models.QuerySet[Workspace]:
    """Every workspace the actor can see, in tree order (parents before children)."""
    return Workspace.objects.filter(pk__in=actor.workspace_ids()).select_related("organisation")


@dataclass(frozen=True)
class MemberRow:
    membership: Membership
    inherited_from: Workspace | None  # set when the role is granted on an ancestor


def members(actor: Actor, workspace: Workspace) -> list[MemberRow]:
    """Who holds a role here: granted on this workspace, or inherited from an ancestor."""
    require(actor, Action.VIEW_MEMBERS, workspace)
    rows = (
        Membership.objects.filter(workspace_id__in=workspace.ancestor_ids)
        .select_related("user", "workspace")
        .order_by("workspace__depth", "user__email")
    )
    return [
        MemberRow(row, None if row.workspace_id == workspace.pk else row.workspace) for row in rows
    ]


def membership(actor: Actor, membership_id: int) -> Membership:
    # Scoped by what the actor sees; what they may do with it is the service's check (403).
    return get_scoped(
        actor,
        Membership.objects.select_related("user", "workspace"),
        membership_id,
        Action.VIEW_WORKSPACE,
    )


def invitations(actor: Actor, workspace: Workspace) -> models.QuerySet[Invitation]:
    require(actor, Action.VIEW_MEMBERS, workspace)
    return (
        Invitation.objects.filter(workspace=workspace).select_related("invited_by").order_by("-id")
    )


def invitation(actor: Actor, invitation_id: int) -> Invitation:
    return get_scoped(
        actor, Invitation.objects.select_related("workspace"), invitation_id, Action.VIEW_WORKSPACE
    )


def tokens(actor: Actor) -> models.QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=actor.user).select_related("workspace").order_by("-id")


def token(actor: Actor, token_id: int) -> ApiToken:
    found = tokens(actor).filter(pk=token_id).first() if str(token_id).isdigit() else None
    if found is None:
        raise NotFound()
    return found


@dataclass(frozen=True)
class AuditFilter:
    workspace: Workspace | None = None  # its whole subtree
    action: str = ""
    actor_email: str = ""
    since: datetime | None = None
    until: datetime | None = None


def audit_entries(actor: Actor, filters: AuditFilter) -> models.QuerySet[AuditEntry]:
    """Audit entries of the subtrees where the actor may read the log, newest first."""
    if filters.workspace is not None:
        require(actor, Action.VIEW_AUDIT, filters.workspace)
        reach = models.Q(workspace_path__startswith=filters.workspace.path)
    else:
        paths = top_paths(actor, Action.VIEW_AUDIT)
        if not paths:
            return AuditEntry.objects.none()
        reach = models.Q()
        for path in paths:
            reach |= models.Q(workspace_path__startswith=path)
    entries = AuditEntry.objects.filter(reach)
    if filters.action:
        entries = entries.filter(action__startswith=filters.action)
    if filters.actor_email:
        entries = entries.filter(actor_email__icontains=filters.actor_email)
    if filters.since:
        entries = entries.filter(created_at__gte=filters.since)
    if filters.until:
        entries = entries.filter(created_at__lt=filters.until)
    return entries.select_related("workspace").order_by("-id")
