"""Every importer end to end through read_source, on real files made in tmp_path."""

from __future__ import annotations

import codecs
import hashlib
import io
import itertools
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from qcode.errors import IngestError
from qcode.ingest import FORMATS, reader_for, source_files
from qcode.models import ParsedDocument, Segment

Read = Callable[..., ParsedDocument]
ReadAll = Callable[..., list[ParsedDocument]]
Check = Callable[[ParsedDocument], None]

# A transcript in clean form (NFC, LF, no trailing spaces); the spans below are picked
# from it and must land on the same code points whatever the source encoding.
REFERENCE = (
    "Intervju 7 – informant V5, kontor Sør\n"
    "\n"
    "I: Hvordan går samarbeidet på kafé-møtene?\n"
    "\n"
    "V5: Det går bra, på en måte. Hen sa «vi får det til», og så (...) ja.\n"
    "‹Sitat i sitat›, Æ, Ø og Å – ærlig talt.\n"
    "\n"
    "[00:12:31]\n"
    "I: Og «ærlig talt» – hva tenker du?"
)
SPANS = ["«vi får det til»", "på en måte", "‹Sitat i sitat›, Æ, Ø og Å", "(...)",
         "«ærlig talt»", "kafé-møtene"]


def _variants() -> dict[str, bytes]:
    nfd = unicodedata.normalize("NFD", REFERENCE)
    crlf = REFERENCE.replace("\n", "\r\n")
    return {
        "utf8": REFERENCE.encode(),
        "utf8-bom": codecs.BOM_UTF8 + REFERENCE.encode(),
        "utf16le-bom": codecs.BOM_UTF16_LE + REFERENCE.encode("utf-16-le"),
        "utf16be-bom": codecs.BOM_UTF16_BE + REFERENCE.encode("utf-16-be"),
        "cp1252": REFERENCE.encode("cp1252"),
        "crlf": crlf.encode(),
        "cr": REFERENCE.replace("\n", "\r").encode(),
        "nfd": nfd.encode(),
        "nfd-crlf-bom-trailing-spaces": codecs.BOM_UTF8
        + unicodedata.normalize("NFD", crlf.replace("\r\n", "  \r\n")).encode(),
        "utf16le-crlf-nfd": codecs.BOM_UTF16_LE
        + unicodedata.normalize("NFD", crlf).encode("utf-16-le"),
        "blank-lines-around": ("\n\n" + REFERENCE + "\n\n\n").encode(),
    }


VARIANTS = _variants()


def _covering(doc: ParsedDocument, start: int, end: int) -> Segment:
    found = [s for s in doc.segments if s.start <= start and end <= s.end]
    assert len(found) == 1, (start, end)
    return found[0]


# ---------------------------------------------------------------------------
# plain text
# ---------------------------------------------------------------------------


def test_reference_spans_exist() -> None:
    assert unicodedata.is_normalized("NFC", REFERENCE)
    assert unicodedata.normalize("NFD", REFERENCE) != REFERENCE
    for span in SPANS:
        assert REFERENCE.count(span) == 1, span


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_offsets_stay_on_the_same_characters(variant: str, tmp_path: Path, read_doc: Read,
                                             check_document: Check) -> None:
    path = tmp_path / "V5.txt"
    path.write_bytes(VARIANTS[variant])
    doc = read_doc(path)
    check_document(doc)
    assert doc.text == REFERENCE
    for span in SPANS:
        start = REFERENCE.index(span)
        end = start + len(span)
        assert doc.text[start:end] == span
        seg = _covering(doc, start, end)
        assert seg.speaker in {"V5", "I"}
    assert [(s.speaker, doc.text[s.start : s.end], s.time_start) for s in doc.segments] == [
        (None, "Intervju 7 – informant V5, kontor Sør", None),
        ("I", "Hvordan går samarbeidet på kafé-møtene?", None),
        ("V5", "Det går bra, på en måte. Hen sa «vi får det til», og så (...) ja.\n"
               "‹Sitat i sitat›, Æ, Ø og Å – ærlig talt.", None),
        ("I", "Og «ærlig talt» – hva tenker du?", 751.0),
    ]
    assert doc.source_sha256 == hashlib.sha256(VARIANTS[variant]).hexdigest()
    if variant == "cp1252":
        assert doc.warnings and "Windows-1252" in doc.warnings[0]
    else:
        assert doc.warnings == ()


def test_plain_text_document_metadata(tmp_path: Path, read_doc: Read) -> None:
    path = tmp_path / "JS9 intervju.md"
    path.write_text("# Intervju\n\nI: Hei?\n\nJS9: Hei.\n", encoding="utf-8")
    doc = read_doc(path)
    assert (doc.name, doc.source_name, doc.source_format, doc.kind) == (
        "JS9 intervju", "JS9 intervju.md", "md", "interview")
    assert [s.speaker for s in doc.segments] == [None, "I", "JS9"]
    assert doc.attributes == {} and doc.speaker_attributes == {}


def test_text_without_turns_is_a_document_of_paragraphs(tmp_path: Path, read_doc: Read,
                                                        check_document: Check) -> None:
    path = tmp_path / "notat.txt"
    path.write_text("Første avsnitt\nfortsetter her.\n\nAndre avsnitt.\n\n\nTredje.",
                    encoding="utf-8")
    doc = read_doc(path)
    check_document(doc)
    assert doc.kind == "document"
    assert [doc.text[s.start : s.end] for s in doc.segments] == [
        "Første avsnitt\nfortsetter her.", "Andre avsnitt.", "Tredje."]


# ---------------------------------------------------------------------------
# .docx
# ---------------------------------------------------------------------------

DOCX_BODY: list[Any] = [
    ("h", "Intervju 3 – JS3"),
    "I: Hva gjør en god jobbspesialist?",
    "JS3: Hen sa «vi får det til» (...) og så ‹nei›.",
    "Fortsettelse i et nytt avsnitt.",
    [["Spørsmål", "Svar"], ["Trives du?", "Ja, veldig"]],
    "I: Takk for praten.",
]


def test_docx_transcript(tmp_path: Path, make_docx: Callable[..., Path], read_doc: Read,
                         check_document: Check) -> None:
    doc = read_doc(make_docx(tmp_path / "JS3.docx", DOCX_BODY))
    check_document(doc)
    assert doc.source_format == "docx" and doc.kind == "interview"
    assert doc.text == (
        "Intervju 3 – JS3\n"
        "I: Hva gjør en god jobbspesialist?\n"
        "JS3: Hen sa «vi får det til» (...) og så ‹nei›.\n"
        "Fortsettelse i et nytt avsnitt.\n"
        "Spørsmål\tSvar\n"
        "Trives du?\tJa, veldig\n"
        "\n"
        "I: Takk for praten."
    )
    assert [(s.speaker, doc.text[s.start : s.end]) for s in doc.segments] == [
        (None, "Intervju 3 – JS3"),
        ("I", "Hva gjør en god jobbspesialist?"),
        ("JS3", "Hen sa «vi får det til» (...) og så ‹nei›.\nFortsettelse i et nytt avsnitt.\n"
                "Spørsmål\tSvar\nTrives du?\tJa, veldig"),
        ("I", "Takk for praten."),
    ]
    start = doc.text.index("«vi får det til» (...)")
    assert _covering(doc, start, start + 22).speaker == "JS3"


def test_docx_nfd_text_is_stored_as_nfc(tmp_path: Path, make_docx: Callable[..., Path],
                                        read_doc: Read) -> None:
    body = [unicodedata.normalize("NFD", "I: På kafé i Tromsø?"), "JS3: Å ja."]
    doc = read_doc(make_docx(tmp_path / "nfd.docx", body))
    assert doc.text == "I: På kafé i Tromsø?\nJS3: Å ja."
    assert doc.text[doc.segments[0].start : doc.segments[0].end] == "På kafé i Tromsø?"


def test_docx_without_turns_has_one_segment_per_paragraph(
        tmp_path: Path, make_docx: Callable[..., Path], read_doc: Read,
        check_document: Check) -> None:
    # regression: paragraphs are single lines, so the whole document was one segment
    body = [("h", "Tiltaksplan"), "Første avsnitt om «samarbeid».", "Andre avsnitt (...).",
            [["Tiltak", "Ansvar"], ["Felles møter", "Leder"]], "Siste avsnitt."]
    doc = read_doc(make_docx(tmp_path / "plan.docx", body))
    check_document(doc)
    assert doc.kind == "document"
    assert [doc.text[s.start : s.end] for s in doc.segments] == [
        "Tiltaksplan", "Første avsnitt om «samarbeid».", "Andre avsnitt (...).",
        "Tiltak\tAnsvar", "Felles møter\tLeder", "Siste avsnitt."]


def test_docx_table_cells_keep_equal_neighbours_and_merge_once(tmp_path: Path,
                                                               read_doc: Read) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    for c, value in enumerate(["Spørsmål", "JS1", "JS2"]):
        table.cell(0, c).text = value
    for c, value in enumerate(["Fornøyd?", "Ja", "Ja"]):  # equal neighbours: both kept
        table.cell(1, c).text = value
    table.cell(2, 0).merge(table.cell(2, 1)).text = "Spenner over to"  # horizontal merge
    table.cell(2, 2).text = "x"
    tall = document.add_table(rows=2, cols=2)
    tall.cell(0, 0).merge(tall.cell(1, 0)).text = "Høy celle"  # vertical merge
    tall.cell(0, 1).text = "a"
    tall.cell(1, 1).text = "b"
    path = tmp_path / "tabell.docx"
    document.save(str(path))
    doc = read_doc(path)
    assert doc.text.split("\n") == [
        "Spørsmål\tJS1\tJS2", "Fornøyd?\tJa\tJa", "Spenner over to\tx", "",
        "Høy celle\ta", "\tb"]
    assert doc.text.count("Høy celle") == 1


def test_corpus_docx(corpus_dir: Path, read_doc: Read, check_document: Check) -> None:
    doc = read_doc(corpus_dir / "dokumenter" / "samarbeidsavtale_nord.docx")
    check_document(doc)
    assert doc.kind == "document" and doc.source_format == "docx"
    assert all(s.speaker is None for s in doc.segments)
    assert len(doc.segments) > 20  # one per paragraph, heading and table row
    texts = [doc.text[s.start : s.end] for s in doc.segments]
    assert texts[0] == "Samarbeidsavtale mellom jobbspesialister og veiledere ved (kontoret)"
    assert "1. Formål" in texts
    assert any("\t" in t for t in texts)  # table rows as tab-separated cells
    assert "«ikke er klare ennå»" in doc.text


# ---------------------------------------------------------------------------
# .odt
# ---------------------------------------------------------------------------


def test_odt_transcript(tmp_path: Path, make_odt: Callable[..., Path], read_doc: Read,
                        check_document: Check) -> None:
    doc = read_doc(make_odt(tmp_path / "JS3.odt", DOCX_BODY))
    check_document(doc)
    assert doc.source_format == "odt" and doc.kind == "interview"
    assert doc.text == (
        "Intervju 3 – JS3\n"
        "I: Hva gjør en god jobbspesialist?\n"
        "JS3: Hen sa «vi får det til» (...) og så ‹nei›.\n"
        "Fortsettelse i et nytt avsnitt.\n"
        "Spørsmål\tSvar\n"
        "Trives du?\tJa, veldig\n"
        "\n"
        "I: Takk for praten."
    )
    assert [s.speaker for s in doc.segments] == [None, "I", "JS3", "I"]


def test_odt_keeps_spaces_tabs_and_line_breaks(tmp_path: Path, read_doc: Read) -> None:
    from odf import teletype
    from odf import text as odf_text
    from odf.opendocument import OpenDocumentText

    odt = OpenDocumentText()
    para = odf_text.P()
    teletype.addTextToElement(para, "I: to  mellomrom,\ttab og\nlinjeskift")
    odt.text.addElement(para)
    listing = odf_text.List()
    item = odf_text.ListItem()
    item.addElement(odf_text.P(text="JS3: i en liste"))
    listing.addElement(item)
    odt.text.addElement(listing)
    buf = io.BytesIO()
    odt.write(buf)
    path = tmp_path / "mellomrom.odt"
    path.write_bytes(buf.getvalue())
    doc = read_doc(path)
    assert doc.text == "I: to  mellomrom,\ttab og\nlinjeskift\nJS3: i en liste"
    assert [s.speaker for s in doc.segments] == ["I", "JS3"]


def test_odt_without_turns_has_one_segment_per_paragraph(
        tmp_path: Path, make_odt: Callable[..., Path], read_doc: Read) -> None:
    doc = read_doc(make_odt(tmp_path / "plan.odt", [("h", "Plan"), "Ett.", "To.",
                                                    [["a", "b"]], "Tre."]))
    assert doc.kind == "document"
    assert [doc.text[s.start : s.end] for s in doc.segments] == ["Plan", "Ett.", "To.",
                                                                 "a\tb", "Tre."]


# ---------------------------------------------------------------------------
# .pdf
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("flate", [False, True], ids=["plain", "flate"])
def test_pdf_with_text_layer(flate: bool, tmp_path: Path, pdf_bytes: Callable[..., bytes],
                             read_doc: Read, check_document: Check) -> None:
    path = tmp_path / "referat.pdf"
    path.write_bytes(pdf_bytes([
        ["Referat fra møtet", "I: Hvordan går det (med (kontoret))?",
         "JS3: Det går «bra», på en måte."],
        ["I: Og på side to?", "JS3: Æ, ø og å \\ fungerer."],
    ], flate=flate))
    doc = read_doc(path)
    check_document(doc)
    assert doc.source_format == "pdf"
    assert doc.text == (
        "Referat fra møtet\nI: Hvordan går det (med (kontoret))?\n"
        "JS3: Det går «bra», på en måte.\n\n"  # pages are separated by a blank line
        "I: Og på side to?\nJS3: Æ, ø og å \\ fungerer."
    )
    assert [(s.speaker, doc.text[s.start : s.end]) for s in doc.segments] == [
        (None, "Referat fra møtet"),
        ("I", "Hvordan går det (med (kontoret))?"),
        ("JS3", "Det går «bra», på en måte."),
        ("I", "Og på side to?"),
        ("JS3", "Æ, ø og å \\ fungerer."),
    ]


def test_pdf_without_text_layer_asks_for_ocr(tmp_path: Path, pdf_bytes: Callable[..., bytes],
                                             ingest_refused: Callable[..., IngestError]) -> None:
    path = tmp_path / "skannet.pdf"
    path.write_bytes(pdf_bytes([b"0 0 m 200 200 l S", b"q 1 0 0 1 0 0 cm Q"]))
    err = ingest_refused(path, "no text layer", "OCR")
    assert err.hint and "ocr" in err.hint.lower()


def test_pdf_with_owner_password_only_is_read(tmp_path: Path, pdf_bytes: Callable[..., bytes],
                                              read_doc: Read) -> None:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf_bytes([["I: Er dette låst?",
                                                                "JS3: Bare for redigering."]])))
    writer.encrypt(user_password="", owner_password="eier", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    path = tmp_path / "eierpassord.pdf"
    path.write_bytes(buf.getvalue())
    doc = read_doc(path)
    assert [s.speaker for s in doc.segments] == ["I", "JS3"]
    assert "låst" in doc.text


def test_corpus_pdf(corpus_dir: Path, read_doc: Read, check_document: Check) -> None:
    doc = read_doc(corpus_dir / "dokumenter" / "tiltaksplan_sor.pdf")
    check_document(doc)
    assert doc.kind == "document" and doc.source_format == "pdf"
    assert doc.text.startswith("Tiltaksplan for IPS ved (kontoret) 2026")
    assert len(doc.text) > 2000 and "jobbspesialister" in doc.text
    assert len(doc.segments) >= 2 and all(s.speaker is None for s in doc.segments)


# ---------------------------------------------------------------------------
# .vtt / .srt
# ---------------------------------------------------------------------------

VTT = """WEBVTT - intervju
Kind: captions
Language: no

STYLE
::cue { color: white }

NOTE transkribert automatisk,
rettet for hånd

1
00:00:01.000 --> 00:00:04.500 align:start position:10%
<v Intervjuer>Hei, og velkommen.</v>

intro-2
00:00:05.000 --> 00:00:07.000
<v.loud Intervjuer>Første spørsmål &amp; mer:
hvordan går det?

00:00:08.000 --> 00:00:10.000
<v JS3>Ja, <i>altså</i> «bra»

NOTE midt i

00:01:02.250 --> 00:01:05.000
<v JS3><b>fortsetter</b> her (...)

00:01:05.500 --> 00:01:07.000
<v Intervjuer>Takk.
"""


def test_vtt_voices_notes_and_merging(tmp_path: Path, read_doc: Read,
                                      check_document: Check) -> None:
    path = tmp_path / "opptak.vtt"
    path.write_text(VTT, encoding="utf-8")
    doc = read_doc(path)
    check_document(doc)
    assert doc.source_format == "vtt" and doc.kind == "interview"
    assert doc.text == (
        "Intervjuer: Hei, og velkommen. Første spørsmål & mer: hvordan går det?\n\n"
        "JS3: Ja, altså «bra» fortsetter her (...)\n\n"
        "Intervjuer: Takk."
    )
    assert [(s.speaker, doc.text[s.start : s.end], s.time_start, s.time_end)
            for s in doc.segments] == [
        ("Intervjuer", "Hei, og velkommen. Første spørsmål & mer: hvordan går det?", 1.0, 7.0),
        ("JS3", "Ja, altså «bra» fortsetter her (...)", 8.0, 65.0),
        ("Intervjuer", "Takk.", 65.5, 67.0),
    ]
    for seg in doc.segments:
        assert doc.text[: seg.start].endswith(f"{seg.speaker}: ")
    assert "NOTE" not in doc.text and "color" not in doc.text and "-->" not in doc.text


def test_vtt_cues_without_speaker_merge_until_a_pause(tmp_path: Path, read_doc: Read) -> None:
    path = tmp_path / "uten.vtt"
    path.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhei\n\n"
                    "00:00:03.500 --> 00:00:04.000\npå deg\n\n"
                    "00:00:09.000 --> 00:00:10.000\netter pause\n", encoding="utf-8")
    doc = read_doc(path)
    assert doc.kind == "document"
    assert [(s.speaker, doc.text[s.start : s.end], s.time_start, s.time_end)
            for s in doc.segments] == [(None, "hei på deg", 1.0, 4.0),
                                       (None, "etter pause", 9.0, 10.0)]


def test_srt_with_prefixes_bom_and_crlf(tmp_path: Path, read_doc: Read,
                                        check_document: Check) -> None:
    srt = ("1\r\n00:00:01,000 --> 00:00:03,500\r\nJS3: Hei der,\r\nto linjer.\r\n\r\n"
           "2\r\n00:00:04,000 --> 00:00:06,250\r\nJS3: mer fra meg\r\n\r\n"
           "3\r\n01:00:07,000 --> 01:00:09,000\r\nI: Og «så»?\r\n\r\n"
           "4\r\n01:00:10,000 --> 01:00:11,000\r\n<i>JS3: kursiv</i>\r\n")
    path = tmp_path / "opptak.srt"
    path.write_bytes(codecs.BOM_UTF8 + srt.encode())
    doc = read_doc(path)
    check_document(doc)
    assert doc.source_format == "srt"
    assert doc.text == "JS3: Hei der, to linjer. mer fra meg\n\nI: Og «så»?\n\nJS3: kursiv"
    assert [(s.speaker, s.time_start, s.time_end) for s in doc.segments] == [
        ("JS3", 1.0, 6.25), ("I", 3607.0, 3609.0), ("JS3", 3610.0, 3611.0)]


def test_corpus_vtt(corpus_dir: Path, read_doc: Read, check_document: Check) -> None:
    doc = read_doc(corpus_dir / "opptak" / "oppfolging_JS3.vtt")
    check_document(doc)
    speakers = [s.speaker for s in doc.segments]
    assert len(doc.segments) > 20 and set(speakers) == {"Intervjuer", "JS3"}
    assert all(a != b for a, b in itertools.pairwise(speakers))  # same-speaker cues merged
    starts = [s.time_start for s in doc.segments if s.time_start is not None]
    assert len(starts) == len(doc.segments)
    assert all(a < b for a, b in itertools.pairwise(starts))
    assert doc.segments[0].time_start == 1.0 and doc.segments[0].time_end == 13.6
    assert "<v" not in doc.text and "-->" not in doc.text


# ---------------------------------------------------------------------------
# .csv / .xlsx surveys
# ---------------------------------------------------------------------------

COMMA_CSV = (
    'id,rolle,kontor,alder,svar_samarbeid,svar_endring\n'
    '1,veileder,Nord,40,"Det går bra, vi snakker sammen hver dag","Flere felles møter, takk"\n'
    '2,jobbspesialist,Sør,35,"Hen sa ""vi får det til"", og så (...) ja",\n'
    '3,veileder,Nord,51,"Første avsnitt her.\n\nAndre avsnitt, etter en tom linje.",'
    '"Mer tid til hver bruker, rett og slett"\n'
)


def _survey_view(doc: ParsedDocument) -> list[tuple[str | None, str | None, str]]:
    for seg in doc.segments:
        assert doc.text[: seg.start].endswith(f"{seg.speaker}: ")
    return [(s.speaker, s.label, doc.text[s.start : s.end]) for s in doc.segments]


def test_csv_question_mode(tmp_path: Path, read_docs: ReadAll, check_document: Check) -> None:
    path = tmp_path / "svar.csv"
    path.write_text(COMMA_CSV, encoding="utf-8")
    docs = read_docs(path)
    for doc in docs:
        check_document(doc)
        assert doc.kind == "survey" and doc.source_format == "csv" and doc.attributes == {}
    assert [d.name for d in docs] == ["svar-svar_samarbeid", "svar-svar_endring"]
    assert _survey_view(docs[0]) == [
        ("R1", "svar_samarbeid", "Det går bra, vi snakker sammen hver dag"),
        ("R2", "svar_samarbeid", 'Hen sa "vi får det til", og så (...) ja'),
        ("R3", "svar_samarbeid", "Første avsnitt her.\nAndre avsnitt, etter en tom linje."),
    ]
    assert _survey_view(docs[1]) == [  # R2 left it empty
        ("R1", "svar_endring", "Flere felles møter, takk"),
        ("R3", "svar_endring", "Mer tid til hver bruker, rett og slett"),
    ]
    assert docs[0].speaker_attributes == {
        "R1": {"kontor": "Nord", "alder": 40, "role": "veileder"},
        "R2": {"kontor": "Sør", "alder": 35, "role": "jobbspesialist"},
        "R3": {"kontor": "Nord", "alder": 51, "role": "veileder"},
    }
    assert set(docs[1].speaker_attributes) == {"R1", "R3"}


def test_csv_respondent_mode(tmp_path: Path, read_docs: ReadAll, check_document: Check) -> None:
    path = tmp_path / "svar.csv"
    path.write_text(COMMA_CSV, encoding="utf-8")
    docs = read_docs(path, survey_mode="respondent")
    for doc in docs:
        check_document(doc)
    assert [d.name for d in docs] == ["svar-R1", "svar-R2", "svar-R3"]
    assert _survey_view(docs[1]) == [
        ("R2", "svar_samarbeid", 'Hen sa "vi får det til", og så (...) ja')]
    assert [s.label for s in docs[0].segments] == ["svar_samarbeid", "svar_endring"]
    assert docs[0].attributes == {"kontor": "Nord", "alder": 40}
    assert docs[0].speaker_attributes == {"R1": {"kontor": "Nord", "alder": 40,
                                                 "role": "veileder"}}


def test_csv_semicolon_with_decimal_commas_and_multiline_quotes(
        tmp_path: Path, read_docs: ReadAll) -> None:
    # regression: csv.Sniffer gave up on this (a typical Norwegian Excel export)
    path = tmp_path / "excel.csv"
    path.write_bytes(codecs.BOM_UTF8 + (
        'Respondent;Rolle;Lønn;Startdato;Svar\r\n'
        '1;veileder;40,5;01.02.2020;"Det fungerer greit; vi snakker ""mye"" sammen\r\nog ofte."\r\n'
        '2;jobbspesialist;41,25;2021-03-04;Ikke så bra, egentlig, hos oss nå\r\n'
    ).encode())
    (doc,) = read_docs(path)
    assert doc.name == "excel-Svar"
    assert _survey_view(doc) == [
        ("R1", "Svar", 'Det fungerer greit; vi snakker "mye" sammen\nog ofte.'),
        ("R2", "Svar", "Ikke så bra, egentlig, hos oss nå"),
    ]
    assert doc.speaker_attributes == {
        "R1": {"Lønn": 40.5, "Startdato": date(2020, 2, 1), "role": "veileder"},
        "R2": {"Lønn": 41.25, "Startdato": date(2021, 3, 4), "role": "jobbspesialist"},
    }


def test_csv_tab_separated(tmp_path: Path, read_docs: ReadAll) -> None:
    path = tmp_path / "tab.csv"
    path.write_text("id\tsvar\nA 1\tVi har det bra, takk; og du?\nB\tKort svar med fire ord\n",
                    encoding="utf-8")
    (doc,) = read_docs(path)
    assert [s.speaker for s in doc.segments] == ["A_1", "B"]  # spaces become underscores


def test_csv_id_column_is_found_by_name(tmp_path: Path, read_docs: ReadAll) -> None:
    path = tmp_path / "svar.csv"
    path.write_text("kontor,Deltaker,svar\nNord,7,Samarbeidet er godt her hos oss\n"
                    "Sør,12,Det kunne vært bedre hos oss\n", encoding="utf-8")
    (doc,) = read_docs(path)
    assert [s.speaker for s in doc.segments] == ["R7", "R12"]
    assert doc.speaker_attributes == {"R7": {"kontor": "Nord"}, "R12": {"kontor": "Sør"}}


def test_csv_named_id_and_text_columns(tmp_path: Path, read_docs: ReadAll) -> None:
    path = tmp_path / "svar.csv"
    path.write_text("nr,kode,kommentar,svar\n1,K-17,kort,Dette er svaret fra den første\n"
                    "2,K-18,,Dette er svaret fra den andre\n", encoding="utf-8")
    (doc,) = read_docs(path, id_column="kode", text_columns=("kommentar",))
    assert doc.name == "svar-kommentar"
    assert _survey_view(doc) == [("K-17", "kommentar", "kort")]
    assert doc.speaker_attributes == {"K-17": {"nr": 1, "svar": "Dette er svaret fra den første"}}


def test_csv_header_names_are_one_line(tmp_path: Path, read_docs: ReadAll) -> None:
    # regression: a line break in a header cell went into the document name and labels
    path = tmp_path / "svar.csv"
    path.write_text('id,"Hva synes du\nom  samarbeidet?"\n1,Det er bra her hos oss\n',
                    encoding="utf-8")
    (doc,) = read_docs(path)
    assert doc.name == "svar-Hva synes du om samarbeidet?"
    assert doc.segments[0].label == "Hva synes du om samarbeidet?"


def test_corpus_survey(corpus_dir: Path, read_docs: ReadAll, check_document: Check) -> None:
    docs = read_docs(corpus_dir / "survey" / "personalundersokelse.csv")
    assert [d.name for d in docs] == ["personalundersokelse-samarbeid_fungerer",
                                      "personalundersokelse-forbedringer"]
    for doc in docs:
        check_document(doc)
        assert len(doc.segments) > 20
        assert all(s.speaker and s.speaker.startswith("R") for s in doc.segments)
        assert {a["role"] for a in doc.speaker_attributes.values()} == {"veileder",
                                                                        "jobbspesialist"}
        _survey_view(doc)
    attrs = docs[0].speaker_attributes["R001"]
    assert attrs == {"kontor": "Nord", "ansiennitet_ar": 7, "role": "veileder"}


def test_xlsx_survey_numbers_dates_and_empty_cells(tmp_path: Path,
                                                   make_xlsx: Callable[..., Path],
                                                   read_docs: ReadAll,
                                                   check_document: Check) -> None:
    path = make_xlsx(tmp_path / "svar.xlsx", [
        ["respondent", "rolle", "alder", "lønn", "startdato", "sist_innlogget", "aktiv",
         "kommentar", "svar"],
        [1, "veileder", 40, 40.5, date(2020, 2, 1), datetime(2024, 3, 4, 10, 30), True,
         None, "Samarbeidet fungerer godt hos oss"],
        [2, "jobbspesialist", 35, None, datetime(2021, 3, 4), datetime(2024, 3, 5), False,
         "", "Det er for lite tid til å snakke sammen"],
        [3, None, None, 38.25, None, None, None, None, None],
        [None, None, None, None, None, None, None, None, None],
    ])
    (doc,) = read_docs(path)
    check_document(doc)
    assert doc.source_format == "xlsx" and doc.name == "svar-svar"
    assert _survey_view(doc) == [
        ("R1", "svar", "Samarbeidet fungerer godt hos oss"),
        ("R2", "svar", "Det er for lite tid til å snakke sammen"),
    ]
    assert doc.speaker_attributes == {
        "R1": {"alder": 40, "lønn": 40.5, "startdato": date(2020, 2, 1),
               "sist_innlogget": "2024-03-04 10:30:00", "aktiv": "true", "role": "veileder"},
        "R2": {"alder": 35, "startdato": date(2021, 3, 4), "sist_innlogget": "2024-03-05",
               "aktiv": "false", "role": "jobbspesialist"},
    }
    assert isinstance(doc.speaker_attributes["R1"]["alder"], int)


def test_xlsx_named_sheet(tmp_path: Path, make_xlsx: Callable[..., Path], read_docs: ReadAll,
                          ingest_refused: Callable[..., IngestError]) -> None:
    path = make_xlsx(tmp_path / "ark.xlsx", [["id", "svar"], [1, "Svar fra første ark her"]],
                     sheets={"Runde 2": [["id", "svar"], [9, "Svar fra andre ark her"]]})
    assert [s.speaker for s in read_docs(path)[0].segments] == ["R1"]
    assert [s.speaker for s in read_docs(path, sheet="Runde 2")[0].segments] == ["R9"]
    ingest_refused(path, "no sheet named 'Mangler'", "Svar, Runde 2", sheet="Mangler")


# ---------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------


def test_every_registered_format_has_a_reader() -> None:
    for suffix in FORMATS:
        assert callable(reader_for(Path(f"x{suffix}")))
        assert callable(reader_for(Path(f"X{suffix.upper()}")))


def test_source_files_skips_hidden_lock_and_unknown_files(tmp_path: Path) -> None:
    for rel in ["b.txt", "a.DOCX", "sub/c.vtt", "sub/.skjult.txt", ".git/d.txt",
                "~$laas.docx", "bilde.png", "notat.doc", "sub/dyp/e.csv"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in source_files(tmp_path)] == [
        "a.DOCX", "b.txt", "sub/c.vtt", "sub/dyp/e.csv"]
