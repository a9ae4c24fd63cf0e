"""Metrics as the benchmarks report them: macro-F1, macro-recall, accuracy, confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def single_label_report(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Macro scores over ``labels``; ``confusion[gold][predicted]`` counts."""
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    f1s, recalls = [], []
    for label in labels:
        true_positive = confusion[label][label]
        gold_count = sum(confusion[label].values())
        predicted_count = sum(confusion[g][label] for g in labels)
        recall = true_positive / gold_count if gold_count else 0.0
        precision = true_positive / predicted_count if predicted_count else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        recalls.append(recall)
    correct = sum(confusion[label][label] for label in labels)
    return {
        "n": len(gold),
        "macro_f1": round(sum(f1s) / len(labels), 4),
        "macro_recall": round(sum(recalls) / len(labels), 4),
        "accuracy": round(correct / len(gold), 4) if gold else 0.0,
        "labels": list(labels),
        "confusion": confusion,
    }


def multi_label_report(
    gold: Sequence[set[str]], predicted: Sequence[set[str]], labels: Sequence[str]
) -> dict[str, Any]:
    """Macro-F1 over labels as GoEmotions reports it; per-label true/false positives."""
    per_label: dict[str, dict[str, int]] = {}
    f1s, recalls = [], []
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if label in g and label in p)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if label not in g and label in p)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if label in g and label not in p)
        per_label[label] = {"tp": tp, "fp": fp, "fn": fn}
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
        recalls.append(tp / (tp + fn) if tp + fn else 0.0)
    exact = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p)
    return {
        "n": len(gold),
        "macro_f1": round(sum(f1s) / len(labels), 4),
        "macro_recall": round(sum(recalls) / len(labels), 4),
        "accuracy": round(exact / len(gold), 4) if gold else 0.0,
        "labels": list(labels),
        "confusion": per_label,
    }
