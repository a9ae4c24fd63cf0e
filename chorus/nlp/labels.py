"""Label sets and the parsing of label files in the formats the public corpora use."""

from __future__ import annotations

SENTIMENTS = ("negative", "neutral", "positive")
EMOTIONS = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
# Languages detected by default: the eight of the UMSAB sentiment benchmark.
DEFAULT_LANGUAGES = ("ar", "de", "en", "es", "fr", "hi", "it", "pt")
UNDETERMINED = "und"

# Numeric ids as in UMSAB / TweetEval (sentiment) and TweetEval (emotion); TweetEval's
# "optimism" has no Ekman counterpart and is closest to joy.
SENTIMENT_IDS = {"0": "negative", "1": "neutral", "2": "positive"}
TWEETEVAL_EMOTION_IDS = {"0": "anger", "1": "joy", "2": "joy", "3": "sadness"}
EMOTION_ALIASES = {"optimism": "joy", "happiness": "joy", "none": "neutral"}


class LabelError(ValueError):
    """A label file holds a value that is not a known label of the task."""


def parse_label(task: str, raw: str, line_number: int) -> list[str]:
    """One line of a labels file -> label names (several for multi-label emotion lines)."""
    value = raw.strip().lower()
    if task == "sentiment":
        name = SENTIMENT_IDS.get(value, value)
        if name not in SENTIMENTS:
            raise LabelError(f"line {line_number}: unknown sentiment label {raw.strip()!r}")
        return [name]
    if task == "emotion":
        names = []
        for part in value.split(","):
            part = part.strip()
            name = TWEETEVAL_EMOTION_IDS.get(part) or EMOTION_ALIASES.get(part, part)
            if name not in EMOTIONS:
                raise LabelError(f"line {line_number}: unknown emotion label {part!r}")
            names.append(name)
        return names
    if task == "language":
        if not (value == UNDETERMINED or (len(value) == 2 and value.isalpha())):
            raise LabelError(f"line {line_number}: {raw.strip()!r} is not an ISO 639-1 code")
        return [value]
    raise LabelError(f"unknown task {task!r}")
