from chorus import jobs
from chorus.channels import services


@jobs.periodic(minute="*/10")
def refresh_expiring_tokens() -> None:
    """Renews tokens before they expire, so no scheduled post meets an expired token."""
    services.refresh_expiring()
