"""Normalisation of social-media text before it reaches a model.

The public tweet corpora we train on replace links with ``http`` and handles with ``@user``;
live text is brought to the same form so that the models see what they were trained on.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Long posts are cut: the sentiment of a social post is carried by its first paragraphs, and
# the embedding cost grows with length.
MAX_CHARS = 1000

_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|fr|org|net|ly|io|co)/\S*", re.I)
_MENTION = re.compile(r"(?<![\w@])@\w+")
_REPOST_PREFIX = re.compile(r"^(?:\s*(?:RT|MT)\s*@user\s*:?\s*)+", re.I)
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_CAMEL_BOUNDARY = re.compile(
    r"(?<=[a-zà-öø-ÿ])(?=[A-ZÀ-ÖØ-Þ])|(?<=[A-Za-zÀ-ÿ])(?=\d)|(?<=\d)(?=[A-Za-zÀ-ÿ])"
)
# Letters stretched for emphasis ("trooop", "soooo") keep two repeats: the stretch is a signal
# but every distinct length would otherwise be a distinct token.
_ELONGATED_LETTER = re.compile(r"([^\W\d_])\1{2,}")
_REPEATED_PUNCT = re.compile(r"([!?.])\1{3,}")
_REPEATED_SYMBOL = re.compile(r"([^\w\s!?.])\1{3,}")
_WHITESPACE = re.compile(r"\s+")


def split_hashtag(tag: str) -> str:
    """``JeSuisFurieux`` -> ``Je Suis Furieux``; ``EDF`` and ``greve2024`` stay readable."""
    return _CAMEL_BOUNDARY.sub(" ", tag).replace("_", " ")


def _expand_hashtag(match: re.Match[str]) -> str:
    return split_hashtag(match.group(1))


def normalize(text: str) -> str:
    """Model input: placeholders for links and handles, split hashtags, capped stretches.

    Emoji are kept: they carry much of the sentiment and emotion of a social post.
    """
    text = html.unescape(unicodedata.normalize("NFC", text))[: MAX_CHARS * 2]
    text = _URL.sub("http", text)
    text = _MENTION.sub("@user", text)
    text = _REPOST_PREFIX.sub("", text)
    text = _HASHTAG.sub(_expand_hashtag, text)
    text = _ELONGATED_LETTER.sub(r"\1\1", text)
    text = _REPEATED_PUNCT.sub(r"\1\1\1", text)
    text = _REPEATED_SYMBOL.sub(r"\1\1\1", text)
    return _WHITESPACE.sub(" ", text).strip()[:MAX_CHARS]


def duplicate_key(normalized: str) -> str:
    """Key under which reposts and copy-paste variants of one text collide.

    Differences in links, handles, case, punctuation and spacing do not make a new text.
    """
    text = normalized.replace("@user", " ").replace("http", " ").casefold()
    kept = []
    for char in text:
        # Emoji and other symbols are not "word" characters but do change the message.
        if char.isalnum() or unicodedata.category(char).startswith("S"):
            kept.append(char)
        else:
            kept.append(" ")
    return " ".join("".join(kept).split())


_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


def letter_count(normalized: str) -> int:
    """Letters left once placeholders are removed; too few and the language cannot be told."""
    return len(_LETTERS.findall(normalized.replace("@user", "").replace("http", "")))
