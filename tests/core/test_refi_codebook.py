"""REFI-QDA codebooks: XSD-valid deterministic export, exact round trip, lenient and safe import."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcode import refi
from qcode.codebook import (
    DEFAULT_COLOR,
    ID_PATTERN,
    Code,
    Codebook,
    codebook_to_yaml,
    load_codebook_file,
    parse_codebook,
)
from qcode.errors import InputError
from qcode.refi import code_guid, qdc_bytes, read_qdc, slugify, write_qdc

from ..conftest import REPO

XSD = Path("/work/shared/data/refi-qda/Codebook.xsd")
SAMPLES = Path("/work/shared/data/refi-qda/samples")
CODEBOOKS = sorted((REPO / "codebooks").glob("*.yaml"))
GUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
NS = "urn:QDA-XML:codebook:1.0"


@pytest.fixture(scope="module")
def schema() -> Any:
    if not XSD.is_file():
        pytest.skip(f"{XSD} is not available")
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(XSD)))


def _validate(schema: Any, data: bytes) -> None:
    from lxml import etree

    doc = etree.parse(io.BytesIO(data))
    assert schema.validate(doc), str(schema.error_log)


def _book(path: Path) -> Codebook:
    return load_codebook_file(path)[0]


def _write(tmp_path: Path, text: str | bytes, name: str = "in.qdc") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def _qdpx(tmp_path: Path, members: dict[str, bytes], name: str = "p.qdpx") -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return _write(tmp_path, buffer.getvalue(), name)


def _code(name: str, extra: str = "", inner: str = "", guid: str | None = None) -> str:
    guid = guid or code_guid(slugify(name) + "-x")
    return f'<Code guid="{guid}" name="{name}" isCodable="true"{extra}>{inner}</Code>'


def _codebook(codes: str, ns: str | None = NS, sets: str = "") -> str:
    xmlns = f' xmlns="{ns}"' if ns else ""
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<CodeBook{xmlns} origin="Test 1.0">'
            f"<Codes>{codes}</Codes>{sets}</CodeBook>")


def _tricky() -> Codebook:
    """Values that would trip a naive labelled form."""
    leaf = Code(
        id="leaf_2", name="Blad  med  doble mellomrom", definition="Linje 1\nLinje 2\n\nAvsnitt 2",
        when_to_use="Når brukes ikke: dette er en del av «når brukes»",
        when_not_to_use="a | b & <c> \"d\"", example="\n\n  innrykk",
        color="#ABCDEF", indicators=("a;b", "[pause]", "c"), memo="Memo: memo\n\nqcode:id=falsk")
    middle = Code(id="midt", name="Midt", definition="Midt.", indicators=("[start",),
                  children=(leaf,))
    top = Code(id="topp", name="Topp", definition="Definisjon: nesten som etiketten.",
               when_to_use="Bruk", example="Eks", indicators=("én", "to"), children=(middle,))
    other = Code(id="annen", name="Annen", definition="Bare definisjon.")
    return Codebook(name="Vanskelig | bok", codes=(top, other), version="", language="en",
                    authors=("Å; B", "C"), description="Første\n\nandre  avsnitt")


# -- export -----------------------------------------------------------------------------


def test_code_guid_is_stable_lowercase_uuid5() -> None:
    assert code_guid("samarbeid") == code_guid("samarbeid")
    assert code_guid("samarbeid") != code_guid("samarbeid-2")
    assert GUID_RE.match(code_guid("samarbeid"))
    # Pinned: changing the namespace would break matching of earlier exports.
    assert code_guid("samarbeid") == "34ccc6ac-d13c-5ad5-bcd4-0600156c8352"


def test_there_are_shipped_codebooks() -> None:
    assert len(CODEBOOKS) >= 3


@pytest.mark.parametrize("path", CODEBOOKS, ids=lambda p: p.stem)
def test_shipped_codebook_export_is_xsd_valid(path: Path, schema: Any, tmp_path: Path) -> None:
    out = tmp_path / f"{path.stem}.qdc"
    write_qdc(_book(path), out)
    _validate(schema, out.read_bytes())


@pytest.mark.parametrize("path", CODEBOOKS, ids=lambda p: p.stem)
def test_export_is_deterministic_with_stable_guids(path: Path, tmp_path: Path) -> None:
    book = _book(path)
    first, second = tmp_path / "a.qdc", tmp_path / "b.qdc"
    write_qdc(book, first)
    write_qdc(book, second)
    assert first.read_bytes() == second.read_bytes()
    write_qdc(book, first)  # overwriting leaves the same bytes and no temp files behind
    assert first.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.qdc", "b.qdc"]
    guids = re.findall(rb'<Code guid="([^"]+)"', first.read_bytes())
    assert [g.decode() for g in guids] == [code_guid(i) for i in book.ids()]


@pytest.mark.parametrize("path", CODEBOOKS, ids=lambda p: p.stem)
def test_round_trip_gives_an_identical_codebook(path: Path, tmp_path: Path) -> None:
    book = _book(path)
    out = tmp_path / "x.qdc"
    write_qdc(book, out)
    back, report = read_qdc(out)
    assert back == book
    assert report[0].startswith(f"{len(book.ids())} codes read from x.qdc")
    assert not any("id made from name" in line for line in report)


def test_export_shape_follows_the_schema_and_the_hierarchy(tmp_path: Path) -> None:
    from lxml import etree

    book = _book(REPO / "codebooks" / "samarbeid.yaml")
    out = tmp_path / "s.qdc"
    write_qdc(book, out)
    data = out.read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    root = etree.fromstring(data)
    assert root.tag == f"{{{NS}}}CodeBook"
    assert root.get("origin") == f"qcode {__import__('qcode').__version__}"
    by_guid = {el.get("guid"): el for el in root.iter(f"{{{NS}}}Code")}
    for code, parent in book.walk():
        el = by_guid[code_guid(code.id)]
        assert el.get("name") == code.name
        assert el.get("isCodable") == "true"
        assert el.get("color") == code.color
        parent_el = el.getparent()
        if parent is None:
            assert parent_el.tag == f"{{{NS}}}Codes"
        else:
            assert parent_el.get("guid") == code_guid(parent)
        children = list(el)
        assert children[0].tag == f"{{{NS}}}Description"
        assert all(c.tag == f"{{{NS}}}Code" for c in children[1:])
        text = children[0].text
        assert text.startswith(f"Definisjon: {code.definition.splitlines()[0]}")
        assert text.endswith(f"qcode:id={code.id}")
        for label, value in (("Når brukes", code.when_to_use),
                             ("Når brukes ikke", code.when_not_to_use),
                             ("Eksempel", code.example), ("Memo", code.memo)):
            assert (f"\n\n{label}: " in text) == bool(value)
        if code.indicators:
            assert f"Indikatorer: {'; '.join(code.indicators)}" in text


def test_tricky_values_round_trip_and_validate(schema: Any, tmp_path: Path) -> None:
    book = _tricky()
    out = tmp_path / "t.qdc"
    write_qdc(book, out)
    _validate(schema, out.read_bytes())
    assert read_qdc(out)[0] == book


_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc"),
                              exclude_characters="\ufffe\uffff",
                              include_characters="\n\t"), max_size=40)
_NAME = _TEXT.map(str.strip).filter(bool)
_IDS = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)


@st.composite
def _codebooks(draw: st.DrawFn) -> Codebook:
    ids = draw(st.lists(_IDS, min_size=1, max_size=4, unique=True))
    codes = [Code(id=i, name=draw(_NAME), definition=draw(_TEXT), when_to_use=draw(_TEXT),
                  when_not_to_use=draw(_TEXT), example=draw(_TEXT),
                  color=draw(st.sampled_from(["#888888", "#12AB9F"])),
                  indicators=tuple(draw(st.lists(_TEXT, max_size=3))), memo=draw(_TEXT))
             for i in ids]
    nested = replace(codes[0], children=tuple(codes[1:]))
    return Codebook(name=draw(_NAME), codes=(nested,), version=draw(_TEXT),
                    language=draw(st.sampled_from(["nb", "en", "nn"])),
                    authors=tuple(draw(st.lists(_TEXT, max_size=2))),
                    description=draw(_TEXT))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_codebooks())
def test_any_codebook_round_trips(book: Codebook) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "h.qdc"
        write_qdc(book, out)
        back, _ = read_qdc(out)
    expected_codes = [c for c, _ in book.walk()]
    got_codes = [c for c, _ in back.walk()]
    # A code without definition gets its name as definition on import; nothing else changes.
    for want, got in zip(expected_codes, got_codes, strict=True):
        want_def = want.definition if want.definition.strip() else want.name
        assert got == replace(want, definition=want_def, children=got.children)
    assert (back.name, back.version, back.language, back.authors, back.description) == (
        book.name, book.version, book.language, book.authors, book.description)


def test_write_refuses_an_empty_codebook_and_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no codes"):
        write_qdc(Codebook(name="tom", codes=()), tmp_path / "x.qdc")
    book = Codebook(name="b", codes=(Code(id="a", name="A", definition="d"),))
    with pytest.raises(InputError, match="cannot write"):
        write_qdc(book, tmp_path / "missing" / "x.qdc")


def test_invalid_characters_are_dropped_so_the_file_stays_well_formed(schema: Any) -> None:
    book = Codebook(name="b", codes=(Code(id="a", name="A\x01", definition="d\x0bx"),))
    _validate(schema, qdc_bytes(book))


# -- samples written by other programs -------------------------------------------------


def _sample_files() -> list[Any]:
    if not SAMPLES.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{SAMPLES} is absent"))]
    files = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".qdc", ".qdpx"))
    return [pytest.param(p, id=p.name) for p in files]


def _xml_of(path: Path) -> bytes:
    if path.suffix == ".qdpx":
        with zipfile.ZipFile(path) as zf:
            return zf.read("project.qde")
    return path.read_bytes()


@pytest.mark.parametrize("path", _sample_files())
def test_every_sample_is_read(path: Path, schema: Any, tmp_path: Path) -> None:
    from lxml import etree

    root = etree.fromstring(_xml_of(path))
    count = sum(1 for el in root.iter() if etree.QName(el).localname == "Code")
    if count == 0:  # ATLAS.ti's blank project has users only
        with pytest.raises(InputError, match="no codebook") as err:
            read_qdc(path)
        assert str(path) in err.value.message
        return
    book, report = read_qdc(path)
    assert len(book.ids()) == count >= 1
    assert report and report[0].startswith(f"{count} code")
    assert all(ID_PATTERN.match(i) for i in book.ids())
    assert len(set(book.ids())) == count
    # What came in is a valid qcode codebook, and goes out as a valid .qdc again.
    again, problems = parse_codebook(codebook_to_yaml(book))
    assert again == book, [str(p) for p in problems]
    out = tmp_path / "again.qdc"
    write_qdc(book, out)
    _validate(schema, out.read_bytes())
    assert read_qdc(out)[0] == book


KNOWN_COUNTS = {
    "maxqda-24.7_icls-themes.qdpx": 307,
    "nvivo-win-12.6_oltas0517.qdpx": 152,
    "nvivo-mac-15.0_qc-project.qdpx": 262,
    "atlasti-win-23.2.3_target.qdpx": 3,
    "taguette-1.4.1_codebook.qdc": 3,
    "qualcoder-c320464_harness-codebook.qdc": 5,
}


@pytest.mark.parametrize("name,count", sorted(KNOWN_COUNTS.items()))
def test_sample_code_counts(name: str, count: int) -> None:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    assert len(read_qdc(path)[0].ids()) == count


def test_sample_quirks_are_reported() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"{SAMPLES} is absent")
    book, report = read_qdc(SAMPLES / "qualcoder-c320464_harness-codebook.qdc")  # BOM
    assert [c.name for c, _ in book.walk()] == ["food", "coffee", "Feelings", "Positive", "joy"]
    joy = book.find("joy")
    assert joy is not None and joy.definition == "joy memo"
    assert any("isCodable=false" in line and "Feelings" in line for line in report)
    report = read_qdc(SAMPLES / "taguette-1.4.1_codebook.qdc")[1]  # empty <Sets/>
    assert not any("Sets ignored" in line for line in report)
    report = read_qdc(SAMPLES / "atlasti-win-23.4.0_codebook_requal-fixture.qdc")[1]
    assert any(line.startswith("Sets ignored") and "code group 1" in line for line in report)
    book, report = read_qdc(SAMPLES / "maxqda-24.7_icls-themes.qdpx")
    assert book.name == "2025-06-16_ICLS_Conf_Themes_ALL_just10"
    assert all(c.color != DEFAULT_COLOR for c, _ in book.walk())
    assert any("only the codebook" in line for line in report)


# -- lenient import ---------------------------------------------------------------------


def test_no_namespace_and_missing_colours(tmp_path: Path) -> None:
    path = _write(tmp_path, _codebook(_code("Alfa") + _code("Beta", ' color="#abc"'), ns=None))
    book, report = read_qdc(path)
    assert [(c.id, c.name, c.color) for c in book.codes] == [
        ("alfa", "Alfa", DEFAULT_COLOR), ("beta", "Beta", "#AABBCC")]
    assert book.name == "in" and book.language == "nb"
    assert any("no namespace" in line for line in report)
    assert any(line.startswith("colour missing for 1 code") and "Alfa" in line
               for line in report)
    assert any("expanded" in line and "#AABBCC" in line for line in report)
    assert any(line.startswith("id made from name") for line in report)


def test_project_namespace_codebook_and_empty_sets(tmp_path: Path) -> None:
    text = _codebook(_code("Alfa", ' color="#00ff00"'), ns="urn:QDA-XML:project:1.0",
                     sets="<Sets/>")
    book, report = read_qdc(_write(tmp_path, text))
    assert book.codes[0].color == "#00FF00"
    assert not any("namespace" in line for line in report)


def test_other_qda_namespace_versions_are_read(tmp_path: Path) -> None:
    text = _codebook(_code("Alfa"), ns="urn:QDA-XML:codebook:0:4")
    book, report = read_qdc(_write(tmp_path, text))
    assert book.ids() == ["alfa"]
    assert any("urn:QDA-XML:codebook:0:4" in line for line in report)


def test_project_root_as_qde_and_qdpx(tmp_path: Path) -> None:
    project = ('<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0" name="Studie" '
               'origin="X"><Users><User guid="' + code_guid("u") + '" name="u"/></Users>'
               "<CodeBook><Codes>" + _code("Alfa", inner=_code("Beta")) + "</Codes></CodeBook>"
               "<Sources/></Project>")
    book, report = read_qdc(_write(tmp_path, project, "project.qde"))
    assert book.name == "Studie"
    assert book.codes[0].children[0].name == "Beta"
    assert any("only the codebook" in line for line in report)
    qdpx = _qdpx(tmp_path, {"project.qde": project.encode(), "sources/a.txt": b"x"})
    assert read_qdc(qdpx)[0] == book
    # A .qde named otherwise (the spec's annex says Project.qde) is taken when it is the only one.
    other = _qdpx(tmp_path, {"Project.qde": project.encode()}, "other.qdpx")
    book2, report2 = read_qdc(other)
    assert book2 == book
    assert any("'Project.qde'" in line for line in report2)


def test_untitled_project_is_named_after_the_file(tmp_path: Path) -> None:
    project = ('<Project xmlns="urn:QDA-XML:project:1.0" name="Untitled"><CodeBook><Codes>'
               + _code("Alfa") + "</Codes></CodeBook></Project>")
    book, _ = read_qdc(_qdpx(tmp_path, {"project.qde": project.encode()}, "min studie.qdpx"))
    assert book.name == "min studie"


def test_names_whitespace_duplicates_and_norwegian_ids(tmp_path: Path) -> None:
    codes = (_code("  Ærlighet\u00a0 og\tøkonomi på&#10;året ")
             + _code("Ærlighet og økonomi på året") + _code("日本") + _code("   "))
    book, report = read_qdc(_write(tmp_path, _codebook(codes)))
    assert [(c.id, c.name) for c in book.codes] == [
        ("aerlighet-og-okonomi-pa-aret", "Ærlighet og økonomi på året"),
        ("aerlighet-og-okonomi-pa-aret-2", "Ærlighet og økonomi på året"),
        ("code", "日本"),
        ("code-2", "Kode uten navn 1"),
    ]
    assert any(line.startswith("odd whitespace in names tidied") for line in report)
    assert any("used by more than one code" in line and "aerlighet-og-okonomi-pa-aret-2" in line
               for line in report)
    assert any("without a name" in line for line in report)


def test_slugify() -> None:
    assert slugify("Når brukes?") == "nar-brukes"
    assert slugify("Øvrig / ÆØÅ") == "ovrig-aeoa"
    assert slugify("Attitűd szint") == "attitud-szint"
    assert slugify("!!!") == "code"
    assert len(slugify("x" * 200)) <= 60


def test_descriptions_and_odd_colours(tmp_path: Path) -> None:
    codes = (_code("A", ' color="rgb(1, 2, 3)"', "<Description>  Plain\r\ntext  </Description>")
             + _code("B", ' color="#11223344"', "<Description>   </Description>")
             + _code("C", ' color="blue"'))
    book, report = read_qdc(_write(tmp_path, _codebook(codes)))
    a, b, c = book.codes
    assert (a.definition, a.color) == ("Plain\ntext", "#010203")
    assert (b.definition, b.color) == ("B", "#112233")
    assert (c.definition, c.color) == ("C", DEFAULT_COLOR)
    assert any(line.startswith("definition missing for 2 codes") for line in report)
    assert any("not understood" in line and "'blue'" in line for line in report)


def test_guid_forms_and_categories(tmp_path: Path) -> None:
    guid = "{" + code_guid("x").upper() + "}"
    codes = ('<Code guid="' + guid + '" name="Kat" isCodable="false">'
             + _code("Barn") + "</Code>")
    book, report = read_qdc(_write(tmp_path, _codebook(codes)))
    assert book.codes[0].children[0].id == "barn"
    assert any("isCodable=false" in line and "Kat" in line for line in report)


def test_qcode_marker_with_a_foreign_guid_keeps_fields_but_not_the_id(tmp_path: Path) -> None:
    book = Codebook(name="b", codes=(Code(id="min-kode", name="Annet navn", definition="D",
                                          when_to_use="W", indicators=("i",)),))
    text = qdc_bytes(book).decode().replace(code_guid("min-kode"), code_guid("noe-annet"))
    back, report = read_qdc(_write(tmp_path, text))
    code = back.codes[0]
    assert (code.id, code.definition, code.when_to_use, code.indicators) == (
        "annet-navn", "D", "W", ("i",))
    assert any("GUID changed" in line for line in report)


def test_an_edited_labelled_description_is_taken_as_plain_text(tmp_path: Path) -> None:
    book = Codebook(name="b", codes=(Code(id="k", name="K", definition="D"),))
    text = qdc_bytes(book).decode().replace("Definisjon: D", "Definisjon: D\nedited")
    code = read_qdc(_write(tmp_path, text))[0].codes[0]
    assert code.id == "k"
    assert code.definition.startswith("Definisjon: D\nedited")


def test_utf16_file_is_read(tmp_path: Path) -> None:
    text = _codebook(_code("Å"), ns=NS).replace('encoding="utf-8"', 'encoding="utf-16"')
    book, _ = read_qdc(_write(tmp_path, text.encode("utf-16")))
    assert book.codes[0].name == "Å"


def test_codes_without_wrapper_and_empty_codes(tmp_path: Path) -> None:
    bare = f'<CodeBook xmlns="{NS}">{_code("A")}</CodeBook>'
    assert read_qdc(_write(tmp_path, bare))[0].ids() == ["a"]
    for body in (f'<CodeBook xmlns="{NS}"><Codes/><Sets/></CodeBook>',
                 f'<CodeBook xmlns="{NS}"><Codes></Codes></CodeBook>',
                 f'<CodeBook xmlns="{NS}"/>'):
        path = _write(tmp_path, body)
        with pytest.raises(InputError, match="no codes") as err:
            read_qdc(path)
        assert str(path) in err.value.message


def test_too_deep_nesting_is_refused(tmp_path: Path) -> None:
    inner = ""
    for i in range(40):
        inner = _code(f"k{i}", inner=inner)
    path = _write(tmp_path, _codebook(inner))
    with pytest.raises(InputError, match="deeper than 32"):
        read_qdc(path)


# -- hostile and broken input -----------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>
<Code guid="34ccc6ac-d13c-5ad5-bcd4-0600156c8352" name="&lol4;" isCodable="true"/>
</Codes></CodeBook>
"""
EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            f'<CodeBook xmlns="{NS}"><Codes>{_code("&x;")}</Codes></CodeBook>')


def _refused(path: Path, match: str) -> InputError:
    with pytest.raises(InputError, match=match) as err:
        read_qdc(path)
    assert str(path) in err.value.message
    assert "\n" not in err.value.one_line()
    assert err.value.hint
    return err.value


@pytest.mark.parametrize("text", [BILLION_LAUGHS, EXTERNAL], ids=["laughs", "external"])
def test_doctype_and_entities_are_refused(tmp_path: Path, text: str) -> None:
    _refused(_write(tmp_path, text), "DOCTYPE or entities")


def test_doctype_after_the_first_4_kib_is_refused_too(tmp_path: Path) -> None:
    text = ('<?xml version="1.0"?><!--' + "x" * 5000 + "-->" + BILLION_LAUGHS.split("?>", 1)[1])
    _refused(_write(tmp_path, text), "DOCTYPE or entities")


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, f'<?xml version="1.0"?>\n<CodeBook xmlns="{NS}">\n<Codes>\n'
                            "</CodeBook>\n")
    error = _refused(path, "not well-formed")
    assert f"{path}:4:" in error.message


@pytest.mark.parametrize("data", [b"", b"  \n", b"\xef\xbb\xbf"], ids=["empty", "blank", "bom"])
def test_empty_file_is_refused(tmp_path: Path, data: bytes) -> None:
    _refused(_write(tmp_path, data), "empty")


def test_zip_without_project_qde_is_refused(tmp_path: Path) -> None:
    path = _qdpx(tmp_path, {"sources/a.txt": b"x", "a.qde": b"", "b.qde": b""})
    _refused(path, "project.qde is missing")


def test_qdpx_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    _refused(_write(tmp_path, b"not a zip", "broken.qdpx"), "not a valid .qdpx")


def test_qdpx_with_doctype_in_project_qde_is_refused(tmp_path: Path) -> None:
    path = _qdpx(tmp_path, {"project.qde": BILLION_LAUGHS.encode()})
    _refused(path, "DOCTYPE or entities")


def test_wrong_root_and_project_without_codebook(tmp_path: Path) -> None:
    _refused(_write(tmp_path, "<html><body/></html>"), "root element is <html>")
    _refused(_write(tmp_path, '<Project xmlns="urn:QDA-XML:project:1.0" name="p"><Users>'
                              "</Users></Project>"), "no codebook")


def test_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refi, "MAX_XML_BYTES", 100)
    _refused(_write(tmp_path, _codebook(_code("A" * 200))), "refused: the file is")
    monkeypatch.setattr(refi, "MAX_QDPX_BYTES", 10**6)
    path = _qdpx(tmp_path, {"project.qde": ('<Project xmlns="urn:QDA-XML:project:1.0" name="p">'
                                            "<CodeBook><Codes>" + _code("B" * 200)
                                            + "</Codes></CodeBook></Project>").encode()})
    _refused(path, "project.qde unpacks to")


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "nope.qdc", "cannot be read")
