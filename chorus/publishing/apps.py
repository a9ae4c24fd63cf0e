from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "chorus.publishing"
    verbose_name = _("Publishing")

    def ready(self) -> None:
        from chorus.channels.signals import channel_reconnected
        from chorus.publishing.ledger import release_reconnected_now

        # Posts held for a reconnection go out as soon as the account works again.
        channel_reconnected.connect(release_reconnected_now, dispatch_uid="publishing.release")
