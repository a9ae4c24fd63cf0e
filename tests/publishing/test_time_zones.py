"""Schedules land on the right UTC instant, whatever the clocks do that day.

Rule: a local time skipped by a spring-forward change is shifted forward by the gap; a local
time that happens twice on a fall-back day is its first occurrence.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chorus.errors import Invalid
from chorus.publishing.timing import parse_when


def test_a_time_skipped_by_the_spring_forward_change_is_shifted_forward():
    # Paris, 29 March 2026: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    instant = parse_when("2026-03-29T02:30", "Europe/Paris")
    assert instant.utc == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # = 03:30 CEST
    assert instant.adjustment == "shifted_forward"


def test_a_time_repeated_by_the_fall_back_change_is_its_first_occurrence():
    # New York, 1 November 2026: 02:00 EDT goes back to 01:00 EST; 01:30 happens twice.
    instant = parse_when("2026-11-01T01:30", "America/New_York")
    assert instant.utc == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT (UTC-4)
    assert instant.adjustment == "first_occurrence"


def test_the_same_wall_clock_time_moves_in_utc_across_a_change_and_nowhere_else():
    before = parse_when("2026-03-28T09:00", "Europe/Paris")
    after = parse_when("2026-03-30T09:00", "Europe/Paris")
    assert (before.utc.hour, after.utc.hour) == (8, 7)
    assert before.adjustment == after.adjustment == ""


def test_an_explicit_offset_wins_over_the_zone():
    instant = parse_when("2026-03-29T02:30:00+05:00", "Europe/Paris")
    assert instant.utc == datetime(2026, 3, 28, 21, 30, tzinfo=UTC)
    assert instant.zone == "Europe/Paris"


def test_a_zone_that_does_not_exist_is_refused_with_its_field():
    with pytest.raises(Invalid) as refused:
        parse_when("2026-03-29T09:00", "Mars/Olympus")
    assert "timezone" in refused.value.fields


def test_a_date_that_is_not_iso_8601_is_refused_with_its_field():
    with pytest.raises(Invalid) as refused:
        parse_when("next tuesday", "Europe/Paris")
    assert "scheduled_at" in refused.value.fields
