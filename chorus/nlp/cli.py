"""``chorus nlp classify | evaluate | train | bench`` — runs without Django.

Imports stay inside the commands so that ``classify`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data" / "nlp"
# A line longer than this is cut before decoding; the models read the first 1,000 characters.
MAX_LINE_BYTES = 16_384
BATCH_LINES = 256
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class UsageError(Exception):
    """A problem with the command line or its input files, reported without a traceback."""


def var_dir() -> Path:
    # The same data folder as the rest of Chorus ($CHORUS_VAR_DIR, default <project>/var).
    from chorus.config import var_dir as chorus_var_dir

    return chorus_var_dir()


def workspace_dir(slug: str) -> Path:
    if not _SLUG.match(slug):
        raise UsageError(f"invalid workspace slug {slug!r} (lowercase letters, digits, - and _)")
    return var_dir() / "nlp" / "workspaces" / slug


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chorus nlp", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    classify = commands.add_parser("classify", help="score one text per stdin line")
    classify.add_argument("--fast", action="store_true", help="n-gram path instead of embeddings")
    classify.add_argument("--jsonl", action="store_true", help='lines are {"text": ...} objects')
    classify.add_argument("--workspace", metavar="SLUG", help="use this workspace's heads")

    evaluate = commands.add_parser("evaluate", help="score predictions against a labels file")
    evaluate.add_argument("--task", required=True, choices=("sentiment", "emotion", "language"))
    evaluate.add_argument("--texts", required=True, type=Path, help="one text per line")
    evaluate.add_argument(
        "--labels", required=True, type=Path, help="one label (ids or names) per line"
    )
    evaluate.add_argument("--fast", action="store_true")
    evaluate.add_argument("--workspace", metavar="SLUG")

    train = commands.add_parser("train", help="fit the shipped heads, or a workspace's heads")
    train.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled corpora folder")
    train.add_argument("--out", type=Path, help="output folder (default: the shipped artifacts)")
    train.add_argument("--workspace", metavar="SLUG", help="fit this workspace's heads")
    train.add_argument("--corrections", type=Path, help="JSONL corrections (with --workspace)")

    bench = commands.add_parser("bench", help="measure throughput and memory")
    bench.add_argument("--fast", action="store_true")
    bench.add_argument("--n", type=int, default=1000, help="number of texts (default 1000)")
    return parser


def main(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        if args.command == "classify":
            return _classify(args, sys.stdin.buffer, sys.stdout)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "train":
            return _train(args)
        return _bench(args)
    except UsageError as error:
        print(f"chorus nlp {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


def _analyzer(workspace: str | None) -> Any:
    from chorus.nlp.analyzer import Analyzer

    return Analyzer(workspace_dir=workspace_dir(workspace) if workspace else None)


def _input_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """Lines split on ``\\n`` only, so that other separators inside a text keep lines aligned."""
    pending = b""
    while chunk := stream.read(1 << 16):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


def _decode(line: bytes, jsonl: bool) -> tuple[str, str | None]:
    """(text, error) for one input line; a bad line becomes an empty text, never a crash."""
    if jsonl:
        try:
            item = json.loads(line.decode("utf-8", errors="replace"))
        except json.JSONDecodeError:
            return "", "invalid JSON"
        text = item.get("text") if isinstance(item, dict) else None
        if not isinstance(text, str):
            return "", "no string 'text' field"
        return text, None
    return line[:MAX_LINE_BYTES].decode("utf-8", errors="replace").rstrip("\r"), None


def _classify(args: argparse.Namespace, stream: IO[bytes], out: IO[str]) -> int:
    analyzer = _analyzer(args.workspace)
    path = "fast" if args.fast else "accurate"
    batch: list[tuple[str, str | None]] = []

    def flush() -> None:
        results = analyzer.analyze([text for text, _ in batch], path=path)
        for result, (_, error) in zip(results, batch, strict=True):
            if error:
                result["error"] = error
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
        batch.clear()

    for line in _input_lines(stream):
        batch.append(_decode(line, args.jsonl))
        if len(batch) >= BATCH_LINES:
            flush()
    if batch:
        flush()
    return 0


def _read_lines(path: Path) -> list[str]:
    try:
        content = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from error
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def _evaluate(args: argparse.Namespace) -> int:
    from chorus.nlp.labels import LabelError, parse_label
    from chorus.nlp.scoring import evaluate

    texts = _read_lines(args.texts)
    raw_labels = _read_lines(args.labels)
    if len(texts) != len(raw_labels):
        raise UsageError(f"{len(texts)} texts but {len(raw_labels)} labels")
    if not texts:
        raise UsageError("no texts to evaluate")
    try:
        gold = [parse_label(args.task, raw, n) for n, raw in enumerate(raw_labels, start=1)]
    except LabelError as error:
        raise UsageError(f"{args.labels}: {error}") from error
    path = "fast" if args.fast else "accurate"
    report = evaluate(_analyzer(args.workspace), args.task, texts, gold, path)
    print(json.dumps(report, ensure_ascii=False))
    return 0


def _train(args: argparse.Namespace) -> int:
    if args.workspace or args.corrections:
        return _train_workspace(args)
    from chorus.nlp.analyzer import shipped_artifacts
    from chorus.nlp.training import print_progress, train

    if not args.data.is_dir():
        raise UsageError(f"data folder {args.data} not found (give --data DIR)")
    out = args.out or shipped_artifacts()
    cache = var_dir() / "nlp" / "cache" / "embeddings"
    metrics = train(args.data, out, cache, print_progress)
    print(json.dumps({"out": str(out), "training_seconds": metrics["training_seconds"]}))
    return 0


def _train_workspace(args: argparse.Namespace) -> int:
    from chorus.nlp.labels import LabelError
    from chorus.nlp.workspace import fit_workspace_heads, parse_corrections

    if not (args.workspace and args.corrections):
        raise UsageError("--workspace SLUG and --corrections FILE.jsonl go together")
    out = args.out or workspace_dir(args.workspace)
    try:
        corrections = parse_corrections(_read_lines(args.corrections))
    except LabelError as error:
        raise UsageError(f"{args.corrections}: {error}") from error
    if not corrections:
        raise UsageError(f"{args.corrections} holds no corrections")
    summary = fit_workspace_heads(corrections, out)
    print(json.dumps({"out": str(out), **summary}))
    return 0


def _bench(args: argparse.Namespace) -> int:
    import resource

    from chorus.nlp.benchmark import social_stream

    if args.n < 1:
        raise UsageError("--n must be at least 1")
    path = "fast" if args.fast else "accurate"
    texts = social_stream(args.n, DEFAULT_DATA)
    analyzer = _analyzer(None)
    analyzer.load(path)  # model loading is the cold start's business, not throughput's
    started = time.perf_counter()
    analyzer.analyze(texts, path=path)
    elapsed = time.perf_counter() - started
    # The n-gram path runs on one core; the embedding engine uses all of them.
    cores = len(os.sched_getaffinity(0)) if path == "accurate" else 1
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {
        "path": path,
        "n": len(texts),
        "seconds": round(elapsed, 3),
        "texts_per_s": round(len(texts) / elapsed, 1),
        "cores": cores,
        "texts_per_s_per_core": round(len(texts) / elapsed / cores, 1),
        "dedupe_saved_share": round(analyzer.last_saved_share, 4),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
    print(json.dumps(report))
    return 0
