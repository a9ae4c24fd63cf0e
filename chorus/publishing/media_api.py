"""The media library under /api/v1/media: list, upload, alt text, delete."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from chorus.api.auth import actor
from chorus.api.pagination import PageParams, paginate
from chorus.orgs.access import workspace_for
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action
from chorus.publishing import media
from chorus.publishing.models import MediaAsset

router = Router(tags=["media"])


class MediaOut(Schema):
    id: int
    workspace: str = Field(description="where it was uploaded; usable in its sub-workspaces")
    name: str
    mime_type: str = Field(description="read from the file's bytes")
    kind: str
    size: int
    width: int | None
    height: int | None
    alt_text: str
    in_use: bool
    url: str = Field(description="the file, for signed-in members of the workspace it is listed in")
    created_at: datetime

    @staticmethod
    def build(
        item: MediaAsset, in_use: bool | None = None, via: Workspace | None = None
    ) -> MediaOut:
        """``via``: the workspace whose library lists it (its file is served there)."""
        return MediaOut(
            id=item.pk,
            workspace=item.workspace.slug,
            name=item.name,
            mime_type=item.mime_type,
            kind=item.kind,
            size=item.size,
            width=item.width,
            height=item.height,
            alt_text=item.alt_text,
            in_use=media.in_use(item) if in_use is None else in_use,
            url=reverse(
                "media-file", kwargs={"slug": (via or item.workspace).slug, "media_id": item.pk}
            ),
            created_at=item.created_at,
        )


class MediaPage(Schema):
    items: list[MediaOut]
    next_cursor: str | None


class AltTextIn(Schema):
    alt_text: str = Field(max_length=media.MAX_ALT_TEXT)


@router.get("/media", response=MediaPage)
def list_media(request: HttpRequest, workspace: str, page: Query[PageParams]) -> dict:
    """The items usable in the workspace: its own and its ancestors' (HQ's library)."""
    who = actor(request)
    listed_in = workspace_for(who, workspace, Action.VIEW_CONTENT)
    result = paginate(media.library(who, listed_in), page, newest_first=True)
    used = set(
        MediaAsset.objects.filter(
            pk__in=[item.pk for item in result["items"]], attachments__isnull=False
        ).values_list("pk", flat=True)
    )
    result["items"] = [MediaOut.build(item, item.pk in used, listed_in) for item in result["items"]]
    return result


@router.post("/media", response={201: MediaOut})
def upload_media(
    request: HttpRequest,
    workspace: Form[str],
    file: File[UploadedFile],
    alt_text: Form[str] = "",
) -> Status[MediaOut]:
    """Multipart upload (`workspace`, `file`, optional `alt_text`). The type is read from the
    file's bytes: JPEG, PNG, GIF, WebP, MP4, MOV or WebM. Images need alt text before a post
    can use them."""
    who = actor(request)
    found = workspace_for(who, workspace, Action.PROPOSE_CONTENT)
    return Status(201, MediaOut.build(media.upload(who, found, file, alt_text=alt_text), False))


@router.patch("/media/{media_id}", response=MediaOut)
def update_media(request: HttpRequest, media_id: int, payload: AltTextIn) -> MediaOut:
    who = actor(request)
    item = media.asset(who, media_id, Action.PROPOSE_CONTENT)
    return MediaOut.build(media.update_alt_text(who, item, payload.alt_text))


@router.delete("/media/{media_id}", response={204: None})
def delete_media(request: HttpRequest, media_id: int) -> Status[None]:
    """Deletes an item no post uses (409 otherwise)."""
    who = actor(request)
    media.delete(who, media.asset(who, media_id, Action.WRITE_CONTENT))
    return Status(204, None)
