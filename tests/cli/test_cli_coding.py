"""The CLI for codebooks, coding, memos, undo and history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qcode.cli import cli

from ..conftest import REPO


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, transcript_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("QCODE_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("QCODE_CODER", "coder-a")
    path = str(tmp_path / "p.qcode")
    run("init", path)
    run("import", str(transcript_dir), "-p", path)
    result = run("codebook", "load", str(REPO / "codebooks" / "samarbeid.yaml"),
                 str(REPO / "codebooks" / "prestisje.yaml"), "-p", path)
    assert result.exit_code == 0, result.output
    assert "loaded 19 codes" in result.stdout
    return path


def test_codebook_check_reports_problems(tmp_path: Path) -> None:
    ok = run("codebook", "check", str(REPO / "codebooks" / "praksislogikker.yaml"))
    assert ok.exit_code == 0 and "ok, 17 codes" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\ncodes:\n  - id: a\n    name: A\n    colour: red\n",
                   encoding="utf-8")
    result = run("codebook", "check", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:5: error: colour: unknown field (did you mean 'color'?)" in result.stderr
    assert "definition: a: missing" in result.stderr


def test_codebook_list_and_show(project: str) -> None:
    books = json.loads(run("codebook", "list", "--json", "-p", project).stdout)
    assert [b["codes"] for b in books] == [19, 8]
    tree = run("codebook", "show", "-p", project).stdout
    assert "    Relasjoner" in tree or "Relasjoner" in tree
    one = run("codebook", "show", "--code", "samarbeid/forutsetninger/relasjoner",
              "-p", project).stdout
    assert "Definition:" in one and "When not to use:" in one


def test_apply_list_remove_undo(project: str) -> None:
    applied = run("code", "apply", "JS1", "relasjoner", "--quote", "«vi-følelsen» er sterk",
                  "-p", project, "--json")
    assert applied.exit_code == 0, applied.output
    coding = json.loads(applied.stdout)[0]
    assert coding["text"] == "«vi-følelsen» er sterk" and coding["coder"] == "coder-a"
    listed = json.loads(run("code", "list", "--code", "samarbeid", "--json", "-p",
                            project).stdout)
    assert [c["id"] for c in listed] == [coding["id"]]
    assert run("code", "remove", str(coding["id"]), "-p", project).exit_code == 0
    assert json.loads(run("code", "list", "--json", "-p", project).stdout) == []
    undone = run("undo", "-p", project)
    assert undone.exit_code == 0 and "undone: remove coding" in undone.stdout
    assert len(json.loads(run("code", "list", "--json", "-p", project).stdout)) == 1
    hist = json.loads(run("history", "--json", "--limit", "3", "-p", project).stdout)
    assert [h["kind"] for h in hist] == ["undo", "coding.remove", "coding.apply"]


def test_apply_errors_are_one_line(project: str) -> None:
    bad = run("code", "apply", "JS1", "relasjoner", "--start", "0", "--end", "99999",
              "-p", project)
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1
    assert "not inside JS1" in bad.stderr
    missing = run("code", "apply", "-p", project)
    assert missing.exit_code == 1 and "name a DOCUMENT and a CODE" in missing.stderr
    nothing = run("redo", "-p", project)
    assert nothing.exit_code == 1 and "nothing to redo" in nothing.stderr


def test_bulk_apply_from_file(project: str, tmp_path: Path) -> None:
    spans = tmp_path / "spans.yaml"
    spans.write_text(
        "- {document: JS1, code: relasjoner, turn: 2}\n"
        "- {document: V1, code: frustrasjon, quote: 'Den er tungvint, ærlig talt.'}\n",
        encoding="utf-8")
    result = run("code", "apply", "--from", str(spans), "--json", "-p", project)
    assert result.exit_code == 0, result.output
    assert [c["code"] for c in json.loads(result.stdout)] == ["relasjoner", "frustrasjon"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {document: JS1, code: relasjoner, turnn: 2}\n", encoding="utf-8")
    result = run("code", "apply", "--from", str(bad), "-p", project)
    assert result.exit_code == 1 and "unknown keys ['turnn']" in result.stderr


def test_codebook_edit_rename_move_merge_delete(project: str) -> None:
    assert run("codebook", "rename", "relasjoner", "Nærhet", "-p", project).exit_code == 0
    assert run("codebook", "edit", "relasjoner", "--set", "color=#00aa00", "-p",
               project).exit_code == 0
    top = run("codebook", "move", "relasjoner", "-p", project)
    assert "moved to relasjoner" in top.stdout  # the top level of its codebook
    moved = run("codebook", "move", "relasjoner", "samarbeid", "-p", project)
    assert "moved to samarbeid/relasjoner" in moved.stdout
    run("code", "apply", "JS1", "relasjoner", "--turn", "2", "-p", project)
    refused = run("codebook", "delete", "relasjoner", "-p", project)
    assert refused.exit_code == 1 and "has 1 codings" in refused.stderr
    merged = run("codebook", "merge", "relasjoner", "vi-folelse", "-p", project)
    assert "1 codings moved" in merged.stdout
    assert run("undo", "-p", project).exit_code == 0
    deleted = run("codebook", "delete", "relasjoner", "--force", "-p", project)
    assert "deleted relasjoner and 1 codings" in deleted.stdout
    add = run("codebook", "add", "Samarbeid mellom jobbspesialister og veiledere", "tillit",
              "--name", "Tillit", "--definition", "Om tillit.", "--parent", "forutsetninger",
              "-p", project)
    assert "added samarbeid/forutsetninger/tillit" in add.stdout


def test_codebook_export_yaml_round_trip(project: str, tmp_path: Path) -> None:
    out = tmp_path / "eksport.yaml"
    result = run("codebook", "export", "Prestisje", str(out), "-p", project)
    assert result.exit_code == 1 and "no codebook 'Prestisje'" in result.stderr
    names = [b["name"] for b in json.loads(run("codebook", "list", "--json", "-p",
                                               project).stdout)]
    assert run("codebook", "export", names[1], str(out), "-p", project).exit_code == 0
    from qcode.codebook import load_codebook_file

    assert load_codebook_file(out)[0] == load_codebook_file(REPO / "codebooks" /
                                                            "prestisje.yaml")[0]


def test_memos_and_coders(project: str) -> None:
    assert run("memo", "add", "Oppsummering av JS1.", "--document", "JS1", "-p",
               project).exit_code == 0
    assert run("memo", "add", "Forskningsdagbok: dag 1.", "-p", project).exit_code == 0
    memos = json.loads(run("memo", "list", "--json", "-p", project).stdout)
    assert [m["scope"] for m in memos] == ["document", "project"]
    assert json.loads(run("memo", "list", "--document", "JS1", "--json", "-p",
                          project).stdout)[0]["body"] == "Oppsummering av JS1."
    assert run("memo", "edit", str(memos[1]["id"]), "Dag 1 ferdig.", "-p",
               project).exit_code == 0
    assert run("memo", "delete", str(memos[0]["id"]), "-p", project).exit_code == 0
    two = run("memo", "add", "x", "--document", "JS1", "--code", "relasjoner", "-p", project)
    assert two.exit_code == 1 and "belongs to one thing" in two.stderr
    assert run("coders", "add", "coder-b", "--name", "Koder B", "-p", project).exit_code == 0
    coders = json.loads(run("coders", "list", "--json", "-p", project).stdout)
    assert {"id": "coder-b", "name": "Koder B", "codings": 0} in coders


def test_config_coder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QCODE_CONFIG", str(tmp_path / "c" / "config.toml"))
    monkeypatch.delenv("QCODE_CODER", raising=False)
    assert run("config", "coder").stdout.strip() == "(not set)"
    assert run("config", "coder", "kari").exit_code == 0
    assert run("config", "coder").stdout.strip() == "kari"
    assert run("config", "coder", "Kari K").exit_code == 1


def test_edit_a_codings_span_and_code_then_undo(project: str) -> None:
    applied = json.loads(run("code", "apply", "JS1", "relasjoner", "--quote",
                             "«vi-følelsen» er sterk", "-p", project, "--json").stdout)[0]
    ref = str(applied["id"])
    nothing = run("code", "edit", ref, "-p", project)
    assert nothing.exit_code == 1 and "nothing to change" in nothing.stderr
    edited = run("code", "edit", ref, "--end", str(applied["end"] - len(" er sterk")),
                 "--code", "vi-folelse", "--json", "-p", project)
    assert edited.exit_code == 0, edited.output
    coding = json.loads(edited.stdout)
    assert (coding["id"], coding["text"], coding["code"]) == (
        applied["id"], "«vi-følelsen»", "vi-folelse")
    outside = run("code", "edit", ref, "--end", "999999", "-p", project)
    assert outside.exit_code == 1 and "\n" not in outside.stderr.strip()
    assert run("undo", "-p", project).exit_code == 0
    back = json.loads(run("code", "list", "--json", "-p", project).stdout)
    assert [(c["text"], c["code"]) for c in back] == [("«vi-følelsen» er sterk", "relasjoner")]
