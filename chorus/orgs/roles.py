"""Roles and the permission matrix: the one place that says who may do what.

A role is granted on a workspace and inherited by all of its sub-workspaces. When a member
holds several roles along a branch, the strongest one applies.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MANAGER = "manager", _("Manager")
    EDITOR = "editor", _("Editor")
    CONTRIBUTOR = "contributor", _("Contributor")
    ANALYST = "analyst", _("Analyst")
    AMBASSADOR = "ambassador", _("Ambassador")


# Strength, used to pick the applying role along a branch and to cap API tokens.
ROLE_RANK: dict[str, int] = {
    Role.OWNER: 70,
    Role.ADMIN: 60,
    Role.MANAGER: 50,
    Role.EDITOR: 40,
    Role.CONTRIBUTOR: 30,
    Role.ANALYST: 20,
    Role.AMBASSADOR: 10,
}


class Action(models.TextChoices):
    VIEW_WORKSPACE = "workspace.view", _("See the workspace")
    VIEW_CONTENT = "content.view", _("See content, inbox, listening and analytics")
    CREATE_WORKSPACE = "workspace.create", _("Create sub-workspaces")
    UPDATE_WORKSPACE = "workspace.update", _("Rename and configure the workspace")
    DELETE_WORKSPACE = "workspace.delete", _("Delete the workspace")
    VIEW_MEMBERS = "members.view", _("See members")
    MANAGE_MEMBERS = "members.manage", _("Invite members and change roles")
    GRANT_OWNER = "members.grant_owner", _("Make someone an owner")
    VIEW_AUDIT = "audit.view", _("Read the audit log")
    WRITE_CONTENT = "content.write", _("Write and schedule posts without approval")
    PROPOSE_CONTENT = "content.propose", _("Propose posts for approval")
    APPROVE_CONTENT = "content.approve", _("Approve posts")
    SHARE_CONTENT = "content.share", _("Share approved content as an ambassador")


_EVERYONE = set(Role.values)
_STAFF = _EVERYONE - {Role.AMBASSADOR}

ROLE_MATRIX: dict[str, frozenset[str]] = {
    Action.VIEW_WORKSPACE: frozenset(_EVERYONE),
    Action.VIEW_CONTENT: frozenset(_STAFF),
    Action.CREATE_WORKSPACE: frozenset({Role.OWNER, Role.ADMIN}),
    Action.UPDATE_WORKSPACE: frozenset({Role.OWNER, Role.ADMIN}),
    Action.DELETE_WORKSPACE: frozenset({Role.OWNER}),
    Action.VIEW_MEMBERS: frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER}),
    Action.MANAGE_MEMBERS: frozenset({Role.OWNER, Role.ADMIN}),
    Action.GRANT_OWNER: frozenset({Role.OWNER}),
    Action.VIEW_AUDIT: frozenset({Role.OWNER, Role.ADMIN}),
    Action.WRITE_CONTENT: frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER, Role.EDITOR}),
    Action.PROPOSE_CONTENT: frozenset(
        {Role.OWNER, Role.ADMIN, Role.MANAGER, Role.EDITOR, Role.CONTRIBUTOR}
    ),
    Action.APPROVE_CONTENT: frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER}),
    Action.SHARE_CONTENT: frozenset(_EVERYONE - {Role.ANALYST}),
}


def role_allows(role: str | None, action: str) -> bool:
    return role is not None and role in ROLE_MATRIX[action]


def strongest(roles: list[str]) -> str | None:
    return max(roles, key=ROLE_RANK.__getitem__, default=None)


def capped(role: str | None, ceiling: str | None) -> str | None:
    """The role an API token acts with: the member's role, never above the token's ceiling."""
    if role is None or ceiling is None:
        return role
    return role if ROLE_RANK[role] <= ROLE_RANK[ceiling] else ceiling
