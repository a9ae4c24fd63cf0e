"""Who the caller is and what they may reach: every read and write is scoped through here.

A member's role on a workspace is the strongest role they hold on it or on any ancestor.
An API token narrows that further: to its workspace subtree and under its role ceiling.
Anything outside the caller's view answers ``NotFound``, so ids of other tenants leak nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from chorus.errors import Forbidden, NotFound
from chorus.orgs.models import ApiToken, Membership, User, Workspace
from chorus.orgs.roles import Action, capped, role_allows, strongest

M = TypeVar("M", bound=models.Model)


@dataclass
class Actor:
    user: User
    token: ApiToken | None = None
    ip: str | None = None
    _roles: dict[int, str] | None = field(default=None, repr=False)

    @property
    def roles(self) -> dict[int, str]:
        """Workspace id -> the role that applies there, for every workspace in reach."""
        if self._roles is None:
            self._roles = _effective_roles(self)
        return self._roles

    def forget_roles(self) -> None:
        """Called after a change of memberships or of the tree during the same request."""
        self._roles = None

    def role_on(self, workspace: Workspace) -> str | None:
        return self.roles.get(workspace.pk)

    def can(self, action: str, workspace: Workspace) -> bool:
        return role_allows(self.role_on(workspace), action)

    def workspace_ids(self, action: str = Action.VIEW_WORKSPACE) -> set[int]:
        return {ws_id for ws_id, role in self.roles.items() if role_allows(role, action)}


def _effective_roles(actor: Actor) -> dict[int, str]:
    if not actor.user.is_active:
        return {}
    memberships = list(
        Membership.objects.filter(user=actor.user).values_list("workspace__path", "role")
    )
    if not memberships:
        return {}
    reach = models.Q()
    for path, _role in memberships:
        reach |= models.Q(path__startswith=path)
    candidates = Workspace.objects.filter(reach)
    if actor.token and actor.token.workspace is not None:
        candidates = candidates.filter(path__startswith=actor.token.workspace.path)
    ceiling = actor.token.role_ceiling if actor.token else None
    roles: dict[int, str] = {}
    for ws_id, path in candidates.values_list("id", "path"):
        held = [role for member_path, role in memberships if path.startswith(member_path)]
        role = capped(strongest(held), ceiling or None)
        if role:
            roles[ws_id] = role
    return roles


def require(actor: Actor, action: str, workspace: Workspace) -> None:
    """404 when the workspace is out of reach, 403 when it is visible but the role says no."""
    role = actor.role_on(workspace)
    if role is None:
        raise NotFound()
    if not role_allows(role, action):
        raise Forbidden()


def workspace_for(actor: Actor, key: str | int, action: str = Action.VIEW_WORKSPACE) -> Workspace:
    """Finds a workspace by slug or id within the actor's reach and checks the action."""
    lookup = {"pk": key} if isinstance(key, int) or str(key).isdigit() else {"slug": key}
    workspace = Workspace.objects.filter(**lookup, pk__in=actor.workspace_ids()).first()
    if workspace is None:
        raise NotFound()
    require(actor, action, workspace)
    return workspace


def scoped(
    actor: Actor,
    queryset: models.QuerySet[M],
    action: str = Action.VIEW_CONTENT,
    workspace_field: str = "workspace",
) -> models.QuerySet[M]:
    """Restricts a queryset of tenant-owned rows to the workspaces where the action is allowed."""
    return queryset.filter(**{f"{workspace_field}_id__in": actor.workspace_ids(action)})


def get_scoped(
    actor: Actor,
    queryset: models.QuerySet[M],
    pk: object,
    action: str = Action.VIEW_CONTENT,
    workspace_field: str = "workspace",
) -> M:
    """One tenant-owned row by id; NotFound if it does not exist or is out of reach."""
    try:
        return scoped(actor, queryset, action, workspace_field).get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def top_paths(actor: Actor, action: str) -> list[str]:
    """The smallest set of tree paths that covers every workspace where the action is allowed."""
    paths = sorted(
        Workspace.objects.filter(pk__in=actor.workspace_ids(action)).values_list("path", flat=True)
    )
    tops: list[str] = []
    for path in paths:
        if not any(path.startswith(top) for top in tops):
            tops.append(path)
    return tops
