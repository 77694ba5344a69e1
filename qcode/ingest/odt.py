"""OpenDocument text (.odt) through odfpy: headings, paragraphs, lists and tables in order."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from qcode.errors import IngestError
from qcode.ingest.common import transcript_document
from qcode.ingest.options import ImportOptions
from qcode.ingest.zipsafe import open_zip
from qcode.models import ParsedDocument

_TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"


def _walk(node: Any, lines: list[str]) -> None:
    from odf import teletype

    for child in node.childNodes:
        qname = getattr(child, "qname", None)
        if qname is None:
            continue
        if qname in ((_TEXT_NS, "p"), (_TEXT_NS, "h")):
            lines.append(teletype.extractText(child))
        elif qname == (_TABLE_NS, "table-row"):
            cells = []
            for cell in child.childNodes:
                if getattr(cell, "qname", None) == (_TABLE_NS, "table-cell"):
                    parts: list[str] = []
                    _walk(cell, parts)
                    cells.append(" ".join(p.strip() for p in parts if p.strip()))
            lines.append("\t".join(cells))
        elif qname == (_TABLE_NS, "table"):
            _walk(child, lines)
            lines.append("")
        else:
            _walk(child, lines)


def extract_text(raw: bytes, path: str) -> str:
    """The body text of an .odt: one line per paragraph or heading."""
    from odf.opendocument import load

    open_zip(raw, path, "odt", "content.xml").close()
    try:
        document = load(io.BytesIO(raw))
    except Exception as exc:  # odfpy raises many types for damaged files
        raise IngestError(path, f"not a readable .odt file ({type(exc).__name__})",
                          "open it in LibreOffice and save it again as .odt") from exc
    body = getattr(document, "text", None)  # odfpy sets it for text documents only
    if body is None:
        raise IngestError(path, "not an OpenDocument text (a spreadsheet or presentation?)",
                          "open it in LibreOffice Writer and save it as .odt")
    lines: list[str] = []
    _walk(body, lines)
    return "\n".join(lines)


def read(path: Path, raw: bytes, options: ImportOptions) -> list[ParsedDocument]:
    """Extract the text of an .odt and find speaker turns."""
    text = extract_text(raw, str(path))
    return [transcript_document(path, raw, text, "odt", options, line_paragraphs=True)]
