"""A minimal iCalendar (RFC 5545) writer for the read-only calendar feed.

Text values are escaped (backslash, semicolon, comma, newline: section 3.3.11), times are
written in UTC (``…Z``), lines end with CRLF and are folded at 75 octets without cutting a
UTF-8 character in two (section 3.1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

LINE_OCTETS = 75


@dataclass(frozen=True)
class Event:
    uid: str
    start: datetime
    #: When the delivery last changed (LAST-MODIFIED).
    modified: datetime
    summary: str
    description: str
    url: str
    #: TENTATIVE (not yet approved or scheduled), CONFIRMED or CANCELLED.
    status: str = "CONFIRMED"


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """Splits a content line into chunks of at most 75 octets; each continuation starts with a
    space, which counts in its 75."""
    chunks: list[str] = []
    current, size, limit = "", 0, LINE_OCTETS
    for char in line:
        octets = len(char.encode())
        if size + octets > limit:
            chunks.append(current)
            current, size, limit = "", 0, LINE_OCTETS - 1
        current += char
        size += octets
    chunks.append(current)
    return "\r\n ".join(chunks)


def calendar(name: str, events: Iterable[Event], now: datetime) -> str:
    """The whole feed; ``now`` is its DTSTAMP (when this copy of the calendar was made)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Chorus//Publishing calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{utc(now)}",
            f"DTSTART:{utc(event.start)}",
            f"LAST-MODIFIED:{utc(event.modified)}",
            f"SUMMARY:{escape_text(event.summary)}",
            f"DESCRIPTION:{escape_text(event.description)}",
            f"STATUS:{event.status}",
        ]
        if event.url:
            lines.append(f"URL:{event.url}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
