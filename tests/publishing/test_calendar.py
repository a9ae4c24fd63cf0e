"""The publishing calendar: days cut in the viewer's zone across DST, filters, tenancy, moving a
delivery (time of day kept in its own zone), the iCal feed and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chorus.orgs import services as services_org
from chorus.orgs.access import Actor
from chorus.orgs.models import AuditEntry, Workspace
from chorus.orgs.roles import Role
from chorus.publishing import services
from chorus.publishing.models import Delivery
from chorus.publishing.timing import Instant, moved
from tests.conftest import add_workspace, make_org, member, owner_of, token_for
from tests.publishing.helpers import offline_channel

pytestmark = pytest.mark.django_db


def scheduled(workspace, channel, at: datetime, text: str = "Hello", **fields) -> Delivery:
    """A post of ``workspace`` on one channel at ``at`` (UTC), written by the organisation's
    owner: scheduled, no approval."""
    root = Workspace.objects.get(pk=workspace.ancestor_ids[0])
    post = services.create_post(
        Actor(owner_of(root)),
        workspace,
        text=text,
        channels=[channel.pk],
        when=Instant(at, fields.pop("zone", "UTC")),
        **fields,
    )
    return post.deliveries.get()


def cells(html: bytes) -> dict[str, str]:
    """Calendar cell ("2030-03-31" in a month, "2030-03-31 9" in a week) -> its markup."""
    found = {}
    parts = re.split(r'<td class="[^"]*" data-drop-day="', html.decode())
    for part in parts[1:]:
        day, rest = part.split('"', 1)
        hour = re.match(r' data-drop-hour="(\d+)"', rest)
        found[f"{day} {hour.group(1)}" if hour else day] = rest.split("</td>", 1)[0]
    return found


def where(html: bytes, delivery: Delivery) -> list[str]:
    return [cell for cell, markup in cells(html).items() if f'id="chip-{delivery.pk}"' in markup]


# Days in the viewer's zone, across DST --------------------------------------------------------


def test_the_month_cuts_days_in_the_chosen_zone_on_the_spring_forward_night(client: Client):
    org = make_org()
    channel = offline_channel(org)
    # Sunday 31 March 2030, Paris goes from +01:00 to +02:00 at 02:00.
    late = scheduled(org, channel, datetime(2030, 3, 30, 23, 30, tzinfo=UTC))  # 00:30 in Paris
    after_jump = scheduled(org, channel, datetime(2030, 3, 31, 22, 30, tzinfo=UTC))  # 00:30 Apr 1
    client.force_login(owner_of(org))

    paris = client.get(f"/w/{org.slug}/publish/calendar/?date=2030-03-15&tz=Europe/Paris")
    assert paris.status_code == 200
    assert b"Times in Europe/Paris" in paris.content
    assert where(paris.content, late) == ["2030-03-31"]
    assert where(paris.content, after_jump) == []  # April, in Paris

    utc = client.get(f"/w/{org.slug}/publish/calendar/?date=2030-03-15&tz=UTC")
    assert where(utc.content, late) == ["2030-03-30"]
    assert where(utc.content, after_jump) == ["2030-03-31"]


def test_the_week_keeps_the_25_hour_fall_back_day_whole(client: Client):
    org = make_org()
    channel = offline_channel(org)
    # Sunday 3 November 2030, New York goes back from -04:00 to -05:00 at 02:00: 01:30 twice.
    first_130 = scheduled(org, channel, datetime(2030, 11, 3, 5, 30, tzinfo=UTC))
    second_130 = scheduled(org, channel, datetime(2030, 11, 3, 6, 30, tzinfo=UTC))
    last_hour = scheduled(org, channel, datetime(2030, 11, 4, 4, 30, tzinfo=UTC))  # 23:30 EST
    next_week = scheduled(org, channel, datetime(2030, 11, 4, 5, 30, tzinfo=UTC))  # Mon 00:30
    client.force_login(owner_of(org))

    week = client.get(
        f"/w/{org.slug}/publish/calendar/?view=week&date=2030-11-01&tz=America/New_York"
    )
    assert where(week.content, first_130) == ["2030-11-03 1"]
    assert where(week.content, second_130) == ["2030-11-03 1"]
    assert where(week.content, last_hour) == ["2030-11-03 23"]
    assert where(week.content, next_week) == []
    assert len([c for c in cells(week.content) if c.startswith("2030-10-28 ")]) == 24


# Filters and tenancy --------------------------------------------------------------------------


def test_filters_combine_and_stay_in_the_address(client: Client):
    org = make_org()
    market = add_workspace(org, name="France")
    owner = Actor(owner_of(org))
    campaign = services.create_campaign(owner, org, name="Spring", labels=["customer story"])
    bluesky, mastodon = offline_channel(market), offline_channel(market, "mastodon")
    at = datetime(2030, 5, 6, 9, tzinfo=UTC)
    in_campaign = scheduled(market, bluesky, at, "Story", campaign=campaign)
    labelled = scheduled(market, mastodon, at, "Job", labels=["job offer"])
    at_hq = scheduled(org, offline_channel(org), at, "HQ only")
    published = scheduled(market, bluesky, at, "Done")
    Delivery.objects.filter(pk=published.pk).update(state=Delivery.State.PUBLISHED)
    client.force_login(owner_of(org))
    page = f"/w/{org.slug}/publish/calendar/?date=2030-05-01"

    def shown(query: str) -> set[int]:
        html = client.get(page + query).content.decode()
        return {int(pk) for pk in re.findall(r'id="chip-(\d+)"', html)}

    everything = {in_campaign.pk, labelled.pk, at_hq.pk, published.pk}
    assert shown("") == everything
    assert shown(f"&workspace={market.slug}") == everything - {at_hq.pk}
    assert shown("&network=mastodon") == {labelled.pk}
    assert shown(f"&campaign={campaign.pk}") == {in_campaign.pk}
    assert shown("&label=customer+story") == {in_campaign.pk}  # the campaign's label
    assert shown("&label=job+offer") == {labelled.pk}
    assert shown("&state=published") == {published.pk}
    assert shown(f"&workspace={market.slug}&network=bluesky&state=scheduled") == {in_campaign.pk}

    assert client.get(page.replace("2030-05-01", "0001-01-01")).status_code == 200  # today's
    html = client.get(page + "&network=bluesky&label=job+offer").content.decode()
    next_month = re.search(r'href="\?([^"]*)" rel="next"', html)
    assert next_month is not None
    assert "network=bluesky" in next_month.group(1) and "label=job+offer" in next_month.group(1)
    assert "date=2030-06-01" in next_month.group(1)


def test_the_calendar_never_shows_what_the_viewer_cannot_see(client: Client):
    org = make_org()
    north, south = add_workspace(org), add_workspace(org)
    at = datetime(2030, 5, 6, 9, tzinfo=UTC)
    mine = scheduled(north, offline_channel(north), at, "North")
    sibling = scheduled(south, offline_channel(south), at, "South")
    other_org = make_org()
    foreign = scheduled(other_org, offline_channel(other_org), at, "Elsewhere")
    client.force_login(member(north, Role.EDITOR))

    html = client.get(f"/w/{north.slug}/publish/calendar/?date=2030-05-01").content
    assert f'id="chip-{mine.pk}"'.encode() in html
    assert f'id="chip-{sibling.pk}"'.encode() not in html
    assert f'id="chip-{foreign.pk}"'.encode() not in html
    # Naming a workspace out of reach in the filter shows nothing more.
    widened = client.get(
        f"/w/{north.slug}/publish/calendar/?date=2030-05-01&workspace={south.slug}"
    ).content
    assert f'id="chip-{sibling.pk}"'.encode() not in widened
    assert client.get(f"/w/{south.slug}/publish/calendar/").status_code == 404
    assert client.get(f"/w/{other_org.slug}/publish/calendar/").status_code == 404


def test_the_networks_words_are_escaped_in_the_chips(client: Client):
    org = make_org()
    delivery = scheduled(
        org,
        offline_channel(org),
        datetime(2030, 5, 6, 9, tzinfo=UTC),
        "<img src=x onerror=alert(1)>",
    )
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.PUBLISHED, remote_url="javascript:alert(1)"
    )
    client.force_login(owner_of(org))
    html = client.get(f"/w/{org.slug}/publish/calendar/?date=2030-05-01").content
    assert b"<img src=x" not in html and b"&lt;img src=x" in html
    assert b"javascript:alert" not in html


# Moving a delivery ----------------------------------------------------------------------------


def test_moving_to_another_day_keeps_the_time_of_day_in_its_zone_across_dst(client: Client):
    org = make_org()
    channel = offline_channel(org)
    # 09:00 in Paris on Thursday 28 March 2030 (+01:00); clocks go forward on the 31st.
    delivery = scheduled(org, channel, datetime(2030, 3, 28, 8, tzinfo=UTC), zone="Europe/Paris")
    client.force_login(owner_of(org))

    moved = client.post(
        f"/w/{org.slug}/publish/calendar/deliveries/{delivery.pk}/move/",
        {"day": "2030-04-02", "tz": "America/New_York", "next": "/w/x/publish/calendar/?a=1"},
    )
    assert moved.status_code == 302
    delivery.refresh_from_db()
    assert delivery.scheduled_at == datetime(2030, 4, 2, 7, tzinfo=UTC)  # 09:00 at +02:00
    assert delivery.schedule_zone == "Europe/Paris"
    assert delivery.state == Delivery.State.SCHEDULED and delivery.due_at == delivery.scheduled_at
    entry = AuditEntry.objects.get(action="delivery.rescheduled")
    assert entry.details["from"] == "2030-03-28T08:00:00+00:00"

    # An hour slot of the week view is read in the view's zone.
    client.post(
        f"/w/{org.slug}/publish/calendar/deliveries/{delivery.pk}/move/",
        {"day": "2030-04-03", "hour": "14", "tz": "America/New_York"},
    )
    delivery.refresh_from_db()
    assert delivery.scheduled_at == datetime(2030, 4, 3, 18, tzinfo=UTC)  # 14:00 at -04:00


def test_the_reschedule_form_works_without_a_mouse_and_says_what_is_wrong(client: Client):
    org = make_org()
    delivery = scheduled(org, offline_channel(org), datetime(2030, 3, 28, 8, tzinfo=UTC))
    client.force_login(owner_of(org))
    url = f"/w/{org.slug}/publish/calendar/deliveries/{delivery.pk}/move/"
    form = client.get(url + "?next=javascript:alert(1)")
    assert b'name="scheduled_at"' in form.content
    assert b'href="javascript:' not in form.content and b'value="javascript:' not in form.content

    skipped = client.post(url, {"scheduled_at": "2030-03-31T02:30", "timezone": "Europe/Paris"})
    assert skipped.status_code == 302
    delivery.refresh_from_db()
    assert delivery.scheduled_at == datetime(2030, 3, 31, 1, 30, tzinfo=UTC)  # 03:30, shifted

    past = client.post(url, {"scheduled_at": "2001-01-01T09:00", "timezone": "UTC"})
    assert past.status_code == 422 and b"in the past" in past.content


@pytest.mark.parametrize("state", [Delivery.State.PUBLISHED, Delivery.State.SENDING])
def test_what_went_out_or_is_on_its_way_cannot_be_moved(client: Client, state):
    org = make_org()
    delivery = scheduled(org, offline_channel(org), datetime(2030, 3, 28, 8, tzinfo=UTC))
    Delivery.objects.filter(pk=delivery.pk).update(state=state)
    client.force_login(owner_of(org))
    response = client.post(
        f"/w/{org.slug}/publish/calendar/deliveries/{delivery.pk}/move/",
        {"day": "2030-04-02", "tz": "UTC"},
        follow=True,
    )
    assert b"can no longer be moved" in response.content
    delivery.refresh_from_db()
    assert delivery.scheduled_at == datetime(2030, 3, 28, 8, tzinfo=UTC)


def test_an_analyst_sees_the_calendar_but_cannot_move_anything(client: Client):
    org = make_org()
    delivery = scheduled(org, offline_channel(org), datetime(2030, 3, 28, 8, tzinfo=UTC))
    client.force_login(member(org, Role.ANALYST))
    html = client.get(f"/w/{org.slug}/publish/calendar/?date=2030-03-01").content
    assert f'id="chip-{delivery.pk}"'.encode() in html and b'draggable="true"' not in html
    refused = client.post(
        f"/w/{org.slug}/publish/calendar/deliveries/{delivery.pk}/move/", {"day": "2030-04-02"}
    )
    assert refused.status_code == 403


def test_moving_needs_the_csrf_token():
    org = make_org()
    delivery = scheduled(org, offline_channel(org), datetime(2030, 3, 28, 8, tzinfo=UTC))
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner_of(org))
    response = client.post(
        f"/w/{org.slug}/publish/calendar/deliveries/{delivery.pk}/move/", {"day": "2030-04-02"}
    )
    assert response.status_code == 403
    delivery.refresh_from_db()
    assert delivery.scheduled_at == datetime(2030, 3, 28, 8, tzinfo=UTC)


def test_the_api_moves_one_delivery_to_another_day(api):
    org = make_org()
    delivery = scheduled(
        org, offline_channel(org), datetime(2030, 3, 28, 8, tzinfo=UTC), zone="Europe/Paris"
    )
    token = token_for(owner_of(org))
    moved = api(
        "post", f"/deliveries/{delivery.pk}/schedule", token=token, json={"day": "2030-04-02"}
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["scheduled_at"].startswith("2030-04-02T07:00:00")
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.PUBLISHED)
    refused = api(
        "post",
        f"/deliveries/{delivery.pk}/schedule",
        token=token,
        json={"scheduled_at": "2030-04-05T09:00:00+02:00"},
    )
    assert refused.status_code == 409


# iCal feed -----------------------------------------------------------------------------------


def unfolded(body: str) -> list[str]:
    """Content lines as RFC 5545 says to read them: CRLF followed by a space continues."""
    assert "\n" not in body.replace("\r\n", "")
    return body.replace("\r\n ", "").split("\r\n")[:-1]


def unescaped(value: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def feed_url(client: Client, workspace) -> str:
    made = client.post(f"/w/{workspace.slug}/publish/calendar/feed/", {"action": "rotate"})
    assert made.status_code == 200
    url = re.search(r'id="feed-url">([^<]+)<', made.content.decode())
    assert url is not None
    return url.group(1).removeprefix("http://testserver")


def test_the_ical_feed_is_valid_escaped_folded_and_in_utc(client: Client):
    org = make_org(name="Lumen")
    market = add_workspace(org)
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    text = "Soldes, enfin; venez\nnombreux \\ 🎉 " + "é" * 80
    delivery = scheduled(market, offline_channel(market), soon, text, zone="Europe/Paris")
    client.force_login(owner_of(org))
    url = feed_url(client, org)

    feed = Client().get(url)  # nobody logged in
    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("text/calendar")
    body = feed.content.decode()
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    lines = unfolded(body)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    event = lines[lines.index("BEGIN:VEVENT") + 1 : lines.index("END:VEVENT")]
    props = dict(line.split(":", 1) for line in event)
    assert props["UID"] == f"delivery-{delivery.pk}@testserver"
    assert props["DTSTART"] == soon.strftime("%Y%m%dT%H%M%SZ")
    assert re.fullmatch(r"\d{8}T\d{6}Z", props["DTSTAMP"])
    assert re.fullmatch(r"\d{8}T\d{6}Z", props["LAST-MODIFIED"])
    assert "\\," in props["SUMMARY"] and "\\;" in props["SUMMARY"]
    assert "\\n" in props["DESCRIPTION"] and "\\\\" in props["DESCRIPTION"]
    assert unescaped(props["DESCRIPTION"]).startswith(text)
    assert props["URL"].startswith("http://testserver/w/")
    assert props["STATUS"] == "CONFIRMED"


def test_a_rotated_or_revoked_feed_address_answers_404(client: Client):
    org = make_org()
    client.force_login(member(org, Role.MANAGER))
    first = feed_url(client, org)
    second = feed_url(client, org)
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200
    client.post(f"/w/{org.slug}/publish/calendar/feed/", {"action": "revoke"})
    assert Client().get(second).status_code == 404
    assert list(
        AuditEntry.objects.filter(action__startswith="calendar_feed.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["calendar_feed.created", "calendar_feed.rotated", "calendar_feed.revoked"]


def test_a_feed_stops_when_its_maker_may_no_longer_approve_there(client: Client):
    org = make_org()
    manager = member(org, Role.MANAGER)
    client.force_login(manager)
    url = feed_url(client, org)
    assert Client().get(url).status_code == 200
    services_org.set_role(Actor(owner_of(org)), org, manager, Role.EDITOR)
    assert Client().get(url).status_code == 404


def test_an_editor_cannot_make_a_feed_address(client: Client):
    org = make_org()
    client.force_login(member(org, Role.EDITOR))
    assert b"Make a feed address" not in client.get(f"/w/{org.slug}/publish/calendar/").content
    refused = client.post(f"/w/{org.slug}/publish/calendar/feed/", {"action": "rotate"})
    assert refused.status_code == 403


# CSV export ----------------------------------------------------------------------------------


def test_the_csv_export_lists_the_filtered_range_and_defuses_formulas(client: Client):
    org = make_org()
    campaign = services.create_campaign(Actor(owner_of(org)), org, name="=cmd|' /C calc'!A0")
    bluesky, mastodon = offline_channel(org), offline_channel(org, "mastodon")
    scheduled(
        org,
        bluesky,
        datetime(2030, 3, 31, 7, tzinfo=UTC),
        '=HYPERLINK("http://evil")',
        campaign=campaign,
        labels=["+promo"],
        zone="Europe/Paris",
    )
    scheduled(org, mastodon, datetime(2030, 3, 31, 8, tzinfo=UTC), "Mastodon only")
    scheduled(org, bluesky, datetime(2030, 5, 1, 8, tzinfo=UTC), "Another month")
    client.force_login(owner_of(org))

    export = client.get(
        f"/w/{org.slug}/publish/calendar/export.csv?date=2030-03-10&tz=Europe/Paris&network=bluesky"
    )
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    assert "attachment" in export["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert len(rows) == 1
    row = rows[0]
    assert row["scheduled_at"] == "2030-03-31T09:00:00+02:00"
    assert row["timezone"] == "Europe/Paris"
    assert row["network"] == "Bluesky" and row["channel"] == bluesky.handle
    assert row["state"] == "scheduled" and row["workspace"] == org.name
    assert row["text"] == '\'=HYPERLINK("http://evil")'
    assert row["labels"] == "'+promo"
    assert row["campaign"] == "'=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("before", "day", "after"),
    [
        # 09:00 in New York, Friday 1 Nov (-04:00) to Monday 4 Nov (-05:00): still 09:00.
        (
            datetime(2030, 11, 1, 13, tzinfo=UTC),
            "2030-11-04",
            datetime(2030, 11, 4, 14, tzinfo=UTC),
        ),
        # 01:30 moved onto the fall-back night, when 01:30 happens twice: the first one.
        (
            datetime(2030, 11, 2, 5, 30, tzinfo=UTC),
            "2030-11-03",
            datetime(2030, 11, 3, 5, 30, tzinfo=UTC),
        ),
        # 02:30 moved onto the spring-forward night, when 02:30 does not exist: 03:30.
        (
            datetime(2030, 3, 9, 7, 30, tzinfo=UTC),
            "2030-03-10",
            datetime(2030, 3, 10, 7, 30, tzinfo=UTC),
        ),
    ],
)
def test_a_moved_time_of_day_follows_the_documented_dst_rules(before, day, after):
    assert moved(before, "America/New_York", date.fromisoformat(day), "Europe/Paris").utc == after


def test_the_calendar_reads_a_fixed_number_of_queries(client: Client):
    org = make_org()
    market = add_workspace(org)
    client.force_login(owner_of(org))
    campaign = services.create_campaign(Actor(owner_of(org)), org, name="Spring")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(f"/w/{org.slug}/publish/calendar/?date=2030-05-01")
        return len(captured)

    scheduled(market, offline_channel(market), datetime(2030, 5, 6, 9, tzinfo=UTC))
    few = queries()
    for day in range(7, 12):
        scheduled(
            org, offline_channel(org), datetime(2030, 5, day, 9, tzinfo=UTC), campaign=campaign
        )
    assert queries() == few
