"""The media library page, and the files themselves: served to the workspace's members, and
to the networks fetching a post's media through a signed link."""

from __future__ import annotations

from typing import BinaryIO

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from chorus.errors import NotFound, ServiceError
from chorus.orgs.roles import Action
from chorus.publishing import media
from chorus.publishing.models import MediaAsset
from chorus.web.shell import actor_of, workspace_page


def _item(request: HttpRequest, media_id: int) -> MediaAsset:
    """An item of this workspace's library (its own or an ancestor's), or 404."""
    workspace = request.workspace  # type: ignore[attr-defined]
    found = media.library(actor_of(request), workspace).filter(pk=media_id).first()
    if found is None:
        raise Http404
    return found


@workspace_page(Action.VIEW_CONTENT)
def library(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    workspace = request.workspace  # type: ignore[attr-defined]
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ServiceError(_("Choose a file to upload."))
            item = media.upload(actor, workspace, upload, alt_text=request.POST.get("alt_text", ""))
        except ServiceError as exc:
            if exc.status == 403:
                raise
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(name)s is in the library.") % {"name": item.name})
        return redirect("media-library", slug=workspace.slug)
    items = list(media.library(actor, workspace))
    used = set(
        MediaAsset.objects.filter(
            pk__in=[item.pk for item in items], attachments__isnull=False
        ).values_list("pk", flat=True)
    )
    return render(
        request,
        "publishing/media_library.html",
        {
            "area": "publish",
            "section": "media",
            "rows": [
                {
                    "item": item,
                    "in_use": item.pk in used,
                    "can_edit": actor.can(Action.PROPOSE_CONTENT, item.workspace),
                    "can_delete": item.pk not in used
                    and actor.can(Action.WRITE_CONTENT, item.workspace),
                }
                for item in items
            ],
            "can_upload": actor.can(Action.PROPOSE_CONTENT, workspace),
        },
    )


@workspace_page(Action.VIEW_CONTENT)
def media_file(request: HttpRequest, media_id: int) -> FileResponse:
    item = _item(request, media_id)
    try:
        opened = media.path_of(item).open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return _file_response(opened, item)


@require_GET
def public_media(request: HttpRequest, token: str, filename: str) -> FileResponse:
    """A post's media file for the network fetching it (Instagram, Threads): no login, the
    signed token is the permission; a bad, expired or stale token is a 404."""
    try:
        item = media.linked_item(token)
        opened = media.path_of(item).open("rb")
    except (NotFound, FileNotFoundError):
        raise Http404 from None
    return _file_response(opened, item)


def _file_response(opened: BinaryIO, item: MediaAsset) -> FileResponse:
    # Served as the type read from its bytes, shown rather than downloaded, never sniffed.
    response = FileResponse(opened, content_type=item.mime_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@workspace_page(Action.PROPOSE_CONTENT)
@require_POST
def alt_text(request: HttpRequest, media_id: int) -> HttpResponse:
    item = _item(request, media_id)
    try:
        media.update_alt_text(actor_of(request), item, request.POST.get("alt_text", ""))
    except ServiceError as exc:
        if exc.status == 403:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The alt text of %(name)s is saved.") % {"name": item.name})
    return redirect("media-library", slug=request.workspace.slug)  # type: ignore[attr-defined]


@workspace_page(Action.WRITE_CONTENT)
@require_POST
def delete(request: HttpRequest, media_id: int) -> HttpResponse:
    item = _item(request, media_id)
    try:
        media.delete(actor_of(request), item)
    except ServiceError as exc:
        if exc.status == 403:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s is deleted.") % {"name": item.name})
    return redirect("media-library", slug=request.workspace.slug)  # type: ignore[attr-defined]
