"""First run: an owner account and an organisation, so a fresh install can be logged into."""

from __future__ import annotations

import os
import secrets

from django.db import transaction

from chorus.orgs import services
from chorus.orgs.models import User

DEFAULT_ADMIN_EMAIL = "admin@chorus.localhost"


@transaction.atomic
def ensure_first_owner() -> tuple[str, str | None] | None:
    """Creates the first owner when there is no user at all.

    Returns (e-mail, generated password) when it created one; the password is None when it
    came from ``CHORUS_ADMIN_PASSWORD`` (it is the operator's, not ours to print).
    """
    if User.objects.exists():
        return None
    email = os.environ.get("CHORUS_ADMIN_EMAIL", "").strip().lower() or DEFAULT_ADMIN_EMAIL
    given = os.environ.get("CHORUS_ADMIN_PASSWORD", "")
    password = given or secrets.token_urlsafe(12)
    owner = User.objects.create_superuser(email, password)
    services.create_organisation(owner=owner, name="My organisation", slug="my-organisation")
    return email, (None if given else password)
