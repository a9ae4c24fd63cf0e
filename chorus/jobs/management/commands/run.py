import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from waitress.server import create_server

from chorus.jobs.worker import consume
from chorus.orgs.bootstrap import ensure_first_owner
from chorus.wsgi import application


class Command(BaseCommand):
    help = "Migrates, then serves the web app, the queue worker and the periodic scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        # Jobs mostly wait on networks: threads, not cores, bound how many run at once.
        parser.add_argument(
            "--threads", type=int, default=8, help="queue worker threads (default 8)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        created = ensure_first_owner()
        if created:
            email, password = created
            self.stdout.write(self.style.SUCCESS("Created the first owner account:"))
            self.stdout.write(f"  e-mail:   {email}")
            self.stdout.write(
                f"  password: {password}"
                if password
                else "  password: (from CHORUS_ADMIN_PASSWORD)"
            )
        server = create_server(application, host=options["host"], port=options["port"], threads=8)
        threading.Thread(target=server.run, name="chorus-web", daemon=True).start()
        self.stdout.write(
            f"Chorus is running on http://{options['host']}:{options['port']}/  (data in {settings.VAR_DIR})"
        )
        self.stdout.flush()
        try:
            consume(workers=options["threads"], periodic=True)
        finally:
            server.close()
