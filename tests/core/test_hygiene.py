"""Text hygiene: decoding (BOMs, UTF-8, Windows-1252), newline/NFC/control cleanup, words."""

from __future__ import annotations

import codecs
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcode.errors import IngestError
from qcode.ingest.hygiene import clean_text, count_words, decode_bytes

SAMPLE = "Jobbsøker sa «det går bra» (...) – ‹nei› – æøå ÆØÅ kafé"


# ---------------------------------------------------------------------------
# decode_bytes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (SAMPLE.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + SAMPLE.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"), "utf-16-be"),
        (codecs.BOM_UTF32_LE + SAMPLE.encode("utf-32-le"), "utf-32-le"),
        (codecs.BOM_UTF32_BE + SAMPLE.encode("utf-32-be"), "utf-32-be"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf32le-bom", "utf32be-bom"],
)
def test_decode_recognises_encoding_and_drops_the_bom(raw: bytes, encoding: str) -> None:
    decoded = decode_bytes(raw, "f.txt")
    assert decoded.text == SAMPLE  # no BOM left, nothing else changed
    assert decoded.encoding == encoding
    assert decoded.warnings == ()


def test_decode_falls_back_to_cp1252_with_a_warning() -> None:
    decoded = decode_bytes(SAMPLE.encode("cp1252"), "f.txt")
    assert decoded.text == SAMPLE
    assert decoded.encoding == "cp1252"
    assert len(decoded.warnings) == 1 and "Windows-1252" in decoded.warnings[0]


def test_decode_warns_about_double_encoded_text() -> None:
    mojibake = "Jobbsøker på kontoret".encode().decode("latin-1").encode("utf-8")
    decoded = decode_bytes(mojibake, "f.txt")
    assert decoded.encoding == "utf-8"
    assert decoded.warnings and "double-encoded" in decoded.warnings[0]


def test_decode_does_not_warn_for_clean_norwegian_text() -> None:
    assert decode_bytes("Ærlig talt, også «Ås»".encode(), "f.txt").warnings == ()


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "empty"),
        (b"I: hei\x00\x00\x00 der", "binary"),
        # a lone surrogate, then an odd number of bytes
        (codecs.BOM_UTF16_LE + b"h\x00i\x00\x00\xd8", "utf-16-le byte-order mark"),
        (codecs.BOM_UTF16_BE + b"\x00h\x00", "utf-16-be byte-order mark"),
        (codecs.BOM_UTF8 + b"caf\xe9", "utf-8 byte-order mark"),
        (b"caf\xe9 \x81", "cannot decode"),  # not UTF-8, and 0x81 is not in cp1252
    ],
    ids=["empty", "nul", "utf16-surrogate", "utf16-odd", "utf8-bom-latin1", "undecodable"],
)
def test_decode_refuses_with_a_one_line_error_naming_the_file(raw: bytes, fragment: str) -> None:
    with pytest.raises(IngestError) as info:
        decode_bytes(raw, "/data/intervju 1.txt")
    line = info.value.one_line()
    assert line.startswith("/data/intervju 1.txt: ")
    assert "\n" not in line
    assert fragment.lower() in line.lower()
    assert info.value.hint


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_decode_arbitrary_bytes_decodes_or_raises_ingest_error(raw: bytes) -> None:
    try:
        decoded = decode_bytes(raw, "x.txt")
    except IngestError as exc:
        assert "\n" not in exc.one_line() and exc.path == "x.txt"
    else:
        assert isinstance(decoded.text, str)
        assert decoded.encoding in {"utf-8", "cp1252", "utf-16-le", "utf-16-be",
                                    "utf-32-le", "utf-32-be"}


# ---------------------------------------------------------------------------
# clean_text
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\r\nb\rc\nd", "a\nb\nc\nd"),
        ("a\fb", "a\nb"),
        ("a\u2028b\u2029c", "a\nb\n\nc"),
        ("a \t \nb  ", "a\nb"),  # trailing spaces and tabs per line
        ("\n\n\nI: hei\n\n\n", "I: hei"),  # leading/trailing blank lines
        ("  innrykk beholdes", "  innrykk beholdes"),
        ("a\x00b\x07c\x1bd\x7fe\x85f\x9fg", "abcdefg"),  # C0/C1 controls dropped
        ("tab\tbeholdes", "tab\tbeholdes"),
        ("null\u200bbredde\ufeff", "nullbredde"),
        ("«sitat» ‹indre› (...) (ler)  to  rom", "«sitat» ‹indre› (...) (ler)  to  rom"),
    ],
    ids=["newlines", "formfeed", "unicode-separators", "trailing-ws", "outer-blank-lines",
         "leading-indent", "controls", "tab", "zero-width", "kept-exactly"],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_text_composes_nfd_to_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "På kafé i Tromsø, Åse og Ærlig")
    assert nfd != unicodedata.normalize("NFC", nfd)
    out = clean_text(nfd)
    assert out == "På kafé i Tromsø, Åse og Ærlig"
    assert unicodedata.is_normalized("NFC", out)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_clean_text_properties(raw: str) -> None:
    out = clean_text(raw)
    assert unicodedata.is_normalized("NFC", out)
    assert "\r" not in out and "\ufeff" not in out and "\x00" not in out
    assert all(not line.endswith((" ", "\t")) for line in out.split("\n"))
    assert not out.startswith("\n") and not out.endswith("\n")
    assert clean_text(out) == out  # idempotent


# ---------------------------------------------------------------------------
# count_words
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", 0),
        ("Det går bra.", 3),
        ("IPS-teamet og vi-følelsen", 3),  # hyphenated compounds count once
        ("2.5 prosent, 40,5 år", 5),  # 2.5 once; 40,5 is two numbers
        ("«sitat» (ler) (...)", 2),
        ("hen's jobb", 2),
        ("æ ø å", 3),
    ],
)
def test_count_words(text: str, words: int) -> None:
    assert count_words(text) == words
