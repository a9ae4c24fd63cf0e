"""Human corrections of the sentiment and emotion models, kept per workspace."""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from chorus.errors import Invalid
from chorus.listening.models import LabelCorrection
from chorus.nlp.labels import EMOTIONS, SENTIMENTS
from chorus.orgs import audit
from chorus.orgs.access import Actor, require
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action

LABELS: dict[str, tuple[str, ...]] = {"sentiment": SENTIMENTS, "emotion": EMOTIONS}
MAX_TEXT = 5000


@transaction.atomic
def record_correction(
    actor: Actor, workspace: Workspace, *, text: str, task: str, label: str, predicted: str = ""
) -> LabelCorrection:
    require(actor, Action.PROPOSE_CONTENT, workspace)
    errors: dict[str, str] = {}
    if not text.strip():
        errors["text"] = _("The text that was mislabelled is required.")
    elif len(text) > MAX_TEXT:
        errors["text"] = _("At most %(max)d characters.") % {"max": MAX_TEXT}
    if task not in LABELS:
        errors["task"] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(LABELS)}
    elif label not in LABELS[task]:
        errors["label"] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(LABELS[task])}
    if errors:
        raise Invalid(_("Some fields are not valid."), fields=errors)
    correction = LabelCorrection.objects.create(
        workspace=workspace,
        text=text.strip(),
        task=task,
        label=label,
        predicted=predicted,
        corrected_by=actor.user,
    )
    audit.record(
        actor,
        "nlp.label_corrected",
        workspace=workspace,
        target=correction,
        details={"task": task, "label": label},
    )
    return correction


def export_corrections(workspace: Workspace, path: Path) -> int:
    """Writes the corrections of the workspace and its ancestors as JSONL for ``chorus nlp train``.

    A brand's corrections teach its markets too; a market's own never leak upwards.
    """
    rows = LabelCorrection.objects.filter(workspace_id__in=workspace.ancestor_ids).order_by("id")
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in rows.iterator():
            handle.write(
                json.dumps(
                    {"text": row.text, "task": row.task, "label": row.label}, ensure_ascii=False
                )
                + "\n"
            )
            count += 1
    return count
