"""The queues page: each channel's weekly posting slots, which "Add to queue" fills in order."""

from __future__ import annotations

import zoneinfo
from datetime import time

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from chorus.channels.models import Channel
from chorus.channels.selectors import channels as visible_channels
from chorus.errors import Invalid, ServiceError
from chorus.orgs.access import Actor, get_scoped
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action
from chorus.publishing import slots
from chorus.publishing.models import PostingSlot
from chorus.web.shell import actor_of, workspace_page


def _editable_channels(actor: Actor, workspace: Workspace) -> list[Channel]:
    return list(
        visible_channels(actor, workspace)
        .filter(workspace_id__in=actor.workspace_ids(Action.WRITE_CONTENT))
        .exclude(status=Channel.Status.DISABLED)
        .prefetch_related("posting_slots")
    )


def _time(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise Invalid(_("Give a time such as 09:00."), fields={"time": _("Not a time.")}) from None


@workspace_page(Action.WRITE_CONTENT)
@require_http_methods(["GET", "POST"])
def queues(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    channels = _editable_channels(actor, workspace)
    if request.method == "POST":
        data = request.POST
        try:
            if "remove" in data:
                slot = get_scoped(
                    actor,
                    PostingSlot.objects.select_related("channel__workspace").filter(
                        channel__workspace__path__startswith=workspace.path
                    ),
                    data["remove"],
                    Action.WRITE_CONTENT,
                    workspace_field="channel__workspace",
                )
                slots.remove_slot(actor, slot)
                messages.success(request, _("The posting slot is removed."))
            else:
                channel = get_scoped(
                    actor,
                    Channel.objects.select_related("workspace").filter(
                        workspace__path__startswith=workspace.path
                    ),
                    data.get("channel", ""),
                    Action.WRITE_CONTENT,
                )
                weekdays = [int(day) for day in data.getlist("weekdays") if day.isdigit()]
                slots.add_slots(
                    actor, channel, weekdays, _time(data.get("time", "")), data.get("zone", "")
                )
                messages.success(request, _("The posting slots are added."))
        except ServiceError as exc:
            if exc.status in (403, 404):
                raise
            messages.error(request, exc.message)
        else:
            return redirect("publish-slots", slug=workspace.slug)
    return render(
        request,
        "publishing/queues.html",
        {
            "area": "publish",
            "section": "queues",
            "channels": channels,
            "weekdays": sorted(WEEKDAYS.items()),
            "zones": sorted(zoneinfo.available_timezones()),
            "default_zone": workspace.timezone,
        },
    )
