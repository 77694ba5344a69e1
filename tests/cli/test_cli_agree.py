"""The CLI for agreement and disagreement review."""

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
def project(tmp_path: Path, transcript_dir: Path) -> str:
    path = str(tmp_path / "p.qcode")
    run("init", path)
    run("import", str(transcript_dir), "-p", path)
    run("codebook", "load", str(REPO / "codebooks" / "samarbeid.yaml"), "-p", path)
    for coder, code in (("coder-a", "frustrasjon"), ("coder-b", "tilfredshet")):
        assert run("code", "apply", "V1", code, "--turn", "2", "--coder", coder, "-p",
                   path).exit_code == 0
    assert run("code", "apply", "JS1", "relasjoner", "--turn", "3", "--coder", "coder-a",
               "-p", path).exit_code == 0
    assert run("code", "apply", "JS1", "relasjoner", "--turn", "3", "--coder", "coder-b",
               "-p", path).exit_code == 0
    return path


def test_agree_formats(project: str) -> None:
    table = run("agree", "--coders", "coder-a,coder-b", "--codes", "vurdering,relasjoner",
                "--bootstrap", "0", "-p", project)
    assert table.exit_code == 0 and "unit: turn" in table.stdout and "reliable" in table.stdout
    data = json.loads(run("agree", "--coders", "coder-a,coder-b", "--codes", "relasjoner",
                          "--format", "json", "--bootstrap", "0", "-p", project).stdout)
    assert data["unit"] == "turn" and data["rows"][0]["alpha"] == 1.0
    md = run("agree", "--coders", "coder-a,coder-b", "--unit", "character", "--format", "md",
             "--bootstrap", "0", "-p", project).stdout
    assert md.splitlines()[2].startswith("| code |")
    csv = run("agree", "--coders", "coder-a,coder-b", "--format", "csv", "--bootstrap", "0",
              "-p", project).stdout
    assert csv.startswith("code,group,units")
    bad = run("agree", "--coders", "coder-a", "-p", project)
    assert bad.exit_code == 1 and "at least two coders" in bad.stderr


def test_agree_save_as_report(project: str) -> None:
    assert run("agree", "--coders", "coder-a,coder-b", "--save", "pilot", "--bootstrap", "0",
               "-p", project).exit_code == 0
    reports = json.loads(run("report", "list", "--json", "-p", project).stdout)
    assert reports[0]["name"] == "pilot" and reports[0]["query"].startswith("agreement")


def test_review_list_and_resolve(project: str) -> None:
    listed = json.loads(run("review", "list", "--coders", "coder-a,coder-b", "--code",
                            "frustrasjon", "--json", "-p", project).stdout)
    assert len(listed) == 1 and listed[0]["document"] == "V1"
    item = listed[0]
    resolved = run("review", "resolve", "--coders", "coder-a,coder-b", "--code", "frustrasjon",
                   "--document", "V1", "--start", str(item["start"]), "--end",
                   str(item["end"]), "--decision", "both", "-p", project)
    assert resolved.exit_code == 0 and "1 consensus codings" in resolved.stdout
    assert json.loads(run("review", "list", "--coders", "coder-a,coder-b", "--code",
                          "frustrasjon", "--json", "-p", project).stdout) == []
    missing = run("review", "resolve", "--coders", "coder-a,coder-b", "--code", "frustrasjon",
                  "--document", "V1", "--start", "0", "--end", "1", "--decision", "a",
                  "-p", project)
    assert missing.exit_code == 1 and "no disagreement" in missing.stderr


def test_review_resolve_by_keeping_with_three_coders(project: str) -> None:
    assert run("code", "apply", "V1", "frustrasjon", "--turn", "2", "--coder", "coder-c",
               "-p", project).exit_code == 0
    listed = json.loads(run("review", "list", "--coders", "coder-a,coder-b,coder-c", "--code",
                            "frustrasjon", "--json", "-p", project).stdout)
    assert len(listed) == 1
    item = listed[0]
    where = ["--coders", "coder-a,coder-b,coder-c", "--code", "frustrasjon", "--document", "V1",
             "--start", str(item["start"]), "--end", str(item["end"]), "-p", project]
    both = run("review", "resolve", *where, "--decision", "a", "--keep", "coder-a")
    assert both.exit_code == 1 and "either --decision or --keep" in both.stderr
    neither = run("review", "resolve", *where)
    assert neither.exit_code == 1 and "either --decision or --keep" in neither.stderr
    kept = run("review", "resolve", *where, "--keep", "coder-a,coder-c")
    assert kept.exit_code == 0, kept.output
    assert "decided keep coder-a, coder-c" in kept.stdout
    consensus = json.loads(run("code", "list", "--coder", "consensus", "--json", "-p",
                               project).stdout)
    assert [(c["document"], c["code"]) for c in consensus] == [("V1", "frustrasjon")]
