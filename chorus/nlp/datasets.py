"""Readers for the labelled public corpora in ``../shared/data/nlp`` (never copied here)."""

from __future__ import annotations

import codecs
import csv
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from chorus.nlp.labels import EMOTIONS, SENTIMENT_IDS, TWEETEVAL_EMOTION_IDS

UMSAB_LANGUAGES = {
    "arabic": "ar",
    "english": "en",
    "french": "fr",
    "german": "de",
    "hindi": "hi",
    "italian": "it",
    "portuguese": "pt",
    "spanish": "es",
}
GOEMOTIONS_LABELS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
FRENCH_EMOTION_VALIDATION = Path(__file__).parent / "data" / "fr_emotion_val.tsv"


@dataclass
class Split:
    """Texts with their labels; ``labels[i]`` is a list (emotions can be multi-label)."""

    name: str
    texts: list[str] = field(default_factory=list)
    labels: list[list[str]] = field(default_factory=list)
    # Emotion labels the source can attest; the others are unknown for its texts.
    label_space: tuple[str, ...] = ()

    def add(self, text: str, labels: list[str]) -> None:
        self.texts.append(text)
        self.labels.append(labels)

    def sample(self, limit: int | None, seed: int) -> Split:
        if limit is None or len(self.texts) <= limit:
            return self
        rows = random.Random(seed).sample(range(len(self.texts)), limit)
        sampled = Split(self.name, label_space=self.label_space)
        for row in sorted(rows):
            sampled.add(self.texts[row], self.labels[row])
        return sampled


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _paired(name: str, text_path: Path, label_path: Path, id_map: dict[str, str]) -> Split:
    split = Split(name)
    for text, label in zip(_lines(text_path), _lines(label_path), strict=True):
        split.add(text, [id_map[label.strip()]])
    return split


def umsab(data: Path, language: str, part: str) -> Split:
    folder = data / "sentiment" / "umsab" / language
    return _paired(
        f"umsab-{UMSAB_LANGUAGES[language]}-{part}",
        folder / f"{part}_text.txt",
        folder / f"{part}_labels.txt",
        SENTIMENT_IDS,
    )


_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}")


def semeval_english(data: Path) -> Split:
    """All SemEval 2013-2016 task 4A English tweets (their ``\\uXXXX`` escapes decoded)."""
    split = Split("semeval-en")
    for path in sorted((data / "sentiment" / "semeval-en").glob("*.tsv")):
        for line in _lines(path):
            parts = line.split("\t")
            if len(parts) < 3 or parts[1] not in SENTIMENT_IDS.values():
                continue
            text = "\t".join(parts[2:])
            if _ESCAPE.search(text):
                text = _ESCAPE.sub(lambda m: codecs.decode(m.group(0), "unicode_escape"), text)
            split.add(text, [parts[1]])
    return split


def tweeteval_sentiment_val(data: Path) -> Split:
    folder = data / "sentiment" / "tweeteval"
    return _paired(
        "tweeteval-sentiment-val",
        folder / "val_text.txt",
        folder / "val_labels.txt",
        SENTIMENT_IDS,
    )


def tweeteval_emotion(data: Path, part: str) -> Split:
    folder = data / "emotion" / "tweeteval"
    split = _paired(
        f"tweeteval-emotion-{part}",
        folder / f"{part}_text.txt",
        folder / f"{part}_labels.txt",
        TWEETEVAL_EMOTION_IDS,
    )
    # Every TweetEval emotion tweet carries an emotion, so "neutral" is known to be absent.
    split.label_space = ("anger", "joy", "sadness", "neutral")
    return split


def goemotions(data: Path, part: str) -> Split:
    split = Split(f"goemotions-ekman-{part}", label_space=EMOTIONS)
    with (data / "emotion" / "goemotions-ekman" / f"{part}.tsv").open(encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            split.add(row[0], [GOEMOTIONS_LABELS[int(i)] for i in row[1].split(",")])
    return split


def french_emotion_validation() -> Split:
    """The team-labelled French posts shipped in ``chorus/nlp/data`` (see its README)."""
    split = Split("fr-emotion-val", label_space=EMOTIONS)
    with FRENCH_EMOTION_VALIDATION.open(encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in rows:
            split.add(row["text"], [row["emotion"]])
    return split
