"""What other apps may react to without the channels app knowing them."""

from django.dispatch import Signal

# Sent (after the commit) when an account that needed reconnecting works again; ``channel``.
channel_reconnected = Signal()
