"""What each network accepts, and the check of a ``PostContent`` against it.

Every issue says which rule, which network and by how much, so an editor can fix the variant
before it is scheduled. Limits come from the networks' published API references; where a
network publishes its own limit at run time (a Mastodon instance) the connector passes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from chorus.networks.base import MediaItem, MediaKind, PostContent, ValidationIssue
from chorus.networks.text import (
    code_point_length,
    grapheme_length,
    hashtags,
    mastodon_length,
    utf8_length,
    x_weighted_length,
)

MB = 1024 * 1024

_COMMON_IMAGES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
_COMMON_VIDEOS = frozenset({"video/mp4", "video/quicktime"})


@dataclass(frozen=True)
class NetworkLimits:
    text_length: int
    count_text: Callable[[str], int]
    #: How ``count_text`` counts, for messages: "graphemes", "characters", "bytes"...
    text_unit: str = "characters"
    title_length: int | None = None
    title_required: bool = False
    max_media: int = 0
    max_videos: int = 0
    #: Whether images and videos may be attached to the same post.
    mixed_media: bool = False
    min_media: int = 0
    image_types: frozenset[str] = _COMMON_IMAGES
    video_types: frozenset[str] = _COMMON_VIDEOS
    max_image_bytes: int | None = None
    max_gif_bytes: int | None = None
    max_video_bytes: int | None = None
    min_video_seconds: float | None = None
    max_video_seconds: float | None = None
    #: Allowed width / height of images, inclusive (Instagram: 4:5 to 1.91:1).
    image_aspect_ratio: tuple[float, float] | None = None
    max_hashtags: int | None = None
    max_alt_text: int | None = None
    #: Continuation parts a thread may have; 0 when the network has no threads.
    max_thread_parts: int = 0
    first_comment: bool = False
    forbidden_title_characters: frozenset[str] = field(default_factory=frozenset)

    def with_text_length(self, text_length: int) -> NetworkLimits:
        return replace(self, text_length=text_length)


DEFAULT_LIMITS: dict[str, NetworkLimits] = {
    # app.bsky.feed.post: text maxGraphemes 300; app.bsky.embed.images: 4 images; blobs 1 MB.
    "bluesky": NetworkLimits(
        text_length=300,
        count_text=grapheme_length,
        text_unit="graphemes",
        max_media=4,
        max_videos=1,
        video_types=frozenset({"video/mp4", "video/quicktime", "video/webm", "video/mpeg"}),
        max_image_bytes=1_000_000,
        max_gif_bytes=1_000_000,
        max_video_bytes=100 * MB,
        max_video_seconds=180,
        max_alt_text=2000,
        max_thread_parts=50,
    ),
    # twitter-text v3 weighting; media: 4 images, or 1 GIF, or 1 video (0.5 s to 140 s).
    "x": NetworkLimits(
        text_length=280,
        count_text=x_weighted_length,
        text_unit="weighted characters",
        max_media=4,
        max_videos=1,
        max_image_bytes=5 * MB,
        max_gif_bytes=15 * MB,
        max_video_bytes=512 * MB,
        min_video_seconds=0.5,
        max_video_seconds=140,
        max_alt_text=1000,
        max_thread_parts=25,
    ),
    # Mastodon's default; the connector replaces it by the instance's configuration.
    "mastodon": NetworkLimits(
        text_length=500,
        count_text=mastodon_length,
        text_unit="characters",
        max_media=4,
        max_videos=1,
        image_types=_COMMON_IMAGES | {"image/heic", "image/avif"},
        video_types=_COMMON_VIDEOS | {"video/webm"},
        max_image_bytes=16 * MB,
        max_gif_bytes=16 * MB,
        max_video_bytes=99 * MB,
        max_alt_text=1500,
        max_thread_parts=50,
    ),
    # Posts API commentary: 3,000 characters; multi-image posts take up to 20 images.
    "linkedin": NetworkLimits(
        text_length=3000,
        count_text=code_point_length,
        max_media=20,
        max_videos=1,
        image_types=frozenset({"image/jpeg", "image/png", "image/gif"}),
        video_types=frozenset({"video/mp4"}),
        max_image_bytes=36 * MB,
        max_video_bytes=500 * MB,
        min_video_seconds=3,
        max_video_seconds=30 * 60,
        max_alt_text=4086,
        first_comment=True,
    ),
    "facebook": NetworkLimits(
        text_length=63_206,
        count_text=code_point_length,
        max_media=10,
        max_videos=1,
        max_image_bytes=10 * MB,
        max_video_bytes=10 * 1024 * MB,
        max_video_seconds=240 * 60,
        first_comment=True,
    ),
    # Content Publishing API: JPEG only, 8 MB, 4:5 to 1.91:1; carousels of up to 10 items;
    # captions of 2,200 characters and 30 hashtags; reels of 3 s to 15 min.
    "instagram": NetworkLimits(
        text_length=2200,
        count_text=code_point_length,
        max_media=10,
        max_videos=10,
        mixed_media=True,
        min_media=1,
        image_types=frozenset({"image/jpeg"}),
        max_image_bytes=8 * MB,
        max_video_bytes=300 * MB,
        min_video_seconds=3,
        max_video_seconds=15 * 60,
        image_aspect_ratio=(4 / 5, 1.91),
        max_hashtags=30,
        first_comment=True,
    ),
    # Threads API: 500 characters; carousels of up to 20 items; videos up to 5 min, 1 GB.
    "threads": NetworkLimits(
        text_length=500,
        count_text=code_point_length,
        max_media=20,
        max_videos=20,
        mixed_media=True,
        image_types=frozenset({"image/jpeg", "image/png"}),
        max_image_bytes=8 * MB,
        max_video_bytes=1024 * MB,
        max_video_seconds=5 * 60,
        max_thread_parts=25,
    ),
    # YouTube Data API: title 100 characters without "<" or ">"; description 5,000 bytes.
    "youtube": NetworkLimits(
        text_length=5000,
        count_text=utf8_length,
        text_unit="bytes",
        title_length=100,
        title_required=True,
        max_media=1,
        max_videos=1,
        min_media=1,
        image_types=frozenset(),
        video_types=frozenset({"video/mp4", "video/quicktime", "video/webm", "video/x-msvideo"}),
        max_video_bytes=256 * 1024 * MB,
        max_video_seconds=12 * 3600,
        forbidden_title_characters=frozenset("<>"),
    ),
}


def validate(
    network: str, content: PostContent, limits: NetworkLimits | None = None
) -> list[ValidationIssue]:
    """Every rule ``content`` breaks on ``network`` (with its default limits unless given)."""
    limits = limits or DEFAULT_LIMITS[network]
    issues = _Issues(network)
    _check_post(issues, limits, content, prefix="")
    if content.thread and len(content.thread) > limits.max_thread_parts:
        issues.add(
            "thread_parts",
            f"{network} takes {limits.max_thread_parts} thread continuations, "
            f"this thread has {len(content.thread)}",
            limits.max_thread_parts,
            len(content.thread),
            where="thread",
        )
    for index, part in enumerate(content.thread):
        _check_post(issues, limits, part, prefix=f"thread[{index}].")
    if content.first_comment and not limits.first_comment:
        issues.add("first_comment", f"{network} has no first comment", where="first_comment")
    return issues.found


class _Issues:
    def __init__(self, network: str) -> None:
        self.network = network
        self.found: list[ValidationIssue] = []

    def add(
        self,
        rule: str,
        message: str,
        limit: float | None = None,
        actual: float | None = None,
        *,
        where: str,
    ) -> None:
        self.found.append(ValidationIssue(self.network, rule, message, limit, actual, where))


def _check_post(issues: _Issues, limits: NetworkLimits, content: PostContent, prefix: str) -> None:
    network = issues.network
    length = limits.count_text(content.text)
    if length > limits.text_length:
        issues.add(
            "text_length",
            f"{network} allows {limits.text_length} {limits.text_unit}; this text has {length} "
            f"({length - limits.text_length} too many)",
            limits.text_length,
            length,
            where=prefix + "text",
        )
    _check_title(issues, limits, content.title, prefix)
    if limits.max_hashtags is not None:
        count = len(hashtags(content.text))
        if count > limits.max_hashtags:
            issues.add(
                "hashtag_count",
                f"{network} allows {limits.max_hashtags} hashtags; this text has {count}",
                limits.max_hashtags,
                count,
                where=prefix + "text",
            )
    _check_media_set(issues, limits, content.media, prefix)
    for index, item in enumerate(content.media):
        _check_media_item(issues, limits, item, f"{prefix}media[{index}]")


def _check_title(issues: _Issues, limits: NetworkLimits, title: str | None, prefix: str) -> None:
    network = issues.network
    if limits.title_length is None:
        return
    if not title:
        if limits.title_required:
            issues.add("title_required", f"{network} needs a title", where=prefix + "title")
        return
    length = code_point_length(title)
    if length > limits.title_length:
        issues.add(
            "title_length",
            f"{network} allows a title of {limits.title_length} characters; this one has "
            f"{length} ({length - limits.title_length} too many)",
            limits.title_length,
            length,
            where=prefix + "title",
        )
    forbidden = sorted(set(title) & limits.forbidden_title_characters)
    if forbidden:
        issues.add(
            "title_characters",
            f"{network} titles cannot contain {' '.join(forbidden)}",
            where=prefix + "title",
        )


def _check_media_set(
    issues: _Issues, limits: NetworkLimits, items: Sequence[MediaItem], prefix: str
) -> None:
    network = issues.network
    if len(items) > limits.max_media:
        issues.add(
            "media_count",
            f"{network} takes {limits.max_media} media per post; this one has {len(items)}",
            limits.max_media,
            len(items),
            where=prefix + "media",
        )
    if len(items) < limits.min_media:
        issues.add(
            "media_required",
            f"{network} needs at least {limits.min_media} media item(s)",
            limits.min_media,
            len(items),
            where=prefix + "media",
        )
    videos = sum(1 for item in items if item.kind is not MediaKind.IMAGE)
    if videos > limits.max_videos:
        issues.add(
            "video_count",
            f"{network} takes {limits.max_videos} video or GIF per post; this one has {videos}",
            limits.max_videos,
            videos,
            where=prefix + "media",
        )
    if videos and videos < len(items) and not limits.mixed_media:
        issues.add(
            "mixed_media",
            f"{network} does not mix videos or GIFs with images in one post",
            where=prefix + "media",
        )


def _check_media_item(issues: _Issues, limits: NetworkLimits, item: MediaItem, where: str) -> None:
    network = issues.network
    is_video = item.kind is MediaKind.VIDEO
    allowed_types = limits.video_types if is_video else limits.image_types
    if item.mime_type not in allowed_types:
        issues.add(
            "media_type",
            f"{network} does not take {item.mime_type}"
            + (f" (it takes {', '.join(sorted(allowed_types))})" if allowed_types else ""),
            where=where,
        )
    max_bytes = {
        MediaKind.IMAGE: limits.max_image_bytes,
        MediaKind.GIF: limits.max_gif_bytes or limits.max_image_bytes,
        MediaKind.VIDEO: limits.max_video_bytes,
    }[item.kind]
    if max_bytes is not None and item.byte_size > max_bytes:
        issues.add(
            "media_size",
            f"{network} takes files of {_megabytes(max_bytes)}; this one is "
            f"{_megabytes(item.byte_size)} ({_megabytes(item.byte_size - max_bytes)} too big)",
            max_bytes,
            item.byte_size,
            where=where,
        )
    if is_video and item.duration_seconds is not None:
        _check_duration(issues, limits, item.duration_seconds, where)
    if limits.image_aspect_ratio and not is_video and item.width and item.height:
        low, high = limits.image_aspect_ratio
        ratio = item.width / item.height
        if not low <= ratio <= high:
            issues.add(
                "aspect_ratio",
                f"{network} takes images from {low:.2f}:1 to {high:.2f}:1 (width:height); "
                f"this one is {ratio:.2f}:1",
                high if ratio > high else low,
                round(ratio, 4),
                where=where,
            )
    if limits.max_alt_text is not None:
        length = grapheme_length(item.alt_text)
        if length > limits.max_alt_text:
            issues.add(
                "alt_text_length",
                f"{network} allows alt text of {limits.max_alt_text} characters; this one has "
                f"{length} ({length - limits.max_alt_text} too many)",
                limits.max_alt_text,
                length,
                where=where,
            )


def _check_duration(issues: _Issues, limits: NetworkLimits, seconds: float, where: str) -> None:
    network = issues.network
    if limits.max_video_seconds is not None and seconds > limits.max_video_seconds:
        issues.add(
            "video_duration",
            f"{network} takes videos of up to {limits.max_video_seconds:g} s; this one lasts "
            f"{seconds:g} s ({seconds - limits.max_video_seconds:g} s too long)",
            limits.max_video_seconds,
            seconds,
            where=where,
        )
    if limits.min_video_seconds is not None and seconds < limits.min_video_seconds:
        issues.add(
            "video_duration",
            f"{network} takes videos of at least {limits.min_video_seconds:g} s; this one lasts "
            f"{seconds:g} s",
            limits.min_video_seconds,
            seconds,
            where=where,
        )


def _megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB"
