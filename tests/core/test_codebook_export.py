"""The codebook appendix: Markdown table and a landscape Word table with a repeating header."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from qcode.codebook import Code, Codebook, load_codebook_file
from qcode.export.codebook import (
    ENGLISH,
    NORWEGIAN,
    codebook_markdown,
    md_cell,
    write_codebook_docx,
    write_codebook_markdown,
)

from ..conftest import REPO

W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture
def book() -> Codebook:
    return load_codebook_file(REPO / "codebooks" / "samarbeid.yaml")[0]


@pytest.fixture
def small() -> Codebook:
    child = Code(id="barn", name="Barn | pipe", definition="Linje 1\nLinje 2",
                 when_to_use="a|b", when_not_to_use="<b>ikke html</b>", example="«sitat»",
                 color="#FF0000")
    top = Code(id="topp", name="Topp", definition="Toppkode.", children=(child,))
    return Codebook(name="Liten", codes=(top,), version="2.0", authors=("A", "B"),
                    description="Om boka.")


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| `")]


def test_markdown_has_a_row_per_code_with_stats(book: Codebook, tmp_path: Path) -> None:
    stats = {"samarbeid": (12, 4), "relasjoner": (7, 3)}
    paths = {"relasjoner": "samarbeid/forutsetninger/relasjoner"}
    out = tmp_path / "cb.md"
    write_codebook_markdown(book, out, stats, paths)
    text = out.read_text(encoding="utf-8")
    rows = _table_rows(text)
    assert len(rows) == len(book.ids())
    assert text.startswith(f"# Kodebok: {book.name}\n")
    assert "- **Versjon:** 1.0" in text
    assert f"- **Antall koder:** {len(book.ids())}" in text
    header = next(line for line in text.splitlines() if line.startswith("| Kode"))
    assert header == "| " + " | ".join(NORWEGIAN.columns) + " |"
    assert rows[0].startswith("| `samarbeid` | Samarbeid | ")
    assert rows[0].endswith(" | 12 | 4 |")
    relasjoner = next(r for r in rows if "`samarbeid/forutsetninger/relasjoner`" in r)
    assert relasjoner.endswith(" | 7 | 3 |")
    # codes without stats show zeros; every row has the same number of cells
    assert all(r.endswith(" | 0 | 0 |") for r in rows if "relasjoner" not in r
               and not r.startswith("| `samarbeid` "))
    assert len({r.replace("\\|", "").count("|") for r in rows}) == 1
    assert NORWEGIAN.legend in text


def test_markdown_escapes_pipes_and_newlines(small: Codebook) -> None:
    text = codebook_markdown(small, {"barn": (2, 1)}, {})
    rows = _table_rows(text)
    assert len(rows) == 2
    barn = rows[1]
    assert barn.startswith("| `topp/barn` | Barn \\| pipe | Linje 1<br>Linje 2 | a\\|b | ")
    assert "&lt;b>ikke html&lt;/b>" in barn
    assert barn.endswith(" | 2 | 1 |")
    assert barn.replace("\\|", "").count("|") == 9
    assert "- **Forfattere:** A, B" in text
    assert "Om boka." in text


def test_md_cell() -> None:
    assert md_cell("a | b\r\nc\\") == "a \\| b<br>c\\\\"
    assert md_cell("") == ""


def test_markdown_is_deterministic_and_follows_language(small: Codebook,
                                                        tmp_path: Path) -> None:
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    write_codebook_markdown(small, a, {}, {})
    write_codebook_markdown(small, b, {}, {})
    assert a.read_bytes() == b.read_bytes()
    english = replace(small, language="en")
    text = codebook_markdown(english, {}, {})
    assert text.startswith("# Codebook: Liten")
    assert "| " + " | ".join(ENGLISH.columns) + " |" in text


def _docx(book: Codebook, tmp_path: Path, name: str = "cb.docx",
          stats: dict[str, tuple[int, int]] | None = None) -> Path:
    out = tmp_path / name
    write_codebook_docx(book, out, stats or {"samarbeid": (12, 4)}, {})
    return out


def test_docx_has_one_table_with_repeating_header(book: Codebook, tmp_path: Path) -> None:
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.shared import Pt

    document = docx.Document(str(_docx(book, tmp_path)))
    assert len(document.tables) == 1
    table = document.tables[0]
    assert len(table.rows) == len(book.ids()) + 1
    header = table.rows[0]
    flags = header._tr.trPr.findall(f"{W_NS}tblHeader")
    assert len(flags) == 1 and flags[0].get(f"{W_NS}val") in ("true", "1", None)
    assert not any(row._tr.trPr is not None and row._tr.trPr.findall(f"{W_NS}tblHeader")
                   for row in table.rows[1:])
    assert [c.text for c in header.cells] == list(NORWEGIAN.columns)
    first = [c.text for c in table.rows[1].cells]
    assert first[0] == "samarbeid"
    assert first[1].endswith("Samarbeid")  # after the colour swatch
    assert first[2] == book.codes[0].definition
    assert first[-2:] == ["12", "4"]
    assert [c.text for c in table.rows[2].cells][-2:] == ["0", "0"]
    section = document.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert section.page_width > section.page_height
    sizes = {run.font.size for cell in table.rows[1].cells
             for p in cell.paragraphs for run in p.runs}
    assert sizes == {Pt(9)}
    assert document.paragraphs[0].text == f"Kodebok: {book.name}"


def test_docx_keeps_newlines_and_paths(small: Codebook, tmp_path: Path) -> None:
    import docx

    document = docx.Document(str(_docx(small, tmp_path, stats={"barn": (2, 1)})))
    cells = [c.text for c in document.tables[0].rows[2].cells]
    assert cells[0] == "topp/barn"
    assert cells[2] == "Linje 1\nLinje 2"
    assert cells[-2:] == ["2", "1"]


def test_docx_content_is_deterministic(book: Codebook, tmp_path: Path) -> None:
    first, second = _docx(book, tmp_path, "a.docx"), _docx(book, tmp_path, "b.docx")
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.docx", "b.docx"]
