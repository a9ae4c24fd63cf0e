import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chorus.listening.services import export_corrections
from chorus.orgs.models import Workspace


class Command(BaseCommand):
    help = (
        "`chorus nlp train --workspace SLUG`: fits the workspace's models on its label corrections."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subcommand", choices=["train"])
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--data", help="labelled corpora folder (default: ../shared/data/nlp)")

    def handle(self, *args: Any, **options: Any) -> None:
        from chorus.nlp.cli import main as nlp_main

        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with the slug {options['workspace']!r}.")
        with tempfile.TemporaryDirectory() as folder:
            corrections = Path(folder) / "corrections.jsonl"
            count = export_corrections(workspace, corrections)
            if count == 0:
                raise CommandError(
                    f"The workspace {workspace.slug} has no label correction to learn from yet."
                )
            self.stderr.write(
                f"training on {count} corrections of {workspace.slug} and its parent workspaces"
            )
            data = ["--data", options["data"]] if options["data"] else []
            out = Path(settings.VAR_DIR) / "nlp" / "workspaces" / workspace.slug
            code = nlp_main(
                [
                    "train",
                    "--workspace",
                    workspace.slug,
                    "--corrections",
                    str(corrections),
                    "--out",
                    str(out),
                    *data,
                ]
            )
        if code:
            raise CommandError(f"training failed (exit {code})")
