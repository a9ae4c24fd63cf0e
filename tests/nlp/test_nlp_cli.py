"""The command-line contracts used by outside checks, run as a user would run them."""

import json
import subprocess
import sys

import pytest

from chorus.nlp.cli import main
from chorus.nlp.labels import EMOTIONS, SENTIMENTS


def run_nlp(*args, stdin=b"", env=None):
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from chorus.nlp.cli import main; sys.exit(main(sys.argv[1:]))",
            *args,
        ],
        input=stdin,
        capture_output=True,
        check=False,
        env=env,
    )


def assert_result_shape(result):
    assert set(SENTIMENTS) == set(result["sentiment_scores"])
    assert set(EMOTIONS) == set(result["emotions"])
    assert result["sentiment"] in SENTIMENTS
    assert result["emotion"] in EMOTIONS


@pytest.mark.parametrize("flags", [[], ["--fast"]])
def test_classify_writes_one_result_per_line_in_order_whatever_the_line(flags):
    lines = [
        "This is the worst service ever, I am furious",
        "",
        "😍😍😍",
        "Thank you so much, everything was perfect!",
        "mot " * 50_000,
    ]
    stdin = "\n".join(lines).encode() + b"\nbad \xff\xfe bytes but thank you\n"
    completed = run_nlp("classify", *flags, stdin=stdin)
    assert completed.returncode == 0, completed.stderr.decode()
    results = [json.loads(line) for line in completed.stdout.decode().splitlines()]
    assert len(results) == 6
    for result in results:
        assert_result_shape(result)
    assert results[0]["sentiment"] == "negative"
    assert results[1]["lang"] == results[2]["lang"] == "und"
    assert results[3]["sentiment"] == "positive"


def test_classify_jsonl_keeps_bad_lines_in_place():
    stdin = b'{"text": "Quel plaisir ce voyage, merci !"}\nnot json\n{"id": 3}\n{"text": "Service nul, je suis furieuse"}\n'
    completed = run_nlp("classify", "--jsonl", stdin=stdin)
    assert completed.returncode == 0, completed.stderr.decode()
    results = [json.loads(line) for line in completed.stdout.decode().splitlines()]
    assert [r["sentiment"] for r in (results[0], results[3])] == ["positive", "negative"]
    assert "error" in results[1] and "error" in results[2]


@pytest.fixture
def labelled_files(tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text(
        "Je déteste ce service, une honte\nLe magasin ouvre à 9h\nMerci, super expérience !\n"
        "Worst company ever, I am so angry\nGreat food and lovely staff\n",
        encoding="utf-8",
    )
    return texts, tmp_path


def test_evaluate_prints_the_metrics_and_confusion_matrix(labelled_files, capsys):
    texts, folder = labelled_files
    numeric = folder / "ids.txt"
    numeric.write_text("0\n1\n2\n0\n2\n")
    assert (
        main(
            [
                "evaluate",
                "--task",
                "sentiment",
                "--texts",
                str(texts),
                "--labels",
                str(numeric),
                "--fast",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert {"macro_f1", "macro_recall", "accuracy", "confusion"} <= set(report)
    assert report["n"] == 5
    assert sum(sum(row.values()) for row in report["confusion"].values()) == 5
    assert report["macro_f1"] > 0.5


def test_evaluate_accepts_names_and_maps_tweeteval_optimism_to_joy(labelled_files, capsys):
    texts, folder = labelled_files
    names = folder / "emotions.txt"
    names.write_text("anger\n2\njoy\n0\noptimism\n")
    assert (
        main(
            [
                "evaluate",
                "--task",
                "emotion",
                "--texts",
                str(texts),
                "--labels",
                str(names),
                "--fast",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["labels"] == ["anger", "joy"]


def test_evaluate_language(labelled_files, capsys):
    texts, folder = labelled_files
    languages = folder / "languages.txt"
    languages.write_text("fr\nfr\nfr\nen\nen\n")
    assert (
        main(["evaluate", "--task", "language", "--texts", str(texts), "--labels", str(languages)])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["accuracy"] == 1.0


def test_evaluate_rejects_unknown_labels_clearly(labelled_files, capsys):
    texts, folder = labelled_files
    labels = folder / "bad.txt"
    labels.write_text("0\n1\n2\nvery bad\n2\n")
    assert (
        main(["evaluate", "--task", "sentiment", "--texts", str(texts), "--labels", str(labels)])
        == 2
    )
    assert "line 4: unknown sentiment label 'very bad'" in capsys.readouterr().err


def test_evaluate_rejects_files_of_different_lengths(labelled_files, capsys):
    texts, folder = labelled_files
    labels = folder / "short.txt"
    labels.write_text("0\n1\n")
    assert (
        main(["evaluate", "--task", "sentiment", "--texts", str(texts), "--labels", str(labels)])
        == 2
    )
    assert "5 texts but 2 labels" in capsys.readouterr().err


def test_bench_reports_speed_dedupe_and_memory(capsys):
    assert main(["bench", "--fast", "--n", "300"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 300
    assert report["texts_per_s"] > 0 and report["peak_rss_mb"] > 0
    assert 0.1 < report["dedupe_saved_share"] < 0.4


def test_unknown_command_is_a_usage_error():
    assert main(["frobnicate"]) == 2
