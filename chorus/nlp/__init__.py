"""Language, sentiment and emotions of social posts, offline on CPU.

A plain library (no Django): ``analyze`` scores batches with the ``accurate`` path (multilingual
e5 embeddings + linear heads) or the ``fast`` path (TF-IDF n-grams + linear heads).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chorus.nlp.analyzer import Analyzer
    from chorus.nlp.language import LanguageDetector

__all__ = ["Analyzer", "analyze", "detect_language"]

_analyzers: dict[Path | None, Analyzer] = {}
_detector: list[LanguageDetector] = []


def __getattr__(name: str) -> Any:
    # Importing chorus.nlp stays cheap; the Analyzer (and numpy) load on first use.
    if name == "Analyzer":
        from chorus.nlp.analyzer import Analyzer

        return Analyzer
    raise AttributeError(name)


def detect_language(text: str) -> str:
    """ISO 639-1 code of ``text`` among the configured languages, or ``und``."""
    if not _detector:
        from chorus.nlp.language import LanguageDetector

        _detector.append(LanguageDetector())
    return _detector[0].detect(text)


def analyze(
    texts: Sequence[str], path: str = "accurate", workspace_dir: Path | str | None = None
) -> list[dict[str, Any]]:
    """Language, sentiment and emotions of each text (see ``chorus nlp classify``)."""
    from chorus.nlp.analyzer import Analyzer

    key = Path(workspace_dir) if workspace_dir else None
    if key not in _analyzers:
        _analyzers[key] = Analyzer(workspace_dir=key)
    return _analyzers[key].analyze(list(texts), path=path)
