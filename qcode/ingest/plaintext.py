"""Plain text and Markdown transcripts (.txt, .md)."""

from __future__ import annotations

from pathlib import Path

from qcode.ingest.common import transcript_document
from qcode.ingest.hygiene import decode_bytes
from qcode.ingest.options import ImportOptions
from qcode.models import ParsedDocument


def read(path: Path, raw: bytes, options: ImportOptions) -> list[ParsedDocument]:
    """Decode the bytes and find speaker turns."""
    decoded = decode_bytes(raw, str(path))
    fmt = path.suffix.lower().lstrip(".")
    return [transcript_document(path, raw, decoded.text, fmt, options, decoded.warnings)]
