"""Each issue says which rule, which network and by how much."""

from __future__ import annotations

from chorus.networks.base import MediaItem, PostContent
from chorus.networks.validation import validate


def image(**fields) -> MediaItem:
    return MediaItem(mime_type=fields.pop("mime_type", "image/jpeg"), data=b"x", **fields)


def rules(network: str, content: PostContent) -> list[tuple[str, str, float | None, float | None]]:
    return [(i.rule, i.where, i.limit, i.actual) for i in validate(network, content)]


def test_x_counts_weighted_length_against_280():
    issues = validate("x", PostContent(text="日本" * 141))

    assert [(i.network, i.rule, i.limit, i.actual, i.excess) for i in issues] == [
        ("x", "text_length", 280, 564, 284)
    ]
    assert "284 too many" in issues[0].message


def test_instagram_wants_media_and_checks_hashtags_carousel_and_aspect_ratio():
    caption = " ".join(f"#tag{n}" for n in range(31))
    wide = image(width=2000, height=1000)

    assert rules("instagram", PostContent(text=caption, media=[wide] * 11)) == [
        ("hashtag_count", "text", 30, 31),
        ("media_count", "media", 10, 11),
        *[("aspect_ratio", f"media[{n}]", 1.91, 2.0) for n in range(11)],
    ]
    assert rules("instagram", PostContent(text="no picture")) == [("media_required", "media", 1, 0)]


def test_video_duration_and_size_say_by_how_much():
    long_video = MediaItem(
        mime_type="video/mp4", data=b"v", size=600 * 1024 * 1024, duration_seconds=200
    )

    assert rules("x", PostContent(media=[long_video])) == [
        ("media_size", "media[0]", 512 * 1024 * 1024, 600 * 1024 * 1024),
        ("video_duration", "media[0]", 140, 200),
    ]


def test_youtube_needs_a_clean_title_and_counts_the_description_in_bytes():
    content = PostContent(
        text="é" * 2501, title="<b>" + "t" * 100, media=[MediaItem("video/mp4", data=b"v")]
    )

    assert rules("youtube", content) == [
        ("text_length", "text", 5000, 5002),
        ("title_length", "title", 100, 103),
        ("title_characters", "title", None, None),
    ]


def test_a_thread_is_checked_part_by_part_and_refused_where_there_are_none():
    thread = [PostContent(text="ok"), PostContent(text="x" * 301)]

    assert rules("bluesky", PostContent(text="start", thread=thread)) == [
        ("text_length", "thread[1].text", 300, 301)
    ]
    assert rules("linkedin", PostContent(text="start", thread=thread[:1])) == [
        ("thread_parts", "thread", 0, 1)
    ]


def test_mastodon_does_not_mix_a_video_with_images():
    video = MediaItem("video/mp4", data=b"v")

    assert rules("mastodon", PostContent(media=[image(), video])) == [
        ("mixed_media", "media", None, None)
    ]
