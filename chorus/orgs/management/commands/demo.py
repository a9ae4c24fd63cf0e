from typing import Any

from django.core.management.base import BaseCommand, CommandError

from chorus.errors import ServiceError
from chorus.orgs.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Loads a demo organisation (a group with brands, countries, sites and people in every role)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            people = load_demo()
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS("Demo organisation loaded: Lumen Group (demo)."))
        self.stdout.write(f"Every demo person logs in with the password {DEMO_PASSWORD}:")
        for email, role in people:
            self.stdout.write(f"  {role:<12} {email}")
