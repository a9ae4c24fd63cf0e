"""A workspace's label corrections change its predictions and nobody else's."""

import io
import json

from chorus.nlp import Analyzer
from chorus.nlp.cli import main
from chorus.nlp.workspace import fit_workspace_heads

# In this workspace's market, "tranquille" posts about the plant are good news.
TEXT = "La centrale est tranquille ce week-end, rien à signaler"


def corrections():
    return [
        {"text": TEXT, "task": "sentiment", "label": "positive"},
        {"text": "Tranquille à la centrale, tout roule", "task": "sentiment", "label": "positive"},
        {"text": TEXT, "task": "emotion", "label": "joy"},
    ]


def test_corrections_change_the_workspace_predictions_only(tmp_path):
    shipped = Analyzer()
    before = {path: shipped.analyze([TEXT], path=path)[0] for path in ("accurate", "fast")}
    assert before["accurate"]["sentiment"] != "positive"

    summary = fit_workspace_heads(corrections(), tmp_path, analyzer=shipped)
    assert summary["corrections"] == {"sentiment": 2, "emotion": 1}

    corrected = Analyzer(workspace_dir=tmp_path)
    for path in ("accurate", "fast"):
        after = corrected.analyze([TEXT], path=path)[0]
        assert after["sentiment"] == "positive"
        assert after["emotion"] == "joy"
    # The shipped model is untouched, and an unrelated text keeps its reading.
    assert Analyzer().analyze([TEXT])[0] == before["accurate"]
    unrelated = "Service client nul, trois semaines sans réponse, je suis furieux"
    assert corrected.analyze([unrelated])[0]["sentiment"] == "negative"


def test_train_and_classify_with_a_workspace_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHORUS_VAR_DIR", str(tmp_path / "var"))
    corrections_file = tmp_path / "corrections.jsonl"
    corrections_file.write_text("\n".join(json.dumps(c) for c in corrections()) + "\n")
    assert main(["train", "--workspace", "acme-fr", "--corrections", str(corrections_file)]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["out"].endswith("nlp/workspaces/acme-fr")
    assert (tmp_path / "var/nlp/workspaces/acme-fr/heads.npz").exists()

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(f"{TEXT}\n".encode())))
    assert main(["classify", "--workspace", "acme-fr"]) == 0
    assert json.loads(capsys.readouterr().out)["sentiment"] == "positive"


def test_bad_corrections_are_rejected_with_their_line(tmp_path, capsys):
    corrections_file = tmp_path / "corrections.jsonl"
    corrections_file.write_text('{"text": "x", "task": "sentiment", "label": "meh"}\n')
    assert main(["train", "--workspace", "acme", "--corrections", str(corrections_file)]) == 2
    assert "line 1: unknown sentiment label 'meh'" in capsys.readouterr().err
