"""Grouping of exact and near-duplicate texts, so that each distinct text is scored once.

Reposts and copy-paste campaigns differ by a handle, a link, an emoji or a word. Exact
duplicates collide on :func:`chorus.nlp.preprocess.duplicate_key`; near duplicates are found
with MinHash over word 3-shingles and locality-sensitive hashing, then confirmed by their
Jaccard similarity.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from chorus.nlp.preprocess import duplicate_key

NEAR_DUPLICATE_JACCARD = 0.7
SHINGLE_WORDS = 3
# Shorter texts are only merged when exactly equal: a few words' difference can flip them.
MIN_WORDS_FOR_NEAR = 8
_BANDS = 16
_ROWS_PER_BAND = 2
_MERSENNE = (1 << 61) - 1
_rng = np.random.default_rng(20261126)
_A = _rng.integers(1, 1 << 31, size=_BANDS * _ROWS_PER_BAND, dtype=np.uint64)
_B = _rng.integers(0, 1 << 31, size=_BANDS * _ROWS_PER_BAND, dtype=np.uint64)


def _shingles(key: str) -> set[str]:
    words = key.split()
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def _signature(shingles: set[str]) -> np.ndarray:
    hashes = np.fromiter((zlib.crc32(s.encode()) for s in shingles), dtype=np.uint64)
    return ((hashes[:, None] * _A + _B) % _MERSENNE).min(axis=0)


class _Groups:
    """Union-find over row numbers; the representative of a group is its first row."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, row: int) -> int:
        while self.parent[row] != row:
            self.parent[row] = self.parent[self.parent[row]]
            row = self.parent[row]
        return row

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)


def representatives(normalized_texts: Sequence[str]) -> list[int]:
    """For each text, the row of the first text it duplicates (its own row if distinct)."""
    keys = [duplicate_key(text) for text in normalized_texts]
    groups = _Groups(len(keys))
    first_row_of_key: dict[str, int] = {}
    distinct_rows = []
    for row, key in enumerate(keys):
        if key in first_row_of_key:
            groups.union(first_row_of_key[key], row)
        else:
            first_row_of_key[key] = row
            distinct_rows.append(row)

    shingles: dict[int, set[str]] = {}
    buckets: dict[tuple[int, bytes], int] = {}
    for row in distinct_rows:
        if len(keys[row].split()) < MIN_WORDS_FOR_NEAR:
            continue
        shingles[row] = _shingles(keys[row])
        signature = _signature(shingles[row])
        for band in range(_BANDS):
            bucket = (
                band,
                signature[band * _ROWS_PER_BAND : (band + 1) * _ROWS_PER_BAND].tobytes(),
            )
            earlier = buckets.setdefault(bucket, row)
            if earlier != row and groups.find(earlier) != groups.find(row):
                union_size = len(shingles[earlier] | shingles[row])
                jaccard = len(shingles[earlier] & shingles[row]) / union_size
                if jaccard >= NEAR_DUPLICATE_JACCARD:
                    groups.union(earlier, row)
    return [groups.find(row) for row in range(len(keys))]


def saved_share(representative_rows: Sequence[int]) -> float:
    """Share of texts that did not need scoring because they duplicate an earlier one."""
    if not representative_rows:
        return 0.0
    distinct = sum(1 for row, rep in enumerate(representative_rows) if row == rep)
    return 1.0 - distinct / len(representative_rows)
