"""The CLI over a real project: init, import, docs, show, attributes, info, check, backup."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qcode.cli import cli


def run(*args: str, cwd: Path | None = None) -> Result:
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


@pytest.fixture
def imported(tmp_path: Path, transcript_dir: Path, informants_csv: Path) -> Path:
    project = tmp_path / "p.qcode"
    assert run("init", str(project)).exit_code == 0
    result = run("import", str(transcript_dir), "--attributes", str(informants_csv),
                 "-p", str(project))
    assert result.exit_code == 0, result.output
    return project


def test_help_lists_commands() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for name in ("init", "import", "docs", "show", "attributes", "info", "backup", "check",
                 "demo"):
        assert name in result.output


def test_init_and_import_report(tmp_path: Path, transcript_dir: Path) -> None:
    project = tmp_path / "thesis"
    result = run("init", str(project))
    assert result.exit_code == 0 and "thesis.qcode" in result.output
    result = run("import", str(transcript_dir), "-p", str(tmp_path / "thesis.qcode"))
    assert result.exit_code == 0
    assert "3 new" in result.stdout
    again = run("import", str(transcript_dir), "-p", str(tmp_path / "thesis.qcode"))
    assert "3 unchanged" in again.stdout


def test_project_found_in_current_folder(imported: Path) -> None:
    result = run("docs", "--json", cwd=imported.parent)
    assert result.exit_code == 0
    assert [d["name"] for d in json.loads(result.stdout)] == ["JS1", "V1", "V2"]


def test_no_project_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QCODE_PROJECT", raising=False)
    result = run("docs", cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: no project")
    assert "Traceback" not in result.output


def test_two_projects_here_is_ambiguous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QCODE_PROJECT", raising=False)
    run("init", str(tmp_path / "a.qcode"))
    run("init", str(tmp_path / "b.qcode"))
    result = run("info", cwd=tmp_path)
    assert result.exit_code == 1 and "several projects" in result.stderr


def test_env_var_names_the_project(imported: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QCODE_PROJECT", str(imported))
    result = run("info", "--json", cwd=tmp_path / "transcripts")
    assert json.loads(result.stdout)["counts"]["documents"] == 3


def test_docs_json_has_attributes_and_counts(imported: Path) -> None:
    data = json.loads(run("docs", "--json", "-p", str(imported)).stdout)
    js1 = data[0]
    assert js1["kind"] == "interview" and js1["informants"] == ["JS1"]
    assert js1["turns"] == 4 and js1["words"] > 20 and js1["version"] == 1
    table = run("docs", "-p", str(imported)).stdout
    assert "JS1" in table and "interview" in table


def test_show_prints_turns_with_speakers_and_roles(imported: Path) -> None:
    out = run("show", "JS1", "-p", str(imported)).stdout
    assert "JS1 (jobbspesialist)" in out and "I (interviewer)" in out
    assert "«vi-følelsen»" in out
    data = json.loads(run("show", "V2", "--json", "-p", str(imported)).stdout)
    assert data["turns"][1]["time_start"] == 9.0
    assert data["turns"][1]["text"].startswith("Vi har mange brukere.")
    missing = run("show", "JS99", "-p", str(imported))
    assert missing.exit_code == 1 and "no document 'JS99'" in missing.stderr


def test_attributes_json(imported: Path) -> None:
    data = json.loads(run("attributes", "--json", "-p", str(imported)).stdout)
    assert data["types"]["speaker"]["age"] == "number"
    assert data["speakers"]["V2"] == {"role": "veileder", "office": "Sør", "age": 44,
                                      "interview_date": "2026-03-12"}


def test_bad_file_fails_with_one_line_and_changes_nothing(imported: Path,
                                                          tmp_path: Path) -> None:
    before = json.loads(run("info", "--json", "-p", str(imported)).stdout)["counts"]
    bad = tmp_path / "rapport.doc"
    bad.write_bytes(b"\xd0\xcf\x11\xe0 old word")
    result = run("import", str(bad), "-p", str(imported))
    assert result.exit_code == 1
    assert "rapport.doc" in result.stderr and "save it as .docx" in result.stderr
    after = json.loads(run("info", "--json", "-p", str(imported)).stdout)["counts"]
    assert after == before


def test_invalid_speaker_pattern_is_a_clean_error(imported: Path, transcript_dir: Path) -> None:
    result = run("import", str(transcript_dir), "--speaker-pattern", "(unclosed",
                 "-p", str(imported))
    assert result.exit_code == 1 and "not a valid regular expression" in result.stderr


def test_dry_run_shows_speakers(imported: Path, tmp_path: Path) -> None:
    f = tmp_path / "JS5.txt"
    f.write_text("I: Hei.\n\nJS5: Hei! Vi samarbeider tett.\n", encoding="utf-8")
    result = run("import", str(f), "--dry-run", "-p", str(imported))
    assert result.exit_code == 0
    assert "would import" in result.stdout and "JS5(jobbspesialist):1" in result.stdout
    assert "Dry run (nothing written)" in result.stdout
    assert "JS5" not in run("docs", "-p", str(imported)).stdout


def test_check_and_backup(imported: Path, tmp_path: Path) -> None:
    assert run("check", "-p", str(imported)).exit_code == 0
    result = run("backup", str(tmp_path / "copy.qcode"), "-p", str(imported))
    assert result.exit_code == 0 and (tmp_path / "copy.qcode").exists()
    default = run("backup", "-p", str(imported))
    assert default.exit_code == 0 and "p.qcode-backups" in default.stdout


def test_roles_and_speakers(imported: Path) -> None:
    assert run("roles", "add", "Fasilitator", "interviewer", "-p", str(imported)).exit_code == 0
    rules = json.loads(run("roles", "list", "--json", "-p", str(imported)).stdout)
    assert {"pattern": "Fasilitator", "role": "interviewer"} in rules
    assert run("speakers", "set-role", "JS1", "leder", "-p", str(imported)).exit_code == 0
    speakers = json.loads(run("speakers", "list", "--json", "-p", str(imported)).stdout)
    assert next(s for s in speakers if s["id"] == "JS1")["role"] == "leder"
    bad = run("speakers", "set-role", "NOPE", "x", "-p", str(imported))
    assert bad.exit_code == 1 and "no speaker 'NOPE'" in bad.stderr


def test_patterns_roundtrip(imported: Path) -> None:
    custom = r"^(?P<speaker>Deltaker \d+):"
    assert run("patterns", custom, "-p", str(imported)).stdout.strip() == custom
    assert "built-in" in run("patterns", "--reset", "-p", str(imported)).stdout


def test_demo_prints_path_and_summary(tmp_path: Path) -> None:
    result = run("demo", "--dir", str(tmp_path / "d"))
    assert result.exit_code == 0, result.output
    assert f"Demo project: {tmp_path / 'd' / 'demo.qcode'}" in result.stdout
    assert "18 new" in result.stdout and "Documents 18" in result.stdout
    again = run("demo", "--dir", str(tmp_path / "d"))
    assert again.exit_code == 1 and "--force" in again.stderr
    assert run("demo", "--dir", str(tmp_path / "d"), "--force").exit_code == 0
