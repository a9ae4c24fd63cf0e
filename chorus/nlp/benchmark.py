"""A stream of social posts for ``chorus nlp bench``: real tweets plus simulated reposts."""

from __future__ import annotations

import random
from pathlib import Path

from chorus.nlp.datasets import UMSAB_LANGUAGES, french_emotion_validation, umsab

# Share of the stream that reposts or copy-pastes an earlier post, as in a listening feed
# during a campaign; the dedupe saving measured by the benchmark follows from it.
REPOST_SHARE = 0.2


def social_stream(n: int, data: Path | None, seed: int = 7) -> list[str]:
    """``n`` posts: distinct texts and, for ``REPOST_SHARE`` of them, repost variants.

    The distinct texts are the UMSAB validation tweets (eight languages) when the data folder
    is there, and the shipped French posts in any case; past those, pairs of posts.
    """
    rng = random.Random(seed)
    posts = list(french_emotion_validation().texts)
    if data is not None and data.is_dir():
        posts += [
            text for language in UMSAB_LANGUAGES for text in umsab(data, language, "val").texts
        ]
    rng.shuffle(posts)
    distinct = posts + [
        f"{a} {posts[(i + offset) % len(posts)]}"
        for offset in range(1, 8)
        for i, a in enumerate(posts)
    ]
    stream: list[str] = []
    next_distinct = 0
    while len(stream) < n:
        if stream and rng.random() < REPOST_SHARE:
            original = rng.choice(stream)
            variant = rng.choice(
                (
                    f"RT @user{rng.randint(1, 999)}: {original}",
                    f"{original} https://t.co/{rng.randint(10**6, 10**7)}",
                    original.upper(),
                )
            )
            stream.append(variant)
        else:
            stream.append(distinct[next_distinct % len(distinct)])
            next_distinct += 1
    return stream
