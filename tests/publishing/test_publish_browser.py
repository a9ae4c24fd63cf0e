"""The composer, the media library and the Publish page in a real headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from chorus.orgs.roles import Role
from chorus.publishing import services
from chorus.publishing.models import Delivery, Post
from tests.conftest import add_workspace, make_org, member, owner_of
from tests.fixtures.browser import log_in, screenshot
from tests.publishing.helpers import offline_channel
from tests.publishing.media_helpers import MENTION, global_post_with_locks, library_image, png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_compose_with_a_live_length_count_then_see_the_post_scheduled(page: Page):
    org = make_org(name="Lumen Group", slug="lumen")
    channel = offline_channel(org)
    log_in(page, owner_of(org).email)
    page.goto("/w/lumen/publish/")
    page.get_by_role("link", name="New post").click()

    page.get_by_label("Text", exact=True).fill("a" * 301)
    expect(page.locator("#counts tr.over", has_text="Bluesky")).to_contain_text("301 / 300")
    page.get_by_label("Text", exact=True).fill("Summer is here")
    expect(page.locator("#counts tr", has_text="Bluesky")).to_contain_text("14 / 300")
    page.get_by_label(f"@{channel.handle}", exact=False).check()
    page.get_by_label("Publish at").fill("2030-06-01T09:00")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("The post is saved.")).to_be_visible()
    expect(page.locator("#posts")).to_contain_text("Summer is here")
    expect(page.locator("#posts .badge")).to_have_text("Scheduled")
    screenshot(page, "publish-list")


def test_tabs_counters_thread_parts_and_the_media_picker(page: Page):
    org = make_org(name="Lumen Group", slug="lumen-tabs")
    france = add_workspace(org, slug="lumen-france", name="France", default_locale="fr")
    boss = owner_of(org)
    bluesky = offline_channel(org, "bluesky")
    offline_channel(org, "mastodon")
    offline_channel(france, "linkedin")
    library_image(org, boss, alt_text="", name="beach.png")
    log_in(page, boss.email)
    page.goto("/w/lumen-tabs/publish/new/")

    tabs = page.get_by_role("tab")
    expect(tabs).to_have_text(["All networks", "Bluesky", "LinkedIn", "Mastodon", "EN", "FR"])
    master = page.locator("#panel-master")
    master.get_by_label("Text", exact=True).fill("Summer opens today")
    master.get_by_label("Hashtags", exact=True).fill("summer")
    expect(page.locator("#counts tr", has_text="Bluesky")).to_contain_text("27 / 300")

    master.get_by_role("button", name="Add a thread part").click()
    master.get_by_label("Thread part").fill("x" * 301)
    expect(page.locator("#counts tr", has_text="Bluesky")).to_contain_text("Part 2: 301 / 300")
    expect(page.locator("#counts tr.over", has_text="Bluesky")).to_contain_text(
        "Part 2 — Bluesky: bluesky allows 300 graphemes"
    )
    master.get_by_label("Thread part").fill("Doors open at nine")
    mastodon_row = page.locator("#counts").get_by_role("row", name=re.compile(r"^Mastodon "))
    expect(mastodon_row).to_contain_text("Part 2: 18 / 500")
    expect(page.locator("#counts")).not_to_contain_text("YouTube")  # no channel there

    master.get_by_label("beach.png", exact=True).check()
    expect(page.locator("#counts")).to_contain_text("beach.png needs alt text")
    master.get_by_label("Alt text for beach.png").fill("A beach at dawn")
    expect(page.locator("#counts")).not_to_contain_text("needs alt text")

    page.get_by_role("tab", name="Bluesky").click()
    expect(master).to_be_hidden()
    panel = page.locator("#panel-net-bluesky")
    preview = page.locator("#preview-net-bluesky")
    expect(preview).to_contain_text("Summer opens today #summer")
    expect(preview.locator("figcaption")).to_have_text("A beach at dawn")
    panel.get_by_label("Own wording for Bluesky").fill("Hello Bluesky")
    expect(preview).to_contain_text("Hello Bluesky #summer")
    expect(preview.locator("tr", has_text="Bluesky")).to_contain_text("22 / 300")
    expect(panel.get_by_label("First comment")).to_have_count(0)  # Bluesky has none
    page.get_by_role("tab", name="LinkedIn").click()
    expect(page.locator("#panel-net-linkedin").get_by_label("First comment")).to_be_visible()
    expect(page.locator("#panel-net-linkedin .thread")).to_have_count(0)  # nor threads there
    expect(page.locator("#preview-net-linkedin")).to_contain_text("No threads on this network")
    screenshot(page, "composer-linkedin-tab")

    page.get_by_role("tab", name="All networks").click()
    page.get_by_label(f"@{bluesky.handle}", exact=False).check()
    screenshot(page, "composer-en")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("The post is saved.")).to_be_visible()
    delivery = Delivery.objects.select_related("variant__post").get()
    content = services.content_for(delivery.variant, "bluesky")
    assert content.text == "Hello Bluesky\n\n#summer"
    assert [part.text for part in content.thread] == ["Doors open at nine"]
    assert [item.alt_text for item in content.media] == ["A beach at dawn"]
    assert Post.objects.get().hashtags == ["summer"]


def test_the_library_and_the_composer_in_french(page: Page, tmp_path):
    org = make_org(name="Lumen Group", slug="lumen-fr")
    boss = owner_of(org)
    offline_channel(org, "bluesky")
    offline_channel(org, "linkedin")
    library_image(org, boss, alt_text="Le logo de Lumen", name="logo.png")
    log_in(page, boss.email)
    page.goto("/w/lumen-fr/publish/media/")
    upload = tmp_path / "plage.png"
    upload.write_bytes(png_bytes(64, 48, "gold"))
    page.locator("#id_file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#library")).to_contain_text("plage.png")
    expect(page.locator("#library")).to_contain_text("Alt text missing")
    screenshot(page, "media-library-en")

    with page.expect_navigation():
        page.locator("#language-form select").select_option("fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    screenshot(page, "media-library-fr")
    page.goto("/w/lumen-fr/publish/new/")
    page.locator("#id_text").fill("L'été commence aujourd'hui")
    expect(page.locator("#counts")).to_contain_text("26 / 300")
    page.get_by_role("tab", name="Bluesky").click()
    expect(page.locator("#preview-net-bluesky")).to_contain_text("26 / 300")
    screenshot(page, "composer-fr-bluesky-tab")
    page.locator("#tab-master").click()
    screenshot(page, "composer-fr")


def test_a_market_edits_its_variant_with_hqs_locked_fields_read_only(page: Page):
    _org, france, _post, local, _other = global_post_with_locks()
    log_in(page, member(france, Role.EDITOR).email)
    page.goto(f"/w/{france.slug}/publish/variants/{local.pk}/")

    expect(page.get_by_label("Address")).not_to_be_editable()
    expect(page.get_by_label("Text", exact=True)).to_be_editable()
    expect(page.locator(".live")).to_contain_text("/ 300")
    page.get_by_label("Text", exact=True).fill("Soldes d'été !")
    expect(page.locator(".live")).to_contain_text("must contain the mandatory mention")
    screenshot(page, "variant-locked")
    page.get_by_label("Text", exact=True).fill(f"Soldes d'été ! {MENTION}")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("The variant is saved.")).to_be_visible()
    local.refresh_from_db()
    assert local.text == f"Soldes d'été ! {MENTION}"
