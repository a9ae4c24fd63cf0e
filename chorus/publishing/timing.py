"""From what a person asks ("09:00 in Paris") to the UTC instant the ledger works with.

Rule for wall-clock times that a time-zone change makes odd (documented in the README):

- a time that does not exist (skipped when clocks go forward, e.g. 02:30 in Paris on the
  spring-forward day) is shifted forward by the gap: 02:30 becomes 03:30 local time;
- a time that happens twice (when clocks go back, e.g. 01:30 in New York on the fall-back
  day) is the first occurrence (daylight time, before the clocks go back).

Both are what ``zoneinfo`` does with ``fold=0``; ``local_instant`` says which case applied.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.utils.translation import gettext as _

from chorus.errors import Invalid


@dataclass(frozen=True)
class Instant:
    utc: datetime
    zone: str
    #: "" for an ordinary time, "shifted_forward" or "first_occurrence" for the odd ones.
    adjustment: str = ""


def zone_named(name: str, field: str = "timezone") -> zoneinfo.ZoneInfo:
    if name not in zoneinfo.available_timezones():
        raise Invalid(
            _("%(value)s is not an IANA time zone (for example: Europe/Paris).") % {"value": name},
            fields={field: _("Not an IANA time zone.")},
        )
    return zoneinfo.ZoneInfo(name)


def local_instant(value: datetime, zone_name: str, field: str = "scheduled_at") -> Instant:
    """The UTC instant of ``value``: as is when it carries an offset, else read in the zone."""
    zone = zone_named(zone_name)
    if value.tzinfo is not None and value.utcoffset() is not None:
        return Instant(value.astimezone(UTC), zone_name)
    first = value.replace(tzinfo=zone, fold=0)
    second = value.replace(tzinfo=zone, fold=1)
    adjustment = ""
    if first.utcoffset() != second.utcoffset():
        # Either the time is skipped (round trip changes it) or it happens twice.
        round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        adjustment = "shifted_forward" if round_trip != value else "first_occurrence"
    return Instant(first.astimezone(UTC), zone_name, adjustment)


def parse_when(text: str, zone_name: str, field: str = "scheduled_at") -> Instant:
    """An ISO 8601 date-time, with an offset or read in ``zone_name``."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(
            _("Give a date and time in ISO 8601, e.g. 2026-03-29T09:00:00+02:00."),
            fields={field: _("Not an ISO 8601 date-time.")},
        ) from None
    return local_instant(value, zone_name, field)


def moved(
    scheduled_at: datetime,
    schedule_zone: str,
    day: date,
    view_zone: str,
    hour: int | None = None,
) -> Instant:
    """Where a schedule lands when it is dropped on another ``day`` of a calendar shown in
    ``view_zone``.

    Dropped on a day, it moves by as many days and keeps its wall-clock time in the zone it was
    asked in: 09:00 in Paris stays 09:00 in Paris across a DST change, never 08:00 or 10:00.
    Dropped on an hour slot, it takes that hour (and keeps its minutes) in the view's zone.
    """
    view = zone_named(view_zone)
    shown = scheduled_at.astimezone(view)
    if hour is not None:
        target = local_instant(datetime.combine(day, time(hour, shown.minute)), view_zone)
        return Instant(target.utc, schedule_zone, target.adjustment)
    local = scheduled_at.astimezone(zone_named(schedule_zone))
    new_date = local.date() + (day - shown.date())
    return local_instant(datetime.combine(new_date, local.time()), schedule_zone)
