"""The publishing calendar (month and week, filters, drag to reschedule), its iCal feed and CSV
export, and the bulk CSV import page."""

from __future__ import annotations

import calendar as month_calendar
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from chorus.channels.models import Channel
from chorus.errors import Invalid, ServiceError
from chorus.networks.base import web_address
from chorus.networks.registry import NETWORKS
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action
from chorus.publishing import exports, selectors, services
from chorus.publishing.models import Delivery
from chorus.publishing.timing import local_instant, zone_named
from chorus.web.shell import actor_of, workspace_page

#: Dates the calendar navigates within (the edges of ``date`` would overflow).
YEARS_SHOWN = (1970, 2999)
FEED_DAYS_BEFORE, FEED_DAYS_AFTER = 90, 366


@dataclass
class Chip:
    delivery: Delivery
    local: datetime
    network: str
    excerpt: str
    movable: bool
    #: The post on its network, when it is a plain http(s) address (it comes from the network).
    remote_url: str


@dataclass
class Day:
    date: date
    in_range: bool
    is_today: bool
    chips: list[Chip] = field(default_factory=list)


@dataclass(frozen=True)
class View:
    """What the calendar shows, all read from (and kept in) the query string."""

    mode: str  # "month" or "week"
    anchor: date
    zone: str
    filters: selectors.CalendarFilter

    @property
    def first(self) -> date:
        if self.mode == "week":
            return self.anchor - timedelta(days=self.anchor.weekday())
        start = self.anchor.replace(day=1)
        return start - timedelta(days=start.weekday())

    @property
    def days(self) -> int:
        if self.mode == "week":
            return 7
        last = self.anchor.replace(day=month_calendar.monthrange(*self._year_month)[1])
        return (last - self.first).days + 7 - last.weekday()

    @property
    def _year_month(self) -> tuple[int, int]:
        return self.anchor.year, self.anchor.month

    def shifted(self, step: int) -> date:
        if self.mode == "week":
            return self.anchor + timedelta(weeks=step)
        month = self.anchor.month - 1 + step
        return date(self.anchor.year + month // 12, month % 12 + 1, 1)

    def in_range(self, day: date) -> bool:
        return self.mode == "week" or day.month == self.anchor.month

    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants the view covers: local midnights, so a DST day is 23 or 25 hours."""
        zone = zoneinfo.ZoneInfo(self.zone)
        start = datetime.combine(self.first, time(), zone)
        end = datetime.combine(self.first + timedelta(days=self.days), time(), zone)
        return start, end


def _subtree(request: HttpRequest) -> list[Workspace]:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    return list(
        Workspace.objects.filter(
            path__startswith=workspace.path, pk__in=actor.workspace_ids(Action.VIEW_CONTENT)
        ).order_by("path")
    )


def _view_of(request: HttpRequest, subtree: list[Workspace]) -> View:
    workspace = request.workspace  # type: ignore[attr-defined]
    query = request.GET
    zone = query.get("tz", "")
    if zone not in zoneinfo.available_timezones():
        zone = workspace.timezone
    try:
        anchor = date.fromisoformat(query.get("date", ""))
    except ValueError:
        anchor = None
    if anchor is None or not YEARS_SHOWN[0] <= anchor.year <= YEARS_SHOWN[1]:
        anchor = timezone.now().astimezone(zoneinfo.ZoneInfo(zone)).date()
    campaign = query.get("campaign", "")
    return View(
        mode="week" if query.get("view") == "week" else "month",
        anchor=anchor,
        zone=zone,
        filters=selectors.CalendarFilter(
            workspace=next((ws for ws in subtree if ws.slug == query.get("workspace")), None),
            network=query.get("network", "") if query.get("network") in NETWORKS else "",
            campaign=int(campaign) if campaign.isdigit() else None,
            label=query.get("label", "").strip(),
            state=query.get("state", "") if query.get("state") in Delivery.State.values else "",
        ),
    )


def _deliveries(request: HttpRequest, view: View) -> list[Delivery]:
    start, end = view.bounds()
    return selectors.calendar_deliveries(
        actor_of(request),
        request.workspace,  # type: ignore[attr-defined]
        start,
        end,
        view.filters,
    )


def _query(request: HttpRequest, **changes: str) -> str:
    """The current query string with some parameters changed (empty: removed)."""
    query = request.GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value:
            query[key] = value
    return query.urlencode()


@workspace_page(Action.VIEW_CONTENT)
@require_GET
def calendar(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    subtree = _subtree(request)
    view = _view_of(request, subtree)
    zone = zoneinfo.ZoneInfo(view.zone)
    today = timezone.now().astimezone(zone).date()
    days = [
        Day(day, view.in_range(day), day == today)
        for day in (view.first + timedelta(days=n) for n in range(view.days))
    ]
    by_date = {day.date: day for day in days}
    for delivery in _deliveries(request, view):
        assert delivery.scheduled_at is not None
        local = delivery.scheduled_at.astimezone(zone)
        by_date[local.date()].chips.append(
            Chip(
                delivery=delivery,
                local=local,
                network=exports.network_name(delivery.channel.network),
                excerpt=delivery.variant.effective_text,
                movable=delivery.state in services.EDITABLE
                and actor.can(Action.WRITE_CONTENT, delivery.post.workspace),
                remote_url=web_address(delivery.remote_url),
            )
        )
    hours = [
        {
            "hour": hour,
            "cells": [(day, [c for c in day.chips if c.local.hour == hour]) for day in days],
        }
        for hour in range(24)
    ]
    feed = selectors.calendar_feed(workspace)
    return render(
        request,
        "publishing/calendar.html",
        {
            "area": "publish",
            "section": "calendar",
            "view": view,
            "weeks": [days[i : i + 7] for i in range(0, len(days), 7)],
            "days": days,
            "hours": hours,
            "subtree": subtree,
            "networks": [(slug, info.display_name) for slug, info in NETWORKS.items()],
            "campaigns": list(selectors.campaigns(actor, workspace).order_by("name")),
            "labels": selectors.calendar_labels(actor, workspace),
            "states": Delivery.State.choices,
            "zones": sorted(zoneinfo.available_timezones()),
            "previous": _query(request, date=view.shifted(-1).isoformat()),
            "next": _query(request, date=view.shifted(1).isoformat()),
            "today": _query(request, date=""),
            "as_month": _query(request, view="month"),
            "as_week": _query(request, view="week"),
            "export": _query(request),
            "here": request.get_full_path(),
            "feed": feed,
            "can_manage_feed": actor.can(Action.APPROVE_CONTENT, workspace),
        },
    )


@workspace_page(Action.VIEW_CONTENT)
@require_GET
def calendar_export(request: HttpRequest) -> HttpResponse:
    """The deliveries of the calendar as shown (same range and filters) as CSV."""
    workspace = request.workspace  # type: ignore[attr-defined]
    view = _view_of(request, _subtree(request))
    response = HttpResponse(
        exports.calendar_csv(_deliveries(request, view), view.zone),
        content_type="text/csv; charset=utf-8",
    )
    name = f"{workspace.slug}-calendar-{view.first.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _next(request: HttpRequest) -> str:
    """The calendar address the person came from (same view and filters), if it is local."""
    target = request.POST.get("next") or request.GET.get("next", "")
    allowed = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=False)
    return target if allowed and target.startswith("/") else ""


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(
        _next(request) or reverse("publish-calendar", kwargs={"slug": request.workspace.slug})  # type: ignore[attr-defined]
    )


@workspace_page(Action.VIEW_CONTENT)
def move_delivery(request: HttpRequest, delivery_id: int) -> HttpResponse:
    """A chip dropped on a day or an hour (``day``, ``hour``, ``tz``), or the form that does the
    same without a mouse (``scheduled_at`` and ``timezone``)."""
    actor = actor_of(request)
    delivery = selectors.delivery(actor, delivery_id)
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("day"):
                hour = request.POST.get("hour", "")
                services.move_delivery(
                    actor,
                    delivery,
                    _day(request.POST["day"]),
                    request.POST.get("tz", "") or delivery.schedule_zone,
                    int(hour) if hour.isdigit() else None,
                )
            else:
                zone = request.POST.get("timezone", "") or delivery.schedule_zone
                zone_named(zone)
                services.reschedule_delivery(
                    actor, delivery, local_instant(_local(request.POST.get("scheduled_at")), zone)
                )
        except ServiceError as exc:
            if exc.status in (403, 404):
                raise
            error = exc.message
            if request.POST.get("day"):
                messages.error(request, error)
                return _back(request)
        else:
            messages.success(request, _("The delivery is rescheduled."))
            return _back(request)
    local = (
        delivery.scheduled_at.astimezone(zoneinfo.ZoneInfo(delivery.schedule_zone))
        if delivery.scheduled_at
        else None
    )
    return render(
        request,
        "publishing/move_delivery.html",
        {
            "area": "publish",
            "section": "calendar",
            "delivery": delivery,
            "network": exports.network_name(delivery.channel.network),
            "local": local,
            "zones": sorted(zoneinfo.available_timezones()),
            "error": error,
            "next": _next(request),
        },
        status=422 if error else 200,
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(_("Not a date."), fields={"day": _("YYYY-MM-DD.")}) from None


def _local(text: str | None) -> datetime:
    try:
        return datetime.fromisoformat((text or "").strip()).replace(tzinfo=None)
    except ValueError:
        raise Invalid(
            _("Give a date and a time."), fields={"scheduled_at": _("YYYY-MM-DDTHH:MM.")}
        ) from None


@workspace_page(Action.APPROVE_CONTENT)
@require_POST
def calendar_feed(request: HttpRequest) -> HttpResponse:
    """Makes, rotates or revokes the secret iCal address; a new address is shown only now."""
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    if request.POST.get("action") == "revoke":
        try:
            services.revoke_calendar_feed(actor, workspace)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The calendar feed is revoked: its address stops working."))
        return _back(request)
    secret = services.rotate_calendar_feed(actor, workspace)
    return render(
        request,
        "publishing/calendar_feed.html",
        {
            "area": "publish",
            "section": "calendar",
            "feed_url": request.build_absolute_uri(
                reverse("calendar-feed-ics", kwargs={"secret": secret})
            ),
            "back": _next(request),
        },
    )


@require_GET
def calendar_feed_ics(request: HttpRequest, secret: str) -> HttpResponse:
    """The read-only iCal feed: no login, the secret address is the key; 404 once rotated."""
    workspace = selectors.feed_workspace(secret)
    if workspace is None:
        raise Http404
    now = timezone.now()
    deliveries = selectors.feed_deliveries(
        workspace, now - timedelta(days=FEED_DAYS_BEFORE), now + timedelta(days=FEED_DAYS_AFTER)
    )
    page = request.build_absolute_uri(reverse("publish-calendar", kwargs={"slug": workspace.slug}))
    response = HttpResponse(
        exports.ical_feed(workspace, deliveries, page, request.get_host().split(":")[0]),
        content_type="text/calendar; charset=utf-8",
    )
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response


# Bulk import ----------------------------------------------------------------------------------


@workspace_page(Action.PROPOSE_CONTENT)
def import_posts(request: HttpRequest) -> HttpResponse:
    """Upload → every row checked → a report by row and column; nothing is written unless
    every row is valid or the person ticked "skip the invalid rows"."""
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    report, problem, csv_text = None, "", ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            csv_text = upload.read().decode("utf-8-sig") if upload else request.POST.get("csv", "")
        except UnicodeDecodeError:
            problem = _("The file is not UTF-8 text: save it as “CSV UTF-8”.")
        skip = request.POST.get("skip_invalid") == "on"
        if not problem:
            try:
                report = services.run_import(
                    actor,
                    workspace,
                    csv_text,
                    skip_invalid=skip,
                    dry_run=request.POST.get("action") == "check",
                )
            except Invalid as exc:
                problem = " ".join([exc.message, *exc.fields.values()])
        if report is not None and report.created:
            messages.success(
                request,
                _("%(created)s posts imported, %(skipped)s invalid rows skipped.")
                % {"created": len(report.created), "skipped": len(report.invalid_lines)},
            )
            return redirect("publish", slug=workspace.slug)
    return render(
        request,
        "publishing/import.html",
        {
            "area": "publish",
            "section": "import",
            "report": report,
            "problem": problem,
            "csv_text": csv_text,
            "checked_only": request.POST.get("action") == "check",
            "columns": services.IMPORT_COLUMNS,
        },
        status=422 if problem or (report and report.errors) else 200,
    )


@workspace_page(Action.PROPOSE_CONTENT)
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    """A CSV to fill in: the columns, and example rows on a channel of the workspace."""
    workspace = request.workspace  # type: ignore[attr-defined]
    channel = (
        Channel.objects.filter(workspace__path__startswith=workspace.path)
        .exclude(status=Channel.Status.DISABLED)
        .order_by("pk")
        .first()
    )
    handle = channel.handle if channel else "brand.bsky.social"
    next_year = timezone.now().year + 1
    rows = [
        ",".join(services.IMPORT_COLUMNS),
        f'"Our spring menu is out!",{handle},{next_year}-03-29T09:00,Europe/Paris,,product',
        f'"Summer, at last",{handle},{next_year}-06-01 09:00 America/New_York,,,season;summer',
    ]
    response = HttpResponse("\r\n".join(rows) + "\r\n", content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="chorus-import-template.csv"'
    return response
