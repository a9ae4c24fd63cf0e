"""Per-workspace heads fitted on the workspace's own label corrections.

A corrected head is the shipped head moved as little as needed to agree with the corrections:
the fit minimises the corrections' log-loss plus an L2 pull towards the shipped weights (a
Gaussian prior centred on what the public corpora taught). A handful of corrections changes
the predictions on those texts and on texts close to them, and leaves the rest of the model as
shipped; many corrections outweigh the prior. Both paths are refitted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from chorus.nlp.analyzer import WORKSPACE_HEADS_FILE, Analyzer
from chorus.nlp.heads import LinearHead, activate, save_heads
from chorus.nlp.labels import EMOTIONS, SENTIMENTS, LabelError, parse_label
from chorus.nlp.ngrams import SparseRows
from chorus.nlp.preprocess import normalize

TASKS = ("sentiment", "emotion")
# Strength of the pull towards the shipped weights, relative to the corrections' mean squared
# feature norm (so that it means the same for embeddings and for n-gram vectors).
PRIOR_STRENGTH = 0.1


def parse_corrections(lines: Iterable[str]) -> list[dict[str, str]]:
    """JSON lines ``{"text": ..., "task": "sentiment"|"emotion", "label": ...}``, validated."""
    corrections = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise LabelError(f"line {number}: not JSON ({error.msg})") from error
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise LabelError(f"line {number}: expected an object with a string 'text'")
        task = item.get("task")
        if task not in TASKS:
            raise LabelError(f"line {number}: task must be one of {TASKS}, not {task!r}")
        label = parse_label(task, str(item.get("label", "")), number)[0]
        corrections.append({"text": item["text"], "task": task, "label": label})
    return corrections


def fit_workspace_heads(
    corrections: Sequence[dict[str, str]], out_dir: Path, analyzer: Analyzer | None = None
) -> dict[str, Any]:
    """Fits and writes ``heads.npz`` for the tasks that have corrections; returns a summary."""
    shipped = analyzer or Analyzer()
    heads: dict[str, LinearHead] = {}
    counts = {}
    for task in TASKS:
        examples = [c for c in corrections if c["task"] == task]
        counts[task] = len(examples)
        if not examples:
            continue
        texts = [normalize(c["text"]) for c in examples]
        labels = [c["label"] for c in examples]
        ngram_features = shipped.ngrams(texts)
        embedded = shipped.embed(texts)
        heads[f"fast.{task}"] = _refit(shipped.heads[f"fast.{task}"], ngram_features, labels)
        # The n-gram logits blended into the accurate heads are a fixed offset of the refit.
        languages = shipped.languages(texts)
        ngram_logits = shipped.heads[f"fast.{task}"].raw_logits(ngram_features)
        if task == "emotion":
            weights = np.array([shipped.ngram_weight("emotion", code) for code in languages])
            heads["accurate.emotion"] = _refit(
                shipped.heads["accurate.emotion"], embedded, labels, weights[:, None] * ngram_logits
            )
            continue
        # Each sentiment correction refits the head its language is routed to.
        for name in sorted({shipped.sentiment_head_name(code) for code in languages}):
            rows = [
                i for i, code in enumerate(languages) if shipped.sentiment_head_name(code) == name
            ]
            offset = np.stack(
                [shipped.ngram_weight("sentiment", languages[i]) * ngram_logits[i] for i in rows]
            )
            heads[name] = _refit(
                shipped.heads[name], embedded[rows], [labels[i] for i in rows], offset
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    if heads:
        save_heads(out_dir / WORKSPACE_HEADS_FILE, heads)
    summary = {
        "corrections": counts,
        "heads": sorted(heads),
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out_dir / "corrections_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def _targets(head: LinearHead, labels: Sequence[str]) -> np.ndarray:
    """One-hot rows; for emotions the corrected label is present and the others absent."""
    order = SENTIMENTS if head.activation == "softmax" else EMOTIONS
    targets = np.zeros((len(labels), len(order)), dtype=np.float32)
    for row, label in enumerate(labels):
        targets[row, order.index(label)] = 1.0
    return targets


def _refit(
    head: LinearHead, features: Any, labels: Sequence[str], offset: np.ndarray | None = None
) -> LinearHead:
    from scipy.optimize import minimize

    targets = _targets(head, labels)
    if isinstance(features, SparseRows):
        # Only the n-gram columns present in the corrections can move.
        columns = np.unique(features.columns)
        local = SparseRows(
            features.offsets, np.searchsorted(columns, features.columns), features.values
        )
        dense = local.dot(np.eye(len(columns), dtype=np.float32))
    else:
        columns = np.arange(head.weights.shape[0])
        dense = np.asarray(features, dtype=np.float64)
    start = head.weights[columns].astype(np.float64)
    strength = PRIOR_STRENGTH * float((dense**2).sum(axis=1).mean())
    # The bias stays as shipped: moved, it would shift every text, not those like the corrections.
    fixed = head.bias + (0.0 if offset is None else offset)

    def loss_and_gradient(params: np.ndarray) -> tuple[float, np.ndarray]:
        moved = params.reshape(start.shape) - start
        logits = (dense @ (start + moved) + fixed) / head.temperature
        probabilities = activate(logits, head.activation)
        if head.activation == "softmax":
            loss = -np.sum(targets * np.log(probabilities + 1e-12))
        else:
            loss = -np.sum(
                targets * np.log(probabilities + 1e-12)
                + (1 - targets) * np.log(1 - probabilities + 1e-12)
            )
        gradient = dense.T @ ((probabilities - targets) / head.temperature) + strength * moved
        return float(loss + 0.5 * strength * np.sum(moved**2)), gradient.ravel()

    result = minimize(loss_and_gradient, start.ravel(), jac=True, method="L-BFGS-B")
    weights = head.weights.astype(np.float32).copy()
    weights[columns] = result.x.reshape(start.shape)
    return LinearHead(
        labels=head.labels,
        weights=weights,
        bias=head.bias,
        activation=head.activation,
        temperature=head.temperature,
    )
