"""Hostile input through the services into a real project.

``test_ingest_bad_input.py`` tries bad files against the readers; this file
goes one step further: every input goes through the service a front end
calls (``import_paths``, ``load_codebook_file``, attribute sidecars), into an
open project. Each must succeed or fail with a QcodeError whose one-line
message names the file, never with another exception, and a failure must
leave the project exactly as it was.

More generated examples by hand: ``QCODE_FUZZ_EXAMPLES=2000 uv run pytest
tests/core/test_hostile.py``.
"""

from __future__ import annotations

import io
import itertools
import os
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcode import services
from qcode.errors import QcodeError
from qcode.ingest import FORMATS
from qcode.store import Store

from .crashkit import fingerprint, table_counts

EXAMPLES = int(os.environ.get("QCODE_FUZZ_EXAMPLES", "40"))  # more by hand
SWEEP = settings(max_examples=EXAMPLES, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])
_names = itertools.count()
SLOW = 10.0  # seconds: generous for a loaded CI machine, far below an exponential blow-up


@pytest.fixture
def project(store: Store, transcript_dir: Path) -> Store:
    """A project with three interviews in it (so failures have something to spoil)."""
    services.import_paths(store, [transcript_dir], services.import_options(store),
                          actor="tester")
    return store


def _state(store: Store) -> tuple[Any, ...]:
    return fingerprint(store.path), table_counts(store.conn)


def _import(store: Store, path: Path, **kwargs: Any) -> list[Any]:
    """Import one file; a failed row must be one line naming the file and change nothing."""
    before = _state(store)
    try:
        report = services.import_paths(store, [path], services.import_options(store),
                                       actor="tester", **kwargs)
    except QcodeError as exc:
        assert "\n" not in exc.one_line() and "\r" not in exc.one_line()
        assert _state(store) == before
        return []
    for row in report.rows:
        if row.status == "failed":
            assert "\n" not in row.detail and "\r" not in row.detail, row.detail
            assert path.name.splitlines()[0] in row.detail, row.detail
    if all(r.status in ("failed", "unchanged", "duplicate") for r in report.rows):
        assert _state(store) == before
    else:
        assert services.check_project(store) == []
    return list(report.rows)


def _expect_refused(store: Store, action: Callable[[], object], *fragments: str,
                    seconds: float = SLOW) -> QcodeError:
    before = _state(store)
    started = time.perf_counter()
    with pytest.raises(QcodeError) as info:
        action()
    assert time.perf_counter() - started < seconds, "refused, but slowly"
    line = info.value.one_line()
    assert "\n" not in line and "\r" not in line, line
    for fragment in fragments:
        assert fragment.lower() in line.lower(), (fragment, line)
    assert _state(store) == before
    return info.value


def _codebook_or_refused(store: Store, path: Path) -> None:
    before = _state(store)
    started = time.perf_counter()
    try:
        services.load_codebook_file(store, path, actor="tester")
    except QcodeError as exc:
        assert "\n" not in exc.one_line(), exc.one_line()
        assert _state(store) == before
    else:
        assert services.check_project(store) == []
    assert time.perf_counter() - started < SLOW


# -- importers: generated text and random bytes ------------------------------------------

_speaker = st.sampled_from(["I", "V1", "JS3", "Intervjuer", "R017", "Moderator", "ÆØÅ"])
_line = st.one_of(
    st.text(max_size=80),
    st.builds(lambda s, t: f"{s}: {t}", _speaker, st.text(max_size=60)),
    st.builds(lambda a, b: f"00:00:{a:02d}.000 --> 00:00:{b:02d}.500", st.integers(0, 59),
              st.integers(0, 59)),
    st.builds(lambda s, t: f'"{s}","{t}"', st.text(max_size=20), st.text(max_size=40)),
    st.sampled_from(["WEBVTT", "", "1", "[00:01:02]", "id,svar", '"', ",,,", "\x00", "\ufeff",
                     "\u2028", "\r"]),
)


@SWEEP
@given(lines=st.lists(_line, max_size=30),
       suffix=st.sampled_from([".txt", ".md", ".vtt", ".srt", ".csv"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
def test_generated_text_through_every_text_importer(lines: list[str], suffix: str,
                                                    encoding: str, project: Store,
                                                    tmp_path: Path) -> None:
    path = tmp_path / f"generert-{next(_names)}{suffix}"
    path.write_bytes("\n".join(lines).encode(encoding, errors="replace"))
    _import(project, path)


@SWEEP
@given(raw=st.binary(max_size=2000),
       head=st.sampled_from([b"", b"PK\x03\x04", b"%PDF-1.4\n", b"<?xml version='1.0'?>"]),
       suffix=st.sampled_from([".docx", ".odt", ".xlsx", ".pdf"]))
def test_random_bytes_through_the_binary_importers(raw: bytes, head: bytes, suffix: str,
                                                   project: Store, tmp_path: Path) -> None:
    path = tmp_path / f"tilfeldig-{next(_names)}{suffix}"
    path.write_bytes(head + raw)
    _import(project, path)


@SWEEP
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1,
                      max_size=12),
       kind=st.sampled_from(["xlsx", "odt", "pdf"]))
def test_damaged_spreadsheets_odt_and_pdf_through_a_project(
        flips: list[tuple[int, int]], kind: str, project: Store, tmp_path: Path,
        make_xlsx: Callable[..., Path], make_odt: Callable[..., Path],
        pdf_bytes: Callable[..., bytes]) -> None:
    """(Damaged .docx bytes are tried against the reader in test_ingest_bad_input.py.)"""
    source = tmp_path / f"kilde-{next(_names)}.{kind}"
    if kind == "xlsx":
        make_xlsx(source, [["id", "svar"], ["1", "Et svar med mange ord her"],
                           ["2", "Enda et svar med ord"]])
    elif kind == "odt":
        make_odt(source, ["I: Hvordan går det?", "V1: Det går bra med samarbeidet."])
    else:
        source.write_bytes(pdf_bytes([["I: Hvordan går det?", "V1: Det går bra."]],
                                     flate=True))
    data = bytearray(source.read_bytes())
    for offset, value in flips:
        data[offset % len(data)] = value
    source.write_bytes(bytes(data))
    _import(project, source)


@SWEEP
@given(raw=st.binary(max_size=600), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_random_attribute_sidecars(raw: bytes, suffix: str, project: Store,
                                   tmp_path: Path, transcript_dir: Path) -> None:
    sidecar = tmp_path / f"informanter-{next(_names)}{suffix}"
    sidecar.write_bytes(raw)
    before = _state(project)
    try:
        services.import_paths(project, [transcript_dir], services.import_options(project),
                              attributes=sidecar, actor="tester")
    except QcodeError as exc:
        assert "\n" not in exc.one_line()
        assert _state(project) == before


# -- sizes: refused fast, without reading ------------------------------------------------


def test_a_csv_with_a_million_columns_is_refused_fast(project: Store, tmp_path: Path) -> None:
    path = tmp_path / "bred.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(f"k{i}" for i in range(1_000_000)) + "\n")
        fh.write(",".join("x" * 1_000_000) + "\n")
    started = time.perf_counter()
    (row,) = _import(project, path)
    assert time.perf_counter() - started < 5.0
    assert row.status == "failed" and "1000000 columns" in row.detail
    sidecar = tmp_path / "bred-attributter.csv"
    sidecar.write_text("informant," + ",".join(f"a{i}" for i in range(1_000_000)) + "\n",
                       encoding="utf-8")
    _expect_refused(project, lambda: services.import_paths(
        project, [path], services.import_options(project), attributes=sidecar),
        "columns")


def _bytes_read() -> int | None:
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@pytest.fixture
def gigabyte(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Sparse 1 GiB files (no disk space used) with a given suffix."""
    made: list[Path] = []

    def make(name: str) -> Path:
        path = tmp_path / name
        with path.open("wb") as fh:
            fh.truncate(2**30)
        made.append(path)
        return path

    yield make
    for path in made:
        path.unlink(missing_ok=True)


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_a_one_gigabyte_source_is_refused_without_reading_it(
        suffix: str, project: Store, gigabyte: Callable[[str], Path]) -> None:
    path = gigabyte(f"enorm{suffix}")
    read_before = _bytes_read()
    started = time.perf_counter()
    (row,) = _import(project, path)
    assert row.status == "failed" and "too large" in row.detail and "1024.0 MiB" in row.detail
    assert time.perf_counter() - started < 1.0
    if read_before is not None:
        assert (_bytes_read() or 0) - read_before < 2**20  # not even a MiB of it was read


@pytest.mark.parametrize("name", ["attributter.csv", "attributter.xlsx", "kodebok.yaml",
                                  "kodebok.qdc", "prosjekt.qdpx"])
def test_one_gigabyte_sidecars_and_codebooks_are_refused_without_reading(
        name: str, project: Store, transcript_dir: Path,
        gigabyte: Callable[[str], Path]) -> None:
    path = gigabyte(name)
    read_before = _bytes_read()
    if name.startswith("attributter"):
        _expect_refused(project, lambda: services.import_paths(
            project, [transcript_dir], services.import_options(project), attributes=path),
            "too large", seconds=1.0)
    else:
        _expect_refused(project, lambda: services.load_codebook_file(project, path),
                        "MiB", seconds=1.0)
    if read_before is not None:
        assert (_bytes_read() or 0) - read_before < 2**20


# -- codebooks: random and malicious YAML ------------------------------------------------

_scalar = st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=True))
_key = st.sampled_from(["name", "codes", "id", "definition", "children", "color", "indicators",
                        "when_to_use", "version", "authors", "x", ""])
_value = st.recursive(_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_key, inner, max_size=5)), max_leaves=25)


@SWEEP
@given(data=st.dictionaries(_key, _value, max_size=6))
def test_generated_codebook_structures(data: dict[str, Any], project: Store,
                                       tmp_path: Path) -> None:
    path = tmp_path / f"kodebok-{next(_names)}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    _codebook_or_refused(project, path)


@SWEEP
@given(text=st.lists(st.sampled_from([*"abc:-[]{}&*!|>'\"#%@`?,\n\t 0123456789",
                                      "name: ", "codes:\n", "  - ", "&a ", "*a", "id: ",
                                      "!!python/object:os.system", "<<: ", "children:\n"]),
                     max_size=120).map("".join))
def test_generated_yaml_text(text: str, project: Store, tmp_path: Path) -> None:
    path = tmp_path / f"kodebok-{next(_names)}.yaml"
    path.write_text(text, encoding="utf-8")
    _codebook_or_refused(project, path)


def _laughs(levels: int = 9, width: int = 10) -> str:
    lines = ["name: bombe", "version: '1'", "codes:",
             "  - &l0 {id: a0, name: n, definition: d}"]
    for i in range(1, levels):
        kids = ", ".join([f"*l{i - 1}"] * width)
        lines.append(f"  - &l{i} {{id: a{i}, name: n, definition: d, children: [{kids}]}}")
    return "\n".join(lines) + "\n"


HOSTILE_YAML = {
    "billion-laughs-children": _laughs(),
    "billion-laughs-lists": "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n"
        for i in range(9)) + "name: x\ncodes: [*j]\n",
    "deep-flow": "name: x\ncodes: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "deep-block": "name: x\ncodes:\n" + "".join(
        "  " * i + f"- id: c{i}\n" + "  " * i + "  name: n\n" + "  " * i + "  definition: d\n"
        + "  " * i + "  children:\n" for i in range(1500)),
    "python-tag": "name: !!python/object/apply:os.system ['touch /tmp/qcode-pwned']\ncodes: []\n",
    "merge-keys": "base: &b {id: a, name: n, definition: d}\nname: x\ncodes:\n  - <<: *b\n",
    "cycle": "name: x\ncodes:\n  - &a {id: a, name: n, definition: d, children: [*a]}\n",
    "huge-scalar": "name: " + "x" * 1_000_000 + "\ncodes: [{id: a, name: n, definition: d}]\n",
    "nul-bytes": "name: x\x00\ncodes: [{id: a, name: n, definition: d}]\n",
    "not-utf8": "name: bl\xe5b\xe6r\ncodes: []\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_YAML))
def test_malicious_codebook_yaml(name: str, project: Store, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.yaml"
    text = HOSTILE_YAML[name]
    path.write_bytes(text.encode("latin-1" if name == "not-utf8" else "utf-8"))
    _codebook_or_refused(project, path)
    assert not Path("/tmp/qcode-pwned").exists()


# -- codebooks: hostile XML (.qdc / .qdpx) -----------------------------------------------

NS = "urn:QDA-XML:codebook:1.0"
_CODE = '<Code guid="0b5a4a9e-9d2e-4a57-a5b4-1f6f1c0f0a01" name="Tillit" isCodable="true"/>'
HOSTILE_XML = {
    "billion-laughs": '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                      + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">'
                                if i else '<!ENTITY lol0 "&lol;&lol;&lol;&lol;">'
                                for i in range(10))
                      + f']><CodeBook xmlns="{NS}"><Codes><Code guid="x" name="&lol9;" '
                        'isCodable="true"/></Codes></CodeBook>',
    "xxe-file": '<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                f'<CodeBook xmlns="{NS}"><Codes><Code guid="x" name="&x;" isCodable="true"/>'
                "</Codes></CodeBook>",
    "external-dtd": '<?xml version="1.0"?><!DOCTYPE CodeBook SYSTEM "http://example.com/x.dtd">'
                    f'<CodeBook xmlns="{NS}"><Codes>{_CODE}</Codes></CodeBook>',
    "parameter-entity": '<?xml version="1.0"?><!DOCTYPE c [<!ENTITY % p SYSTEM '
                        '"file:///etc/passwd"> %p;]>'
                        f'<CodeBook xmlns="{NS}"><Codes>{_CODE}</Codes></CodeBook>',
    "deep-nesting": f'<?xml version="1.0"?><CodeBook xmlns="{NS}"><Codes>'
                    + '<Code guid="g" name="n" isCodable="true">' * 100_000
                    + "</Code>" * 100_000 + "</Codes></CodeBook>",
    "many-attributes": f'<?xml version="1.0"?><CodeBook xmlns="{NS}"><Codes><Code guid="g" '
                       'name="n" isCodable="true" '
                       + " ".join(f'a{i}="v"' for i in range(50_000)) + "/></Codes></CodeBook>",
    "unclosed": f'<?xml version="1.0"?><CodeBook xmlns="{NS}"><Codes>{_CODE}',
    "utf16-doctype": "\ufeff<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE x [<!ENTITY a "
                     f"'b'>]><CodeBook xmlns='{NS}'><Codes>{_CODE}</Codes></CodeBook>",
    "processing-instructions": f'<?xml version="1.0"?><?xml-stylesheet href="file:///etc/x"?>'
                               f'<CodeBook xmlns="{NS}"><Codes>{_CODE}</Codes></CodeBook>',
}


def _qdpx(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(HOSTILE_XML))
def test_hostile_xml_codebooks(name: str, project: Store, tmp_path: Path) -> None:
    text = HOSTILE_XML[name]
    path = tmp_path / f"{name}.qdc"
    path.write_bytes(text.encode("utf-16" if name.startswith("utf16") else "utf-8"))
    before = _state(project)
    started = time.perf_counter()
    try:
        services.load_codebook_file(project, path, actor="tester")
    except QcodeError as exc:
        assert "\n" not in exc.one_line()
        assert _state(project) == before
    assert time.perf_counter() - started < SLOW
    names = [c.name for c in services.list_codes(project)]
    assert not any("root:" in n or "lol" in n for n in names)  # no entity was expanded


@pytest.mark.parametrize("members", [
    {"../../evil.qde": b"<CodeBook/>", "project.qde": HOSTILE_XML["xxe-file"].encode()},
    {"/abs/project.qde": b"x"},
    {"project.qde": b"\x00" * (60 * 2**20)},  # a zip bomb: 60 MiB of NULs, a small archive
])
def test_hostile_qdpx_archives(members: dict[str, bytes], project: Store,
                               tmp_path: Path) -> None:
    path = tmp_path / "prosjekt.qdpx"
    path.write_bytes(_qdpx(members))
    _expect_refused(project, lambda: services.load_codebook_file(project, path))
    assert not (tmp_path.parent / "evil.qde").exists()


@SWEEP
@given(raw=st.binary(max_size=800),
       head=st.sampled_from([b"", b"<?xml version='1.0'?>", f"<CodeBook xmlns='{NS}'>".encode(),
                             b"PK\x03\x04"]),
       suffix=st.sampled_from([".qdc", ".qdpx"]))
def test_random_bytes_as_refi_codebooks(raw: bytes, head: bytes, suffix: str, project: Store,
                                        tmp_path: Path) -> None:
    path = tmp_path / f"tilfeldig-{next(_names)}{suffix}"
    path.write_bytes(head + raw)
    _codebook_or_refused(project, path)


# -- names with control characters -------------------------------------------------------


def test_file_names_with_line_breaks_give_one_line_errors(project: Store,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "ond\nfil\r.txt"
    path.write_bytes(b"\x00\x01binary")
    (row,) = _import(project, path)
    assert row.status == "failed"
    bad_codebook = tmp_path / "ond\nkodebok.yaml"
    bad_codebook.write_text("- ikke\n- en kodebok\n", encoding="utf-8")
    _expect_refused(project, lambda: services.load_codebook_file(project, bad_codebook))
