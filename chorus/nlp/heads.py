"""Linear classification heads, stored as plain arrays (no pickles, no scikit-learn at run time)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chorus.nlp.ngrams import SparseRows

Features = np.ndarray | SparseRows


@dataclass
class LinearHead:
    """``activation((features @ weights + bias) / temperature)``, applied by the analyzer.

    ``softmax`` heads choose one label (sentiment); ``sigmoid`` heads give each label its own
    probability (emotions, which can co-occur). ``temperature`` calibrates the probabilities.
    """

    labels: tuple[str, ...]
    weights: np.ndarray  # (n_features, n_labels)
    bias: np.ndarray  # (n_labels,)
    activation: str
    temperature: float = 1.0

    def raw_logits(self, features: Features) -> np.ndarray:
        """Logits before temperature scaling."""
        if isinstance(features, SparseRows):
            return features.dot(self.weights) + self.bias
        return features @ self.weights + self.bias

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}.weights": self.weights.astype(np.float16),
            f"{prefix}.bias": self.bias.astype(np.float32),
            f"{prefix}.labels": np.array(self.labels),
            f"{prefix}.activation": np.array(self.activation),
            f"{prefix}.temperature": np.array(self.temperature, dtype=np.float32),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> LinearHead:
        return cls(
            labels=tuple(str(label) for label in arrays[f"{prefix}.labels"]),
            weights=arrays[f"{prefix}.weights"].astype(np.float32),
            bias=arrays[f"{prefix}.bias"].astype(np.float32),
            activation=str(arrays[f"{prefix}.activation"]),
            temperature=float(arrays[f"{prefix}.temperature"]),
        )


def activate(logits: np.ndarray, activation: str) -> np.ndarray:
    if activation == "softmax":
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))


def save_heads(path: Path, heads: dict[str, LinearHead], **extra: np.ndarray) -> None:
    arrays: dict[str, np.ndarray] = dict(extra)
    for name, head in heads.items():
        arrays.update(head.to_arrays(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as stored:
        return {key: stored[key] for key in stored.files}


def heads_in(arrays: dict[str, np.ndarray]) -> dict[str, LinearHead]:
    names = {key.rsplit(".", 1)[0] for key in arrays if key.endswith(".weights")}
    return {name: LinearHead.from_arrays(arrays, name) for name in names}
