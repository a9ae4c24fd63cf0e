"""The Publish pages: each channel's truth per post, the composer, approvals, crisis mode."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chorus.orgs.roles import Role
from chorus.publishing.models import Delivery, Post
from tests.conftest import make_org, member, owner_of
from tests.publishing.helpers import offline_channel, post_to, proposed_post, states

pytestmark = pytest.mark.django_db


def test_the_publish_page_shows_each_channels_state_and_escapes_the_networks_words(client):
    org = make_org()
    client.force_login(owner_of(org))
    post = post_to(owner_of(org), org, [offline_channel(org), offline_channel(org)], None)
    Delivery.objects.filter(post=post).update(
        state=Delivery.State.FAILED, last_error="<script>alert(1)</script>"
    )
    page = client.get(f"/w/{org.slug}/publish/")
    assert page.status_code == 200
    assert page.content.count(b"Failed") == 2
    assert b"<script>alert(1)" not in page.content
    assert b"&lt;script&gt;alert(1)" in page.content


def test_the_composer_schedules_a_post_in_the_chosen_zone(client):
    org = make_org()
    channel = offline_channel(org)
    client.force_login(owner_of(org))
    response = client.post(
        f"/w/{org.slug}/publish/new/",
        {
            "text": "From the composer",
            "channels": [channel.pk],
            "scheduled_at": "2030-03-31T02:30",
            "timezone": "Europe/Paris",
        },
    )
    assert response.status_code == 302, response.content
    delivery = Delivery.objects.get(post__text="From the composer")
    assert delivery.scheduled_at is not None
    assert delivery.scheduled_at.isoformat() == "2030-03-31T01:30:00+00:00"


def test_the_composer_counts_the_text_each_networks_way(client):
    org = make_org()
    client.force_login(owner_of(org))
    fragment = client.post(f"/w/{org.slug}/publish/check/", {"text": "👩‍👩‍👧" * 301})
    assert b"301 / 300" in fragment.content  # graphemes on Bluesky
    assert b"Bluesky" in fragment.content and b"over the limit" in fragment.content


def test_a_manager_approves_from_the_page(client):
    org = make_org()
    post = proposed_post(org, offline_channel(org), timezone.now() + timedelta(hours=1))
    client.force_login(member(org, Role.MANAGER))
    assert b"Approve" in client.get(f"/w/{org.slug}/publish/").content
    client.post(f"/w/{org.slug}/publish/posts/{post.pk}/approve/")
    assert states(post) == [Delivery.State.SCHEDULED]


def test_an_editor_sees_no_approve_button_and_cannot_approve(client):
    org = make_org()
    post = proposed_post(org, offline_channel(org), timezone.now() + timedelta(hours=1))
    client.force_login(member(org, Role.EDITOR))
    assert b"Approve" not in client.get(f"/w/{org.slug}/publish/").content
    assert client.post(f"/w/{org.slug}/publish/posts/{post.pk}/approve/").status_code == 403
    assert states(post) == [Delivery.State.AWAITING_APPROVAL]


def test_crisis_pause_shows_a_banner_in_the_subtree_until_resumed(client):
    org = make_org()
    client.force_login(owner_of(org))
    post_to(owner_of(org), org, [offline_channel(org)], timezone.now() + timedelta(hours=1))
    client.post(f"/w/{org.slug}/publish/pause/", {"reason": "false rumour"})
    page = client.get(f"/w/{org.slug}/")
    assert b"crisis-banner" in page.content and b"false rumour" in page.content
    assert list(Post.objects.values_list("deliveries__state", flat=True)) == ["paused"]
    client.post(f"/w/{org.slug}/publish/resume/", {"past_due": "hold"})
    assert b"crisis-banner" not in client.get(f"/w/{org.slug}/").content
    assert list(Post.objects.values_list("deliveries__state", flat=True)) == ["scheduled"]
