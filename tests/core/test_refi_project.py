"""REFI-QDA projects (.qdpx): XSD-valid deterministic export, exact round trip, position
counting rules (code points, UTF-16, CRLF), real samples from other programs, hostile files."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcode import refi_project, services
from qcode.demo import build_demo
from qcode.errors import InputError
from qcode.ingest.hygiene import clean_text
from qcode.refi import code_guid
from qcode.refi_project import (
    RULES,
    choose_rule,
    clean_with_map,
    export_qdpx,
    import_qdpx,
    object_guid,
)
from qcode.store import Store

SHARED = Path("/work/shared/data/refi-qda")
XSD = SHARED / "Project.xsd"
SAMPLES = SHARED / "samples"
SAMPLE_FILES = sorted(SAMPLES.glob("*.qdpx")) if SAMPLES.is_dir() else []
NS = "urn:QDA-XML:project:1.0"
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def schema() -> Any:
    if not XSD.is_file():
        pytest.skip(f"{XSD} is not available")
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(XSD)))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The demo project (18 documents, 3 codebooks, 2 coders, memos, attributes)."""
    folder = tmp_path_factory.mktemp("demo")
    store = services.open_project(build_demo(folder).path)
    yield store
    store.close()


@pytest.fixture(scope="module")
def demo_qdpx(demo: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_qdpx(demo, tmp_path_factory.mktemp("qdpx") / "demo.qdpx").path


def _fresh(tmp_path: Path, name: str = "fresh") -> Store:
    return services.open_project(services.init_project(tmp_path / f"{name}.qcode", actor="t"))


def _codings(store: Store) -> set[tuple[Any, ...]]:
    return {(k.document, k.start, k.end, k.code_id, k.coder_id) for k in store.codings()}


def _write_qdpx(path: Path, qde: str | bytes, files: dict[str, bytes] | None = None) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", qde.encode("utf-8") if isinstance(qde, str) else qde)
        for name, data in (files or {}).items():
            zf.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return path


# -- export ------------------------------------------------------------------------------


def test_export_is_valid_against_project_xsd(demo_qdpx: Path, schema: Any) -> None:
    from lxml import etree

    with zipfile.ZipFile(demo_qdpx) as zf:
        doc = etree.parse(io.BytesIO(zf.read("project.qde")))
    assert schema.validate(doc), str(schema.error_log)


def test_export_is_deterministic_and_shaped_as_the_spec_says(demo: Store, demo_qdpx: Path,
                                                              tmp_path: Path) -> None:
    again = export_qdpx(demo, tmp_path / "again.qdpx")
    assert again.path.read_bytes() == demo_qdpx.read_bytes()
    assert (again.documents, again.codes, again.codings, again.users) == (18, 44, 776, 2)
    with zipfile.ZipFile(demo_qdpx) as zf:
        names = zf.namelist()
        qde = zf.read("project.qde").decode("utf-8")
        texts = {n: zf.read(n) for n in names if n != "project.qde"}
    assert names[0] == "project.qde" and len(texts) == 18
    assert all(re.fullmatch(r"sources/[0-9a-f-]{36}\.txt", n) for n in texts)
    for doc in demo.documents():
        raw = texts[f"sources/{object_guid('document', doc.uid)}.txt"]
        assert not raw.startswith(BOM) and b"\r" not in raw
        assert raw.decode("utf-8") == demo.document(doc.id).text
    assert f'xmlns="{NS}"' in qde
    assert all(f'<Code guid="{code_guid(c.id)}"' in qde for c in demo.codes())
    # every selection names the text it covers, in code points, end exclusive
    k = demo.codings()[0]
    assert f'startPosition="{k.start}" endPosition="{k.end}"' in qde
    order = [qde.index(f"<{tag}") for tag in ("Users", "CodeBook", "Variables", "Cases",
                                              "Sources", "Notes", "Sets")]
    assert order == sorted(order)


@pytest.fixture(scope="module")
def reimported(demo_qdpx: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A fresh project, a dry run of importing the demo export into it, then the import."""
    fresh = _fresh(tmp_path_factory.mktemp("reimport"))
    before = fresh.counts()
    dry = import_qdpx(fresh, demo_qdpx, actor="t", dry_run=True)
    assert fresh.counts() == before
    report = import_qdpx(fresh, demo_qdpx, actor="t")
    yield fresh, dry, report
    fresh.close()


def _counts(store: Store) -> dict[str, int]:
    return {k: v for k, v in store.counts().items() if k != "events"}


def test_round_trip_gives_the_same_documents_codes_and_codings(demo: Store,
                                                               reimported: Any) -> None:
    fresh, _dry, report = reimported
    assert report.count("new") == 18 and not report.problems, report.lines()
    assert {d.name: demo.document(d.id).text for d in demo.documents()} == \
        {d.name: fresh.document(d.id).text for d in fresh.documents()}
    fields = ("id", "parent_id", "codebook", "name", "definition", "when_to_use",
              "when_not_to_use", "example", "color", "indicators", "memo")
    assert [tuple(getattr(c, f) for f in fields) for c in demo.codes()] == \
        [tuple(getattr(c, f) for f in fields) for c in fresh.codes()]
    assert [b[1] for b in fresh.codebook_names()] == [b[1] for b in demo.codebook_names()]
    assert _codings(fresh) == _codings(demo)
    assert {k.uid: k.memo for k in fresh.codings()} == {k.uid: k.memo for k in demo.codings()}
    assert fresh.coders() == demo.coders()

    def memos(s: Store) -> list[tuple[Any, ...]]:
        return sorted((m.scope, m.author, m.title, m.body, m.created_at) for m in s.memos())

    assert memos(fresh) == memos(demo)
    assert fresh.attributes("speaker") == demo.attributes("speaker")
    assert fresh.attributes("document") == demo.attributes("document")
    assert {s.id: s.role for s in fresh.speakers()} == {s.id: s.role for s in demo.speakers()}
    assert {c.split(" → ")[1] for c in report.coders} == {"coder-a (new)", "coder-b (new)"}


def test_importing_the_same_file_again_changes_nothing(demo_qdpx: Path,
                                                       reimported: Any) -> None:
    fresh = reimported[0]
    counts = fresh.counts()
    again = import_qdpx(fresh, demo_qdpx, actor="t")
    assert again.count("existing") == 18 and again.codings_added == 0
    assert again.codings_existing == 776
    assert again.memos_added == again.codes_added == 0
    assert fresh.counts() == counts  # events too: nothing happened


def test_dry_run_writes_nothing_and_says_what_it_would_do(reimported: Any) -> None:
    _fresh_store, dry, report = reimported
    assert dry.dry_run and dry.lines()[0].startswith("Would import")
    assert (dry.count("new"), dry.codings_added, dry.memos_added, dry.codes_added) == \
        (report.count("new"), report.codings_added, report.memos_added, report.codes_added)


def test_import_is_all_or_nothing(demo_qdpx: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = _fresh(tmp_path)
    before = fresh.counts()
    calls = {"n": 0}
    original = Store.insert_coding_row

    def failing(self: Store, values: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 100:
            raise RuntimeError("disk on fire")
        return original(self, values)

    monkeypatch.setattr(Store, "insert_coding_row", failing)
    with pytest.raises(RuntimeError):
        import_qdpx(fresh, demo_qdpx)
    assert fresh.counts() == before
    fresh.close()


# -- positions: code points, UTF-16 units, CRLF as one or two, BOM -------------------------

TEXT = ("Intervju 1\nQ: Hvordan går det? 😀 Veldig bra.\nA: Naïve kafé — flott 🎉🎉 ja, "
        "alfabetisk.\nQ: Og 𝄞 musikken?\nA: Bokstavelig talt.\n")
PIECES = ("Veldig bra", "kafé", "alfabetisk", "musikken", "Bokstavelig talt")


def _position(raw: str, index: int, utf16: bool, crlf_one: bool) -> int:
    before = raw[:index]
    units = sum(2 if utf16 and ord(ch) > 0xFFFF else 1 for ch in before)
    return units - (before.count("\r\n") if crlf_one else 0)


def _rule_file(path: Path, *, utf16: bool, crlf_one: bool, crlf: bool, bom: bool,
               names: bool, origin: str) -> Path:
    raw = TEXT.replace("\n", "\r\n") if crlf else TEXT
    selections = []
    for n, piece in enumerate(PIECES):
        i = raw.index(piece)
        s = _position(raw, i, utf16, crlf_one)
        e = _position(raw, i + len(piece), utf16, crlf_one)
        name = piece if names else ""
        selections.append(
            f'<PlainTextSelection guid="{object_guid("t-sel", str(n))}" name="{name}" '
            f'startPosition="{s}" endPosition="{e}" creatingUser="{object_guid("t", "u")}">'
            f'<Coding guid="{object_guid("t-coding", str(n))}">'
            f'<CodeRef targetGUID="{object_guid("t", "code")}"/></Coding></PlainTextSelection>')
    src = object_guid("t", "src")
    qde = (f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{NS}" name="t" '
           f'origin="{origin}"><Users><User guid="{object_guid("t", "u")}" name="Kari"/></Users>'
           f'<CodeBook><Codes><Code guid="{object_guid("t", "code")}" name="Stemning" '
           f'isCodable="true"/></Codes></CodeBook><Sources><TextSource guid="{src}" '
           f'name="intervju" plainTextPath="internal://{src}.txt">{"".join(selections)}'
           f"</TextSource></Sources></Project>")
    data = (BOM if bom else b"") + raw.encode("utf-8")
    return _write_qdpx(path, qde, {f"Sources/{src}.txt": data})


@pytest.mark.parametrize(("utf16", "crlf_one", "crlf", "bom", "origin", "described"), [
    (False, False, False, True, "QualCoder 4.0 Beta", "code points"),
    (True, False, True, True, "NVivo for Windows 12.6", "UTF-16 code units, CRLF counted as two"),
    (False, True, True, False, "ATLAS.ti for Windows 23", "code points, CRLF counted as one"),
    (True, True, True, False, "Some tool", "UTF-16 code units, CRLF counted as one"),
    (False, False, True, False, "Some tool", "code points, CRLF counted as two"),
    (True, False, False, False, "Some tool", "UTF-16 code units"),
])
@pytest.mark.parametrize("names", [True, False])
def test_counting_rule_is_detected_and_spans_land_on_their_text(
        tmp_path: Path, utf16: bool, crlf_one: bool, crlf: bool, bom: bool, origin: str,
        described: str, names: bool) -> None:
    path = _rule_file(tmp_path / "t.qdpx", utf16=utf16, crlf_one=crlf_one, crlf=crlf, bom=bom,
                      names=names, origin=origin if names else "Some tool")
    fresh = _fresh(tmp_path)
    report = import_qdpx(fresh, path)
    row = report.sources[0]
    assert row.rule.startswith(described + " ("), row.rule
    assert ("match the text for 5/5" in row.rule) if names else ("5/5 selections start and "
                                                                  "end on word boundaries"
                                                                  in row.rule)
    assert sorted(k.text for k in fresh.codings()) == sorted(PIECES)
    assert fresh.document("intervju").text == clean_text(TEXT)
    assert [c.split(" → ")[1] for c in report.coders] == [
        f"kari-{object_guid('t', 'u').replace('-', '')[:6]} (new)"]
    fresh.close()


def test_nfd_text_trailing_spaces_and_controls_map_into_the_stored_text(tmp_path: Path) -> None:
    raw = "\r\n\r\nKafe\u0301   \r\nSo\u0308t\x07 og  \u2029go\u0308y   \r\n\r\n"
    targets = ["Kafe\u0301", "So\u0308t\x07 og", "go\u0308y"]
    src = object_guid("t", "nfd")
    selections = "".join(
        f'<PlainTextSelection guid="{object_guid("s", t)}" name="{t.replace(chr(7), "")}" '
        f'startPosition="{raw.index(t)}" endPosition="{raw.index(t) + len(t)}"><Coding '
        f'guid="{object_guid("c", t)}"><CodeRef targetGUID="{object_guid("t", "k")}"/>'
        f"</Coding></PlainTextSelection>" for t in targets)
    qde = (f'<Project xmlns="{NS}" name="n"><CodeBook><Codes><Code guid="'
           f'{object_guid("t", "k")}" name="K" isCodable="true"/></Codes></CodeBook><Sources>'
           f'<TextSource guid="{src}" name="nfd" plainTextPath="internal://{src}.txt">'
           f"{selections}</TextSource></Sources></Project>")
    path = _write_qdpx(tmp_path / "n.qdpx", qde, {f"sources/{src}.txt": raw.encode("utf-8")})
    fresh = _fresh(tmp_path)
    import_qdpx(fresh, path)
    assert fresh.document("nfd").text == "Kafé\nSöt og\n\ngöy"
    assert sorted(k.text for k in fresh.codings()) == sorted(["Kafé", "Söt og", "göy"])
    fresh.close()


_ALPHABET = st.sampled_from(["a", "b", " ", "\t", "\n", "\r\n", "\r", "e\u0301", "😀", "\x07",
                             "\u2029", "\ufeff", "\u00a0", "\f", "ø"])


@settings(max_examples=150, deadline=None)
@given(st.lists(_ALPHABET, max_size=40))
def test_clean_with_map_matches_clean_text(parts: list[str]) -> None:
    raw = "".join(parts)
    text, src = clean_with_map(raw)
    assert text == clean_text(raw)
    assert len(src) == len(text) and src == sorted(src)
    for k, ch in enumerate(text):
        origin = raw[src[k]]
        assert origin == ch or ch == "\n" or \
            unicodedata.normalize("NFC", raw[src[k]:src[k] + 2])[0] == ch, (k, ch, origin)


def test_choose_rule_prefers_names_then_boundaries() -> None:
    text = "a😀 bcdef ghijk"
    # "bcdef" at code points 3-8, UTF-16 units 4-9
    assert choose_rule(text, [(4, 9, "bcdef")]).rule.key == "utf16"
    assert choose_rule(text, [(3, 8, "bcdef")]).rule.key == "codepoints"
    assert choose_rule(text, [(4, 9, "")]).rule.key == "utf16"
    assert len(RULES) == 4


# -- real files from other programs -----------------------------------------------------------


def _selection_names(path: Path) -> dict[str, str]:
    """Coding GUID (as qcode's uid) -> the name of its selection, from the raw file."""
    from lxml import etree

    with zipfile.ZipFile(path) as zf:
        qde = next(n for n in zf.namelist() if n.lower().endswith(".qde"))
        root = etree.fromstring(zf.read(qde))
    out = {}
    for sel in root.iter("{*}PlainTextSelection"):
        for coding in sel.iter("{*}Coding"):
            out[coding.get("guid").lower().replace("-", "")] = sel.get("name") or ""
    return out


@pytest.mark.skipif(not SAMPLE_FILES, reason=f"{SAMPLES} is not available")
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_every_sample_imports_with_a_sensible_report(path: Path, imported: Any) -> None:
    fresh, report = imported(path)
    lines = report.lines()
    assert lines and all("\n" not in line for line in lines)
    assert report.origin
    assert len(fresh.documents()) == report.count("new")
    assert fresh.check() == [] and fresh.verify_text_hashes() == []
    names = _selection_names(path)
    textual = {uid: n for uid, n in names.items() if n and not n.startswith("line:")}
    for coding in fresh.codings():
        if coding.uid in textual:
            assert coding.text == unicodedata.normalize("NFC", textual[coding.uid])
    for row in report.sources:
        if row.selections:
            assert row.rule and row.codings


def _sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``imported(path)``: a fresh project with that sample imported, and the report
    (each sample is imported once per module)."""
    done: dict[Path, tuple[Store, refi_project.ProjectImportReport]] = {}

    def get(path: Path) -> tuple[Store, refi_project.ProjectImportReport]:
        if path not in done:
            store = _fresh(tmp_path_factory.mktemp("sample"))
            done[path] = (store, import_qdpx(store, path, actor="t"))
        return done[path]

    yield get
    for store, _report in done.values():
        store.close()


def test_qualcoder_sample_spans_users_and_memos(imported: Any) -> None:
    fresh, report = imported(_sample("qualcoder-c320464_harness-project.qdpx"))
    assert report.sources[0].rule.startswith("code points (selection names match the text "
                                             "for 4/4")
    got = sorted((k.text, k.code_id, k.coder_id, k.memo) for k in fresh.codings())
    assert got == [("Naïve café — great", "food", "alice-d56600", ""),
                   ("Très bien", "joy", "alice-d56600", ""),
                   ("Très bien", "joy", "bob-ff5455", "coding memo"),
                   ("café", "coffee", "bob-ff5455", "coding memo")]
    bodies = {(m.scope, m.body) for m in fresh.memos()}
    assert {("project", "Project memo"), ("document", "source memo")} <= bodies
    assert fresh.code("joy").parent_id == "positive"


def test_nvivo_sample_counts_utf16_with_crlf_as_two(imported: Any) -> None:
    fresh, report = imported(_sample("nvivo-win-12.6_oltas0517.qdpx"))
    coded = next(r for r in report.sources if r.selections)
    assert coded.rule.startswith("UTF-16 code units, CRLF counted as two")
    assert coded.codings == coded.selections == 303
    assert any("Sources" in n for n in report.notes)
    doc = fresh.document(coded.document)
    good = sum(1 for k in fresh.codings()
               if (k.start == 0 or not doc.text[k.start - 1].isalnum()
                   or not doc.text[k.start].isalnum())
               and (k.end == len(doc.text) or not doc.text[k.end].isalnum()))
    assert good >= 295
    # Coding/@creatingUser is the coder (the selection was made by the other user)
    assert {k.coder_id for k in fresh.codings()} == {"gergo-295182"}
    assert any("floriansipos" in c and "no coder added" in c for c in report.coders)


@pytest.mark.parametrize(("name", "documents", "codes", "codings"), [
    ("maxqda-24.7_icls-themes.qdpx", 10, 307, 0),
    ("nvivo-mac-15.0_qc-project.qdpx", 0, 262, 0),
    ("atlasti-win-23.2.3_target.qdpx", 0, 3, 0),
    ("atlasti-win-23.2.3_blank.qdpx", 0, 0, 0),
    ("qc-1.3.2_demo.qdpx", 2, 262, 205),
])
def test_sample_counts(imported: Any, name: str, documents: int, codes: int,
                       codings: int) -> None:
    fresh, report = imported(_sample(name))
    assert (len(fresh.documents()), len(fresh.codes()), len(fresh.codings())) == \
        (documents, codes, codings), report.lines()
    if name.startswith("maxqda"):
        sets = {v["set"] for v in fresh.attributes("document").values()}
        assert sets == {"ICLS 2024", "ICLS 2025"}
    if name.startswith("nvivo-mac"):
        assert report.count("skipped") == 2  # its .txt files hold one newline


# -- hostile files ----------------------------------------------------------------------------


def _refused(store: Store, path: Path, *fragments: str) -> None:
    before = store.counts()
    with pytest.raises(InputError) as info:
        import_qdpx(store, path)
    line = info.value.one_line()
    assert str(path) in line and "\n" not in line, line
    for fragment in fragments:
        assert fragment in line, line
    assert store.counts() == before


_QDE = f'<Project xmlns="{NS}" name="x"/>'


@pytest.mark.parametrize("member", ["../evil.txt", "sources/../../evil.txt", "/etc/evil.txt",
                                    "C:/evil.txt", "..\\evil.txt"])
def test_zip_slip_names_are_refused(store: Store, tmp_path: Path, member: str) -> None:
    path = _write_qdpx(tmp_path / "slip.qdpx", _QDE, {member: b"x"})
    _refused(store, path, "unsafe path", "zip slip")


def test_a_zip_bomb_member_is_refused(store: Store, tmp_path: Path) -> None:
    path = _write_qdpx(tmp_path / "bomb.qdpx", _QDE, {"sources/a.txt": b"a" * (20 * 2**20)})
    _refused(store, path, "zip bomb")


def test_an_oversized_source_is_refused(store: Store, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refi_project, "MAX_SOURCE_BYTES", 1000)
    src = object_guid("t", "big")
    qde = (f'<Project xmlns="{NS}" name="x"><Sources><TextSource guid="{src}" name="big" '
           f'plainTextPath="internal://{src}.txt"/></Sources></Project>')
    path = _write_qdpx(tmp_path / "big.qdpx", qde, {f"sources/{src}.txt": b"ord " * 500})
    _refused(store, path, f"sources/{src}.txt", "unpacks to")


@pytest.mark.parametrize("qde", [
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
    f'<Project xmlns="{NS}" name="&lol2;"/>',
    f'<?xml version="1.0"?><!DOCTYPE Project SYSTEM "file:///etc/passwd"><Project xmlns="{NS}"'
    ' name="x"/>',
    "<!-- " + "x" * 5000 + f' --><!DOCTYPE p [<!ENTITY e "e">]><Project xmlns="{NS}" name="x"/>',
])
def test_doctype_and_entities_in_project_qde_are_refused(store: Store, tmp_path: Path,
                                                         qde: str) -> None:
    _refused(store, _write_qdpx(tmp_path / "dtd.qdpx", qde), "DOCTYPE")


def test_other_broken_files_are_refused(store: Store, tmp_path: Path) -> None:
    not_zip = tmp_path / "nz.qdpx"
    not_zip.write_bytes(b"<Project/>")
    _refused(store, not_zip, "not a zip archive")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("sources/a.txt", "x")
    (tmp_path / "noqde.qdpx").write_bytes(buffer.getvalue())
    _refused(store, tmp_path / "noqde.qdpx", "no project.qde")
    _refused(store, _write_qdpx(tmp_path / "bad.qdpx", "<Project><Users>"), "not well-formed")
    _refused(store, _write_qdpx(tmp_path / "root.qdpx", f'<CodeBook xmlns="{NS}"/>'),
             "root element is <CodeBook>")
    _refused(store, tmp_path / "missing.qdpx", "cannot be read")


def test_lenient_names_namespaces_and_paths(store: Store, tmp_path: Path) -> None:
    src = object_guid("t", "len")
    qde = (f'<Project xmlns="urn:QDA-XML:project:0:4" name="Untitled" origin="Other 1.0">'
           f'<Sources><TextSource guid="{{{src.upper()}}}" plainTextPath="intervju.txt">'
           f'<Description>Fra feltarbeidet</Description></TextSource>'
           f'<PDFSource guid="{object_guid("t", "pdf")}" name="skannet" path="internal://x.pdf"/>'
           f'</Sources><Notes><Note guid="{object_guid("t", "note")}" name="Tanker">'
           f"<PlainTextContent>Løs note &amp; mer</PlainTextContent></Note></Notes></Project>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("Mitt prosjekt.qde", qde)
        zf.writestr("Sources/intervju.txt", "I: Hei.\n\nJS1: Hei på deg.\n")
    path = tmp_path / "lenient.qdpx"
    path.write_bytes(buffer.getvalue())
    report = import_qdpx(store, path)
    assert [d.name for d in store.documents()] == ["intervju"]
    assert any("named 'Mitt prosjekt.qde'" in n for n in report.notes)
    assert any("0:4" in n for n in report.notes)
    assert any(r.status == "skipped" and "pdf" in r.detail for r in report.sources)
    bodies = {(m.scope, m.title, m.body) for m in store.memos()}
    assert ("project", "Tanker", "Løs note & mer") in bodies
    assert ("document", "Description", "Fra feltarbeidet") in bodies


def test_a_round_trip_through_another_tool_keeps_codes_and_coders(demo_qdpx: Path,
                                                                  reimported: Any,
                                                                  tmp_path: Path) -> None:
    """Another program keeps qcode's GUIDs but drops the labelled descriptions and User ids:
    codes and coders are still matched by GUID, nothing is duplicated."""
    fresh = reimported[0]
    before = _counts(fresh)
    with zipfile.ZipFile(demo_qdpx) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    qde = members["project.qde"].decode("utf-8")
    qde = re.sub(r'(<Code [^>]*>)\s*<Description>.*?</Description>', r"\1", qde, flags=re.S)
    qde = re.sub(r'(<User [^>]*?) id="[^"]*"', r"\1", qde)
    qde = qde.replace('origin="qcode', 'origin="Other tool, from qcode')
    members["project.qde"] = qde.encode("utf-8")
    other = tmp_path / "other.qdpx"
    with zipfile.ZipFile(other, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    report = import_qdpx(fresh, other)
    assert report.codes_added == 0 and report.codings_added == 0 and report.memos_added == 0
    assert {c.split(" → ")[1] for c in report.coders} == {"coder-a (existing)",
                                                          "coder-b (existing)"}
    assert _counts(fresh) == before


def test_two_sources_with_the_same_text_become_one_document(store: Store,
                                                            tmp_path: Path) -> None:
    a, b, code = object_guid("t", "a"), object_guid("t", "b"), object_guid("t", "c")

    def source(guid: str, name: str, start: int, end: int) -> str:
        return (f'<TextSource guid="{guid}" name="{name}" plainTextPath="internal://{guid}.txt">'
                f'<PlainTextSelection guid="{object_guid("s", name)}" startPosition="{start}" '
                f'endPosition="{end}"><Coding guid="{object_guid("k", name)}"><CodeRef '
                f'targetGUID="{code}"/></Coding></PlainTextSelection></TextSource>')

    text = b"JS1: Vi sitter sammen og snakker hver dag.\n"
    qde = (f'<Project xmlns="{NS}" name="t"><CodeBook><Codes><Code guid="{code}" name="Prat" '
           f'isCodable="true"/></Codes></CodeBook><Sources>{source(a, "en", 5, 21)}'
           f'{source(b, "to", 25, 32)}</Sources></Project>')
    path = _write_qdpx(tmp_path / "twins.qdpx", qde,
                       {f"sources/{a}.txt": text, f"sources/{b}.txt": text})
    report = import_qdpx(store, path)
    assert [d.name for d in store.documents()] == ["en"]
    assert [r.status for r in report.sources] == ["new", "existing"]
    assert sorted(k.text for k in store.codings()) == ["Vi sitter sammen", "snakker"]


def test_a_source_matching_an_older_version_is_re_anchored(store: Store,
                                                           tmp_path: Path) -> None:
    old_text = "I: Hei.\n\nJS1: Vi sitter sammen og snakker hver dag. Det er fint.\n"
    folder = tmp_path / "v"
    folder.mkdir()
    (folder / "js1.txt").write_text(old_text, encoding="utf-8")
    services.import_paths(store, [folder / "js1.txt"], services.import_options(store))
    (folder / "js1.txt").write_text("Intervju 1\n\n" + old_text.replace("Det er fint.", ""),
                                    encoding="utf-8")
    services.import_paths(store, [folder / "js1.txt"], services.import_options(store))
    assert store.document("js1").version == 2
    src, code = object_guid("o", "src"), object_guid("o", "code")

    def selection(n: int, piece: str) -> str:
        i = old_text.index(piece)
        return (f'<PlainTextSelection guid="{object_guid("o", str(n))}" name="{piece}" '
                f'startPosition="{i}" endPosition="{i + len(piece)}"><Coding guid="'
                f'{object_guid("oc", str(n))}"><CodeRef targetGUID="{code}"/></Coding>'
                "</PlainTextSelection>")

    qde = (f'<Project xmlns="{NS}" name="o"><CodeBook><Codes><Code guid="{code}" name="Prat" '
           f'isCodable="true"/></Codes></CodeBook><Sources><TextSource guid="{src}" name="x" '
           f'plainTextPath="internal://{src}.txt">{selection(1, "snakker hver dag")}'
           f'{selection(2, "Det er fint")}</TextSource></Sources></Project>')
    path = _write_qdpx(tmp_path / "old.qdpx", qde, {f"sources/{src}.txt": old_text.encode()})
    report = import_qdpx(store, path)
    assert [d.name for d in store.documents()] == ["js1"]
    assert report.sources[0].status == "existing" and "version 1" in report.sources[0].detail
    current = store.document("js1")
    assert [(k.document_id, k.text) for k in store.codings()] == [(current.id,
                                                                   "snakker hver dag")]
    assert any("not in the current version" in p for p in report.problems)


def test_every_memo_scope_attribute_type_and_old_version_exports_validly(
        store: Store, tmp_path: Path, transcript_dir: Path, informants_csv: Path,
        schema: Any) -> None:
    from datetime import date

    from lxml import etree

    from qcode.codebook import Code, Codebook

    services.import_paths(store, [transcript_dir], services.import_options(store),
                          attributes=informants_csv, actor="t")
    services.load_codebook(store, Codebook(name="bok", codes=(
        Code(id="naerhet", name="Nærhet & <avstand>", definition="Nær.", color="#12AB34",
             children=(Code(id="gang", name="Gang", definition="Samme gang."),)),)),
        actor="t")
    coded = services.apply_codings(store, [
        services.SpanRequest(document="JS1", code="gang", quote="Vi sitter på samme gang",
                             memo="kort memo"),
        services.SpanRequest(document="V1", code="naerhet", quote="Skjemaene tar tid")],
        "coder-a")
    with store.transaction():
        store.set_attributes("document", store.document("JS1").uid,
                             {"varighet": 41.5, "dato": date(2026, 2, 10), "sted": "Nord"},
                             {"varighet": "number", "dato": "date", "sted": "text"})
        store.set_attributes("document", store.document("V1").uid, {"varighet": 30},
                             {"varighet": "number"})
    services.add_memo(store, "project", None, "Prosjektmemo", title="Plan", author="lead")
    services.add_memo(store, "document", "V1", "Dokumentmemo", author="coder-a")
    services.add_memo(store, "code", "gang", "Kodememo\nmed to linjer", author="coder-a")
    services.add_memo(store, "coding", coded[0].uid, "Kodingsmemo", author="coder-a")
    # a new version of V2 whose coded text is gone leaves a coding on version 1
    services.apply_codings(store, [services.SpanRequest(document="V2", code="naerhet",
                                                        quote="mange brukere")], "coder-a")
    new = tmp_path / "v2"
    new.mkdir()
    (new / "V2.txt").write_text("[00:00:05] I: Fortell.\n\n[00:00:09] V2: Få brukere.\n",
                                encoding="utf-8")
    services.import_paths(store, [new / "V2.txt"], services.import_options(store), actor="t")

    info = export_qdpx(store, tmp_path / "small.qdpx")
    assert any("older document versions" in line for line in info.left_out)
    with zipfile.ZipFile(info.path) as zf:
        doc = etree.parse(io.BytesIO(zf.read("project.qde")))
    assert schema.validate(doc), str(schema.error_log)

    fresh = _fresh(tmp_path)
    import_qdpx(fresh, info.path)
    assert _codings(fresh) == _codings(store)
    assert sorted((m.scope, m.author, m.title, m.body) for m in fresh.memos()) == \
        sorted((m.scope, m.author, m.title, m.body) for m in store.memos())
    targets = {m.body: m.target for m in fresh.memos()}
    assert targets["Kodememo\nmed to linjer"] == "gang"
    assert targets["Kodingsmemo"] == coded[0].uid
    assert targets["Dokumentmemo"] == fresh.document("V1").uid
    by_name = {fresh.document(uid).name: v for uid, v in fresh.attributes("document").items()}
    assert by_name == {"JS1": {"varighet": 41.5, "dato": date(2026, 2, 10), "sted": "Nord"},
                       "V1": {"varighet": 30}}
    assert fresh.attributes("speaker") == store.attributes("speaker")
    assert fresh.code("naerhet").name == "Nærhet & <avstand>"
    assert fresh.code("naerhet").color == "#12AB34"
    fresh.close()
