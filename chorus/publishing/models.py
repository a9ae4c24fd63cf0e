"""Campaigns, posts, their variants and the publishing ledger (one delivery per variant and channel).

Every row carries its workspace. A delivery's workspace is its channel's: a post written at
HQ for a market's account is seen, paused and reported in that market too.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.dates import WEEKDAYS
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from chorus.channels.models import Channel
from chorus.orgs.models import Workspace


class Campaign(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=200)
    goal = models.TextField(_("goal"), blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    #: Free labels, e.g. the content type ("job offer", "customer story") that KPIs group by.
    labels = models.JSONField(_("labels"), default=list, blank=True)
    #: Query parameters added to the link of each of its posts (see chorus/publishing/tracking.py).
    link_tracking = models.CharField(_("link tracking"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class MediaAsset(models.Model):
    """An image or video of a workspace's media library, usable in its sub-workspaces too.

    The file lives under the var dir's media folder and is served only through a view that
    checks tenancy (``stored_as`` is relative to ``settings.MEDIA_ROOT``).
    """

    class Kind(models.TextChoices):
        IMAGE = "image", _("Image")
        GIF = "gif", _("GIF")
        VIDEO = "video", _("Video")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="media_assets")
    #: The name the file had on the uploader's machine (shown, never used as a path).
    name = models.CharField(_("name"), max_length=255)
    stored_as = models.CharField(max_length=300, unique=True, editable=False)
    #: Read from the file's bytes, not from its name.
    mime_type = models.CharField(max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    alt_text = models.TextField(_("alt text"), blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    """The master content; variants adapt it per network and locale.

    ``locked_fields`` (among ``LOCKABLE_FIELDS``) are the master's parts that variants made in
    sub-workspaces must keep as they are; ``mandatory_mention`` (a legal mention, a brand
    claim) must appear verbatim in the text of every variant.
    """

    LOCKABLE_FIELDS = ("text", "link", "media", "hashtags")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="posts")
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="posts"
    )
    text = models.TextField(_("text"))
    labels = models.JSONField(_("labels"), default=list, blank=True)
    #: A link shown as a card where the network has them: {"url", "title", "description"}.
    link = models.JSONField(_("link"), default=dict, blank=True)
    #: Without "#"; appended to the text when they are not in it already.
    hashtags = models.JSONField(_("hashtags"), default=list, blank=True)
    #: Posted as the first comment where the network has them.
    first_comment = models.TextField(_("first comment"), blank=True)
    #: Texts of the thread's continuation parts, where the network has threads.
    thread = models.JSONField(_("thread"), default=list, blank=True)
    locked_fields = models.JSONField(_("locked fields"), default=list, blank=True)
    mandatory_mention = models.TextField(_("mandatory mention"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    #: The author's IANA zone when writing: schedules are shown and re-computed in it.
    author_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.text[:60]


class Variant(models.Model):
    """The post adapted to a network ("" for all) and a locale ("" for all); each empty field
    (text, media, link, hashtags, first comment, thread) inherits the master's.

    A variant's workspace says whose words it holds: the post's workspace for the variants
    written with the post; a market's (a sub-workspace whose channels the post targets) for
    that market's local variant, which its own team adapts and its own rules approve.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="variants")
    network = models.CharField(_("network"), max_length=20, blank=True)
    locale = models.CharField(_("locale"), max_length=16, blank=True)
    text = models.TextField(_("text"), blank=True)
    link = models.JSONField(_("link"), default=dict, blank=True)
    hashtags = models.JSONField(_("hashtags"), default=list, blank=True)
    first_comment = models.TextField(_("first comment"), blank=True)
    thread = models.JSONField(_("thread"), default=list, blank=True)
    #: A local variant's adaptation: set when the market's team marks it adapted.
    adapted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    adapted_at = models.DateTimeField(_("adapted at"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["post", "workspace", "network", "locale"],
                name="one_variant_per_market_network_and_locale",
            )
        ]

    def __str__(self) -> str:
        return f"{self.post_id}:{self.network or '*'}/{self.locale or '*'}"

    @property
    def effective_text(self) -> str:
        return self.text or self.post.text


class AttachedMedia(models.Model):
    """A library item attached, in order, to a post's master (no variant) or to one variant;
    a variant with none of its own shows the master's."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="attached_media")
    variant = models.ForeignKey(
        Variant, on_delete=models.CASCADE, null=True, blank=True, related_name="attached_media"
    )
    #: An item in use (even by a published post) is never deleted from the library alone; it
    #: goes with its workspace when the posts that use it go too (RESTRICT, not PROTECT).
    asset = models.ForeignKey(MediaAsset, on_delete=models.RESTRICT, related_name="attachments")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.asset_id} on {self.post_id}/{self.variant_id or 'master'}"


class Delivery(models.Model):
    """One variant on one channel: the ledger row that publishes exactly once."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        #: A market's copy of a global post, waiting for its team to adapt it.
        AWAITING_ADAPTATION = "awaiting_adaptation", _("To adapt")
        AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        PUBLISHED = "published", _("Published")
        FAILED = "failed", _("Failed")
        UNCONFIRMED = "unconfirmed", _("Unconfirmed")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")

    class Hold(models.TextChoices):
        NONE = "", _("None")
        CRISIS = "crisis", _("Crisis pause")
        CRISIS_PAST_DUE = "crisis_past_due", _("Past due after a crisis pause: decide")
        RECONNECT = "reconnect", _("Channel must be reconnected")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="deliveries")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.DRAFT, db_index=True
    )
    hold = models.CharField(_("held because"), max_length=20, choices=Hold.choices, blank=True)
    #: The instant asked for (UTC) and the zone it was asked in.
    scheduled_at = models.DateTimeField(_("scheduled at"), null=True, blank=True)
    schedule_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    #: When the ledger should next act: the scheduled time, or a retry time after a failure.
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=100, unique=True, editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=40, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    remote_id = models.CharField(max_length=500, blank=True)
    remote_url = models.URLField(max_length=1000, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    #: The network's own words for the last failure (untrusted text: escaped when shown).
    last_error = models.TextField(blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: Why an approver sent it back to draft.
    review_note = models.TextField(blank=True)
    #: Asked to go out at once ("publish now"): approving it sends it then, not at the time
    #: it was asked (which approval has made stale).
    publish_now = models.BooleanField(default=False)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "channel"], name="one_delivery_per_channel")
        ]
        indexes = [models.Index(fields=["state", "due_at"], name="delivery_due")]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.state})"


class ApprovalRule(models.Model):
    """Whether posts of a workspace (and its sub-workspaces, unless they say otherwise) need
    a manager's approval before they are scheduled."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="approval_rule"
    )
    required = models.BooleanField(_("approval required"), default=True)
    #: 1 to 3 ordered approval steps, each the weakest role that may sign it off, or
    #: {"members": [user ids]} who alone may (e.g. ["manager", {"members": [12]}]: a manager,
    #: then user 12). Empty: one manager. See ``services.set_approval_rule``.
    tiers = models.JSONField(_("approval steps"), default=list, blank=True)
    updated_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"{self.workspace}: approval {'required' if self.required else 'not required'}"


class Approval(models.Model):
    """One signed-off step of a post's approval in one workspace; cleared when the post goes
    back to draft there. The workspace says whose rules the step follows: the post's own, or
    a market's for the deliveries of its adapted local variant (see ``Variant``)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="approvals")
    tier = models.PositiveSmallIntegerField()
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["tier"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "workspace", "tier"], name="one_approval_per_workspace_and_step"
            )
        ]

    def __str__(self) -> str:
        return f"step {self.tier + 1} of post {self.post_id}"


class Comment(models.Model):
    """A remark on a post, e.g. on a draft before it is approved. Its workspace is the one it
    was written from: that workspace's team and those above it read it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class DecisionLink(models.Model):
    """The approve / reject link of an approval e-mail: for one approver and one post's
    approval in one workspace, used once, until it expires. Only a hash of its secret is kept."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"decision link for post {self.post_id} in {self.workspace_id}"


class CrisisPause(models.Model):
    """Crisis mode on a workspace subtree: every scheduled delivery in it is held."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    started_at = models.DateTimeField(default=now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"crisis pause of {self.workspace}"


class IdempotentRequest(models.Model):
    """An API creation made with an ``Idempotency-Key``: replayed for the same body, 409 else."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=200)
    body_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "scope", "key"], name="one_request_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class CalendarFeed(models.Model):
    """The secret address of a workspace's read-only iCal feed (its subtree's deliveries).

    Only a hash of the secret is kept: the address is shown once, when it is made; rotating
    replaces the hash, so the old address answers 404 from then on.
    """

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"calendar feed of {self.workspace}"


class PostingSlot(models.Model):
    """A weekly time at which a channel's queue publishes, e.g. Monday 09:00 in Paris.

    "Add to queue" gives a delivery the channel's next slot not yet taken by another one.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="posting_slots")
    #: 0 is Monday, as ``date.weekday()`` counts.
    weekday = models.PositiveSmallIntegerField(
        _("day of the week"), choices=sorted(WEEKDAYS.items())
    )
    local_time = models.TimeField(_("time"))
    zone = models.CharField(_("time zone"), max_length=64)

    class Meta:
        ordering = ["weekday", "local_time", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "weekday", "local_time", "zone"], name="one_slot_per_time"
            )
        ]

    def __str__(self) -> str:
        return f"slot {self.weekday} {self.local_time} {self.zone} of {self.channel_id}"
