from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chorus.jobs.worker import consume


class Command(BaseCommand):
    help = "Runs a standalone queue worker (scale out: start as many as you like, on any machine)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--threads", type=int, default=8, help="jobs run in parallel (default 8)"
        )
        parser.add_argument(
            "--periodic",
            action="store_true",
            help="also schedule periodic jobs (each period still runs once across all workers)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        consume(workers=options["threads"], periodic=options["periodic"])
