from django.conf import settings
from django.db import models
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from chorus.orgs.models import Workspace


class LabelCorrection(models.Model):
    """A person's verdict on what a text expresses, used to fit the workspace's own models."""

    class Task(models.TextChoices):
        SENTIMENT = "sentiment", _("Sentiment")
        EMOTION = "emotion", _("Emotion")

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="label_corrections"
    )
    text = models.TextField(_("text"))
    task = models.CharField(_("task"), max_length=20, choices=Task.choices)
    label = models.CharField(_("label"), max_length=20)
    # What the model said before the correction, to measure how often people disagree with it.
    predicted = models.CharField(_("predicted label"), max_length=20, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.task}={self.label}: {self.text[:40]}"
