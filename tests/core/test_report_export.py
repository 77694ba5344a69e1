"""Report exporters: quotes, places, coverage lines, and every output format."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from qcode.errors import InputError
from qcode.export import report
from qcode.export.report import (
    CSV_COLUMNS,
    FORMATS,
    CodeSection,
    ReportData,
    coverage_line,
    format_quote,
    location,
    report_markdown,
    sheet_name,
    write_frequency,
    write_matrix,
    write_report,
)
from qcode.query.aggregate import FrequencyRow, Matrix
from qcode.query.engine import Coverage, Hit

W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

MIDDLE = "Dette er en setning med nøyaktig ti ord i seg."  # 10 words
LONG = " ".join(["Første setning er her.", *[MIDDLE] * 10, "Siste setning er her."])


def _hit(document: str, speaker: str | None, role: str | None, text: str, *,
         codes: list[str], turn: int | None = 3, line: int = 10, time: float | None = None,
         start: int = 0, coders: list[str] | None = None) -> Hit:
    return Hit(document=document, start=start, end=start + len(text), text=text, turn=turn,
               line=line, time=time, speaker=speaker, role=role, codes=codes,
               coders=coders if coders is not None else (["coder-a"] if codes else []),
               coding_ids=[1] if codes else [])


H1 = _hit("intervju-js3", "JS3", "jobbspesialist",
          "Vi sitter i samme bygg, og det\nhjelper. Jeg sa «ring meg» til (veileder) | ofte.",
          codes=["relasjoner"], turn=14, line=52, time=751.0, start=100)
H2 = _hit("intervju-v5", "V5", "veileder", "Det er (...) mye å gjøre. Vi rekker ikke alt.",
          codes=["arbeidsmengde", "relasjoner"], coders=["coder-a", "coder-b"])
HLONG = _hit("intervju-js1", "JS1", "jobbspesialist", LONG, codes=["arbeidsmengde"],
             turn=7, line=30, time=3725.4)
HTEXT = _hit("intervju-js3", "JS3", "jobbspesialist", "samme bygg", codes=[], turn=14,
             line=52, start=112)


@pytest.fixture
def data() -> ReportData:
    relasjoner = CodeSection(
        code="relasjoner", path="samarbeid/forutsetninger/relasjoner", name="Relasjoner",
        color="#1f77b4", hits=[H1, H2],
        coverage=[Coverage("jobbspesialist", ["JS3"], 9), Coverage("veileder", ["V5"], 9)])
    arbeid = CodeSection(
        code="arbeidsmengde", path="samarbeid/arbeidsmengde", name="Arbeidsmengde | tid",
        color="#D62728", hits=[H2, HLONG],
        coverage=[Coverage("jobbspesialist", ["JS1"], 9), Coverage("veileder", ["V5"], 9)])
    return ReportData(
        title="Samarbeid <på> kontoret & «Nav»", query='relasjoner OR "samme bygg"',
        unit="excerpt", created_at="2025-03-14T10:22:06+01:00", coders=["coder-a", "coder-b"],
        codebook_revisions={"samarbeid": 3, "prestisje": 1}, sections=[relasjoner, arbeid],
        ungrouped=[HTEXT],
        coverage=[Coverage("jobbspesialist", ["JS1", "JS3"], 9),
                  Coverage("veileder", ["V5"], 9)])


# -- quotes, places, coverage -----------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Det går bra.", "«Det går bra.»"),
    ("  Det  går\n\tbra. ", "«Det går bra.»"),
    ("Hun sa «nei» til meg.", "«Hun sa ‹nei› til meg.»"),
    ("Jeg (...) tenker det.", "«Jeg (...) tenker det.»"),
    ("Blåbær, æøå og ÆØÅ.", "«Blåbær, æøå og ÆØÅ.»"),
    ("", ""),
    (" \n ", ""),
], ids=["short", "whitespace", "inner-guillemets", "existing-gap", "aeoeaa", "empty", "blank"])
def test_format_quote_short(text: str, expected: str) -> None:
    assert format_quote(text) == expected


def test_format_quote_cuts_long_text_at_sentence_boundaries() -> None:
    short = format_quote(LONG, max_words=20)
    assert short == f"«Første setning er her. {MIDDLE} (...) Siste setning er her.»"
    assert format_quote(LONG, max_words=8) == "«Første setning er her. (...) Siste setning er her.»"
    # the default (80 words) keeps more, and still cuts: 128 words in all
    default = format_quote(LONG)
    assert default.count("(...)") == 1 and len(default.split()) <= 81
    assert default.startswith("«Første setning") and default.endswith("Siste setning er her.»")
    assert format_quote(LONG, full=True) == f"«{LONG}»"


def test_format_quote_never_cuts_inside_a_word() -> None:
    one_sentence = " ".join(f"ordnummer{i}" for i in range(100))
    cut = format_quote(one_sentence, max_words=10)
    assert cut == "«" + " ".join(f"ordnummer{i}" for i in range(10)) + " (...)»"
    words = set(LONG.split()) | {"(...)"}
    for max_words in range(1, 60):
        assert set(format_quote(LONG, max_words=max_words).strip("«»").split()) <= words


def test_format_quote_does_not_double_gaps() -> None:
    text = "Starten er her (...) " + " ".join([MIDDLE] * 5) + " (...) Slutten kommer nå."
    out = format_quote(text, max_words=12)
    assert "(...) (...)" not in out
    assert out.startswith("«Starten er her (...)")


def test_location() -> None:
    assert location(H1) == "JS3, tur 14, linje 52, 00:12:31"
    assert location(H2) == "V5, tur 3, linje 10"
    assert location(HLONG, document=True, speaker=False) == \
        "intervju-js1, tur 7, linje 30, 01:02:05"
    assert location(H1, language="en") == "JS3, turn 14, line 52, 00:12:31"
    paragraph = _hit("policy", None, None, "Tekst.", codes=[], turn=None, line=4)
    assert location(paragraph) == "linje 4"


def test_coverage_line() -> None:
    assert coverage_line([Coverage("jobbspesialist", ["a"] * 7, 9),
                          Coverage("veileder", ["b"] * 3, 9)]) == \
        "7 av 9 jobbspesialister, 3 av 9 veiledere"
    assert coverage_line([Coverage("Jobbspesialist", ["a"], 1)]) == "1 av 1 jobbspesialist"
    assert coverage_line([Coverage("leder", ["a", "b"], 4)]) == "2 av 4 informanter (leder)"
    assert coverage_line([Coverage("(no role)", [], 1)]) == "0 av 1 informant (uten rolle)"
    assert coverage_line([Coverage("veileder", ["b"], 9)], "en") == \
        "1 of 9 informants (veileder)"
    assert coverage_line([]) == ""


# -- Markdown ---------------------------------------------------------------------------


def test_markdown(data: ReportData, tmp_path: Path) -> None:
    out = write_report(data, tmp_path / "r.md")
    text = out.read_text(encoding="utf-8")
    assert text == report_markdown(data)
    assert text.startswith("# Samarbeid &lt;på> kontoret & «Nav»\n")
    assert "- **Spørring:** `relasjoner OR \"samme bygg\"`" in text
    assert "- **Laget:** 2025-03-14T10:22:06+01:00" in text
    assert "- **Kodere:** coder-a, coder-b" in text
    assert "- **Kodebøker:** prestisje (revisjon 1), samarbeid (revisjon 3)" in text
    assert "- **Dekning:** 2 av 9 jobbspesialister, 1 av 9 veiledere" in text
    assert "- **Treff:** 4" in text
    assert "## Relasjoner (`samarbeid/forutsetninger/relasjoner`)" in text
    assert "## Arbeidsmengde \\| tid (`samarbeid/arbeidsmengde`)" in text
    assert "*1 av 9 jobbspesialister, 1 av 9 veiledere*" in text
    assert "## Treff uten kode" in text
    rows = [line for line in text.splitlines() if line.startswith("| «")]
    assert len(rows) == 5  # H2 under both codes, plus the text-search hit
    assert all(r.replace("\\|", "").count("|") == 5 for r in rows)
    assert rows[0] == ("| «Vi sitter i samme bygg, og det hjelper. Jeg sa ‹ring meg› til "
                       "(veileder) \\| ofte.» | JS3 | jobbspesialist | "
                       "intervju-js3, tur 14, linje 52, 00:12:31 |")
    assert sum("«Det er (...) mye å gjøre." in r for r in rows) == 2
    assert f"«Første setning er her. {MIDDLE}" in text and " (...) " in text
    assert f"{MIDDLE} Siste setning er her.»" in text and LONG not in text
    assert "Lange sitater er forkortet" in text


def test_markdown_full_text_and_english(data: ReportData) -> None:
    from dataclasses import replace

    text = report_markdown(replace(data, full_text=True, language="en"))
    assert LONG in text
    assert "forkortet" not in text
    assert "- **Query:**" in text and "## Hits without codes" in text
    assert "| Quote | Informant | Role | Source |" in text


# -- HTML -------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _check_html(text: str, *, own_text: bool = True) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert checker.doctype.lower() == "doctype html"
    assert not checker.errors and not checker.stack
    if own_text:  # only our markup, no user text that might mention a URL
        assert "http" not in text.lower() and "src=" not in text.lower()
    assert "<script" not in text.lower() and "@import" not in text and "url(" not in text
    assert not any(name in ("href", "src") for name, _ in checker.attrs)
    return checker


def test_html(data: ReportData, tmp_path: Path) -> None:
    out = write_report(data, tmp_path / "r.html")
    text = out.read_bytes().decode("utf-8")
    checker = _check_html(text)
    assert '<meta charset="utf-8">' in text
    assert "@media print" in text
    assert "#1F77B4" in text and "#D62728" in text
    assert "<title>Samarbeid &lt;på&gt; kontoret &amp; «Nav»</title>" in text
    visible = "".join(checker.text)
    assert "Jeg sa ‹ring meg› til (veileder) | ofte." in visible
    assert "1 av 9 jobbspesialister, 1 av 9 veiledere" in visible
    assert "JS3, tur 14" not in visible and "intervju-js3, tur 14, linje 52, 00:12:31" in visible
    assert checker.tags.count("table") == 3 and checker.tags.count("section") == 3
    assert visible.count("Det er (...) mye å gjøre.") == 2


def test_html_escapes_hostile_text(data: ReportData) -> None:
    from dataclasses import replace

    from qcode.export.report import report_html

    evil = _hit("d<script>", "X\"1", "r'&", "<img src=x onerror=alert(1)> «a»",
                codes=["c"])
    section = CodeSection("c", "c", "<b>kode</b>", 'red" onclick="x', [evil], [])
    text = report_html(replace(data, sections=[section], ungrouped=[]))
    checker = _check_html(text, own_text=False)
    assert "img" not in checker.tags and "script" not in checker.tags and "b" not in checker.tags
    assert "onclick" not in " ".join(name for name, _ in checker.attrs)
    assert "#888888" in text  # an invalid colour falls back to grey


# -- CSV --------------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [False, True])
def test_csv(data: ReportData, tmp_path: Path, bom: bool) -> None:
    out = write_report(data, tmp_path / "r.csv", excel_bom=bom)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == bom
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    with io.StringIO(raw.decode("utf-8-sig"), newline="") as fh:
        assert tuple(next(csv.reader(fh))) == CSV_COLUMNS
    assert [(r["code"], r["document"]) for r in rows] == [
        ("relasjoner", "intervju-js3"), ("relasjoner", "intervju-v5"),
        ("arbeidsmengde", "intervju-v5"), ("arbeidsmengde", "intervju-js1"),
        ("", "intervju-js3")]
    first = rows[0]
    assert first == {
        "code": "relasjoner", "code_path": "samarbeid/forutsetninger/relasjoner",
        "document": "intervju-js3", "speaker": "JS3", "role": "jobbspesialist", "turn": "14",
        "line": "52", "time": "00:12:31", "start": "100", "end": str(100 + len(H1.text)),
        "coders": "coder-a", "text": H1.text}
    assert "\n" in first["text"] and "«ring meg»" in first["text"]  # data kept as it is
    assert rows[1]["coders"] == "coder-a; coder-b"
    assert rows[3]["text"] == LONG and rows[3]["time"] == "01:02:05"
    assert rows[4]["code_path"] == "" and rows[4]["coders"] == ""


# -- XLSX -------------------------------------------------------------------------------


def test_xlsx_per_code(data: ReportData, tmp_path: Path) -> None:
    import openpyxl

    out = write_report(data, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Oversikt", "relasjoner", "arbeidsmengde", "Treff uten kode"]
    sheet = wb["relasjoner"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == ["Sitat", "Informant", "Rolle", "Kilde", "Kodere"]
    assert len(values) == 3
    assert values[1][1:] == ["JS3", "jobbspesialist", "intervju-js3, tur 14, linje 52, 00:12:31",
                             "coder-a"]
    assert str(values[1][0]).startswith("«Vi sitter i samme bygg")
    assert values[2][4] == "coder-a, coder-b"
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold and sheet["A2"].alignment.wrap_text
    assert sheet.column_dimensions["A"].width > sheet.column_dimensions["B"].width
    assert len(list(wb["arbeidsmengde"].iter_rows())) == 3
    assert len(list(wb["Treff uten kode"].iter_rows())) == 2
    overview = [list(r) for r in wb["Oversikt"].iter_rows(values_only=True)]
    assert overview[0][0] == data.title
    assert ["samarbeid/forutsetninger/relasjoner", "Relasjoner", 2,
            "1 av 9 jobbspesialister, 1 av 9 veiledere"] in overview
    assert wb.properties.created == datetime(2025, 3, 14, 9, 22, 6)
    assert wb.properties.modified == datetime(2025, 3, 14, 9, 22, 6)


def test_xlsx_one_table(data: ReportData, tmp_path: Path) -> None:
    import openpyxl

    out = write_report(data, tmp_path / "r.xlsx", "xlsx", xlsx_layout="one-table")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Treff"]
    values = [list(r) for r in wb["Treff"].iter_rows(values_only=True)]
    assert values[0] == ["level1", "level2", "level3", "code", "document", "speaker", "role",
                         "turn", "line", "time", "coders", "quote"]
    assert len(values) == 6
    assert values[1][:8] == ["samarbeid", "forutsetninger", "relasjoner", "relasjoner",
                             "intervju-js3", "JS3", "jobbspesialist", 14]
    assert values[3][:4] == ["samarbeid", "arbeidsmengde", None, "arbeidsmengde"]
    assert values[5][:4] == [None, None, None, None] and values[5][4] == "intervju-js3"
    assert wb["Treff"].freeze_panes == "A2"


def test_xlsx_styles_every_cell_of_a_kind_alike(data: ReportData, tmp_path: Path) -> None:
    """Styles are built once per kind and copied: every cell still reads back with its
    own font and alignment, and each workbook has its own style table."""
    from dataclasses import replace

    import openpyxl

    hits = [_hit("d", "JS2", "jobbspesialist", f"Sitat nummer {i}.", codes=["relasjoner"],
                 line=i, start=i) for i in range(40)]
    many = replace(data, sections=[replace(data.sections[0], hits=hits)], ungrouped=[])
    write_frequency(FREQ, tmp_path / "first.xlsx")  # another workbook in the same process
    wb = openpyxl.load_workbook(write_report(many, tmp_path / "r.xlsx"))
    sheet = wb["relasjoner"]
    assert sheet.max_row == 41
    for row in sheet.iter_rows():
        for cell in row:
            header = cell.row == 1
            assert bool(cell.font.b) is header, cell.coordinate
            assert cell.alignment.vertical == "top", cell.coordinate
            wrapped = header or cell.column_letter in ("A", "D")
            assert bool(cell.alignment.wrap_text) is wrapped, cell.coordinate
    overview = wb["Oversikt"]
    assert overview["A1"].font.b and overview["A1"].font.sz == 14
    assert overview["A2"].font.b and overview["A2"].value == "Spørring"
    assert not overview["B2"].font.b and overview["B2"].alignment.wrap_text
    assert overview["B1"].value is None
    flat = openpyxl.load_workbook(write_report(many, tmp_path / "f.xlsx",
                                               xlsx_layout="one-table"))["Treff"]
    for row in flat.iter_rows(min_row=2):
        assert [bool(c.alignment.wrap_text) for c in row] == [False] * 11 + [True]
        assert not any(c.font.b for c in row)
    freq = openpyxl.load_workbook(tmp_path / "first.xlsx").active
    assert [bool(c.font.b) for c in freq[1]] == [True] * 7
    assert [bool(c.font.b) for c in freq[2]] == [False] * 7
    assert all(c.alignment.vertical == "top" for row in freq.iter_rows() for c in row)


def test_sheet_names_are_valid_and_unique() -> None:
    taken: set[str] = set()
    bad = "a/b:c*d?[e]\\f" * 4
    names = [sheet_name(w, taken) for w in (bad, bad, "Kode", "KODE", "'sitert'", "", "History")]
    assert len({n.casefold() for n in names}) == len(names)
    for name in names:
        assert 0 < len(name) <= 31
        assert not set(name) & set("[]:*?/\\")
        assert not name.startswith("'") and not name.endswith("'")
    assert names[1].endswith("~2") and names[3] == "KODE~2"


def test_xlsx_keeps_formula_like_text_as_text(data: ReportData, tmp_path: Path) -> None:
    from dataclasses import replace

    import openpyxl

    hit = _hit("d", "JS2", "jobbspesialist", "=SUM(A1:A9) sa hen", codes=["c"])
    section = CodeSection("c", "c", "C", "#000000", [hit], [])
    out = write_report(replace(data, sections=[section], ungrouped=[]), tmp_path / "f.xlsx",
                       xlsx_layout="one-table")
    sheet = openpyxl.load_workbook(out)["Treff"]
    assert sheet["C2"].value == "d"
    quote = sheet["J2"]
    assert quote.value == "«=SUM(A1:A9) sa hen»"
    with zipfile.ZipFile(out) as z:
        assert b"<f>" not in z.read("xl/worksheets/sheet1.xml")


# -- DOCX -------------------------------------------------------------------------------


def test_docx(data: ReportData, tmp_path: Path) -> None:
    import docx

    out = write_report(data, tmp_path / "r.docx")
    document = docx.Document(str(out))
    assert len(document.tables) == 3
    headings = [p.text for p in document.paragraphs
                if p.style is not None and str(p.style.name).startswith("Heading")]
    assert headings == [data.title, "■ Relasjoner (samarbeid/forutsetninger/relasjoner)",
                        "■ Arbeidsmengde | tid (samarbeid/arbeidsmengde)", "Treff uten kode"]
    texts = [p.text for p in document.paragraphs]
    assert "1 av 9 jobbspesialister, 1 av 9 veiledere" in texts
    assert any(t.startswith("Spørring: relasjoner OR") and "Kodebøker: prestisje" in t
               for t in texts)
    for table, count in zip(document.tables, (2, 2, 1), strict=True):
        assert len(table.rows) == count + 1
        header = table.rows[0]
        assert [c.text for c in header.cells] == ["Sitat", "Informant", "Rolle", "Kilde"]
        tr_pr = header._tr.trPr
        assert tr_pr is not None
        flags = tr_pr.findall(f"{W_NS}tblHeader")
        assert len(flags) == 1 and flags[0].get(f"{W_NS}val") in ("true", "1", None)
        assert table.columns[0].width > 3 * table.columns[1].width
    first = [c.text for c in document.tables[0].rows[1].cells]
    assert first == ["«Vi sitter i samme bygg, og det hjelper. Jeg sa ‹ring meg› til "
                     "(veileder) | ofte.»", "JS3", "jobbspesialist",
                     "intervju-js3, tur 14, linje 52, 00:12:31"]
    stamp = datetime(2025, 3, 14, 9, 22, 6, tzinfo=UTC)
    assert document.core_properties.created == stamp
    assert document.core_properties.modified == stamp


def _rows_one_by_one(table: Any, widths: Sequence[Any], rows: Sequence[Sequence[str]]) -> None:
    """Body rows as python-docx builds them through its API (the slow way)."""
    from qcode.export.codebook import _fill

    for texts in rows:
        for cell, text, width in zip(table.add_row().cells, texts, widths, strict=True):
            cell.width = width
            _fill(cell, report._docx_text(text))


def test_docx_quote_rows_are_what_python_docx_makes(data: ReportData, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The quote table's rows, written as XML at once, are the same XML that python-docx's
    add_row and add_run make: tabs, line breaks, outer spaces, markup characters."""
    from dataclasses import replace

    import docx

    odd = ["\tfane først", "linje\nskift og\r\nmer", " mellomrom rundt ", "<b>&amp;</b> & «»",
           "kontroll\x07tegn", "", "æøå ÆØÅ – “sitat”"]
    hits = [_hit("intervju\tA", sp, role, text, codes=["relasjoner"], start=i)
            for i, (text, sp, role) in enumerate(zip(odd, [None, "JS3", " V5 ", "", "a\tb",
                                                            "JS1", "I"],
                                                     ["", None, "veileder", "x\ny", "",
                                                      "jobbspesialist", " "], strict=True))]
    many = replace(data, sections=[replace(data.sections[0], hits=hits), *data.sections[1:]],
                   full_text=True)
    fast = write_report(many, tmp_path / "fast.docx")
    monkeypatch.setattr(report, "_docx_add_rows", _rows_one_by_one)
    slow = write_report(many, tmp_path / "slow.docx")
    with zipfile.ZipFile(fast) as a, zipfile.ZipFile(slow) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
    assert fast.read_bytes() == slow.read_bytes()
    table = docx.Document(str(fast)).tables[0]
    assert len(table.rows) == len(odd) + 1
    texts = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert texts[0][0] == "«fane først»" and texts[3][0] == "«<b>&amp;</b> & ‹›»"
    assert texts[1][1:3] == ["JS3", ""] and texts[3][2] == "x\ny"
    assert texts[4][0] == "«kontrolltegn»" and texts[4][1] == "a\tb"


@pytest.mark.parametrize("fmt", ["docx", "xlsx", "html", "md", "csv", "presence"])
def test_output_is_byte_identical(data: ReportData, tmp_path: Path, fmt: str) -> None:
    a = write_report(data, tmp_path / f"a.{fmt}", fmt)
    b = write_report(data, tmp_path / f"b.{fmt}", fmt)
    assert a.read_bytes() == b.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"a.{fmt}", f"b.{fmt}"]
    if fmt in ("docx", "xlsx"):
        with zipfile.ZipFile(a) as z:
            assert {i.date_time for i in z.infolist()} == {(2025, 3, 14, 9, 22, 6)}


# -- presence ---------------------------------------------------------------------------


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_presence_by_document(data: ReportData, tmp_path: Path) -> None:
    from dataclasses import replace

    with_all = replace(data, documents=["intervju-js10", "intervju-js2"])
    out = write_report(with_all, tmp_path / "p.csv", "presence")
    assert _read_csv(out) == [
        ["document", "relasjoner", "arbeidsmengde"],
        ["intervju-js1", "0", "1"],
        ["intervju-js2", "0", "0"],
        ["intervju-js3", "1", "0"],
        ["intervju-js10", "0", "0"],
        ["intervju-v5", "1", "1"],
    ]


def test_presence_by_speaker(data: ReportData, tmp_path: Path) -> None:
    from dataclasses import replace

    with_all = replace(data, speakers={"V2": "veileder", "JS3": "jobbspesialist"})
    out = write_report(with_all, tmp_path / "p.csv", "presence", presence_by="speaker",
                       excel_bom=True)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert _read_csv(out) == [
        ["speaker", "role", "relasjoner", "arbeidsmengde"],
        ["JS1", "jobbspesialist", "0", "1"],
        ["JS3", "jobbspesialist", "1", "0"],
        ["V2", "veileder", "0", "0"],
        ["V5", "veileder", "1", "1"],
    ]


# -- errors and format choice -----------------------------------------------------------


def test_unknown_format_lists_the_formats(data: ReportData, tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        write_report(data, tmp_path / "r.pdf", "pdf")
    assert all(f in (info.value.hint or "") for f in FORMATS)
    with pytest.raises(InputError) as guess:
        write_report(data, tmp_path / "r.pdf")
    assert "r.pdf" in guess.value.message and "docx" in (guess.value.hint or "")
    with pytest.raises(InputError):
        write_report(data, tmp_path / "r.xlsx", xlsx_layout="wide")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        write_report(data, tmp_path / "r.csv", "presence",
                     presence_by="office")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="cannot write"):
        write_report(data, tmp_path / "missing" / "r.md")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert write_report(data, tmp_path / "r.txt", "Markdown").read_text(
        encoding="utf-8").startswith("# ")


# -- frequency table and matrix ---------------------------------------------------------

FREQ = [FrequencyRow("samarbeid", "samarbeid", "Samarbeid", 0, 12, 5, 7, 340, 2),
        FrequencyRow("relasjoner", "samarbeid/relasjoner", "Relasjoner | nær", 1, 10, 4, 6,
                     300, 10)]
MATRIX = Matrix(["samarbeid", "prestisje"], ["jobbspesialist", "veileder"],
                {"samarbeid": {"jobbspesialist": 7, "veileder": 3},
                 "prestisje": {"jobbspesialist": 2, "veileder": 0}},
                "informants", {"samarbeid": "samarbeid", "prestisje": "prestisje"},
                {"jobbspesialist": 8, "veileder": 3})


@pytest.mark.parametrize("fmt", ["md", "csv", "xlsx", "html"])
def test_frequency_and_matrix(tmp_path: Path, fmt: str) -> None:
    import openpyxl

    freq = write_frequency(FREQ, tmp_path / f"f.{fmt}", fmt)
    matrix = write_matrix(MATRIX, tmp_path / f"m.{fmt}", fmt)
    if fmt == "csv":
        assert _read_csv(freq)[0] == ["code", "path", "name", "depth", "codings", "documents",
                                      "informants", "words", "own_codings"]
        assert _read_csv(freq)[2][:3] == ["relasjoner", "samarbeid/relasjoner",
                                          "Relasjoner | nær"]
        assert _read_csv(matrix) == [["code", "path", "jobbspesialist", "veileder"],
                                     ["samarbeid", "samarbeid", "7", "3"],
                                     ["prestisje", "prestisje", "2", "0"]]
    elif fmt == "md":
        text = freq.read_text(encoding="utf-8")
        assert "| samarbeid/relasjoner | Relasjoner \\| nær | 10 | 4 | 6 | 300 | 10 |" in text
        mtext = matrix.read_text(encoding="utf-8")
        assert "| samarbeid | 7 | 3 |" in mtext and "| Totalt | 8 | 3 |" in mtext
        assert "*Mål: informants*" in mtext
    elif fmt == "html":
        for path in (freq, matrix):
            _check_html(path.read_text(encoding="utf-8"))
        assert "Relasjoner | nær" in freq.read_text(encoding="utf-8")
    else:
        rows = list(openpyxl.load_workbook(matrix).active.iter_rows(values_only=True))
        assert rows == [("Kode", "jobbspesialist", "veileder"), ("samarbeid", 7, 3),
                        ("prestisje", 2, 0), ("Totalt", 8, 3)]
        frows = list(openpyxl.load_workbook(freq).active.iter_rows(values_only=True))
        assert len(frows) == 3 and frows[1][2] == 12
    with pytest.raises(InputError):
        write_matrix(MATRIX, tmp_path / "m.docx")
