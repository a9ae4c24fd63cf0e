from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chorus.channels import services
from chorus.errors import ServiceError
from chorus.orgs.access import Actor
from chorus.orgs.models import Membership, User, Workspace
from chorus.orgs.roles import Role


class Command(BaseCommand):
    help = "Connects accounts without a browser (scripts and demos). Prints the new channel id."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        add = sub.add_parser("add", help="connect an account")
        networks = add.add_subparsers(dest="network", required=True)
        bluesky = networks.add_parser("bluesky", help="with an app password")
        bluesky.add_argument("--workspace", required=True)
        bluesky.add_argument("--handle", required=True)
        bluesky.add_argument("--app-password", required=True)
        bluesky.add_argument("--service-url", default="", help="the PDS (default: bsky.social)")
        mastodon = networks.add_parser("mastodon", help="with an access token")
        mastodon.add_argument("--workspace", required=True)
        mastodon.add_argument("--instance", required=True)
        mastodon.add_argument("--token", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with the slug {options['workspace']!r}.")
        actor = Actor(self._operator(workspace))
        try:
            if options["network"] == "bluesky":
                channel = services.connect_bluesky(
                    actor,
                    workspace,
                    handle=options["handle"],
                    app_password=options["app_password"],
                    service_url=options["service_url"],
                )
            else:
                channel = services.connect_mastodon(
                    actor,
                    workspace,
                    instance_url=options["instance"],
                    access_token=options["token"],
                )
        except ServiceError as exc:
            details = "; ".join(f"{field}: {message}" for field, message in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from None
        self.stdout.write(str(channel.pk))

    def _operator(self, workspace: Workspace) -> User:
        """The command acts as an owner of the organisation (recorded as such in the audit log)."""
        owner = (
            Membership.objects.filter(workspace_id=workspace.ancestor_ids[0], role=Role.OWNER)
            .select_related("user")
            .order_by("id")
            .first()
        )
        if owner is None:
            raise CommandError("The organisation has no owner to act as.")
        return owner.user
