"""Defensive opening of zip-based formats (DOCX, ODT, XLSX).

Refuses archives that are not zips, lack the expected member, declare more
uncompressed data than a sane document holds (zip bombs), or carry XML with a
DOCTYPE (entity expansion, external entities). Nothing is extracted to disk,
so member names with ``../`` cannot escape anywhere.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from typing import IO

from qcode.errors import IngestError

MAX_MEMBERS = 5_000
MAX_TOTAL_UNCOMPRESSED = 512 * 1024 * 1024
MAX_RATIO = 200
RATIO_FLOOR = 8 * 1024 * 1024  # small members may compress well without being bombs
# "<!DOCTYPE" / "<!ENTITY" as bytes and in UTF-16: markup that is never part of text content
_UNSAFE_XML = tuple(marker.encode(encoding) for marker in ("<!DOCTYPE", "<!ENTITY")
                    for encoding in ("ascii", "utf-16-le", "utf-16-be"))
_CHUNK = 1024 * 1024


def _declares_entities(fh: IO[bytes]) -> bool:
    """True if an XML stream holds a DOCTYPE or an entity declaration anywhere.

    The whole member is scanned (in chunks): a comment or whitespace can push the DOCTYPE
    of the prolog arbitrarily far from the start.
    """
    overlap = max(len(m) for m in _UNSAFE_XML) - 1
    tail = b""
    while chunk := fh.read(_CHUNK):
        window = tail + chunk
        if any(marker in window for marker in _UNSAFE_XML):
            return True
        tail = window[-overlap:]
    return False


def open_zip(raw: bytes, path: str, fmt: str, required: str) -> zipfile.ZipFile:
    """Open ``raw`` as a zip holding ``required``, or raise a one-line IngestError."""
    if raw[:2] == b"\xd0\xcf":
        raise IngestError(
            path,
            f"not a {fmt} file: an old Office or password-protected file",
            f"open it and save it as an unprotected .{fmt}",
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError,
            NotImplementedError) as exc:  # "zip file version 6.4": damaged, or a newer zip
        raise IngestError(
            path, f"not a valid .{fmt} file (damaged, or not a zip archive)",
            f"open it in a word processor and save it again as .{fmt}",
        ) from exc
    if len(infos) > MAX_MEMBERS:
        raise IngestError(path, f"refused: the archive has {len(infos)} members",
                          "this is not an ordinary document")
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise IngestError(path, f"refused: the archive unpacks to {total // 2**20} MiB",
                          "a zip bomb or an unusually large document; split it")
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise IngestError(path, f"refused: member {info.filename!r} is compressed "
                              f"{info.file_size // max(info.compress_size, 1)}:1 (zip bomb)",
                              "this is not an ordinary document")
    names = {i.filename for i in infos}
    if required not in names:
        raise IngestError(path, f"not a valid .{fmt} file ({required} is missing)",
                          f"open it and save it again as .{fmt}")
    for info in infos:
        if info.filename.endswith((".xml", ".rels")) and info.file_size:
            try:
                with zf.open(info) as fh:
                    unsafe = _declares_entities(fh)
            except RuntimeError as exc:  # zipfile: "... is encrypted, password required"
                raise _encrypted(path, fmt) from exc
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError,
                    EOFError, zlib.error) as exc:
                raise IngestError(path, f"damaged .{fmt} file (member {info.filename!r})",
                                  f"open it and save it again as .{fmt}") from exc
            if unsafe:
                raise IngestError(path, f"refused: {info.filename!r} declares a DOCTYPE or "
                                  "entities (unsafe XML)", "save the document again in Word "
                                  "or LibreOffice")
    return zf


def read_member(zf: zipfile.ZipFile, name: str, path: str, fmt: str) -> bytes:
    """Read one member, turning zip errors into an IngestError."""
    try:
        return zf.read(name)
    except RuntimeError as exc:  # zipfile: "... is encrypted, password required"
        raise _encrypted(path, fmt) from exc
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, KeyError) as exc:
        raise IngestError(path, f"damaged .{fmt} file (cannot read {name!r})",
                          f"open it and save it again as .{fmt}") from exc


def _encrypted(path: str, fmt: str) -> IngestError:
    return IngestError(path, f"not readable: the .{fmt} file is encrypted (or its zip "
                       "header is damaged)", f"open it, remove the password and save it "
                       f"again as .{fmt}")
