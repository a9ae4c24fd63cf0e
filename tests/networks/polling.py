"""Waiting for a network that indexes in the background (the Bluesky AppView)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(read: Callable[[], T], until: Callable[[T], bool], timeout: float = 30) -> T:
    """Read until the value satisfies ``until``; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value) or time.monotonic() > deadline:
            assert until(value), f"never satisfied; last value: {value!r}"
            return value
        time.sleep(0.2)
