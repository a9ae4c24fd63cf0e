from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chorus.jobs.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def beat(seconds_ago: float) -> None:
    WorkerHeartbeat.objects.create(
        worker_id=f"host:1:{seconds_ago}",
        hostname="host",
        pid=1,
        last_seen=timezone.now() - timedelta(seconds=seconds_ago),
    )


def test_healthy_when_the_worker_beat_recently(client):
    beat(5)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["queue"]["ok"]
    assert 4 <= body["worker"]["age_seconds"] < 60


def test_503_when_the_worker_is_silent_for_more_than_a_minute(client):
    beat(90)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"]["ok"] is False
    assert response.json()["worker"]["age_seconds"] >= 90


def test_503_when_no_worker_ever_ran(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["worker"]["last_heartbeat"] is None
