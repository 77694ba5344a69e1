"""Word documents (.docx) through python-docx: body paragraphs and tables in order."""

from __future__ import annotations

from pathlib import Path

from qcode.errors import IngestError
from qcode.ingest.common import transcript_document
from qcode.ingest.options import ImportOptions
from qcode.ingest.zipsafe import open_zip
from qcode.models import ParsedDocument


def extract_text(raw: bytes, path: str) -> str:
    """The body text: one line per paragraph, table rows as tab-separated cells."""
    import docx
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

    open_zip(raw, path, "docx", "word/document.xml").close()
    import io

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises many types for damaged files
        raise IngestError(path, f"not a readable .docx file ({type(exc).__name__})",
                          "open it in Word or LibreOffice and save it again as .docx") from exc
    lines: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(child, document).text)
        elif tag == "tbl":
            table = Table(child, document)
            for row in table.rows:
                # one cell per <w:tc>: a cell spanning columns counts once, equal neighbours
                # both stay, and rows below a vertically merged cell do not repeat its text
                cells = ["" if tc.vMerge == "continue"
                         else _Cell(tc, table).text.replace("\n", " ").strip()
                         for tc in row._tr.tc_lst]
                lines.append("\t".join(cells))
            lines.append("")
    return "\n".join(lines)


def read(path: Path, raw: bytes, options: ImportOptions) -> list[ParsedDocument]:
    """Extract the text of a .docx and find speaker turns."""
    text = extract_text(raw, str(path))
    return [transcript_document(path, raw, text, "docx", options, line_paragraphs=True)]
