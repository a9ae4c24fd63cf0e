"""The training and validation corpora of the shipped models, assembled reproducibly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chorus.nlp import datasets
from chorus.nlp.datasets import Split
from chorus.nlp.preprocess import duplicate_key, normalize

# Caps keep a from-scratch training run (embeddings included) under 30 minutes on two busy
# cores. French is the product's first language: its UMSAB training set is used whole, the other
# languages contribute a sample each (cross-lingual signal for the multilingual embeddings).
UMSAB_OTHER_LANGUAGE_SAMPLE = 600
SEMEVAL_SAMPLE = 2000
GOEMOTIONS_TRAIN_SAMPLE = 4000
GOEMOTIONS_DEV_SAMPLE = 2000


@dataclass
class Corpora:
    """Training sets in full (the n-gram path) and the validation sets."""

    sentiment_train: list[Split]
    emotion_train: list[Split]
    sentiment_val: list[Split]
    emotion_val: list[Split]
    seed: int

    def embedding_sample(self) -> tuple[list[Split], list[Split]]:
        """The (sentiment, emotion) training texts the embedding heads learn from."""
        sentiment = [
            split
            if split.name.startswith("umsab-fr")
            else split.sample(UMSAB_OTHER_LANGUAGE_SAMPLE, self.seed)
            for split in self.sentiment_train[:-1]
        ] + [self.sentiment_train[-1].sample(SEMEVAL_SAMPLE, self.seed)]
        emotion = [
            *self.emotion_train[:-1],
            self.emotion_train[-1].sample(GOEMOTIONS_TRAIN_SAMPLE, self.seed),
        ]
        return sentiment, emotion


def _normalized(split: Split) -> Split:
    result = Split(split.name, label_space=split.label_space)
    for text, labels in zip(split.texts, split.labels, strict=True):
        result.add(normalize(text), labels)
    return result


def _without(split: Split, held_out_keys: set[str]) -> Split:
    """Drops training texts that also occur in a validation set (the corpora overlap)."""
    result = Split(split.name, label_space=split.label_space)
    for text, labels in zip(split.texts, split.labels, strict=True):
        if duplicate_key(text) not in held_out_keys:
            result.add(text, labels)
    return result


def load(data: Path, seed: int, include_french_emotions: bool = True) -> Corpora:
    sentiment_val = [
        *(datasets.umsab(data, language, "val") for language in datasets.UMSAB_LANGUAGES),
        datasets.tweeteval_sentiment_val(data),
    ]
    emotion_val = [
        datasets.tweeteval_emotion(data, "val"),
        datasets.goemotions(data, "dev").sample(GOEMOTIONS_DEV_SAMPLE, seed),
    ]
    if include_french_emotions:
        emotion_val.append(datasets.french_emotion_validation())
    sentiment_val = [_normalized(s) for s in sentiment_val]
    emotion_val = [_normalized(s) for s in emotion_val]
    held_out = {duplicate_key(t) for split in sentiment_val + emotion_val for t in split.texts}

    sentiment_train = [
        *(datasets.umsab(data, language, "train") for language in datasets.UMSAB_LANGUAGES),
        datasets.semeval_english(data),
    ]
    emotion_train = [datasets.tweeteval_emotion(data, "train"), datasets.goemotions(data, "train")]
    sentiment_train = [_without(_normalized(s), held_out) for s in sentiment_train]
    emotion_train = [_without(_normalized(s), held_out) for s in emotion_train]
    sentiment_train[-1] = _deduplicated(sentiment_train[-1])
    return Corpora(sentiment_train, emotion_train, sentiment_val, emotion_val, seed)


def _deduplicated(split: Split) -> Split:
    result = Split(split.name, label_space=split.label_space)
    seen: set[str] = set()
    for text, labels in zip(split.texts, split.labels, strict=True):
        key = duplicate_key(text)
        if key not in seen:
            seen.add(key)
            result.add(text, labels)
    return result
