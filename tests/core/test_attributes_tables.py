"""Typed attributes (inference, conversion, sidecars, file-name patterns) and table reading."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcode.errors import IngestError, InputError
from qcode.ingest.attributes import (
    convert,
    filename_attributes,
    infer_type,
    read_attribute_table,
)
from qcode.ingest.hygiene import clean_text
from qcode.ingest.tables import read_csv, read_table, read_xlsx, sniff_delimiter
from qcode.models import AttributeType, ParsedDocument

# ---------------------------------------------------------------------------
# infer_type / convert
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["40", "35", "-2", "+7"], "number"),
        (["40,5", "41.25", "0", ""], "number"),
        ([40, 40.5, None], "number"),
        (["2026-02-10", "2026-03-01"], "date"),
        (["10.02.2026", "1.3.2026", " 2026-03-01 "], "date"),
        ([date(2026, 2, 10), "11.02.2026"], "date"),
        (["2026-02-30"], "text"),  # not a real day
        (["31.02.2026"], "text"),
        (["2026-2-1"], "text"),
        (["40", "førti"], "text"),
        (["40,5,1"], "text"),
        (["1 000"], "text"),
        (["2026-02-10", "40"], "text"),
        (["Nord", "Sør"], "text"),
        ([], "text"),
        ([None, "", None], "text"),
    ],
)
def test_infer_type(values: list[object], kind: AttributeType) -> None:
    assert infer_type(values) == kind  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("40", "number", 40),
        (" -3 ", "number", -3),
        ("40,5", "number", 40.5),
        ("41.25", "number", 41.25),
        (7.5, "number", 7.5),
        ("2026-02-10", "date", date(2026, 2, 10)),
        ("10.02.2026", "date", date(2026, 2, 10)),
        (date(2026, 2, 10), "date", date(2026, 2, 10)),
        (" Nord ", "text", "Nord"),
        (date(2026, 2, 10), "text", "2026-02-10"),
        (34, "text", "34"),
        (None, "number", None),
        ("", "date", None),
    ],
)
def test_convert(value: object, kind: AttributeType, expected: object) -> None:
    result = convert(value, kind)  # type: ignore[arg-type]
    assert result == expected and type(result) is type(expected)


def test_convert_bad_date_is_an_input_error() -> None:
    with pytest.raises(InputError) as info:
        convert("i fjor", "date")
    assert "'i fjor' is not a date" in info.value.message and info.value.hint


# ---------------------------------------------------------------------------
# sidecar attribute tables
# ---------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_speaker_sidecar(tmp_path: Path) -> None:
    path = _write(tmp_path, "informanter.csv",
                  "informant,rolle,kontor,alder,lønn,intervjudato\n"
                  'JS1,jobbspesialist,Nord,34,"40,5",2026-02-10\n'
                  "V1,veileder,Sør,31,38.5,11.02.2026\n"
                  "V2,,Sør,,,\n")
    table = read_attribute_table(path)
    assert (table.scope, table.key_column) == ("speaker", "informant")
    assert dict(table.types) == {"kontor": "text", "alder": "number", "lønn": "number",
                                 "intervjudato": "date"}
    assert table.values["JS1"] == {"kontor": "Nord", "alder": 34, "lønn": 40.5,
                                   "intervjudato": date(2026, 2, 10)}
    assert table.values["V1"]["intervjudato"] == date(2026, 2, 11)
    assert table.values["V2"] == {"kontor": "Sør"}
    assert dict(table.roles) == {"JS1": "jobbspesialist", "V1": "veileder"}


def test_key_column_found_by_name_anywhere(tmp_path: Path) -> None:
    table = read_attribute_table(_write(tmp_path, "a.csv", "kontor,Taler,alder\nNord,JS1,34\n"))
    assert (table.scope, table.key_column) == ("speaker", "Taler")
    assert dict(table.values) == {"JS1": {"kontor": "Nord", "alder": 34}}


def test_first_column_is_the_key_by_default(tmp_path: Path) -> None:
    table = read_attribute_table(_write(tmp_path, "a.csv", "kode,alder\nJS1,34\nV1,31\n"))
    assert (table.scope, table.key_column) == ("speaker", "kode")
    assert set(table.values) == {"JS1", "V1"}


@pytest.mark.parametrize("key", ["document", "Dokument", "fil", "filename"])
def test_document_sidecar(key: str, tmp_path: Path) -> None:
    path = _write(tmp_path, "dok.csv", f"{key},rolle,år,kontor\nJS1,veileder,2026,Nord\n"
                                       "plan,,2025,Sør\n")
    table = read_attribute_table(path)
    assert (table.scope, table.key_column) == ("document", key)
    # a role column means nothing for documents: it stays an ordinary attribute
    assert dict(table.roles) == {}
    assert table.values["JS1"] == {"rolle": "veileder", "år": 2026, "kontor": "Nord"}
    assert table.values["plan"] == {"år": 2025, "kontor": "Sør"}


def test_type_overrides(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.csv", "informant,postnummer,alder\nJS1,0150,34\n")
    assert read_attribute_table(path).values["JS1"]["postnummer"] == 150
    table = read_attribute_table(path, {"postnummer": "text"})
    assert table.types["postnummer"] == "text"
    assert table.values["JS1"] == {"postnummer": "0150", "alder": 34}


@pytest.mark.parametrize(
    ("body", "overrides", "fragments"),
    [
        ("informant,alder\nJS1,34\nJS1,35\n", None, ("'JS1' appears twice (row 3)",)),
        ("informant,alder\nJS1,34\n,35\n", None, ("row 3 has an empty 'informant'",)),
        ("informant,kontor\nJS1,Nord\n", {"kontor": "number"},
         ("row 2, column 'kontor'", "kontor=text")),
        ("informant,dato\nJS1,snart\n", {"dato": "date"}, ("row 2, column 'dato'", "not a date")),
        ("informant,alder,alder\nJS1,1,2\n", None, ("duplicate column names: alder",)),
    ],
)
def test_bad_sidecar(body: str, overrides: dict[str, AttributeType] | None,
                     fragments: tuple[str, ...], tmp_path: Path) -> None:
    path = _write(tmp_path, "informanter.csv", body)
    with pytest.raises(IngestError) as info:
        read_attribute_table(path, overrides)
    line = info.value.one_line()
    assert str(path) in info.value.message and "\n" not in line
    for fragment in fragments:
        assert fragment in line


def test_sidecar_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot be read"):
        read_attribute_table(tmp_path / "mangler.csv")
    with pytest.raises(IngestError, match="not a table"):
        read_attribute_table(_write(tmp_path, "a.txt", "informant,alder\n"))


def test_xlsx_sidecar(tmp_path: Path, make_xlsx: Callable[..., Path]) -> None:
    path = make_xlsx(tmp_path / "informanter.xlsx", [
        ["informant", "role", "alder", "timer", "dato", "kontor"],
        ["JS1", "jobbspesialist", 34, 7.5, datetime(2026, 2, 10), "Nord"],
        ["V1", "veileder", 31, None, date(2026, 2, 11), None],
    ])
    table = read_attribute_table(path)
    assert dict(table.types) == {"alder": "number", "timer": "number", "dato": "date",
                                 "kontor": "text"}
    assert table.values["JS1"] == {"alder": 34, "timer": 7.5, "dato": date(2026, 2, 10),
                                   "kontor": "Nord"}
    assert table.values["V1"] == {"alder": 31, "dato": date(2026, 2, 11)}
    assert dict(table.roles) == {"JS1": "jobbspesialist", "V1": "veileder"}


def test_corpus_informants(corpus_dir: Path, read_docs: Callable[..., list[ParsedDocument]]
                           ) -> None:
    table = read_attribute_table(corpus_dir / "informants.csv")
    assert (table.scope, table.key_column) == ("speaker", "informant")
    interviewed = {f"{p}{i}" for p in ("JS", "V") for i in range(1, 7)}
    focus_group = {"JS7", "JS8", "V7", "V8", "V9"}
    assert set(table.values) == interviewed | focus_group
    # every informant the transcripts speak with has a row
    speakers = {s.speaker for folder in ("intervjuer", "fokusgruppe")
                for path in sorted((corpus_dir / folder).glob("*.txt"))
                for doc in read_docs(path) for s in doc.segments if s.speaker}
    assert speakers - {"I"} == interviewed | focus_group
    assert table.types["age"] == "number" and table.types["interview_date"] == "date"
    assert table.values["JS1"]["age"] == 34
    assert table.values["JS2"]["interview_date"] == date(2026, 2, 12)
    assert set(table.roles.values()) == {"jobbspesialist", "veileder"}
    assert "role" not in table.types


# ---------------------------------------------------------------------------
# file-name attributes
# ---------------------------------------------------------------------------


def test_filename_attributes() -> None:
    pattern = (r"(?P<kontor>[^_]+)_(?P<informant>[A-Z]+\d+)_(?P<dato>\d{4}-\d{2}-\d{2})"
               r"(?:_runde(?P<runde>\d+))?")
    assert filename_attributes(pattern, "Nord_JS3_2026-02-17_runde2.txt") == {
        "kontor": "Nord", "informant": "JS3", "dato": date(2026, 2, 17), "runde": 2}
    # an optional group that did not match is left out
    assert filename_attributes(pattern, "Sør_V5_2026-03-01.docx") == {
        "kontor": "Sør", "informant": "V5", "dato": date(2026, 3, 1)}
    assert filename_attributes(pattern, "uten-treff.txt") == {}
    assert filename_attributes(r"v(?P<versjon>\d+,\d+)", "plan v1,5.pdf") == {"versjon": 1.5}


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [("(?P<kontor>[^_]+", "not a valid regex"), ("(?P<kontor>*)", "not a valid regex"),
     (r"([^_]+)_(\d+)", "has no named groups")],
)
def test_bad_filename_pattern(pattern: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        filename_attributes(pattern, "Nord_1.txt")
    assert fragment in info.value.message and repr(pattern) in info.value.message
    assert info.value.hint and "\n" not in info.value.one_line()


# ---------------------------------------------------------------------------
# reading tables
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("id,svar\n1,hei; du\n", ","),
        ("id;svar\n1;hei, du\n", ";"),
        ("id\tsvar\n1\thei, du; ja\n", "\t"),
        ("id;alder;svar\n1;40,5;Greit nok\n2;41,5;Mindre bra, altså\n", ";"),
        ('id;svar\n1;"Hen sa ""ja""; og så\nnei"\n2;ok\n', ";"),
        ('id,svar\n1,"a; b; c; d"\n2,"e; f"\n', ","),
        ("svar\nbare én kolonne\n", ","),
        ("id;svar\n" + "1;" + "x, " * 9000 + "\n2;y\n", ";"),  # sample ends inside a row
    ],
)
def test_sniff_delimiter(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter


def test_read_csv_details() -> None:
    raw = codecs.BOM_UTF8 + (
        "id, Hva  synes\u00a0du? ,,kontor\r\n"
        "\r\n"
        "1,«Bra» (...),x,Nord\r\n"
        " , , , \r\n"
        "2,kort\r\n"
    ).encode()
    table = read_csv(raw, "t.csv")
    assert table.header == ("id", "Hva synes du?", "column_3", "kontor")  # BOM gone
    assert table.rows == (("1", "«Bra» (...)", "x", "Nord"), ("2", "kort", "", ""))
    assert table.warnings == ()


def test_read_csv_cp1252_carries_the_warning() -> None:
    table = read_csv("id;svar\n1;Ærlig talt «bra»\n".encode("cp1252"), "t.csv")
    assert table.rows == (("1", "Ærlig talt «bra»"),)
    assert table.warnings and "Windows-1252" in table.warnings[0]


def test_read_xlsx_cell_types(tmp_path: Path, make_xlsx: Callable[..., Path]) -> None:
    path = make_xlsx(tmp_path / "t.xlsx", [
        ["tall", "desimal", "dato", "tidspunkt", "sann", "tom", 2026],
        [1, 2.5, datetime(2026, 2, 10), datetime(2026, 2, 10, 9, 30), True, None,
         unicodedata.normalize("NFD", "Åse")],
        [None, None, None, None, None, None, "x"],
    ])
    table = read_xlsx(path.read_bytes(), str(path))
    assert table.header == ("tall", "desimal", "dato", "tidspunkt", "sann", "tom", "2026")
    assert table.rows == (
        (1, 2.5, date(2026, 2, 10), "2026-02-10 09:30:00", "true", None, "Åse"),
        (None, None, None, None, None, None, "x"),
    )


def test_read_table_by_extension(tmp_path: Path) -> None:
    path = _write(tmp_path, "T.CSV", "a,b\n1,2\n")
    assert read_table(path, path.read_bytes()).rows == (("1", "2"),)
    with pytest.raises(IngestError, match=r"not a table \(\.json\)"):
        read_table(tmp_path / "t.json", b"{}")


NAMES = st.lists(st.from_regex(r"[a-zæøå][a-zæøå0-9_]{0,6}", fullmatch=True),
                 min_size=2, max_size=5, unique=True)
CELLS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=15)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), header=NAMES, delimiter=st.sampled_from([",", ";", "\t"]))
def test_csv_round_trip(data: st.DataObject, header: list[str], delimiter: str) -> None:
    rows = data.draw(st.lists(st.lists(CELLS, min_size=len(header), max_size=len(header)),
                              max_size=8))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    table = read_csv(buf.getvalue().encode("utf-8"), "t.csv")
    assert table.header == tuple(header)
    assert table.rows == tuple(tuple(clean_text(c) for c in row) for row in rows
                               if any(c.strip() for c in row))
