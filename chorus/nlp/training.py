"""``chorus nlp train``: fits the shipped heads from the public corpora, seeded.

Writes ``model.npz`` (heads, standardisation, IDF, thresholds), ``ngram_vocabulary.txt``,
``metrics.json`` and ``MODEL_CARD.md`` into the output directory.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from chorus.nlp import corpora as corpora_module
from chorus.nlp.analyzer import MODEL_FILE, VOCABULARY_FILE, Analyzer
from chorus.nlp.datasets import Split
from chorus.nlp.embeddings import EmbeddingCache
from chorus.nlp.evaluation import single_label_report
from chorus.nlp.heads import LinearHead, activate, save_heads
from chorus.nlp.labels import EMOTIONS, SENTIMENTS
from chorus.nlp.ngrams import ngram_terms
from chorus.nlp.scoring import emotion_report, evaluate

SEED = 13
VOCABULARY_SIZE = 120_000
MIN_DOCUMENT_FREQUENCY = 3
# Inverse L2 strengths, chosen once on the validation sets (see MODEL_CARD.md).
NGRAM_C = 1.0
EMBEDDING_SENTIMENT_C = 3.0
EMBEDDING_EMOTION_C = 3.0
NGRAM_EMOTION_C = 4.0
# Share of the emotion training rows held out to choose each label's decision threshold.
THRESHOLD_FOLD = 0.2
BLEND_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
TEMPERATURES = tuple(np.round(np.arange(0.5, 3.01, 0.05), 2))
# Validation sets the accurate path is scored on (the others' embeddings would double the
# training time; the fast path is scored on all of them).
ACCURATE_SENTIMENT_VAL = ("umsab-fr-val", "umsab-en-val", "tweeteval-sentiment-val")
# Languages whose validation sets tune the n-gram weight and the temperature of their head.
CALIBRATION_SETS = {
    "en": ("umsab-en-val", "tweeteval-sentiment-val"),
    "fr": ("umsab-fr-val",),
}
ENGLISH_EMOTION_VAL = ("tweeteval-emotion-val", "goemotions-ekman-dev")
# Languages with a sentiment head of their own: French is the product's first language. Its head
# averages a head trained on French UMSAB tweets only (best on French tweets) with the shared
# multilingual one (more robust to the slang and customer-care vocabulary, rare in UMSAB French).
SPECIALIST_LANGUAGES = ("fr",)


def train(data: Path, out: Path, cache_dir: Path, log: Callable[[str], None]) -> dict[str, Any]:
    started = time.monotonic()
    from sklearn.feature_extraction.text import TfidfVectorizer

    corpora = corpora_module.load(data, SEED)
    log(
        "loaded corpora: "
        + ", ".join(
            f"{s.name} {len(s.texts)}" for s in corpora.sentiment_train + corpora.emotion_train
        )
    )

    vectorizer = TfidfVectorizer(
        analyzer=ngram_terms,
        min_df=MIN_DOCUMENT_FREQUENCY,
        max_features=VOCABULARY_SIZE,
        sublinear_tf=True,
        dtype=np.float32,
    )
    vectorizer.fit(_texts(corpora.sentiment_train) + _texts(corpora.emotion_train))
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    log(f"n-gram vocabulary: {len(vocabulary)} terms")

    fast_sentiment = _fit_softmax(
        vectorizer.transform(_texts(corpora.sentiment_train)),
        _first_labels(corpora.sentiment_train),
        NGRAM_C,
    )

    def ngram_features(splits: Sequence[Split]) -> Any:
        return vectorizer.transform(_texts(splits))

    fast_emotion_fit = _fit_emotions(ngram_features, corpora.emotion_train, NGRAM_EMOTION_C)
    fast_emotion = fast_emotion_fit.head
    log(f"fast heads fitted ({time.monotonic() - started:.0f}s)")

    cache = EmbeddingCache(cache_dir)
    sentiment_sample, emotion_sample = corpora.embedding_sample()
    for split in (
        sentiment_sample
        + emotion_sample
        + corpora.emotion_val
        + [s for s in corpora.sentiment_val if s.name in ACCURATE_SENTIMENT_VAL]
    ):
        cache.embed(split.texts, split.name)
    raw_train = cache.embed(_texts(sentiment_sample) + _texts(emotion_sample))
    mean = raw_train.mean(axis=0)

    def embed(splits: Sequence[Split]) -> np.ndarray:
        return cache.embed(_texts(splits)) - mean

    accurate_sentiment = _fit_softmax(
        embed(sentiment_sample), _first_labels(sentiment_sample), EMBEDDING_SENTIMENT_C
    )
    specialists = {
        language: _average(
            _fit_softmax(embed(in_language), _first_labels(in_language), EMBEDDING_SENTIMENT_C),
            accurate_sentiment,
        )
        for language in SPECIALIST_LANGUAGES
        if (in_language := [s for s in sentiment_sample if s.name == f"umsab-{language}-train"])
    }
    accurate_emotion_fit = _fit_emotions(embed, emotion_sample, EMBEDDING_EMOTION_C)
    accurate_emotion = accurate_emotion_fit.head
    # The n-gram head on the same fold, to threshold the blend of the two (English only).
    ngram_check_logits = _fit_sigmoids(
        ngram_features, accurate_emotion_fit.fit_splits, NGRAM_EMOTION_C
    ).raw_logits(ngram_features(accurate_emotion_fit.check_splits))
    log(f"accurate heads fitted ({time.monotonic() - started:.0f}s)")

    arrays = {
        "embedding.mean": mean.astype(np.float32),
        "ngram.idf": vectorizer.idf_.astype(np.float32),
        "accurate.emotion.thresholds": accurate_emotion_fit.thresholds,
        "fast.emotion.thresholds": fast_emotion_fit.thresholds,
        "accurate.emotion.blend_languages": np.array(["en"]),
        "accurate.emotion.blend_weights": np.zeros(1, dtype=np.float32),
        "accurate.sentiment.blend_languages": np.array(list(CALIBRATION_SETS)),
        "accurate.sentiment.blend_weights": np.zeros(len(CALIBRATION_SETS), dtype=np.float32),
    }
    heads = {
        "fast.sentiment": fast_sentiment,
        "fast.emotion": fast_emotion,
        "accurate.sentiment": accurate_sentiment,
        "accurate.emotion": accurate_emotion,
        **{f"accurate.sentiment.{language}": head for language, head in specialists.items()},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / VOCABULARY_FILE).write_text("\n".join(vocabulary), encoding="utf-8")
    save_heads(out / MODEL_FILE, heads, **arrays)

    # Calibration on validation: the temperatures, and per language the weight of the n-gram
    # logits in the accurate sentiment (the two views of a text err differently).
    analyzer = Analyzer(artifacts_dir=out, embedder=_NormalizedCache(cache))
    fast_sentiment.temperature = _best_temperature(
        fast_sentiment.raw_logits(analyzer.ngrams(_texts(corpora.sentiment_val))),
        _sentiment_gold(corpora.sentiment_val),
    )
    weights = []
    for language, split_names in CALIBRATION_SETS.items():
        splits = [s for s in corpora.sentiment_val if s.name in split_names]
        head = heads[analyzer.sentiment_head_name(language)]
        weight, head.temperature = _calibrate_blend(analyzer, head, splits)
        weights.append(weight)
    arrays["accurate.sentiment.blend_weights"] = np.array(weights, dtype=np.float32)
    emotion_weight, arrays["accurate.emotion.thresholds.en"] = _calibrate_emotion_blend(
        analyzer,
        accurate_emotion_fit,
        ngram_check_logits,
        [s for s in corpora.emotion_val if s.name in ENGLISH_EMOTION_VAL],
    )
    arrays["accurate.emotion.blend_weights"] = np.array([emotion_weight], dtype=np.float32)
    save_heads(out / MODEL_FILE, heads, **arrays)
    calibration = {
        "fast_temperature": fast_sentiment.temperature,
        "emotion_ngram_weight_en": emotion_weight,
        **{
            language: {
                "ngram_weight": weight,
                "temperature": heads[analyzer.sentiment_head_name(language)].temperature,
            }
            for language, weight in zip(CALIBRATION_SETS, weights, strict=True)
        },
    }
    log(f"calibrated: {calibration}")

    analyzer = Analyzer(artifacts_dir=out, embedder=_NormalizedCache(cache))
    metrics = _validation_metrics(analyzer, corpora)
    metrics["training_seconds"] = round(time.monotonic() - started)
    metrics["training_sizes"] = {
        "fast": {s.name: len(s.texts) for s in corpora.sentiment_train + corpora.emotion_train},
        "accurate": {s.name: len(s.texts) for s in sentiment_sample + emotion_sample},
    }
    metrics["calibration"] = calibration
    metrics["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    metrics["code_version"] = _code_version()
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    from chorus.nlp.model_card import write_model_card

    write_model_card(out / "MODEL_CARD.md", metrics)
    log(f"done in {metrics['training_seconds']}s")
    return metrics


class _NormalizedCache:
    """The analyzer hands over normalised texts, which is what the cache is keyed on."""

    def __init__(self, cache: EmbeddingCache) -> None:
        self.cache = cache

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.cache.embed(texts, "validation")


def _texts(splits: Sequence[Split]) -> list[str]:
    return [text for split in splits for text in split.texts]


def _first_labels(splits: Sequence[Split]) -> list[str]:
    return [labels[0] for split in splits for labels in split.labels]


def _fit_softmax(features: Any, labels: list[str], c: float) -> LinearHead:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=2000, random_state=SEED).fit(features, labels)
    order = [list(model.classes_).index(label) for label in SENTIMENTS]
    return LinearHead(
        labels=SENTIMENTS,
        weights=model.coef_[order].T.astype(np.float32),
        bias=model.intercept_[order].astype(np.float32),
        activation="softmax",
    )


def _average(first: LinearHead, second: LinearHead) -> LinearHead:
    """The head whose logits are the mean of two heads' logits."""
    return LinearHead(
        labels=first.labels,
        weights=(first.weights + second.weights) / 2,
        bias=(first.bias + second.bias) / 2,
        activation=first.activation,
    )


@dataclass
class EmotionFit:
    head: LinearHead
    thresholds: np.ndarray
    # The held-out fold the thresholds were chosen on, its complement, and the raw logits
    # of the head fitted on the complement (reused to threshold blended logits).
    check_splits: list[Split]
    fit_splits: list[Split]
    check_logits: np.ndarray


def _fit_emotions(
    featurize: Callable[[Sequence[Split]], Any], splits: Sequence[Split], c: float
) -> EmotionFit:
    """One logistic regression per emotion, on the rows whose source can attest that emotion.

    Each label's threshold maximises its F1 on a held-out fold; the heads are then refitted
    on all rows.
    """
    rng = np.random.default_rng(SEED)
    held_out = [rng.random(len(split.texts)) < THRESHOLD_FOLD for split in splits]
    fit_part = [_subset(split, ~mask) for split, mask in zip(splits, held_out, strict=True)]
    check_part = [_subset(split, mask) for split, mask in zip(splits, held_out, strict=True)]
    check_logits = _fit_sigmoids(featurize, fit_part, c).raw_logits(featurize(check_part))
    return EmotionFit(
        head=_fit_sigmoids(featurize, splits, c),
        thresholds=_fold_thresholds(activate(check_logits, "sigmoid"), check_part),
        check_splits=check_part,
        fit_splits=fit_part,
        check_logits=check_logits,
    )


def _fold_thresholds(probabilities: np.ndarray, check_splits: Sequence[Split]) -> np.ndarray:
    thresholds = np.zeros(len(EMOTIONS), dtype=np.float32)
    for k, label in enumerate(EMOTIONS):
        rows, truth = _known(check_splits, label)
        thresholds[k] = _best_threshold(probabilities[rows, k], truth)
    return thresholds


def _subset(split: Split, mask: np.ndarray) -> Split:
    result = Split(split.name, label_space=split.label_space)
    for keep, text, labels in zip(mask, split.texts, split.labels, strict=True):
        if keep:
            result.add(text, labels)
    return result


def _known(splits: Sequence[Split], label: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows (over the concatenated splits) whose source attests ``label``, and the truth."""
    rows: list[int] = []
    truth: list[bool] = []
    offset = 0
    for split in splits:
        if label in split.label_space:
            rows.extend(range(offset, offset + len(split.texts)))
            truth.extend(label in labels for labels in split.labels)
        offset += len(split.texts)
    return np.array(rows, dtype=np.int64), np.array(truth, dtype=bool)


def _fit_sigmoids(
    featurize: Callable[[Sequence[Split]], Any], splits: Sequence[Split], c: float
) -> LinearHead:
    from sklearn.linear_model import LogisticRegression

    features = featurize(splits)
    weights, biases = [], []
    for label in EMOTIONS:
        rows, truth = _known(splits, label)
        model = LogisticRegression(C=c, max_iter=2000, random_state=SEED)
        model.fit(features[rows], truth)
        weights.append(model.coef_[0])
        biases.append(model.intercept_[0])
    return LinearHead(
        labels=EMOTIONS,
        weights=np.stack(weights, axis=1).astype(np.float32),
        bias=np.array(biases, dtype=np.float32),
        activation="sigmoid",
    )


def _best_threshold(probabilities: np.ndarray, truth: np.ndarray) -> float:
    best, best_f1 = 0.5, -1.0
    for threshold in np.arange(0.01, 0.95, 0.01):
        predicted = probabilities >= threshold
        tp = int((predicted & truth).sum())
        f1 = 2 * tp / (predicted.sum() + truth.sum()) if predicted.sum() + truth.sum() else 0.0
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return round(best, 3)


def _sentiment_gold(splits: Sequence[Split]) -> np.ndarray:
    return np.array([SENTIMENTS.index(label) for label in _first_labels(splits)])


def _best_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """Temperature minimising the log-loss of the softmax probabilities."""
    losses = [
        -np.log(activate(logits / t, "softmax")[np.arange(len(gold)), gold] + 1e-9).mean()
        for t in TEMPERATURES
    ]
    return float(TEMPERATURES[int(np.argmin(losses))])


def _calibrate_blend(
    analyzer: Analyzer, head: LinearHead, splits: Sequence[Split]
) -> tuple[float, float]:
    """(n-gram weight maximising the mean macro-F1 over ``splits``, then the temperature)."""
    gold = _sentiment_gold(splits)
    embedding_logits = head.raw_logits(analyzer.embed(_texts(splits)))
    ngram_logits = analyzer.heads["fast.sentiment"].raw_logits(analyzer.ngrams(_texts(splits)))
    bounds = np.cumsum([0] + [len(split.texts) for split in splits])
    best_weight, best_score = 0.0, -1.0
    for weight in BLEND_WEIGHTS:
        predicted = (embedding_logits + weight * ngram_logits).argmax(axis=1)
        score = np.mean(
            [
                single_label_report(
                    [SENTIMENTS[i] for i in gold[start:end]],
                    [SENTIMENTS[i] for i in predicted[start:end]],
                    SENTIMENTS,
                )["macro_f1"]
                for start, end in itertools.pairwise(bounds)
            ]
        )
        if score > best_score:
            best_weight, best_score = weight, float(score)
    blended = embedding_logits + best_weight * ngram_logits
    return best_weight, _best_temperature(blended, gold)


def _calibrate_emotion_blend(
    analyzer: Analyzer,
    fit: EmotionFit,
    ngram_check_logits: np.ndarray,
    validation: Sequence[Split],
) -> tuple[float, np.ndarray]:
    """(n-gram weight in the English emotion logits, the thresholds of that blend).

    For each weight the thresholds come from the training fold; the weight is the one whose
    blend scores the best mean macro-F1 on the English validation sets.
    """
    best: tuple[float, np.ndarray] = (0.0, fit.thresholds)
    best_score = -1.0
    for weight in BLEND_WEIGHTS:
        blended = activate(fit.check_logits + weight * ngram_check_logits, "sigmoid")
        thresholds = _fold_thresholds(blended, fit.check_splits)
        scores = []
        for split in validation:
            embedded = analyzer.heads["accurate.emotion"].raw_logits(analyzer.embed(split.texts))
            ngrams = analyzer.heads["fast.emotion"].raw_logits(analyzer.ngrams(split.texts))
            probabilities = activate(embedded + weight * ngrams, "sigmoid")
            per_row = np.broadcast_to(thresholds, probabilities.shape)
            scores.append(emotion_report(probabilities, per_row, split.labels)["macro_f1"])
        if np.mean(scores) > best_score:
            best, best_score = (weight, thresholds), float(np.mean(scores))
    return best


def _validation_metrics(analyzer: Analyzer, corpora: corpora_module.Corpora) -> dict[str, Any]:
    results: dict[str, Any] = {"sentiment": {}, "emotion": {}, "language": {}}
    for split in corpora.sentiment_val:
        paths = ("accurate", "fast") if split.name in ACCURATE_SENTIMENT_VAL else ("fast",)
        results["sentiment"][split.name] = {
            path: _summary(evaluate(analyzer, "sentiment", split.texts, split.labels, path))
            for path in paths
        }
    for split in corpora.emotion_val:
        results["emotion"][split.name] = {
            path: _summary(evaluate(analyzer, "emotion", split.texts, split.labels, path))
            for path in ("accurate", "fast")
        }
    umsab_val = [s for s in corpora.sentiment_val if s.name.startswith("umsab-")]
    for split in umsab_val:
        language = split.name.split("-")[1]
        gold = [[language]] * len(split.texts)
        report = evaluate(analyzer, "language", split.texts, gold, "fast")
        results["language"][split.name] = {"accuracy": report["accuracy"], "n": report["n"]}
    return results


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {key: report[key] for key in ("n", "macro_f1", "macro_recall", "accuracy")}


def _code_version() -> str:
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],  # noqa: S607 - git from PATH, read-only
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
        return described.stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def print_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
