"""The calendar and the import page in a real headless Chromium: drag and drop reschedules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from chorus.orgs.access import Actor
from chorus.publishing import services
from chorus.publishing.models import Delivery
from chorus.publishing.timing import Instant
from tests.conftest import make_org, owner_of
from tests.fixtures.browser import log_in, screenshot
from tests.publishing.helpers import offline_channel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_drag_a_post_to_another_day_then_to_an_hour_of_the_week(page: Page):
    org = make_org(name="Lumen Group", slug="lumen")
    owner = Actor(owner_of(org))
    bluesky, mastodon = offline_channel(org), offline_channel(org, "mastodon")
    spring = services.create_campaign(owner, org, name="Spring", labels=["product"])

    def post(text: str, channel, at: datetime, **fields) -> Delivery:
        return services.create_post(
            owner, org, text=text, channels=[channel.pk], when=Instant(at, "Europe/Paris"), **fields
        ).deliveries.get()

    # 09:00 in Paris on Thursday 28 March 2030; the clocks go forward on Sunday the 31st.
    menu = post(
        "Our spring menu is out! <b>Book now</b>",
        bluesky,
        datetime(2030, 3, 28, 8, tzinfo=UTC),
        campaign=spring,
    )
    post(
        "Jobs: we are hiring chefs in Lyon",
        mastodon,
        datetime(2030, 3, 28, 13, tzinfo=UTC),
        labels=["job offer"],
    )
    post("Customer story: a week at the lake", bluesky, datetime(2030, 4, 3, 16, tzinfo=UTC))
    done = post("Winter is over", mastodon, datetime(2030, 3, 26, 10, tzinfo=UTC))
    Delivery.objects.filter(pk=done.pk).update(state=Delivery.State.PUBLISHED)

    log_in(page, owner_of(org).email)
    page.goto("/w/lumen/publish/")
    page.get_by_role("link", name="Calendar").click()
    page.goto("/w/lumen/publish/calendar/?date=2030-03-01&tz=Europe/Paris")
    expect(page.locator("#calendar-zone")).to_have_text("Times in Europe/Paris")
    chip = page.locator(f"#chip-{menu.pk}")
    expect(chip).to_contain_text("09:00")
    expect(chip).to_contain_text("<b>Book now</b>")  # shown as text, not markup
    expect(page.locator(f"#chip-{done.pk}")).not_to_have_attribute("draggable", "true")
    screenshot(page, "calendar-month-en")

    chip.drag_to(page.locator("td[data-drop-day='2030-03-31']"))
    expect(page.get_by_text("The delivery is rescheduled.")).to_be_visible()
    menu.refresh_from_db()
    assert menu.scheduled_at == datetime(2030, 3, 31, 7, tzinfo=UTC)  # still 09:00 in Paris
    expect(page.locator("td[data-drop-day='2030-03-31'] .chip")).to_contain_text("09:00")
    assert "tz=Europe%2FParis" in page.url or "tz=Europe/Paris" in page.url  # filters kept

    page.goto("/w/lumen/publish/calendar/?view=week&date=2030-03-27&tz=Europe/Paris")
    expect(page.locator("td[data-drop-day='2030-03-31'][data-drop-hour='9'] .chip")).to_be_visible()
    page.locator(f"#chip-{menu.pk}").drag_to(
        page.locator("td[data-drop-day='2030-03-29'][data-drop-hour='15']")
    )
    expect(page.get_by_text("The delivery is rescheduled.")).to_be_visible()
    menu.refresh_from_db()
    assert menu.scheduled_at == datetime(2030, 3, 29, 14, tzinfo=UTC)  # 15:00 in Paris (+01:00)
    expect(
        page.locator("td[data-drop-day='2030-03-29'][data-drop-hour='15'] .chip")
    ).to_be_visible()
    screenshot(page, "calendar-week-en")

    page.locator("select[name=language]").select_option("fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator(f"#chip-{menu.pk}")).to_be_visible()
    screenshot(page, "calendar-week-fr")
    page.locator(".calendar-bar a[rel=next]").click()
    expect(page.locator("td[data-drop-day='2030-04-01'][data-drop-hour='0']")).to_be_visible()
    page.locator(".calendar-bar a[href*='view=month']").click()
    expect(page.locator("table.calendar.month")).to_be_visible()
    screenshot(page, "calendar-month-fr")


def test_the_import_page_reports_each_wrong_row(page: Page):
    org = make_org(name="Lumen Group", slug="lumen")
    channel = offline_channel(org)
    log_in(page, owner_of(org).email)
    page.goto("/w/lumen/publish/")
    page.get_by_role("link", name="Import CSV").click()
    page.locator("select[name=language]").select_option("fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.locator("#id_csv").fill(
        "text,channel,scheduled_at,timezone,labels\n"
        f"Spring menu,@{channel.handle},2030-03-29 09:00 Europe/Paris,,product\n"
        f"{'x' * 301},@{channel.handle},2030-03-30T09:00,Europe/Paris,\n"
        f"Lost,@{channel.handle},someday,,\n"
    )
    page.locator("button[value=check]").click()
    expect(page.locator("#import-errors tbody tr")).to_have_count(2)
    screenshot(page, "import-report-fr")

    page.locator("select[name=language]").select_option("en")
    page.get_by_label("…or paste the CSV here").fill(
        "text,channel,scheduled_at,timezone,labels\n"
        f"Spring menu,@{channel.handle},2030-03-29 09:00 Europe/Paris,,product\n"
        f"{'x' * 301},@{channel.handle},2030-03-30T09:00,Europe/Paris,\n"
        f"Lost,@{channel.handle},someday,,\n"
    )
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-report")).to_contain_text("Nothing was imported.")
    expect(page.locator("#import-errors tbody tr")).to_have_count(2)
    assert Delivery.objects.count() == 0
    screenshot(page, "import-report-en")

    page.get_by_label("Skip the invalid rows and import the valid ones").check()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#posts")).to_contain_text("Spring menu")
    assert Delivery.objects.count() == 1
