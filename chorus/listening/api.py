from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from chorus.api.auth import actor
from chorus.api.pagination import PageParams, paginate
from chorus.listening import services
from chorus.listening.models import LabelCorrection
from chorus.orgs.access import scoped, workspace_for
from chorus.orgs.roles import Action

router = Router(tags=["listening"])


class CorrectionIn(Schema):
    workspace: str
    text: str = Field(description="the text as it was classified")
    task: str = Field(description="sentiment or emotion")
    label: str = Field(description="the right label, e.g. negative, or anger")
    predicted: str = Field("", description="what the model had said, if known")


class CorrectionOut(Schema):
    id: int
    workspace: str
    text: str
    task: str
    label: str
    predicted: str
    created_at: datetime

    @staticmethod
    def build(correction: LabelCorrection) -> CorrectionOut:
        return CorrectionOut(
            id=correction.pk,
            workspace=correction.workspace.slug,
            text=correction.text,
            task=correction.task,
            label=correction.label,
            predicted=correction.predicted,
            created_at=correction.created_at,
        )


class CorrectionPage(Schema):
    items: list[CorrectionOut]
    next_cursor: str | None


class CorrectionFilter(Schema):
    workspace: str | None = None


@router.post("/listening/corrections", response={201: CorrectionOut})
def record_correction(request: HttpRequest, payload: CorrectionIn) -> Status[CorrectionOut]:
    """Records a human correction; `chorus nlp train --workspace SLUG` learns from them."""
    who = actor(request)
    correction = services.record_correction(
        who,
        workspace_for(who, payload.workspace),
        text=payload.text,
        task=payload.task,
        label=payload.label,
        predicted=payload.predicted,
    )
    return Status(201, CorrectionOut.build(correction))


@router.get("/listening/corrections", response=CorrectionPage)
def list_corrections(
    request: HttpRequest, filters: Query[CorrectionFilter], page: Query[PageParams]
) -> dict:
    who = actor(request)
    rows = scoped(who, LabelCorrection.objects.select_related("workspace"), Action.VIEW_CONTENT)
    if filters.workspace:
        workspace = workspace_for(who, filters.workspace, Action.VIEW_CONTENT)
        rows = rows.filter(workspace__path__startswith=workspace.path)
    result = paginate(rows, page, newest_first=True)
    result["items"] = [CorrectionOut.build(row) for row in result["items"]]
    return result
