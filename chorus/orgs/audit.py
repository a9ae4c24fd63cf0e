"""The audit log writer. Services call ``record`` for every change that matters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

from chorus.orgs.models import AuditEntry, Workspace

if TYPE_CHECKING:
    from chorus.orgs.access import Actor


def record(
    actor: Actor | None,
    action: str,
    *,
    workspace: Workspace | None,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    made = entry(actor, action, workspace=workspace, target=target, details=details)
    made.save(force_insert=True)
    return made


def entry(
    actor: Actor | None,
    action: str,
    *,
    workspace: Workspace | None,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """An entry not yet saved, for writers that save many at once (``bulk_create``)."""
    return AuditEntry(
        organisation_id=workspace.organisation_id if workspace else None,
        workspace=workspace,
        workspace_path=workspace.path if workspace else "",
        actor=actor.user if actor else None,
        actor_email=actor.user.email if actor else "",
        token=actor.token if actor else None,
        ip_address=actor.ip if actor else None,
        action=action,
        target_type=(target._meta.model_name or "") if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        details=details or {},
    )
