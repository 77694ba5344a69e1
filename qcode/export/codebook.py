"""The codebook appendix of a thesis, as Markdown or Word (DOCX).

Both writers take the codebook, per-code statistics ``(codings, informants
covered)`` and each code's path in the hierarchy (``samarbeid/forutsetninger``),
and write a title, the codebook's details and one table row per code, depth
first. The labels follow the codebook's language (Norwegian for nb/nn/no,
English otherwise). Same input, same content: nothing depends on the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qcode.codebook import COLOR_PATTERN, Code, Codebook

Stats = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Labels:
    """The words of the appendix in one language."""

    title: str
    version: str
    authors: str
    codes: str
    columns: tuple[str, ...]
    legend: str


NORWEGIAN = Labels(
    title="Kodebok",
    version="Versjon",
    authors="Forfattere",
    codes="Antall koder",
    columns=("Kode (sti)", "Navn", "Definisjon", "Når brukes", "Når brukes ikke", "Eksempel",
             "Kodinger", "Informanter"),
    legend=("Kode (sti): kodens plass i hierarkiet, med overordnede koder skilt med /. "
            "Kodinger: antall kodede tekstutdrag i prosjektets gjeldende dokumenter. "
            "Informanter: antall ulike informanter (intervjuere ikke medregnet) med minst "
            "ett kodet utdrag."),
)
ENGLISH = Labels(
    title="Codebook",
    version="Version",
    authors="Authors",
    codes="Number of codes",
    columns=("Code (path)", "Name", "Definition", "When to use", "When not to use", "Example",
             "Codings", "Informants"),
    legend=("Code (path): the code's place in the hierarchy, parent codes separated by /. "
            "Codings: number of coded passages in the project's current documents. "
            "Informants: number of distinct informants (interviewers not counted) with at "
            "least one coded passage."),
)
# Column widths of the DOCX table in millimetres (landscape A4 with 15 mm margins: 267 mm).
DOCX_WIDTHS_MM = (38, 26, 48, 36, 36, 39, 22, 22)
DOCX_FONT_PT = 9


def labels_for(language: str) -> Labels:
    """Norwegian labels for nb/nn/no (and regional variants), English otherwise."""
    return NORWEGIAN if language.split("-")[0].split("_")[0].lower() in ("nb", "nn", "no") \
        else ENGLISH


@dataclass(frozen=True)
class Row:
    """One table row: a code with its path, depth and statistics."""

    code: Code
    path: str
    depth: int
    codings: int
    informants: int

    def cells(self) -> tuple[str, ...]:
        """The text columns, in table order (numbers as text)."""
        c = self.code
        return (self.path, c.name, c.definition, c.when_to_use, c.when_not_to_use, c.example,
                str(self.codings), str(self.informants))


def rows(book: Codebook, stats: Stats, paths: dict[str, str]) -> list[Row]:
    """Every code depth first; a path missing from ``paths`` is built from the tree."""

    def visit(code: Code, prefix: str, depth: int) -> Iterator[Row]:
        own = f"{prefix}/{code.id}" if prefix else code.id
        codings, informants = stats.get(code.id, (0, 0))
        yield Row(code, paths.get(code.id) or own, depth, codings, informants)
        for child in code.children:
            yield from visit(child, own, depth + 1)

    return [row for code in book.codes for row in visit(code, "", 0)]


def _meta(book: Codebook, labels: Labels, count: int) -> list[tuple[str, str]]:
    out = []
    if book.version:
        out.append((labels.version, book.version))
    if book.authors:
        out.append((labels.authors, ", ".join(book.authors)))
    out.append((labels.codes, str(count)))
    return out


# -- Markdown ---------------------------------------------------------------------------


def md_cell(text: str) -> str:
    """Text for a GitHub table cell: pipes escaped, newlines as <br>, no stray HTML."""
    text = text.replace("\r\n", "\n").replace("\\", "\\\\").replace("<", "&lt;")
    text = text.replace("|", "\\|")
    return "<br>".join(line.strip() for line in text.strip().split("\n"))


def codebook_markdown(book: Codebook, stats: Stats, paths: dict[str, str]) -> str:
    """The appendix as GitHub-flavoured Markdown."""
    labels = labels_for(book.language)
    table = rows(book, stats, paths)
    lines = [f"# {labels.title}: {md_cell(book.name)}", ""]
    lines += [f"- **{key}:** {md_cell(value)}" for key, value in _meta(book, labels, len(table))]
    lines.append("")
    if book.description.strip():
        lines += [book.description.strip(), ""]
    lines.append("| " + " | ".join(labels.columns) + " |")
    lines.append("|" + "---|" * (len(labels.columns) - 2) + "---:|---:|")
    for row in table:
        cells = [md_cell(text) for text in row.cells()]
        cells[0] = f"`{cells[0]}`" if cells[0] else ""
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"*{labels.legend}*", ""]
    return "\n".join(lines)


def write_codebook_markdown(book: Codebook, out: Path, stats: Stats,
                            paths: dict[str, str]) -> None:
    """Write the codebook appendix as Markdown (UTF-8)."""
    from qcode.refi import write_bytes_atomic

    write_bytes_atomic(out, codebook_markdown(book, stats, paths).encode("utf-8"))


# -- DOCX -------------------------------------------------------------------------------


def _set_repeat_header(row: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    tr_pr.append(header)


def _shade(cell: Any, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _fill(cell: Any, text: str, *, bold: bool = False, right: bool = False,
          swatch: str | None = None) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    if right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if swatch is not None:
        mark = paragraph.add_run("■ ")
        mark.font.size = Pt(DOCX_FONT_PT)
        mark.font.color.rgb = RGBColor.from_string(swatch.lstrip("#").upper())
    run = paragraph.add_run(text)
    run.font.size = Pt(DOCX_FONT_PT)
    run.bold = bold


def codebook_document(book: Codebook, stats: Stats, paths: dict[str, str]) -> Any:
    """The appendix as a python-docx Document (landscape A4, one table)."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm, Pt

    labels = labels_for(book.language)
    table_rows = rows(book, stats, paths)
    document = docx.Document()
    props = document.core_properties
    props.title = f"{labels.title}: {book.name}"
    props.author = ", ".join(book.authors) or "qcode"
    props.last_modified_by = "qcode"
    props.language = book.language
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(15))

    document.add_heading(f"{labels.title}: {book.name}", level=1)
    for key, value in _meta(book, labels, len(table_rows)):
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        paragraph.add_run(f"{key}: ").bold = True
        paragraph.add_run(value)
    if book.description.strip():
        document.add_paragraph(book.description.strip())

    table = document.add_table(rows=1, cols=len(labels.columns))
    table.style = "Table Grid"
    table.autofit = False
    widths = [Mm(w) for w in DOCX_WIDTHS_MM]
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    header = table.rows[0]
    _set_repeat_header(header)
    numeric = {len(labels.columns) - 2, len(labels.columns) - 1}
    for i, (cell, title) in enumerate(zip(header.cells, labels.columns, strict=True)):
        cell.width = widths[i]
        _fill(cell, title, bold=True, right=i in numeric)
        _shade(cell, "D9D9D9")
    for row in table_rows:
        cells = table.add_row().cells
        color = row.code.color if COLOR_PATTERN.match(row.code.color) else None
        for i, (cell, text) in enumerate(zip(cells, row.cells(), strict=True)):
            cell.width = widths[i]
            _fill(cell, text, right=i in numeric, swatch=color if i == 1 else None)
    legend = document.add_paragraph()
    legend.paragraph_format.space_before = Pt(6)
    run = legend.add_run(labels.legend)
    run.italic = True
    run.font.size = Pt(DOCX_FONT_PT)
    return document


def write_codebook_docx(book: Codebook, out: Path, stats: Stats,
                        paths: dict[str, str]) -> None:
    """Write the codebook appendix as a Word document."""
    import io

    from qcode.refi import write_bytes_atomic

    buffer = io.BytesIO()
    codebook_document(book, stats, paths).save(buffer)
    write_bytes_atomic(out, buffer.getvalue())
