"""TF-IDF over word and character n-grams: the features of the fast path.

The vocabulary and IDF weights are fitted at training time (scikit-learn's ``TfidfVectorizer``
with :func:`ngram_terms` as its analyzer) and shipped as plain arrays; at run time this module
rebuilds the same sparse vectors without importing scikit-learn, to keep start-up fast.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np

# Words, and each emoji or symbol on its own: "top👍" -> "top", "👍".
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?|[^\w\s]", re.UNICODE)
CHAR_NGRAM_SIZES = (3, 4, 5)


def ngram_terms(normalized_text: str) -> list[str]:
    """Word 1-2 grams and in-word character 3-5 grams of a normalised text."""
    tokens = _TOKEN.findall(normalized_text.casefold())
    terms = ["w" + token for token in tokens]
    terms += ["b" + a + " " + b for a, b in itertools.pairwise(tokens)]
    for token in tokens:
        if len(token) < 2:
            continue
        padded = f" {token} "
        for size in CHAR_NGRAM_SIZES:
            terms += ["c" + padded[i : i + size] for i in range(len(padded) - size + 1)]
    return terms


class NgramVectorizer:
    """Sublinear-TF x IDF vectors, L2-normalised, over a fixed vocabulary.

    Vectors are only ever multiplied by linear heads, so they are kept as flat arrays of
    (row offsets, columns, values) rather than a SciPy matrix, whose import alone would cost
    more than scoring a thousand texts.
    """

    def __init__(self, vocabulary: Sequence[str], idf: np.ndarray) -> None:
        # Columns are stored shifted by one so that ``filter(None, ...)`` drops unknown terms
        # in C, without a Python-level test per term.
        self.shifted_index = {term: i + 1 for i, term in enumerate(vocabulary)}
        self.idf = idf.astype(np.float32)

    def transform(self, normalized_texts: Sequence[str]) -> SparseRows:
        lookup = self.shifted_index.get
        per_text = [list(filter(None, map(lookup, ngram_terms(t)))) for t in normalized_texts]
        lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        shifted = np.fromiter(itertools.chain.from_iterable(per_text), dtype=np.int64)
        # Count each (text, column) pair: sort the pairs, then measure runs of equal keys.
        text_of_term = np.repeat(np.arange(len(per_text), dtype=np.int64), lengths)
        keys, counts = np.unique(text_of_term * (len(self.idf) + 1) + shifted, return_counts=True)
        text_of_entry = keys // (len(self.idf) + 1)
        columns = keys % (len(self.idf) + 1) - 1
        offsets = np.searchsorted(text_of_entry, np.arange(len(per_text) + 1))
        values = (1.0 + np.log(counts.astype(np.float32))) * self.idf[columns]
        rows = SparseRows(offsets, columns, values)
        norms = np.sqrt(rows.row_sums(values * values))
        norms[norms == 0] = 1.0
        rows.values = (values / np.repeat(norms, np.diff(offsets))).astype(np.float32)
        return rows


class SparseRows:
    """Rows of a sparse matrix in CSR layout."""

    def __init__(self, offsets: np.ndarray, columns: np.ndarray, values: np.ndarray) -> None:
        self.offsets = offsets
        self.columns = columns
        self.values = values

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def row_sums(self, per_entry: np.ndarray) -> np.ndarray:
        """Sum of ``per_entry`` (a value or a row of values per stored entry) for each row."""
        row_of_entry = np.repeat(np.arange(len(self)), np.diff(self.offsets))
        if per_entry.ndim == 1:
            return np.bincount(row_of_entry, weights=per_entry, minlength=len(self))
        columns = [
            np.bincount(row_of_entry, weights=per_entry[:, k], minlength=len(self))
            for k in range(per_entry.shape[1])
        ]
        return np.stack(columns, axis=1)

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """``self @ weights`` for a dense ``(n_features, k)`` matrix."""
        return self.row_sums(self.values[:, None] * weights[self.columns].astype(np.float32))
