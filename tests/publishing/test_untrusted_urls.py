"""A network's answer is untrusted: only a plain web address is kept as a post's link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chorus.networks.base import PublishResult
from chorus.publishing import ledger
from chorus.publishing.models import Delivery
from tests.conftest import make_org, owner_of
from tests.publishing.helpers import offline_channel, post_to

pytestmark = pytest.mark.django_db


def test_a_script_address_from_the_network_is_not_kept_nor_shown(network):
    org = make_org()
    owner = owner_of(org)
    due = timezone.now() + timedelta(minutes=5)
    post = post_to(owner, org, [offline_channel(org)], due)
    delivery = Delivery.objects.get(post=post)
    network.published[delivery.idempotency_key] = PublishResult(
        remote_id="remote-1", remote_url="javascript:fetch('/api/v1/tokens')"
    )
    ledger.run_due(now=due)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PUBLISHED
    assert delivery.remote_id == "remote-1" and delivery.remote_url == ""
    client = Client()
    client.force_login(owner)
    for page in (f"/w/{org.slug}/publish/", f"/w/{org.slug}/publish/posts/{post.pk}/markets/"):
        assert b"javascript:" not in client.get(page).content


def test_a_web_address_from_the_network_is_kept():
    assert PublishResult("1", "https://bsky.app/profile/a/post/1").remote_url.startswith("https://")
