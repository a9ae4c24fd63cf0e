"""The media library: images and videos uploaded once per workspace and used in its posts.

A file's type is read from its bytes (a ``.jpg`` that is really text is refused), images are
opened with Pillow for their dimensions, and files are stored under ``MEDIA_ROOT/library``,
never in a public folder: ``chorus.publishing.library_views.media_file`` serves them to
members only, and ``public_media`` to the networks that fetch a post's media themselves,
through signed, expiring links (``public_url``).
An item of a workspace is visible in its sub-workspaces; it is changed or deleted only where
it was uploaded, and deleted only while no post uses it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from chorus.errors import Conflict, Forbidden, Invalid, NotFound
from chorus.networks.base import MediaItem, PostContent
from chorus.networks.errors import InvalidContent
from chorus.networks.registry import NETWORKS
from chorus.orgs import audit
from chorus.orgs.access import Actor, require
from chorus.orgs.models import Workspace
from chorus.orgs.roles import Action
from chorus.publishing.models import MediaAsset

Kind = MediaAsset.Kind
MB = 1024 * 1024
#: Above every network's own limit for the kind (they are checked per network when posting).
MAX_BYTES: dict[str, int] = {Kind.IMAGE: 50 * MB, Kind.GIF: 50 * MB, Kind.VIDEO: 1024 * MB}
MAX_ALT_TEXT = 2000
#: Enough of the file's start to recognise every type accepted.
_HEAD_BYTES = 32

_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
}


class Upload(Protocol):
    """What Django's ``UploadedFile`` offers (and a test's ``SimpleUploadedFile``)."""

    name: str | None

    def chunks(self, chunk_size: int | None = None) -> Iterable[bytes]: ...


def sniff(head: bytes) -> str | None:
    """The MIME type announced by a file's first bytes, among the types the library takes."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def _kind(mime_type: str) -> str:
    if mime_type == "image/gif":
        return Kind.GIF
    return Kind.VIDEO if mime_type.startswith("video/") else Kind.IMAGE


def _root() -> Path:
    return Path(settings.MEDIA_ROOT) / "library"


def path_of(asset: MediaAsset) -> Path:
    return _root() / asset.stored_as


# Reads ------------------------------------------------------------------------------------------


def library(actor: Actor, workspace: Workspace) -> QuerySet[MediaAsset]:
    """The items usable in ``workspace``: its own and those of its ancestors."""
    require(actor, Action.VIEW_CONTENT, workspace)
    return MediaAsset.objects.filter(workspace_id__in=workspace.ancestor_ids).select_related(
        "workspace"
    )


def _visible_workspace_ids(actor: Actor) -> set[int]:
    """Workspaces whose items the actor sees: those in reach, and their ancestors."""
    reach = actor.workspace_ids(Action.VIEW_WORKSPACE)
    ids = set(reach)
    for path in Workspace.objects.filter(pk__in=reach).values_list("path", flat=True):
        ids.update(int(part) for part in path.strip("/").split("/") if part)
    return ids


def asset(actor: Actor, asset_id: int, action: str) -> MediaAsset:
    """One item to change: 404 when out of reach, 403 when the role does not allow ``action``
    where it was uploaded (a market sees HQ's items but changes only its own)."""
    try:
        found = MediaAsset.objects.select_related("workspace").get(
            pk=asset_id, workspace_id__in=_visible_workspace_ids(actor)
        )
    except MediaAsset.DoesNotExist:
        raise NotFound() from None
    if not actor.can(action, found.workspace):
        raise Forbidden()
    return found


def in_use(item: MediaAsset) -> bool:
    return item.attachments.exists()


def media_item(item: MediaAsset, *, with_public_url: bool = False) -> MediaItem:
    """The item as connectors take it: the file, its type, size, dimensions and alt text, and
    ``with_public_url`` a signed link for the networks that fetch media themselves."""
    return MediaItem(
        mime_type=item.mime_type,
        path=path_of(item),
        alt_text=item.alt_text,
        size=item.size,
        width=item.width,
        height=item.height,
        url=public_url(item) if with_public_url else "",
    )


# Public links -----------------------------------------------------------------------------------
# Instagram and Threads do not take a file: their servers fetch it from a URL given when the
# post is created. A public link is signed (unguessable, untamperable), expires, and names the
# stored file: a file stored anew no longer matches the links made for the old one.

_LINK_SALT = "chorus.publishing.media.public-link"


def _file_fingerprint(item: MediaAsset) -> str:
    """Changes whenever the stored file does (its name, size or modification time), without
    reading up to a gigabyte of video on every request."""
    try:
        stat = path_of(item).stat()
    except FileNotFoundError:
        return ""
    seen = f"{item.stored_as}:{stat.st_size}:{stat.st_mtime_ns}".encode()
    return hashlib.blake2b(seen, digest_size=12).hexdigest()


def _link_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_LINK_SALT)


def public_filename(item: MediaAsset) -> str:
    """A plain name for the link's last segment (networks like to see the extension)."""
    stem = slugify(Path(item.name).stem)[:80] or "media"
    return f"{stem}.{_EXTENSIONS.get(item.mime_type, 'bin')}"


def public_url(item: MediaAsset) -> str:
    """A link to the item's file that works without logging in, for
    ``settings.PUBLIC_MEDIA_LINK_HOURS``, and only while a post uses the item."""
    token = _link_signer().sign(f"{item.pk}.{_file_fingerprint(item)}")
    page = reverse("media-public", kwargs={"token": token, "filename": public_filename(item)})
    return settings.PUBLIC_URL + page


def linked_item(token: str) -> MediaAsset:
    """The item a public link names: NotFound when the link is forged, expired, made for a
    file since replaced, or the item is no longer attached to any post."""
    max_age = timedelta(hours=settings.PUBLIC_MEDIA_LINK_HOURS)
    try:
        signed = _link_signer().unsign(token, max_age=max_age)
    except signing.BadSignature:  # expired links included
        raise NotFound() from None
    item_id, _dot, fingerprint = signed.partition(".")
    found = MediaAsset.objects.filter(pk=int(item_id)).first()
    if found is None or not in_use(found) or fingerprint != _file_fingerprint(found):
        raise NotFound()
    return found


def require_reachable_links(content: PostContent, network: str) -> None:
    """Refuses, before anything is sent, media that a network would fetch from an address
    the internet cannot reach (the default ``http://127.0.0.1:8000``, a private network)."""
    fetched_by_url = any(item.url for item in content.media)
    if not fetched_by_url or _reachable_from_internet(settings.PUBLIC_URL):
        return
    # Only Meta's networks (Instagram, Threads) fetch media by URL.
    raise InvalidContent(
        _(
            "Meta cannot reach %(url)s to fetch the media of this %(network)s post: set "
            "CHORUS_PUBLIC_URL to the address where Chorus is reachable from the internet."
        )
        % {"url": settings.PUBLIC_URL, "network": NETWORKS[network].display_name},
        network=network,
        status=None,
    )


def _reachable_from_internet(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return "." in host  # a name without a dot is a machine on the local network


# Writes -----------------------------------------------------------------------------------------


def upload(actor: Actor, workspace: Workspace, file: Upload, *, alt_text: str = "") -> MediaAsset:
    """Stores an image or video in the workspace's library, after reading what it really is."""
    require(actor, Action.PROPOSE_CONTENT, workspace)
    name = Path(file.name or "upload").name[:255]
    alt_text = _clean_alt_text(alt_text)
    target = _root() / str(workspace.pk) / uuid.uuid4().hex
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    try:
        mime_type, size = _write(file, partial, name)
        width, height = _dimensions(partial, mime_type, name)
        final = target.with_suffix("." + _EXTENSIONS[mime_type])
        partial.rename(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    try:
        with transaction.atomic():
            item = MediaAsset.objects.create(
                workspace=workspace,
                name=name,
                stored_as=str(final.relative_to(_root())),
                mime_type=mime_type,
                kind=_kind(mime_type),
                size=size,
                width=width,
                height=height,
                alt_text=alt_text,
                uploaded_by=actor.user,
            )
            audit.record(
                actor,
                "media.uploaded",
                workspace=workspace,
                target=item,
                details={"name": name, "mime_type": mime_type, "size": size},
            )
    except BaseException:
        final.unlink(missing_ok=True)
        raise
    return item


def _write(file: Upload, destination: Path, name: str) -> tuple[str, int]:
    mime_type: str | None = None
    size = 0
    with destination.open("wb") as out:
        for chunk in file.chunks():
            if mime_type is None:
                mime_type = sniff(chunk[:_HEAD_BYTES])
                if mime_type is None:
                    raise Invalid(
                        _(
                            "%(name)s is not an image or a video the library takes (JPEG, PNG, GIF, WebP, MP4, MOV, WebM)."
                        )
                        % {"name": name},
                        fields={"file": _("Unknown file type.")},
                    )
            size += len(chunk)
            limit = MAX_BYTES[_kind(mime_type)]
            if size > limit:
                raise Invalid(
                    _("%(name)s is larger than %(limit)s MB.")
                    % {"name": name, "limit": limit // MB},
                    fields={"file": _("Too large.")},
                )
            out.write(chunk)
    if mime_type is None:
        raise Invalid(_("%(name)s is empty.") % {"name": name}, fields={"file": _("Empty file.")})
    return mime_type, size


def _dimensions(path: Path, mime_type: str, name: str) -> tuple[int | None, int | None]:
    if not mime_type.startswith("image/"):
        return None, None
    try:
        with Image.open(path) as image:
            image.verify()  # a truncated or forged image is refused here, not by a network later
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise Invalid(
            _("%(name)s cannot be read as an image.") % {"name": name},
            fields={"file": _("Damaged or not an image.")},
        ) from None
    return width, height


def _clean_alt_text(alt_text: str) -> str:
    alt_text = alt_text.strip()
    if len(alt_text) > MAX_ALT_TEXT:
        raise Invalid(
            _("Alt text is limited to %(max)s characters.") % {"max": MAX_ALT_TEXT},
            fields={"alt_text": _("Too long.")},
        )
    return alt_text


@transaction.atomic
def update_alt_text(actor: Actor, item: MediaAsset, alt_text: str) -> MediaAsset:
    require(actor, Action.PROPOSE_CONTENT, item.workspace)
    alt_text = _clean_alt_text(alt_text)
    if not alt_text and item.kind != Kind.VIDEO and in_use(item):
        raise Invalid(
            _("%(name)s is used by a post: its alt text cannot be removed.") % {"name": item.name},
            fields={"alt_text": _("Required for an image in use.")},
        )
    item.alt_text = alt_text
    item.save(update_fields=["alt_text"])
    audit.record(actor, "media.alt_text", workspace=item.workspace, target=item)
    return item


@transaction.atomic
def delete(actor: Actor, item: MediaAsset) -> None:
    """Removes an item no post uses; the file goes once the deletion is committed."""
    require(actor, Action.WRITE_CONTENT, item.workspace)
    if in_use(item):
        raise Conflict(
            _("%(name)s is used by a post: it stays in the library.") % {"name": item.name}
        )
    path = path_of(item)
    audit.record(
        actor, "media.deleted", workspace=item.workspace, target=item, details={"name": item.name}
    )
    item.delete()
    transaction.on_commit(lambda: path.unlink(missing_ok=True))
