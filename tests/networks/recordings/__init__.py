"""Recorded HTTP exchanges, written from the networks' published API references, and their replay.

A recording is a JSON file: ``{"source": <reference URL>, "exchanges": [...]}``, each exchange a
``request`` (what the connector must send) and a ``response`` (what the network answers), or
``"raise": "ReadTimeout"`` for a connection that fails, or ``"crash": true`` for the worker
process dying as it makes that request (``WorkerDied``, which no connector catches). ``replay`` serves them in order with
respx and checks every request against its recording: method, URL, and the query parameters,
JSON fields, form fields and headers the recording names (others may be present). A header value
``{now+900}`` is the current Unix time plus 900 seconds, for resets that must lie ahead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import respx

HERE = Path(__file__).parent


class WorkerDied(BaseException):
    """The process stopped there (killed, out of memory): nothing after this line ran."""


@dataclass
class Replay:
    exchanges: list[dict[str, Any]]
    requests: list[httpx.Request] = field(default_factory=list)

    def serve(self, request: httpx.Request) -> httpx.Response:
        number = len(self.requests)
        request.read()
        self.requests.append(request)
        assert number < len(self.exchanges), f"unexpected request {request.method} {request.url}"
        exchange = self.exchanges[number]
        _check(exchange["request"], request, number)
        if exchange.get("crash"):
            raise WorkerDied(f"the worker died making request {number}")
        if "raise" in exchange:
            raise getattr(httpx, exchange["raise"])("recorded failure", request=request)
        answer = exchange["response"]
        headers = {name: _expand(value) for name, value in answer.get("headers", {}).items()}
        if "json" in answer:
            return httpx.Response(answer["status"], headers=headers, json=answer["json"])
        return httpx.Response(answer["status"], headers=headers, text=answer.get("text", ""))

    def sent(self, number: int) -> httpx.Request:
        return self.requests[number]


@contextmanager
def replay(*names: str) -> Iterator[Replay]:
    """Serve the exchanges of the named recordings (``"x/publish"``), one after the other;
    fail if the connector sends anything else or leaves an exchange unused."""
    exchanges = [
        exchange
        for name in names
        for exchange in json.loads((HERE / f"{name}.json").read_text())["exchanges"]
    ]
    served = Replay(exchanges)
    with respx.mock(assert_all_called=False) as router:
        router.route().mock(side_effect=served.serve)
        yield served
    assert len(served.requests) == len(exchanges), (
        f"{len(exchanges) - len(served.requests)} recorded exchange(s) never requested"
    )


def _check(expected: dict[str, Any], request: httpx.Request, number: int) -> None:
    where = f"request {number} ({request.method} {request.url.copy_with(query=None)})"
    assert request.method == expected["method"], where
    assert str(request.url.copy_with(query=None)) == expected["url"], where
    query = {key: values[-1] for key, values in parse_qs(request.url.query.decode()).items()}
    for name, value in expected.get("params", {}).items():
        assert query.get(name) == value, f"{where}: query {name}={query.get(name)!r}"
    for name, value in expected.get("headers", {}).items():
        assert request.headers.get(name) == value, f"{where}: header {name}"
    if "json" in expected:
        body = json.loads(request.content)
        for name, value in expected["json"].items():
            assert body.get(name) == value, f"{where}: JSON {name}={body.get(name)!r}"
    if "form" in expected:
        form = {key: values[-1] for key, values in parse_qs(request.content.decode()).items()}
        for name, value in expected["form"].items():
            assert form.get(name) == value, f"{where}: form {name}={form.get(name)!r}"
    if "multipart" in expected:
        content = request.content
        for name, value in expected["multipart"].items():
            part = f'name="{name}"\r\n\r\n{value}\r\n'.encode()
            assert part in content, f"{where}: multipart field {name} is not {value!r}"
    if "body_bytes" in expected:
        assert len(request.content) == expected["body_bytes"], f"{where}: body size"


def _expand(value: str) -> str:
    if value.startswith("{now+") and value.endswith("}"):
        return str(int(time.time()) + int(value[5:-1]))
    return value
