"""Text hygiene shared by all importers: decoding, newlines, NFC, control characters."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from qcode.errors import IngestError

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
# C0/C1 control characters other than tab and newline; form feeds become newlines.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b\ufeff]")
_MOJIBAKE = re.compile(r"Ã[¦¸¥†˜…]")
_WORD = re.compile(r"\w+(?:[-’'.]\w+)*")


@dataclass(frozen=True)
class Decoded:
    """Text decoded from bytes, with the encoding used and any warning."""

    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def decode_bytes(raw: bytes, path: str) -> Decoded:
    """Decode a text file: BOMs first, then strict UTF-8, then Windows-1252 with a warning."""
    if not raw:
        raise IngestError(path, "the file is empty", "check that you exported the right file")
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return Decoded(raw[len(bom) :].decode(encoding), encoding)
            except UnicodeDecodeError as exc:
                raise IngestError(
                    path,
                    f"starts with a {encoding} byte-order mark but is not valid {encoding}"
                    f" (byte {exc.start})",
                    "save it again as UTF-8",
                ) from exc
    if b"\x00" in raw[:65536]:
        raise IngestError(
            path,
            "looks like a binary file, not text (it contains NUL bytes)",
            "export the transcript as .txt (UTF-8), .docx or .odt",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        warnings: tuple[str, ...] = ()
        if _MOJIBAKE.search(text):
            warnings = (
                "text looks double-encoded (Ã¦ for æ, Ã¸ for ø): check æ, ø and å in the result",
            )
        return Decoded(text, "utf-8", warnings)
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise IngestError(
            path,
            f"cannot decode the text (not UTF-8, UTF-16 or Windows-1252; byte {exc.start})",
            "open it in an editor and save it as UTF-8",
        ) from exc
    return Decoded(
        text,
        "cp1252",
        ("not UTF-8: decoded as Windows-1252; check that æ, ø and å look right",),
    )


def clean_text(text: str) -> str:
    """Normalise newlines to LF, Unicode to NFC, drop control characters and trailing spaces.

    Everything else is kept exactly: «», ‹›, (...), parentheses and inner spacing.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\f", "\n").replace("\v", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def count_words(text: str) -> int:
    """Words as a reader counts them (hyphenated compounds and 2.5 count once)."""
    return len(_WORD.findall(text))
