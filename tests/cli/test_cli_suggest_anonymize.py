"""The CLI of suggestions (qcode suggest) and of the leak check (qcode anonymize)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qcode import services
from qcode.cli import cli

from ..conftest import CORPUS, REPO

CLEAN = "I: Hvordan går det?\n\nV9: Det går fint med samarbeidet, vi har faste møter.\n"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("QCODE_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("QCODE_CODER", "coder-a")
    monkeypatch.setenv("QCODE_NLP_PIPELINE", "blank")
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("V4.txt", "JS1.txt"):
        (folder / name).write_bytes((CORPUS / "intervjuer" / name).read_bytes())
    (folder / "V9.txt").write_text(CLEAN, encoding="utf-8")
    path = str(tmp_path / "p.qcode")
    assert run("init", path).exit_code == 0
    assert run("import", str(folder), "-p", path).exit_code == 0
    loaded = run("codebook", "load", *(str(REPO / "codebooks" / f"{b}.yaml") for b in (
        "samarbeid", "praksislogikker", "prestisje")), "-p", path)
    assert loaded.exit_code == 0, loaded.output
    return path


def _lines(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_suggest_json_lines_contract(project: str) -> None:
    rows = _lines(run("suggest", "--json", "-p", project))
    assert rows
    store = services.open_project(Path(project))
    try:
        texts = {d.name: store.document(d.id).text for d in store.documents()}
        codes = {c.id for c in store.codes()}
    finally:
        store.close()
    assert {r["document"] for r in rows} <= set(texts)  # every document, annotated first
    for r in rows:
        assert {"id", "document", "start", "end", "code", "score", "reason",
                "method"} <= set(r)
        doc = texts[str(r["document"])]
        start, end = int(r["start"]), int(r["end"])  # type: ignore[call-overload]
        assert 0 <= start < end <= len(doc)
        assert r["text"] == doc[start:end]
        assert r["code"] in codes and r["status"] == "pending"
        assert 0.35 <= float(r["score"]) <= 1.0  # type: ignore[arg-type]
        assert r["reason"] and r["method"]
    one = _lines(run("suggest", "--document", "JS1", "--unit", "turn", "--codes",
                     "samarbeid,prestisje", "--min-score", "0.5", "--json", "-p", project))
    assert one and {r["document"] for r in one} == {"JS1"}
    assert {r["code"] for r in one} <= {"samarbeid", "prestisje"}
    assert all(float(r["score"]) >= 0.5 for r in one)  # type: ignore[arg-type]


def test_suggest_accept_and_reject(project: str) -> None:
    rows = _lines(run("suggest", "--document", "JS1", "--json", "-p", project))
    first, second = rows[0], rows[1]
    accepted = run("suggest", "accept", str(first["id"]), "-p", project)
    assert accepted.exit_code == 0 and "accepted 1 suggestions" in accepted.stdout
    rejected = run("suggest", "reject", str(second["id"]), "-p", project)
    assert rejected.exit_code == 0 and "rejected 1" in rejected.stdout
    done = _lines(run("suggest", "list", "--status", "accepted", "--json", "-p", project))
    assert [r["id"] for r in done] == [first["id"]]
    codings = json.loads(run("code", "list", "--json", "-p", project).stdout)
    assert any(c["start"] == first["start"] and c["end"] == first["end"] and
               c["code"] == first["code"] for c in codings)
    again = _lines(run("suggest", "--document", "JS1", "--json", "-p", project))
    spans = {(r["start"], r["end"], r["code"]) for r in again}
    assert (second["start"], second["end"], second["code"]) not in spans
    assert (first["start"], first["end"], first["code"]) not in spans


def test_anonymize_check_a_file_and_documents(project: str, tmp_path: Path) -> None:
    leaky = run("anonymize", "check", str(CORPUS / "intervjuer" / "V4.txt"), "--json")
    assert leaky.exit_code == 1
    findings = json.loads(leaky.stdout)
    text = (CORPUS / "intervjuer" / "V4.txt").read_text(encoding="utf-8")
    for f in findings:
        assert {"start", "end", "text", "kind", "confidence"} <= set(f)
        assert text[f["start"]:f["end"]] == f["text"]
    assert {"Marius Fjellheim", "948 27 316", "14039127742"} <= {f["text"] for f in findings}
    clean = tmp_path / "clean.txt"
    clean.write_text(CLEAN, encoding="utf-8")
    ok = run("anonymize", "check", str(clean), "--json")
    assert ok.exit_code == 0 and not [f for f in json.loads(ok.stdout)
                                      if f["confidence"] == "high"]
    doc = run("anonymize", "check", "--document", "V4", "--json", "-p", project)
    assert doc.exit_code == 1
    assert all(f["document"] == "V4" for f in json.loads(doc.stdout))
    assert run("anonymize", "check", "--document", "V9", "--json", "-p", project).exit_code == 0


def test_anonymize_apply(project: str, tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    result = run("anonymize", "apply", "V4", "--key", str(key), "-p", project)
    assert result.exit_code == 0, result.output
    assert "version 2" in result.stdout and "owner-only" in result.stdout
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    after = run("anonymize", "check", "--document", "V4", "--json", "-p", project)
    assert after.exit_code == 0, after.stdout
    assert b"Fjellheim" not in Path(project).read_bytes()
