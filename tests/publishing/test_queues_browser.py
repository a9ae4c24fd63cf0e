"""The queues page and the composer's "Add to the queue", in a real headless Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from chorus.orgs.roles import Role
from chorus.publishing.models import Delivery
from tests.conftest import make_org, member
from tests.fixtures.browser import log_in, screenshot
from tests.publishing.helpers import offline_channel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_editor_sets_slots_then_queues_a_post_in_english_and_french(page: Page):
    org = make_org(name="Lumen Group", slug="lumen")
    channel = offline_channel(org)
    log_in(page, member(org, Role.EDITOR).email)
    page.goto("/w/lumen/publish/")
    page.get_by_role("link", name="Queues").click()

    queue = page.locator(f"#queue-{channel.pk}")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
        queue.get_by_label(day).check()
    queue.get_by_label("Time", exact=True).fill("09:00")
    queue.get_by_label("Time zone").select_option("Europe/Paris")
    queue.get_by_role("button", name="Add").click()
    expect(page.locator(f"#queue-{channel.pk} .slots li")).to_have_count(5)
    expect(queue).to_contain_text("Friday 09:00 Europe/Paris")
    screenshot(page, "queues-en")

    page.goto("/w/lumen/publish/new/")
    page.get_by_label("Text", exact=True).fill("Next free slot, please")
    page.get_by_label(f"@{channel.handle}", exact=False).check()
    page.get_by_label("Add to the queue", exact=False).check()
    screenshot(page, "compose-queue-en")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The post is saved.")).to_be_visible()
    delivery = Delivery.objects.get()
    assert delivery.schedule_zone == "Europe/Paris"
    assert delivery.scheduled_at is not None and delivery.scheduled_at.weekday() < 5

    page.context.add_cookies([{"name": "django_language", "value": "fr", "url": page.url}])
    page.goto("/w/lumen/publish/queues/")
    screenshot(page, "queues-fr")
