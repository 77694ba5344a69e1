"""PDF documents (text layer only) through pypdf, for document analysis."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from qcode.errors import IngestError
from qcode.ingest.common import transcript_document
from qcode.ingest.options import ImportOptions
from qcode.models import ParsedDocument

MAX_PAGES = 5_000


def extract_text(raw: bytes, path: str) -> str:
    """The text layer of every page, pages separated by a blank line."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    if not raw.lstrip()[:5].startswith(b"%PDF"):
        raise IngestError(path, "not a PDF file (no %PDF header)", "check the file extension")
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(path, "the PDF is password-protected",
                              "remove the password, then import again")
        if len(reader.pages) > MAX_PAGES:
            raise IngestError(path, f"refused: {len(reader.pages)} pages", "split the PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except IngestError:
        raise
    except (PyPdfError, DependencyError, ValueError, KeyError, TypeError, AttributeError, OSError,
            RecursionError, NotImplementedError, AssertionError, IndexError,
            ZeroDivisionError) as exc:
        raise IngestError(path, f"not a readable PDF ({type(exc).__name__})",
                          "open it in a PDF reader and save or export it again") from exc
    text = "\n\n".join(p.strip() for p in pages)
    if len(text.strip()) < 10:
        raise IngestError(path, "the PDF has no text layer (a scan?)",
                          "run OCR on it first (for example with ocrmypdf), then import again")
    return text


def read(path: Path, raw: bytes, options: ImportOptions) -> list[ParsedDocument]:
    """Extract the text layer of a PDF; turns are detected as in any transcript."""
    text = extract_text(raw, str(path))
    return [transcript_document(path, raw, text, "pdf", options)]
