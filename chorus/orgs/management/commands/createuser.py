from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chorus.errors import ServiceError
from chorus.orgs import services
from chorus.orgs.models import Membership, Workspace
from chorus.orgs.roles import Role


class Command(BaseCommand):
    help = "Creates a user. With --owner, the user owns the organisation (created if none exists)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="", help="display name")
        parser.add_argument(
            "--owner", action="store_true", help="make them an owner of the organisation"
        )
        parser.add_argument(
            "--organisation", help="slug of the organisation to own (default: the first one)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = services.create_user(
                email=options["email"],
                password=options["password"],
                owner=options["owner"],
                display_name=options["name"],
            )
        except ServiceError as exc:
            details = "; ".join(f"{field}: {message}" for field, message in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from None
        if options["owner"]:
            roots = Workspace.objects.filter(parent=None).order_by("id")
            if options["organisation"]:
                roots = roots.filter(organisation__slug=options["organisation"])
            root = roots.first()
            if root is None and options["organisation"]:
                raise CommandError(f"No organisation with the slug {options['organisation']!r}.")
            if root is None:
                services.create_organisation(
                    owner=user, name="My organisation", slug="my-organisation"
                )
            else:
                Membership.objects.update_or_create(
                    user=user, workspace=root, defaults={"role": Role.OWNER}
                )
        self.stdout.write(f"Created {user.email}" + (" (owner)" if options["owner"] else ""))
