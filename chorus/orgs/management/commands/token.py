from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chorus.errors import ServiceError
from chorus.orgs import services
from chorus.orgs.access import Actor, workspace_for
from chorus.orgs.models import User
from chorus.orgs.roles import Role


class Command(BaseCommand):
    help = "Manages API tokens. `token create` prints the new token on stdout and nothing else."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        create = sub.add_parser("create", help="create a token for a user")
        create.add_argument("--email", required=True)
        create.add_argument(
            "--workspace", help="limit the token to this workspace slug and its sub-workspaces"
        )
        create.add_argument("--role", choices=Role.values, help="role ceiling of the token")
        create.add_argument("--name", default="command line")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(email=options["email"].strip().lower(), is_active=True).first()
        if user is None:
            raise CommandError(f"No active user with the e-mail {options['email']!r}.")
        actor = Actor(user, ip=None)
        try:
            workspace = workspace_for(actor, options["workspace"]) if options["workspace"] else None
            _token, secret = services.create_token(
                actor, name=options["name"], workspace=workspace, role_ceiling=options["role"]
            )
        except ServiceError as exc:
            where = f" (workspace {options['workspace']!r})" if options["workspace"] else ""
            raise CommandError(f"{exc.message}{where}") from None
        self.stdout.write(secret)
