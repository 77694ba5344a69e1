"""Unusable sources: each is refused with a one-line IngestError that names the file.

``ingest_refused(path, *fragments)`` (conftest) asserts the error type, that str(path)
is in the message, that message and hint fit on one line, and the fragments.
"""

from __future__ import annotations

import codecs
import functools
import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcode.errors import IngestError
from qcode.ingest import FORMATS, read_source, zipsafe
from qcode.ingest.options import ImportOptions
from qcode.ingest.zipsafe import open_zip
from qcode.models import ParsedDocument

Refused = Callable[..., IngestError]
Check = Callable[[ParsedDocument], None]
FIXTURE_HEALTH = settings(max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---------------------------------------------------------------------------
# the file itself
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_empty_file(suffix: str, tmp_path: Path, ingest_refused: Refused) -> None:
    path = tmp_path / f"tom fil{suffix}"
    path.write_bytes(b"")
    ingest_refused(path, "empty", "0 bytes")


def test_missing_file_and_folder(tmp_path: Path, ingest_refused: Refused) -> None:
    ingest_refused(tmp_path / "finnes-ikke.txt", "no such file")
    folder = tmp_path / "mappe.txt"
    folder.mkdir()
    ingest_refused(folder, "not a regular file")


def test_text_with_only_whitespace_and_controls(tmp_path: Path, ingest_refused: Refused) -> None:
    path = tmp_path / "blank.txt"
    path.write_bytes(b" \r\n\t\x0b\x01\r\n\xef\xbb\xbf  ")
    ingest_refused(path, "contains no text")


def test_binary_text_file(tmp_path: Path, ingest_refused: Refused) -> None:
    path = tmp_path / "bilde.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    ingest_refused(path, "binary", "NUL")


@FIXTURE_HEALTH
@given(raw=st.binary(min_size=1, max_size=400),
       suffix=st.sampled_from([".txt", ".md", ".vtt", ".srt", ".csv"]))
def test_random_bytes_decode_or_raise_ingest_error(raw: bytes, suffix: str, tmp_path: Path,
                                                   import_options: ImportOptions,
                                                   check_document: Check) -> None:
    path = tmp_path / f"tilfeldig{suffix}"
    path.write_bytes(raw)
    try:
        docs = read_source(path, import_options)
    except IngestError as exc:
        assert str(path) in exc.message and "\n" not in exc.one_line()
    else:
        for doc in docs:
            check_document(doc)


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("rapport.doc", ("unknown file type '.doc'", "save it as .docx")),
        ("rapport.RTF", ("'.rtf'", "save it as .docx or .odt")),
        ("svar.xls", ("'.xls'", "save it as .xlsx")),
        ("data.xyz", ("unknown file type '.xyz'", "supported: .csv, .docx, .md, .odt, .pdf")),
        ("README", ("(no extension)",)),
    ],
)
def test_unknown_extension(name: str, fragments: tuple[str, ...], tmp_path: Path,
                           ingest_refused: Refused) -> None:
    path = tmp_path / name
    path.write_bytes(b"I: hei")
    ingest_refused(path, *fragments)


@pytest.mark.parametrize(
    "raw",
    [codecs.BOM_UTF16_LE + "I: hei".encode("utf-16-le") + b"\x00\xdc",  # lone low surrogate
     codecs.BOM_UTF16_BE + b"\x00I\x00:\x00",  # odd number of bytes
     codecs.BOM_UTF32_LE + b"\x00\x00\x11\x00"],  # beyond U+10FFFF
    ids=["utf16le-surrogate", "utf16be-odd", "utf32-range"],
)
def test_undecodable_after_bom(raw: bytes, tmp_path: Path, ingest_refused: Refused) -> None:
    path = tmp_path / "ødelagt.txt"
    path.write_bytes(raw)
    ingest_refused(path, "byte-order mark but is not valid", "save it again as UTF-8")


def test_over_the_size_limit(tmp_path: Path, ingest_refused: Refused) -> None:
    path = tmp_path / "stor.txt"
    path.write_text("I: hei\n" * 100, encoding="utf-8")
    # regression: the message said "0 MiB; the limit is 0 MiB"
    ingest_refused(path, "too large (700 bytes; the limit is 100 bytes)", "--max-mb",
                   max_bytes=100)
    path.write_bytes(b"x" * (3 * 2**20 // 2))
    ingest_refused(path, "too large (1.5 MiB; the limit is 1.0 MiB)", max_bytes=2**20)


def test_exactly_at_the_size_limit_is_read(tmp_path: Path, import_options: ImportOptions) -> None:
    path = tmp_path / "grense.txt"
    path.write_bytes(b"I: hei")
    assert read_source(path, ImportOptions(detector=import_options.detector, max_bytes=6))


# ---------------------------------------------------------------------------
# CSV and XLSX
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragments", "options"),
    [
        ('id,svar\n1,"hei og hopp der\n2,nei\n', ("malformed CSV", "unexpected end of data"), {}),
        ('id,svar\n1,"sitat" etter,x\n', ("malformed CSV", "line 2"), {}),
        ("id,svar\n1,hei på deg du,x\n", ("row 2 has 3 fields but the header has 2",), {}),
        ("id;svar;svar\n1;a b c d;e\n", ("duplicate column names: svar",), {}),
        ("id,Svar ,Svar\n1,a b c d,e f g h\n", ("duplicate column names: Svar",), {}),
        (",".join(f"k{i}" for i in range(1001)) + "\n" + ",".join("x" * 1001) + "\n",
         ("refused: 1001 columns", "the limit is 1000"), {}),
        ("\n\n , \n", ("contains no rows",), {}),
        ("id,svar\n", ("has a header but no answers",), {}),
        ("id,alder\n1,40\n2,41\n", ("no free-text answer column", "--text-column"), {}),
        ("id,svar\n1,Et svar med mange ord her\n,Et svar uten id i det hele tatt\n",
         ("'id' has empty respondent ids",), {}),
        ("id,svar\n1,Et svar med mange ord her\n1,Et svar til med samme id\n",
         ("'id' has duplicate respondent ids",), {}),
        # regression: "1" and "R1" both became speaker R1 and were merged
        ("id,svar\n1,Et svar med mange ord her\nR1,Et svar til med nesten samme id\n",
         ("duplicate respondent ids",), {}),
        ("id,svar\nOla Nordmann,Et svar med mange ord her\nOla_Nordmann,Et annet svar her\n",
         ("duplicate respondent ids",), {}),
        ("id,svar\n1,Et svar med mange ord her\n",
         ("has no column 'nummer'", "columns are: id, svar"), {"id_column": "nummer"}),
        ("id,svar\n1,Et svar med mange ord her\n", ("has no column 'fritekst'",),
         {"text_columns": ("svar", "fritekst")}),
        ('id,"Hva\nsynes du?"\n1,Et svar med mange ord her\n',
         ("has no column 'x'", "columns are: id, Hva synes du?"), {"id_column": "x"}),
        ("id,svar,annet\n1,,\n2,  ,\n", ("every answer is empty",), {"text_columns": ("svar",)}),
    ],
    ids=["unterminated-quote", "text-after-quote", "too-many-fields", "duplicate-header",
         "duplicate-after-trim", "too-many-columns", "no-rows", "header-only",
         "no-text-column", "empty-id", "duplicate-id", "id-collision-R", "id-collision-space",
         "missing-id-column", "missing-text-column", "multiline-header-hint", "empty-answers"],
)
def test_malformed_csv(body: str, fragments: tuple[str, ...], options: dict[str, object],
                       tmp_path: Path, ingest_refused: Refused) -> None:
    path = tmp_path / "undersøkelse.csv"
    path.write_text(body, encoding="utf-8")
    ingest_refused(path, *fragments, **options)


def test_extra_empty_fields_are_tolerated(tmp_path: Path, import_options: ImportOptions) -> None:
    path = tmp_path / "svar.csv"
    path.write_text("id,svar\n1,Et svar med mange ord her,,\n", encoding="utf-8")
    (doc,) = read_source(path, import_options)
    assert doc.text == "R1: Et svar med mange ord her"


def test_xlsx_that_is_not_a_zip(tmp_path: Path, ingest_refused: Refused) -> None:
    path = tmp_path / "svar.xlsx"
    path.write_bytes(b"respondent,svar\n1,dette er egentlig en csv\n")
    ingest_refused(path, "not a valid .xlsx file", "not a zip archive")


def test_xlsx_without_workbook(tmp_path: Path, docx_raw: bytes, ingest_refused: Refused) -> None:
    path = tmp_path / "dokument.xlsx"
    path.write_bytes(docx_raw)
    ingest_refused(path, "xl/workbook.xml is missing")


def test_xlsx_with_too_many_columns(tmp_path: Path, make_xlsx: Callable[..., Path],
                                    ingest_refused: Refused) -> None:
    path = make_xlsx(tmp_path / "bred.xlsx", [[f"k{i}" for i in range(1001)], ["x"] * 1001])
    ingest_refused(path, "refused: 1001 columns")


def test_xlsx_empty_sheet(tmp_path: Path, make_xlsx: Callable[..., Path],
                          ingest_refused: Refused) -> None:
    ingest_refused(make_xlsx(tmp_path / "tom.xlsx", []), "the sheet is empty")



def test_xlsx_whose_workbook_lists_no_sheet(tmp_path: Path, make_xlsx: Callable[..., Path],
                                            rezip: Callable[..., bytes],
                                            ingest_refused: Refused) -> None:
    """Found by hypothesis: one changed byte in workbook.xml left openpyxl a workbook
    without worksheets, and reading the first one raised IndexError."""
    import re

    good = make_xlsx(tmp_path / "god.xlsx", [["respondent", "svar"], ["1", "ja"]])
    raw = good.read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        workbook = zf.read("xl/workbook.xml").decode()
    path = tmp_path / "uten-ark.xlsx"
    path.write_bytes(rezip(raw, replace={"xl/workbook.xml": re.sub(
        r"<sheets>.*</sheets>", "<sheets/>", workbook, flags=re.S).encode()}))
    ingest_refused(path, "has no worksheet", "save it again as .xlsx")

# ---------------------------------------------------------------------------
# zip-based documents (docx, odt, xlsx)
# ---------------------------------------------------------------------------


def test_truncated_docx(tmp_path: Path, docx_raw: bytes, ingest_refused: Refused) -> None:
    path = tmp_path / "avbrutt.docx"
    path.write_bytes(docx_raw[: len(docx_raw) // 2])
    ingest_refused(path, "not a valid .docx file", "save it again as .docx")


def test_zip_that_is_not_a_docx(tmp_path: Path, rezip: Callable[..., bytes],
                                docx_raw: bytes, ingest_refused: Refused) -> None:
    path = tmp_path / "arkiv.docx"
    path.write_bytes(rezip(docx_raw, drop=["word/document.xml"]))
    ingest_refused(path, "word/document.xml is missing")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("bilder/foto.jpg", b"\xff\xd8\xff" + bytes(100))
    path.write_bytes(buf.getvalue())
    ingest_refused(path, "word/document.xml is missing")


def test_docx_whose_document_is_not_xml(tmp_path: Path, rezip: Callable[..., bytes],
                                        docx_raw: bytes, ingest_refused: Refused) -> None:
    path = tmp_path / "rot.docx"
    path.write_bytes(rezip(docx_raw, replace={"word/document.xml": b"<w:document><ikke lukket"}))
    ingest_refused(path, "not a readable .docx file", "save it again as .docx")


def test_docx_without_content_types(tmp_path: Path, rezip: Callable[..., bytes],
                                    docx_raw: bytes, ingest_refused: Refused) -> None:
    path = tmp_path / "mangler.docx"
    path.write_bytes(rezip(docx_raw, drop=["[Content_Types].xml"]))
    ingest_refused(path, "not a readable .docx file")


BILLION_LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
               for i in range(1, 10))
    + b"]>"
)


def _with_doctype(document_xml: bytes, padding: bytes) -> bytes:
    declaration, rest = document_xml.split(b"?>", 1)
    return declaration + b"?>" + padding + BILLION_LAUGHS + rest.replace(b"Hvordan", b"&lol9;")


@pytest.mark.parametrize(
    "padding",
    [b"\n", b"<!--" + b" utfylling " * 400 + b"-->\n", b" " * 3000],
    ids=["at-start", "after-a-long-comment", "after-whitespace"],
)
def test_docx_with_entity_declarations(padding: bytes, tmp_path: Path,
                                       rezip: Callable[..., bytes], docx_raw: bytes,
                                       ingest_refused: Refused) -> None:
    # regression: only the first 2048 bytes were checked, so padding hid the DOCTYPE
    with zipfile.ZipFile(io.BytesIO(docx_raw)) as zf:
        xml = zf.read("word/document.xml")
    path = tmp_path / "latter.docx"
    path.write_bytes(rezip(docx_raw, replace={"word/document.xml": _with_doctype(xml, padding)}))
    ingest_refused(path, "'word/document.xml' declares a DOCTYPE or entities", "unsafe XML")


def test_entity_declaration_in_another_member_or_in_utf16(tmp_path: Path,
                                                          rezip: Callable[..., bytes],
                                                          docx_raw: bytes,
                                                          ingest_refused: Refused) -> None:
    path = tmp_path / "rels.docx"
    with zipfile.ZipFile(io.BytesIO(docx_raw)) as zf:
        rels = zf.read("_rels/.rels")
    path.write_bytes(rezip(docx_raw, replace={"_rels/.rels": _with_doctype(rels, b"")}))
    ingest_refused(path, "'_rels/.rels' declares a DOCTYPE")
    utf16 = codecs.BOM_UTF16_LE + ('<?xml version="1.0" encoding="UTF-16"?>'
                                   '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>').encode("utf-16-le")
    path.write_bytes(rezip(docx_raw, add={"word/extra.xml": utf16}))
    ingest_refused(path, "'word/extra.xml' declares a DOCTYPE")


def test_doctype_as_text_is_not_a_false_alarm(tmp_path: Path, make_docx: Callable[..., Path],
                                              import_options: ImportOptions) -> None:
    path = make_docx(tmp_path / "om-xml.docx", ["I: Hva er <!DOCTYPE html> og <!ENTITY>?"])
    (doc,) = read_source(path, import_options)
    assert doc.text == "I: Hva er <!DOCTYPE html> og <!ENTITY>?"


@functools.cache
def _zip_bomb() -> bytes:
    """64 MiB of zeros in one member (about 64 KiB compressed), streamed so memory stays
    small, next to the member each zip format requires."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for required in ("word/document.xml", "xl/workbook.xml", "content.xml"):
            zf.writestr(required, "<x/>")
        with zf.open("media/nuller.bin", "w") as member:
            block = bytes(2**20)
            for _ in range(64):
                member.write(block)
    return buf.getvalue()


@pytest.mark.parametrize("suffix", [".docx", ".xlsx", ".odt"])
def test_zip_bomb(suffix: str, tmp_path: Path, ingest_refused: Refused) -> None:
    raw = _zip_bomb()
    assert len(raw) < 200_000
    path = tmp_path / f"bombe{suffix}"
    path.write_bytes(raw)
    ingest_refused(path, "refused: member 'media/nuller.bin' is compressed", "zip bomb")


def test_zip_declaring_too_much_data(tmp_path: Path, rezip: Callable[..., bytes],
                                     docx_raw: bytes, ingest_refused: Refused,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # members that each stay under the ratio floor but add up past the total limit
    monkeypatch.setattr(zipsafe, "MAX_TOTAL_UNCOMPRESSED", 2**20)
    zeros = bytes(2**19)
    path = tmp_path / "mange.docx"
    path.write_bytes(rezip(docx_raw, add={f"word/media/del{i}.bin": zeros for i in range(3)}))
    ingest_refused(path, "refused: the archive unpacks to", "MiB")
    monkeypatch.setattr(zipsafe, "MAX_MEMBERS", 5)
    ingest_refused(path, "refused: the archive has")


def test_corrupt_deflate_stream(tmp_path: Path, make_docx: Callable[..., Path],
                                ingest_refused: Refused) -> None:
    raw = bytearray(make_docx(tmp_path / "god.docx",
                              ["I: " + "Hvordan går det? " * 200]).read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as zf:
        info = zf.getinfo("word/document.xml")
    header = info.header_offset
    name_len = int.from_bytes(raw[header + 26 : header + 28], "little")
    extra_len = int.from_bytes(raw[header + 28 : header + 30], "little")
    data = header + 30 + name_len + extra_len
    raw[data : data + 16] = b"\xff" * 16  # invalid deflate block
    path = tmp_path / "skadet.docx"
    path.write_bytes(bytes(raw))
    ingest_refused(path, "docx")


def test_path_traversal_members_write_nothing(tmp_path: Path, rezip: Callable[..., bytes],
                                              docx_raw: bytes, import_options: ImportOptions,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    evil = {
        "../../ondsinnet.txt": b"ut av mappen",
        "word/../../../ondsinnet.xml": b"<x/>",
        "/tmp/qcode-ondsinnet-absolutt.txt": b"absolutt sti",
        "..\\..\\ondsinnet-windows.txt": b"bakstrek",
    }
    source_dir = tmp_path / "kilde"
    work_dir = tmp_path / "arbeid" / "dypt" / "nede"
    source_dir.mkdir()
    work_dir.mkdir(parents=True)
    path = source_dir / "traversering.docx"
    path.write_bytes(rezip(docx_raw, add=evil))
    monkeypatch.chdir(work_dir)
    before = sorted(p for p in tmp_path.rglob("*"))
    (doc,) = read_source(path, import_options)
    assert doc.text == "Intervju 1\nI: Hvordan går det?\nJS3: Det går «bra» (...) takk."
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert not Path("/tmp/qcode-ondsinnet-absolutt.txt").exists()


@pytest.mark.parametrize("suffix", [".docx", ".xlsx", ".odt"])
def test_old_office_or_encrypted_file(suffix: str, tmp_path: Path,
                                      ingest_refused: Refused) -> None:
    path = tmp_path / f"passord{suffix}"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))
    ingest_refused(path, "an old Office or password-protected file", "unprotected")


def test_odt_that_is_a_spreadsheet(tmp_path: Path, ingest_refused: Refused) -> None:
    # regression: odfpy sets .text only for text documents, so this was an AttributeError
    from odf.opendocument import OpenDocumentSpreadsheet

    buf = io.BytesIO()
    OpenDocumentSpreadsheet().write(buf)
    path = tmp_path / "regneark.odt"
    path.write_bytes(buf.getvalue())
    ingest_refused(path, "not an OpenDocument text")


@FIXTURE_HEALTH
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)),
                      min_size=1, max_size=8))
def test_damaged_docx_bytes_never_escape(flips: list[tuple[int, int]], tmp_path: Path,
                                         docx_raw: bytes, import_options: ImportOptions) -> None:
    raw = bytearray(docx_raw)
    for at, value in flips:
        raw[at % len(raw)] = value
    path = tmp_path / "mutert.docx"
    path.write_bytes(bytes(raw))
    try:
        read_source(path, import_options)
    except IngestError as exc:
        assert str(path) in exc.message and "\n" not in exc.one_line()


def test_open_zip_reports_damaged_members_as_ingest_errors() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("word/document.xml", b"<w:document/>" * 10)
    raw = bytearray(buf.getvalue())
    at = raw.index(b"<w:document/>")
    raw[at : at + 4] = b"XXXX"  # stored data no longer matches its CRC
    with pytest.raises(IngestError) as info:
        open_zip(bytes(raw), "f.docx", "docx", "word/document.xml")
    assert "damaged .docx file" in info.value.message
    assert "\n" not in info.value.one_line()



def test_open_zip_reports_an_encrypted_member_as_an_ingest_error() -> None:
    """zipfile raises RuntimeError for a member flagged as encrypted (found by hypothesis
    flipping one bit of an ODT): a one-line refusal, not a traceback."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("content.xml", b"<office:document-content/>")
    raw = bytearray(buf.getvalue())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # local header and central directory
        at = raw.index(header)
        flags = at + (6 if header == b"PK\x03\x04" else 8)
        raw[flags] |= 0x01  # the "encrypted" bit
    with pytest.raises(IngestError) as info:
        open_zip(bytes(raw), "f.odt", "odt", "content.xml")
    assert "encrypted" in info.value.message
    zf = zipfile.ZipFile(io.BytesIO(bytes(raw)))
    with pytest.raises(IngestError) as info:
        zipsafe.read_member(zf, "content.xml", "f.odt", "odt")
    assert "remove the password" in info.value.one_line()


def test_open_zip_reports_an_unsupported_zip_version_as_an_ingest_error() -> None:
    """zipfile raises NotImplementedError while reading the directory of an archive that
    needs a newer zip version (found by hypothesis damaging an ODT): a one-line refusal."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("content.xml", b"<office:document-content/>")
    raw = bytearray(buf.getvalue())
    at = raw.index(b"PK\x01\x02")  # central directory: "version needed to extract"
    raw[at + 6:at + 8] = (64).to_bytes(2, "little")
    with pytest.raises(NotImplementedError):
        zipfile.ZipFile(io.BytesIO(bytes(raw)))
    with pytest.raises(IngestError) as info:
        open_zip(bytes(raw), "f.odt", "odt", "content.xml")
    assert "not a valid .odt file" in info.value.one_line()
    assert "\n" not in info.value.one_line()


# ---------------------------------------------------------------------------
# PDF
# ---------------------------------------------------------------------------


def test_pdf_garbage_after_the_header(tmp_path: Path, ingest_refused: Refused) -> None:
    path = tmp_path / "søppel.pdf"
    path.write_bytes(b"%PDF-1.7\n" + random.Random(7).randbytes(4096))
    ingest_refused(path, "not a readable PDF", "export it again")


def test_pdf_without_header(tmp_path: Path, ingest_refused: Refused) -> None:
    path = tmp_path / "tekst.pdf"
    path.write_text("I: dette er ren tekst med feil filendelse", encoding="utf-8")
    ingest_refused(path, "not a PDF file (no %PDF header)")


def test_pdf_truncated(tmp_path: Path, pdf_bytes: Callable[..., bytes],
                       ingest_refused: Refused) -> None:
    raw = pdf_bytes([["I: Hvordan går det med deg i dag?"]])
    path = tmp_path / "avkortet.pdf"
    path.write_bytes(raw[:60])
    ingest_refused(path, "pdf")


def test_pdf_with_user_password(tmp_path: Path, pdf_bytes: Callable[..., bytes],
                                ingest_refused: Refused) -> None:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf_bytes([["I: Hemmelig intervju her."]])))
    writer.encrypt(user_password="hemmelig", owner_password="eier", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    path = tmp_path / "låst.pdf"
    path.write_bytes(buf.getvalue())
    ingest_refused(path, "password-protected", "remove the password")


def test_pdf_decompression_bomb(tmp_path: Path, pdf_bytes: Callable[..., bytes],
                                ingest_refused: Refused) -> None:
    # regression: pypdf's LimitReachedError is not a PdfReadError and escaped
    import pypdf

    content = b"BT /F1 12 Tf 72 720 Td (I: hei) Tj ET\n" + b" " * 2**20
    path = tmp_path / "bombe.pdf"
    path.write_bytes(pdf_bytes([content], flate=True))
    with pypdf.apply_configuration(zlib_maximum_output_length=64 * 1024):
        ingest_refused(path, "not a readable PDF (LimitReachedError)")


# ---------------------------------------------------------------------------
# subtitles
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "fragments"),
    [
        ("uten-hode.vtt", "00:00:01.000 --> 00:00:02.000\n<v JS3>hei\n",
         ("not a WebVTT file", "WEBVTT")),
        ("srt-som-vtt.vtt", "1\n00:00:01,000 --> 00:00:02,000\nJS3: hei\n", ("not a WebVTT",)),
        ("uten-tid.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhei\n\n1\n<v JS3>hei\n",
         ("cue block 2 has no timing line",)),
        ("feil-tid.vtt", "WEBVTT\n\n1\n00:00:01 --> 00:00:02\nhei\n", ("no timing line",)),
        ("bare-notater.vtt", "WEBVTT\n\nNOTE bare en kommentar\n", ("no subtitle cues",)),
        ("tomme-cues.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v JS3></v>\n",
         ("no subtitle cues",)),
        ("uten-tid.srt", "1\nJS3: hei\n\n2\n00:00:01,000 --> 00:00:02,000\nhei\n",
         ("cue block 1 has no timing line",)),
    ],
)
def test_bad_subtitles(name: str, body: str, fragments: tuple[str, ...], tmp_path: Path,
                       ingest_refused: Refused) -> None:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    ingest_refused(path, *fragments)
