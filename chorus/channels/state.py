"""The connectors' state store backed by the database: a publish in several steps (a media
container made, then published; a resumable upload opened, then filled) survives its worker."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from chorus import crypto
from chorus.channels.models import Channel, ConnectorState
from chorus.networks.base import StateStore


class DatabaseStateStore(StateStore):
    """One channel's connector state, encrypted. The ledger calls connectors outside any
    transaction, so each write is committed before the network call that follows it."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def get(self, key: str) -> dict[str, Any] | None:
        row = ConnectorState.objects.filter(channel=self.channel, key=key).first()
        if row is None:
            return None
        value: dict[str, Any] = json.loads(crypto.decrypt(row.value_ciphertext))
        return value

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        ConnectorState.objects.update_or_create(
            channel=self.channel,
            key=key,
            defaults={
                "value_ciphertext": crypto.encrypt(json.dumps(dict(value))),
                "updated_at": timezone.now(),
            },
        )

    def discard(self, key: str) -> None:
        ConnectorState.objects.filter(channel=self.channel, key=key).delete()
