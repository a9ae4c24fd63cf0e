"""The run-time model: language, sentiment and emotions for batches of social posts."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from chorus.nlp import dedupe
from chorus.nlp.heads import activate, heads_in, load_arrays
from chorus.nlp.labels import EMOTIONS, SENTIMENTS
from chorus.nlp.preprocess import normalize

PATHS = ("accurate", "fast")
MODEL_FILE = "model.npz"
VOCABULARY_FILE = "ngram_vocabulary.txt"
WORKSPACE_HEADS_FILE = "heads.npz"


def shipped_artifacts() -> Path:
    return Path(str(resources.files("chorus.nlp") / "artifacts"))


class Analyzer:
    """Loads the shipped heads (and a workspace's own, when given) once; encoders lazily.

    ``workspace_dir`` holds heads fitted on a workspace's label corrections
    (:mod:`chorus.nlp.workspace`); any head it lacks falls back to the shipped one.
    """

    def __init__(
        self,
        workspace_dir: Path | str | None = None,
        artifacts_dir: Path | None = None,
        embedder: Any = None,
    ) -> None:
        self.artifacts_dir = artifacts_dir or shipped_artifacts()
        self.arrays = load_arrays(self.artifacts_dir / MODEL_FILE)
        self.heads = heads_in(self.arrays)
        self.workspace_dir = Path(workspace_dir) if workspace_dir else None
        if self.workspace_dir and (self.workspace_dir / WORKSPACE_HEADS_FILE).exists():
            self.heads.update(heads_in(load_arrays(self.workspace_dir / WORKSPACE_HEADS_FILE)))
        # Anything with ``embed(texts) -> array``; training passes its on-disk cache.
        self._embedder: Any = embedder
        self._vectorizer: Any = None
        self._language: Any = None
        self.last_saved_share = 0.0

    # -- encoders, loaded on first use ------------------------------------------------------

    def embed(self, normalized_texts: Sequence[str]) -> np.ndarray:
        """Centred e5 embeddings, as the accurate heads expect them.

        Centring removes the direction all e5 embeddings share, so that a workspace correction
        moves the head along what is specific to the corrected text.
        """
        if self._embedder is None:
            from chorus.nlp.embeddings import Embedder

            self._embedder = Embedder()
        raw = self._embedder.embed(normalized_texts)
        return raw - self.arrays["embedding.mean"]

    def ngrams(self, normalized_texts: Sequence[str]) -> Any:
        if self._vectorizer is None:
            from chorus.nlp.ngrams import NgramVectorizer

            vocabulary = (self.artifacts_dir / VOCABULARY_FILE).read_text(encoding="utf-8")
            self._vectorizer = NgramVectorizer(vocabulary.split("\n"), self.arrays["ngram.idf"])
        return self._vectorizer.transform(normalized_texts)

    def languages(self, normalized_texts: Sequence[str]) -> list[str]:
        if self._language is None:
            from chorus.nlp.language import LanguageDetector

            self._language = LanguageDetector()
        return list(self._language.detect_normalized(normalized_texts))

    def load(self, path: str) -> None:
        """Loads every model ``path`` may need now rather than on first use (servers, bench)."""
        self.ngrams([""])
        if path == "accurate":
            self.embed([""])
        self.languages([""])
        self._language.load_lingua()

    # -- scoring -----------------------------------------------------------------------------

    def sentiment_head_name(self, language: str) -> str:
        """The accurate sentiment head for a language: its specialist if one was trained."""
        specialist = f"accurate.sentiment.{language}"
        return specialist if specialist in self.heads else "accurate.sentiment"

    def ngram_weight(self, task: str, language: str) -> float:
        """Weight of the n-gram logits added to the embedding logits of ``task``, per language.

        Tuned on the validation sets of the languages that have one; the n-gram heads learnt
        mostly from English and elsewhere would add noise.
        """
        languages = [str(code) for code in self.arrays[f"accurate.{task}.blend_languages"]]
        weights = self.arrays[f"accurate.{task}.blend_weights"]
        return float(weights[languages.index(language)]) if language in languages else 0.0

    def sentiment_logits(
        self, path: str, ngram_features: Any, embedded: Any, languages: Sequence[str]
    ) -> np.ndarray:
        fast = self.heads["fast.sentiment"]
        ngram_logits = fast.raw_logits(ngram_features)
        if path == "fast":
            return ngram_logits / fast.temperature
        logits = np.zeros_like(ngram_logits)
        for language in sorted(set(languages)):
            rows = np.array([i for i, code in enumerate(languages) if code == language])
            head = self.heads[self.sentiment_head_name(language)]
            weight = self.ngram_weight("sentiment", language)
            logits[rows] = (head.raw_logits(embedded[rows]) + weight * ngram_logits[rows]) / (
                head.temperature
            )
        return logits

    def emotion_logits(
        self, path: str, ngram_features: Any, embedded: Any, languages: Sequence[str]
    ) -> np.ndarray:
        ngram_logits = self.heads["fast.emotion"].raw_logits(ngram_features)
        if path == "fast":
            return ngram_logits
        weights = np.array([self.ngram_weight("emotion", code) for code in languages])
        return self.heads["accurate.emotion"].raw_logits(embedded) + weights[:, None] * ngram_logits

    def emotion_thresholds(self, path: str, languages: Sequence[str]) -> np.ndarray:
        """Per-text decision thresholds: blended logits have thresholds of their own."""
        default = self.arrays[f"{path}.emotion.thresholds"]
        if not languages:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        return np.stack(
            [
                self.arrays.get(f"{path}.emotion.thresholds.{code}", default)
                if path == "accurate"
                else default
                for code in languages
            ]
        ).astype(np.float32)

    def score(
        self, normalized: Sequence[str], path: str, languages: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(sentiment probabilities, emotion probabilities) in label order, one row per text."""
        if path not in PATHS:
            raise ValueError(f"unknown path {path!r}; expected one of {PATHS}")
        # The accurate path adds n-gram logits to the embedding ones, so both paths need them.
        ngram_features = self.ngrams(normalized)
        embedded = self.embed(normalized) if path == "accurate" else None
        sentiment_logits = self.sentiment_logits(path, ngram_features, embedded, languages)
        emotion_logits = self.emotion_logits(path, ngram_features, embedded, languages)
        return activate(sentiment_logits, "softmax"), activate(emotion_logits, "sigmoid")

    def analyze(self, texts: Sequence[str], path: str = "accurate") -> list[dict[str, Any]]:
        """One result per text, in order; duplicates and near duplicates are scored once."""
        normalized = [normalize(text) for text in texts]
        representative = dedupe.representatives(normalized)
        self.last_saved_share = dedupe.saved_share(representative)
        unique_rows = sorted(set(representative))
        unique_texts = [normalized[row] for row in unique_rows]
        languages = self.languages(unique_texts)
        sentiment, emotions = self.score(unique_texts, path, languages)
        dominant = dominant_emotions(emotions, self.emotion_thresholds(path, languages))
        results_by_row = {
            row: _result(languages[i], sentiment[i], emotions[i], dominant[i])
            for i, row in enumerate(unique_rows)
        }
        return [dict(results_by_row[representative[row]]) for row in range(len(texts))]


def dominant_emotions(
    probabilities: np.ndarray, thresholds: np.ndarray, allowed: Sequence[str] = EMOTIONS
) -> list[str]:
    """The emotion furthest above its own decision threshold (one row of thresholds per text).

    Labels have very different base rates (neutral is common, disgust rare); comparing raw
    probabilities would almost never name the rare ones.
    """
    columns = [EMOTIONS.index(label) for label in allowed]
    ratios = probabilities[:, columns] / thresholds[..., columns]
    return [allowed[i] for i in ratios.argmax(axis=1)]


def _result(language: str, sentiment: np.ndarray, emotions: np.ndarray, dominant: str) -> dict:
    return {
        "lang": language,
        "sentiment": SENTIMENTS[int(sentiment.argmax())],
        "sentiment_scores": {
            label: round(float(p), 4) for label, p in zip(SENTIMENTS, sentiment, strict=True)
        },
        "emotion": dominant,
        "emotions": {
            label: round(float(p), 4) for label, p in zip(EMOTIONS, emotions, strict=True)
        },
    }
