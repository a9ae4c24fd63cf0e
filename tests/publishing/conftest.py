"""Fixtures shared by the publishing tests."""

from __future__ import annotations

import pytest

from chorus.channels import services as channel_services
from tests.publishing.helpers import StubNetwork


@pytest.fixture
def network(monkeypatch) -> StubNetwork:
    """Every channel talks to one in-memory network that records what it was sent."""
    stub = StubNetwork()
    monkeypatch.setattr(channel_services, "connector_for", lambda channel: stub)
    return stub
