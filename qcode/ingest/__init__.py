"""Importers: one module per source format behind one registry.

``read_source(path, options)`` checks the file (exists, not empty, not too
large, known extension), then hands the bytes to the format's reader, which
returns one or more ``ParsedDocument``s with clean NFC text and segments. No
reader writes anything; storing is the job of ``qcode.services``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from qcode.errors import IngestError
from qcode.ingest.options import ImportOptions
from qcode.models import ParsedDocument

Reader = Callable[[Path, bytes, ImportOptions], list[ParsedDocument]]

# extension -> (module, what it is); modules are imported only when used
FORMATS: dict[str, tuple[str, str]] = {
    ".txt": ("plaintext", "plain-text transcript or document"),
    ".md": ("plaintext", "Markdown transcript or document"),
    ".docx": ("docx", "Word document"),
    ".odt": ("odt", "OpenDocument text"),
    ".pdf": ("pdf", "PDF with a text layer"),
    ".vtt": ("subtitles", "WebVTT subtitles (automatic transcription)"),
    ".srt": ("subtitles", "SubRip subtitles (automatic transcription)"),
    ".csv": ("survey", "survey export, one row per respondent"),
    ".xlsx": ("survey", "survey export (Excel), one row per respondent"),
}
_HINTS = {
    ".doc": "save it as .docx",
    ".rtf": "save it as .docx or .odt",
    ".xls": "save it as .xlsx",
    ".pages": "export it as .docx",
}


def reader_for(path: Path) -> Reader:
    """The reader function for a file's extension, or a one-line IngestError."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        hint = _HINTS.get(suffix, "supported: " + ", ".join(sorted(FORMATS)))
        raise IngestError(str(path), f"unknown file type {suffix or '(no extension)'!r}", hint)
    module = importlib.import_module(f"qcode.ingest.{FORMATS[suffix][0]}")
    reader: Reader = module.read
    return reader


def _size(n: int) -> str:
    """A byte count for messages: 1.4 MiB, 12.0 KiB, 100 bytes."""
    if n >= 2**20:
        return f"{n / 2**20:.1f} MiB"
    return f"{n / 2**10:.1f} KiB" if n >= 2**10 else f"{n} bytes"


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a source file after checking that it exists and is within the size limit."""
    try:
        if not path.exists():
            raise IngestError(str(path), "no such file", "check the path")
        if not path.is_file():
            raise IngestError(str(path), "not a regular file", "name a file or a folder")
        size = path.stat().st_size
        if size == 0:
            raise IngestError(str(path), "the file is empty (0 bytes)",
                              "check that the export or copy finished")
        if size > max_bytes:
            raise IngestError(str(path), f"too large ({_size(size)}; the limit is "
                              f"{_size(max_bytes)})", "split the file or raise --max-mb")
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(str(path), f"cannot be read: {exc.strerror}",
                          "check the file's permissions") from exc


def read_source(path: Path, options: ImportOptions) -> list[ParsedDocument]:
    """Read one source file into documents; raises IngestError for anything unusable."""
    reader = reader_for(path)
    raw = read_bytes(path, options.max_bytes)
    try:
        documents = reader(path, raw, options)
    except IngestError:
        raise
    except RecursionError as exc:
        raise IngestError(str(path), "too deeply nested to read", "save it again") from exc
    except MemoryError as exc:
        raise IngestError(str(path), "too large to read in memory", "split the file") from exc
    return documents


# Notes that live beside transcripts and are not data.
NOT_DATA = ("readme", "license", "licence", "changelog")


def scan_folder(folder: Path) -> tuple[list[Path], list[Path]]:
    """(importable files, skipped files) below a folder, sorted.

    Hidden files, Office lock files and README/LICENSE/CHANGELOG notes are left
    out silently; files of other types are returned as skipped so the user is told.
    """
    found: list[Path] = []
    skipped: list[Path] = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith((".", "~$")) for part in rel.parts) or not p.is_file():
            continue
        if p.stem.lower().startswith(NOT_DATA):
            continue
        (found if p.suffix.lower() in FORMATS else skipped).append(p)
    return found, skipped


def source_files(folder: Path) -> list[Path]:
    """Importable files below a folder, sorted, skipping hidden files and lock files."""
    return scan_folder(folder)[0]
