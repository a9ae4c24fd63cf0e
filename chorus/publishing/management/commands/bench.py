from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Benchmarks: `bench publish` runs the publishing ledger against a local stub network."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        publish = sub.add_parser("publish", help="the publishing ledger, measured")
        publish.add_argument("--deliveries", type=int, default=1000)
        publish.add_argument("--channels", type=int, default=10)
        publish.add_argument("--latency-ms", type=int, default=50)
        publish.add_argument(
            "--workers", type=int, default=4, help="`chorus worker` processes to start (default 4)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from chorus.publishing.benchmark import run

        figures = run(
            deliveries=options["deliveries"],
            channels=options["channels"],
            latency_ms=options["latency_ms"],
            workers=options["workers"],
        )
        self.stdout.write(json.dumps(asdict(figures)))
