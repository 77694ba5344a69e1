"""The CLI for queries, saved queries, frequencies, matrices and reports.

The project is made with the CLI itself from the shared transcripts (JS1, V1,
V2) plus one note that still holds a phone number and a fødselsnummer, the
samarbeid and prestisje codebooks, and four codings:

- JS1 ``relasjoner`` "Vi sitter på samme gang" and ``vi-folelse`` "«vi-følelsen» er sterk";
- V1 ``innsoking`` "Den er tungvint, ærlig talt." (by coder-a and by coder-b);
- V2 ``goodwill-ressurser`` "Jobbspesialistene får ressursene, føler jeg.".
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qcode.cli import cli

from ..conftest import REPO

LEAKY = ("I: Hvem ringte du?\n\n"
         "V3: Jeg ringte (jobbsøker) på 948 27 316 og noterte 14039127742 i samme gang.\n")
_BUILT: dict[str, Path] = {}


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def _build(transcripts: Path, sidecar: Path, folder: Path) -> Path:
    path = str(folder / "base.qcode")
    (transcripts / "V3.txt").write_text(LEAKY, encoding="utf-8")
    ok("init", path)
    ok("import", str(transcripts), "--attributes", str(sidecar), "-p", path)
    ok("codebook", "load", str(REPO / "codebooks" / "samarbeid.yaml"),
       str(REPO / "codebooks" / "prestisje.yaml"), "-p", path)
    ok("coders", "add", "coder-b", "--name", "Coder B", "-p", path)
    for doc, code, quote, coder in [
            ("JS1", "relasjoner", "Vi sitter på samme gang", "coder-a"),
            ("JS1", "vi-folelse", "«vi-følelsen» er sterk", "coder-a"),
            ("V1", "innsoking", "Den er tungvint, ærlig talt.", "coder-a"),
            ("V1", "innsoking", "Den er tungvint, ærlig talt.", "coder-b"),
            ("V2", "goodwill-ressurser", "Jobbspesialistene får ressursene, føler jeg.",
             "coder-a")]:
        ok("code", "apply", doc, code, "--quote", quote, "--coder", coder, "-p", path)
    return Path(path)


@pytest.fixture
def project(tmp_path: Path, transcript_dir: Path, informants_csv: Path,
            tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy of the project (built once for the module)."""
    monkeypatch.setenv("QCODE_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("QCODE_CODER", "coder-a")
    if "path" not in _BUILT:
        _BUILT["path"] = _build(transcript_dir, informants_csv, tmp_path_factory.mktemp("cli"))
    source = sqlite3.connect(_BUILT["path"])
    target = sqlite3.connect(tmp_path / "p.qcode")
    source.backup(target)
    source.close()
    target.close()
    return str(tmp_path / "p.qcode")


# -- qcode query ------------------------------------------------------------------------


def test_query_table(project: str) -> None:
    out = ok("query", "prestisje OR innsoking", "-p", project).stdout
    assert out.splitlines() == [
        "V1 #2 line 3  V1 (veileder)  [innsoking; coder-a, coder-b]",
        "    «Den er tungvint, ærlig talt.»",
        "V2 #2 line 3 [00:00:09]  V2 (veileder)  [goodwill-ressurser; coder-a]",
        "    «Jobbspesialistene får ressursene, føler jeg.»",
        "2 hits (excerpt). Coverage: 0 of 1 jobbspesialist informants; "
        "2 of 3 veileder informants"]
    context = ok("query", "relasjoner", "--unit", "turn", "--context", "1", "-p",
                 project).stdout
    assert "    … Hvordan er samarbeidet med veilederne?" in context
    assert "    … Kan du si mer?" in context
    none = ok("query", "sprak-likeverd", "-p", project).stdout
    assert none.splitlines() == ["0 hits (excerpt). Coverage: 0 of 1 jobbspesialist "
                                 "informants; 0 of 3 veileder informants"]


def test_query_json(project: str) -> None:
    data = json.loads(ok("query", "samarbeid AND role = jobbspesialist", "--format", "json",
                         "-p", project).stdout)
    assert data["query"] == "samarbeid AND role = jobbspesialist"
    assert data["unit"] == "excerpt"
    assert [h["text"] for h in data["hits"]] == ["Vi sitter på samme gang",
                                                 "«vi-følelsen» er sterk"]
    hit = data["hits"][0]
    assert (hit["document"], hit["speaker"], hit["role"], hit["codes"], hit["turn"]) == (
        "JS1", "JS1", "jobbspesialist", ["relasjoner"], 3)
    assert hit["informants"] == ["JS1"]
    assert data["coverage"] == [{"group": "jobbspesialist", "informants": ["JS1"],
                                 "covered": 1, "total": 1}]
    by_office = json.loads(ok("query", "samarbeid", "--coverage-by", "office", "--format",
                              "json", "-p", project).stdout)
    assert [(c["group"], c["covered"], c["total"]) for c in by_office["coverage"]] == [
        ("(none)", 0, 1), ("Nord", 2, 2), ("Sør", 0, 1)]
    interviewer = json.loads(ok("query", "text:Takk", "--with-interviewer", "--format",
                                "json", "-p", project).stdout)
    assert [(h["text"], h["role"]) for h in interviewer["hits"]] == [("Takk", "interviewer")]


def test_query_markdown_and_csv(project: str) -> None:
    md = ok("query", "innsoking", "--format", "md", "-p", project).stdout
    assert md.splitlines() == [
        "## `innsoking`", "",
        "1 hits. Coverage: 0 of 1 jobbspesialist informants; 1 of 3 veileder informants", "",
        "- «Den er tungvint, ærlig talt.» — V1 (veileder), V1, turn 2, line 3 [innsoking]"]
    table = list(csv.reader(io.StringIO(ok("query", '"samme gang"', "--format", "csv", "-p",
                                           project).stdout)))
    assert table[0] == ["document", "turn", "line", "time", "speaker", "role", "codes",
                        "coders", "start", "end", "text"]
    assert [(r[0], r[4], r[10]) for r in table[1:]] == [("JS1", "JS1", "samme gang"),
                                                        ("V3", "V3", "samme gang")]
    assert table[1][6:8] == ["", ""]


@pytest.mark.parametrize(("query", "position", "message"), [
    ("prestisje ANDD samarbeid", 10, "unknown operator 'ANDD' at position 11 "
     "(did you mean AND?)"),
    ("samarbeid AND offce = Nord", 14, "unknown field or attribute 'offce' at position 15 "
     "(did you mean office?)"),
    ("prestisj", 0, "no code 'prestisj' at position 1 (did you mean prestisje?)"),
])
def test_query_error_shows_a_caret(project: str, query: str, position: int,
                                   message: str) -> None:
    result = run("query", query, "-p", project)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [query, " " * position + "^", f"Error: {message}"]


# -- saved queries ----------------------------------------------------------------------


def test_saved_queries(project: str) -> None:
    assert ok("queries", "save", "inn", "innsoking AND office = Nord", "-p",
              project).stdout == "saved @inn\n"
    ok("query", "prestisje", "--save", "pr", "-p", project)
    listed = json.loads(ok("queries", "list", "--json", "-p", project).stdout)
    assert [(q["name"], q["query"], q["created_by"]) for q in listed] == [
        ("inn", "innsoking AND office = Nord", "coder-a"), ("pr", "prestisje", "coder-a")]
    table = ok("queries", "list", "-p", project).stdout
    assert "inn   innsoking AND office = Nord" in table
    assert "1 hits" in ok("query", "@inn", "-p", project).stdout
    assert ok("queries", "delete", "inn", "-p", project).stdout == "deleted @inn\n"
    missing = run("query", "@inn", "-p", project)
    assert missing.exit_code != 0 and "no saved query 'inn'" in missing.stderr
    broken = run("queries", "save", "bad", "prestisje AND", "-p", project)
    assert broken.exit_code == 1 and "unexpected end of query" in broken.stderr


# -- counts -----------------------------------------------------------------------------


def test_freq_json(project: str) -> None:
    rows = {r["code"]: r for r in json.loads(ok("freq", "--json", "-p", project).stdout)}
    assert {k: rows["samarbeid"][k] for k in ("codings", "documents", "informants", "words",
                                              "own_codings")} == {
        "codings": 4, "documents": 2, "informants": 2, "words": 5 + 3 + 5, "own_codings": 0}
    assert (rows["innsoking"]["codings"], rows["innsoking"]["words"]) == (2, 5)
    assert rows["prestisje"]["informants"] == 1
    only_b = {r["code"]: r for r in json.loads(ok("freq", "--json", "--coders", "coder-b",
                                                  "-p", project).stdout)}
    assert only_b["samarbeid"]["codings"] == 1
    table = ok("freq", "-p", project).stdout.splitlines()
    assert table[0].split() == ["code", "codings", "documents", "informants", "words", "own"]
    assert table[2].split() == ["Samarbeid", "4", "2", "2", "13", "0"]


def test_matrix_codes_role_json(project: str) -> None:
    data = json.loads(ok("matrix", "codes", "role", "--json", "-p", project).stdout)
    assert data["columns"] == ["jobbspesialist", "veileder"]
    assert data["measure"] == "codings"
    assert data["cells"]["samarbeid"] == {"jobbspesialist": 2, "veileder": 2}
    assert data["cells"]["prestisje"] == {"jobbspesialist": 0, "veileder": 1}
    assert data["column_totals"] == {"jobbspesialist": 2, "veileder": 3}
    people = json.loads(ok("matrix", "codes", "role", "--measure", "informants", "--depth",
                           "0", "--json", "-p", project).stdout)
    assert people["rows"] == ["samarbeid", "prestisje"]
    assert people["cells"]["samarbeid"] == {"jobbspesialist": 1, "veileder": 1}
    table = ok("matrix", "codes", "office", "-p", project).stdout
    assert table.splitlines()[-1] == "(codings)"


def test_matrix_codes_codes(project: str) -> None:
    data = json.loads(ok("matrix", "codes", "codes", "--codes",
                         "relasjoner,vi-folelse,samarbeid", "--json", "-p", project).stdout)
    assert data["rows"] == ["samarbeid", "relasjoner", "vi-folelse"]
    assert data["cells"]["samarbeid"] == {"samarbeid": 4, "relasjoner": 1, "vi-folelse": 1}
    assert data["cells"]["relasjoner"]["vi-folelse"] == 0
    bad = run("matrix", "codes", "codes", "--codes", "relasjonr", "-p", project)
    assert bad.exit_code == 1 and "no code 'relasjonr'" in bad.stderr


# -- reports ----------------------------------------------------------------------------


def test_report_create_list_show_rerun_diff(project: str) -> None:
    assert ok("report", "create", "Samarbeid", "samarbeid", "-p", project).stdout == \
        "report 1 (Samarbeid): 3 hits\n"
    listed = json.loads(ok("report", "list", "--json", "-p", project).stdout)
    assert [(r["id"], r["name"], r["query"], r["created_by"]) for r in listed] == [
        (1, "Samarbeid", "samarbeid", "coder-a")]
    shown = ok("report", "show", "1", "-p", project).stdout.splitlines()
    assert shown[1:3] == ["Query: samarbeid  unit: excerpt",
                          "Coverage: jobbspesialist: 1 of 1; veileder: 1 of 3"]
    assert shown[3] == "  JS1 #3 JS1 [relasjoner] «Vi sitter på samme gang»"
    rep = json.loads(ok("report", "show", "1", "--json", "-p", project).stdout)
    assert len(rep["result"]["hits"]) == 3 and rep["params"]["coders"] == ["coder-a",
                                                                           "coder-b"]
    ok("code", "apply", "V2", "relasjoner", "--quote", "Vi har mange brukere.", "-p", project)
    assert ok("report", "rerun", "1", "-p", project).stdout.splitlines() == [
        "report 2: 1 hits added, 0 removed since report 1",
        "  + V2 #2 «Vi har mange brukere.»"]
    diff = json.loads(ok("report", "diff", "1", "2", "--json", "-p", project).stdout)
    assert [h["text"] for h in diff["added"]] == ["Vi har mange brukere."]
    assert ok("report", "diff", "2", "1", "-p", project).stdout.splitlines() == [
        "0 added, 1 removed", "  - V2 #2 «Vi har mange brukere.»"]
    missing = run("report", "show", "9", "-p", project)
    assert missing.exit_code != 0 and "no report 9" in missing.stderr


def test_report_export_formats(project: str, tmp_path: Path) -> None:
    import docx
    import openpyxl

    ok("report", "create", "Innsøking", "innsoking OR prestisje", "-p", project)
    md = tmp_path / "r.md"
    assert ok("report", "export", "1", str(md), "-p", project).stdout == f"Wrote {md}\n"
    text = md.read_text("utf-8")
    assert text.startswith("# Innsøking\n")
    assert "*1 av 1 jobbspesialist, 1 av 3 veiledere*" not in text
    assert "*0 av 1 jobbspesialist, 1 av 3 veiledere*" in text
    assert "| «Den er tungvint, ærlig talt.» | V1 | veileder | V1, tur 2, linje 3 |" in text
    ok("export", "report", "1", str(tmp_path / "r.html"), "-p", project)
    assert (tmp_path / "r.html").read_text("utf-8").startswith("<!DOCTYPE html>")
    ok("report", "export", "1", str(tmp_path / "r.csv"), "--excel-bom", "-p", project)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text("utf-8-sig"))))
    assert [(r["code"], r["document"], r["coders"]) for r in rows] == [
        ("innsoking", "V1", "coder-a; coder-b"), ("goodwill-ressurser", "V2", "coder-a")]
    ok("export", "report", "1", str(tmp_path / "r.xlsx"), "--xlsx-layout", "one-table",
       "-p", project)
    sheet = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    assert [c.value for c in sheet[1]][:3] == ["level1", "level2", "level3"]
    assert sheet.max_row == 3
    ok("report", "export", "1", str(tmp_path / "r.docx"), "-p", project)
    assert len(docx.Document(str(tmp_path / "r.docx")).tables) == 2
    ok("report", "export", "1", str(tmp_path / "p.csv"), "--format", "presence",
       "--presence-by", "speaker", "-p", project)
    presence = list(csv.reader(io.StringIO((tmp_path / "p.csv").read_text("utf-8"))))
    assert presence == [["speaker", "role", "innsoking", "goodwill-ressurser"],
                        ["I", "interviewer", "0", "0"], ["JS1", "jobbspesialist", "0", "0"],
                        ["V1", "veileder", "1", "0"], ["V2", "veileder", "0", "1"],
                        ["V3", "veileder", "0", "0"]]
    unknown = run("report", "export", "1", str(tmp_path / "r.txt"), "-p", project)
    assert unknown.exit_code == 1 and "cannot tell the format of r.txt" in unknown.stderr


def test_export_refuses_leaks(project: str, tmp_path: Path) -> None:
    ok("report", "create", "V3", "document = V3", "-p", project)
    out = tmp_path / "v3.md"
    for command in (("report", "export"), ("export", "report")):
        refused = run(*command, "1", str(out), "-p", project)
        assert refused.exit_code == 1 and not out.exists()
        assert refused.stderr.startswith(
            "Error: 1 exported excerpt contains 2 possible leaks, e.g. phone '948 27 316' in V3")
        assert "or pass --allow-leaks" in refused.stderr
    ok("export", "report", "1", str(out), "--allow-leaks", "-p", project)
    assert "948 27 316" in out.read_text("utf-8")
    # a report that does not touch them exports as usual
    ok("report", "create", "Gang", '"samme gang" AND document = V1', "-p", project)
    ok("report", "create", "JS1", '"samme gang" AND document = JS1', "-p", project)
    ok("export", "report", "3", str(tmp_path / "js1.md"), "-p", project)
