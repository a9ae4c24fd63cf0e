"""Scoring an :class:`~chorus.nlp.analyzer.Analyzer` on labelled texts (``evaluate``, training)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chorus.nlp.analyzer import Analyzer, dominant_emotions
from chorus.nlp.evaluation import multi_label_report, single_label_report
from chorus.nlp.labels import EMOTIONS, SENTIMENTS
from chorus.nlp.preprocess import normalize


def evaluate(
    analyzer: Analyzer, task: str, texts: Sequence[str], gold: Sequence[list[str]], path: str
) -> dict[str, Any]:
    """The task's report; ``gold[i]`` lists the labels of ``texts[i]``."""
    normalized = [normalize(text) for text in texts]
    if task == "language":
        predicted = analyzer.languages(normalized)
        codes = sorted({g[0] for g in gold} | set(predicted))
        report = single_label_report([g[0] for g in gold], predicted, codes)
    elif task == "sentiment":
        sentiment, _ = analyzer.score(normalized, path, analyzer.languages(normalized))
        predicted = [SENTIMENTS[i] for i in sentiment.argmax(axis=1)]
        report = single_label_report([g[0] for g in gold], predicted, SENTIMENTS)
    elif task == "emotion":
        languages = analyzer.languages(normalized)
        _, emotions = analyzer.score(normalized, path, languages)
        report = emotion_report(emotions, analyzer.emotion_thresholds(path, languages), gold)
    else:
        raise ValueError(f"unknown task {task!r}")
    return {"task": task, "path": path if task != "language" else "lingua+fasttext", **report}


def emotion_report(
    probabilities: np.ndarray, thresholds: np.ndarray, gold: Sequence[list[str]]
) -> dict[str, Any]:
    """Multi-label macro-F1 when any text has several labels (GoEmotions), else single-label.

    A single-label set is scored over the labels it uses (TweetEval has no fear, disgust,
    surprise or neutral), the prediction being the dominant emotion among those labels.
    """
    if any(len(labels) > 1 for labels in gold):
        predicted = []
        for row, row_thresholds in zip(probabilities, thresholds, strict=True):
            chosen = {
                label for label, p, t in zip(EMOTIONS, row, row_thresholds, strict=True) if p >= t
            }
            predicted.append(chosen or set(dominant_emotions(row[None, :], row_thresholds)))
        return multi_label_report([set(g) for g in gold], predicted, EMOTIONS)
    used = [label for label in EMOTIONS if any(g[0] == label for g in gold)]
    predicted_single = dominant_emotions(probabilities, thresholds, used)
    return single_label_report([g[0] for g in gold], predicted_single, used)
