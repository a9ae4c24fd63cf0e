from __future__ import annotations

from django.http import HttpRequest

from chorus.channels.selectors import needing_reconnection
from chorus.orgs import selectors
from chorus.orgs.roles import Action, Role
from chorus.publishing.services import active_pause
from chorus.web.shell import actor_of


def shell(request: HttpRequest) -> dict[str, object]:
    """The workspace switcher, navigation and demo banner of the page frame."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    actor = actor_of(request)
    workspace = getattr(request, "workspace", None)
    context: dict[str, object] = {
        "switcher": list(selectors.workspaces(actor)),
        "current_workspace": workspace,
    }
    if workspace is not None:
        context.update(
            current_role=actor.role_on(workspace),
            current_role_label=Role(actor.role_on(workspace) or Role.AMBASSADOR).label,
            is_demo=workspace.organisation.is_demo,
            can_manage_members=actor.can(Action.VIEW_MEMBERS, workspace),
            can_view_audit=actor.can(Action.VIEW_AUDIT, workspace),
            channels_to_reconnect=needing_reconnection(actor, workspace),
            crisis_pause=active_pause(workspace),
            can_configure=actor.can(Action.UPDATE_WORKSPACE, workspace)
            or actor.can(Action.CREATE_WORKSPACE, workspace),
        )
    return context
