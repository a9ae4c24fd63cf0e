"""What the ledger gives a connector to reconcile an ambiguous publish: networks without an
idempotency key (X, Facebook, LinkedIn) recognise the lost post by its content and by a time
before the attempt began, so the ledger passes both, whichever process reconciles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chorus.channels import services as channel_services
from chorus.networks import errors as network_errors
from chorus.networks.base import PostContent
from chorus.publishing import ledger
from chorus.publishing.models import Delivery
from tests.conftest import make_org, owner_of
from tests.publishing.helpers import StubNetwork, offline_channel, post_to

pytestmark = pytest.mark.django_db


def test_reconciling_passes_the_content_sent_and_a_time_before_the_first_attempt(monkeypatch):
    network = StubNetwork()
    monkeypatch.setattr(channel_services, "connector_for", lambda channel: network)
    soon = timezone.now() + timedelta(minutes=10)
    org = make_org()
    post = post_to(owner_of(org), org, [offline_channel(org)], soon, text="Winter menu")
    network.fail_after_sending = network_errors.AmbiguousOutcome("read timed out")
    ledger.run_due(now=soon)

    ledger.sweep(now=soon + timedelta(minutes=1))

    delivery = Delivery.objects.get(post=post)
    assert delivery.state == Delivery.State.PUBLISHED and network.calls == 1
    content, sent_after = network.reconciled_with["content"], network.reconciled_with["sent_after"]
    assert isinstance(content, PostContent) and content.text == "Winter menu"
    assert sent_after == delivery.created_at
    assert delivery.created_at <= soon
