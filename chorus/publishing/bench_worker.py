"""A ``chorus bench publish`` worker process: ``chorus worker`` itself, with the network
replaced by a stub that answers after a fixed latency and logs every post it gets.

    python -m chorus.publishing.bench_worker LOG_PATH LATENCY_SECONDS
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from datetime import UTC, datetime

from chorus.networks.base import PostContent, PublishResult, ValidationIssue
from chorus.networks.validation import validate


class StubConnector:
    """A network that takes ``latency`` per call and appends every post it gets to a log
    shared by all worker processes (one short ``O_APPEND`` write: whole lines, never mixed)."""

    def __init__(self, log_path: str, latency: float) -> None:
        self.latency = latency
        self.log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def validate(self, content: PostContent) -> list[ValidationIssue]:
        return validate("bluesky", content)

    def publish(self, content: PostContent, idempotency_key: str) -> PublishResult:
        time.sleep(self.latency)
        os.write(self.log, f"{idempotency_key}\n".encode())
        remote = uuid.uuid4().hex
        return PublishResult(
            remote_id=f"stub-{remote}",
            remote_url=f"https://stub.invalid/{remote}",
            published_at=datetime.now(UTC),
        )

    def find_published(self, idempotency_key: str, **attempt: object) -> PublishResult | None:
        return None


def main(log_path: str, latency: float) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chorus.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from chorus.channels import services as channel_services

    stub = StubConnector(log_path, latency)
    channel_services.connector_for = lambda channel: stub  # type: ignore[assignment,return-value]
    call_command("worker")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
