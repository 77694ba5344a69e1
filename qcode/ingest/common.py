"""Helpers shared by the readers: turning extracted text into a ParsedDocument."""

from __future__ import annotations

import hashlib
from pathlib import Path

from qcode.errors import IngestError
from qcode.ingest.hygiene import clean_text
from qcode.ingest.options import ImportOptions
from qcode.ingest.turns import paragraphs
from qcode.models import DocumentKind, ParsedDocument, Segment


def sha256_bytes(raw: bytes) -> str:
    """Hex SHA-256 of raw bytes."""
    return hashlib.sha256(raw).hexdigest()


def sha256_text(text: str) -> str:
    """Hex SHA-256 of text encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def provisional_kind(segments: tuple[Segment, ...]) -> DocumentKind:
    """``interview`` if any segment has a speaker, else ``document``; refined on import."""
    return "interview" if any(s.speaker for s in segments) else "document"


def transcript_document(
    path: Path,
    raw: bytes,
    text: str,
    fmt: str,
    options: ImportOptions,
    warnings: tuple[str, ...] = (),
    line_paragraphs: bool = False,
) -> ParsedDocument:
    """Clean extracted text, find turns (or paragraphs) and wrap it as a ParsedDocument.

    ``line_paragraphs``: the text has one line per paragraph (.docx, .odt), so without
    turns every line is a segment rather than every blank-line separated block.
    """
    text = clean_text(text)
    if not text.strip():
        raise IngestError(str(path), "contains no text", "check that the file is not empty")
    segments = options.detector.segments(text)
    if not any(s.speaker for s in segments):
        segments = paragraphs(text, per_line=line_paragraphs)
    return ParsedDocument(
        name=path.stem,
        text=text,
        segments=segments,
        kind=provisional_kind(segments),
        source_name=path.name,
        source_format=fmt,
        source_sha256=sha256_bytes(raw),
        warnings=warnings,
    )
