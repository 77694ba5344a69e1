"""REFI-QDA projects (.qdpx): export a whole qcode project, import one from another program.

``export_qdpx`` writes a zip holding ``project.qde`` (valid against the official
``Project.xsd``, namespace ``urn:QDA-XML:project:1.0``) and ``sources/<GUID>.txt``,
one UTF-8 file without BOM per current document, holding exactly the stored text.
Selections count code points into that file, end exclusive, and carry the coded
text in ``name`` so any importer can check them. Every GUID is derived with uuid5
from a stable id (code ids as in ``qcode.refi``, document uids, coding uids, coder
ids), so exporting the same project twice gives the same bytes.

What maps to what:

    coders (and memo authors)     Users/User (id = the qcode id)
    codebooks and codes           CodeBook/Codes/Code (qcode's labelled Description) and
                                  one Set per codebook (its details, MemberCode)
    document attributes           Variables + VariableValue on each TextSource
    speakers, speaker attributes  Cases/Case (VariableValue, SourceRef); role is a variable
    documents                     Sources/TextSource + sources/<GUID>.txt
    codings                       one PlainTextSelection per coding (coding memo as its
                                  Description) holding one Coding
    memos                         Notes/Note, attached with NoteRef to the project, a
                                  TextSource, a Code or a Coding

``import_qdpx`` reads what other programs write, leniently: any ``.qde`` name,
``sources/`` or ``Sources/``, ``internal://`` or bare file names, any QDA-XML
namespace. Positions are converted per source: the counting rule (code points or
UTF-16 units, CRLF as one or two) is the one under which the selections' ``name``
texts match, or, for files without them, under which the selections start and end
on word boundaries; the report says which rule was used for each source. The
whole import is one transaction: it all goes in or nothing does.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
import zipfile
import zlib
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qcode import refi
from qcode.codebook import ID_PATTERN, Code, Codebook
from qcode.errors import IngestError, InputError
from qcode.ingest.zipsafe import MAX_MEMBERS, MAX_RATIO, MAX_TOTAL_UNCOMPRESSED, RATIO_FLOOR
from qcode.models import INTERVIEWER_ROLE, AttributeType, AttributeValue

if TYPE_CHECKING:
    from qcode.store import Store

QDE_NAME = "project.qde"
SOURCES_DIR = "sources"
MAX_SOURCE_BYTES = 64 * 1024 * 1024   # one text source (a transcript is far smaller)
MAX_NOTE_BYTES = 16 * 1024 * 1024
CODE_GUID_SETTING = "refi_code_guids"  # foreign code GUID -> qcode code id, for re-imports
SET_ATTRIBUTE = "set"                  # document attribute holding REFI document sets
_HINT = "export the project again from the program that made it"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_DRIVE = re.compile(r"^[A-Za-z]:")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_SPACES = re.compile(r"\s+")
_TRAILING_SPACE = re.compile(r"[^\S\n]+(?=\n|\Z)")


# -- GUIDs and small helpers -----------------------------------------------------------


def object_guid(kind: str, key: str) -> str:
    """A deterministic GUID for a qcode object: uuid5 of ``kind:key`` (codes use code_guid)."""
    return str(uuid.uuid5(refi.QCODE_GUID_NAMESPACE, f"{kind}:{key}"))


def coding_guid(uid: str) -> str:
    """The GUID of a coding: its uid itself when that is 32 hex digits, else uuid5 of it."""
    if _HEX32.match(uid):
        return str(uuid.UUID(hex=uid))
    return object_guid("coding", uid)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _xsd_datetime(value: str | None) -> str | None:
    """An ISO timestamp as xsd:dateTime in UTC (``2026-01-02T10:00:00Z``), or None."""
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stored_datetime(value: str | None, fallback: str) -> str:
    """A timestamp from a file as qcode stores them (UTC, seconds), or ``fallback``."""
    if value:
        try:
            stamp = datetime.fromisoformat(value.strip())
        except ValueError:
            return fallback
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        return stamp.astimezone(UTC).isoformat(timespec="seconds")
    return fallback


def note_name(title: str, body: str) -> str:
    """A Note's name: the memo's title, or for an untitled memo the start of its text."""
    if title.strip():
        return title
    first = body.strip().split("\n", 1)[0]
    return first if len(first) <= 60 else first[:59].rstrip() + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _some(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def anchor_span(old_text: str, new_text: str, start: int, end: int) -> tuple[int, int] | None:
    """Where ``old_text[start:end]`` stands in ``new_text`` (the exact text, nearest to its
    old place), or None if it is not there any more."""
    needle = old_text[start:end]
    if not needle:
        return None
    hits = [m.start() for m in re.finditer(re.escape(needle), new_text)]
    if not hits:
        return None
    expected = start * len(new_text) / max(len(old_text), 1)
    best = min(hits, key=lambda h: abs(h - expected))
    return best, best + len(needle)


# -- safe archives (shared with coder bundles) -----------------------------------------


def unsafe_member_name(name: str) -> bool:
    """True for a zip member name that would escape a folder if extracted (zip slip)."""
    norm = name.replace("\\", "/")
    return (not norm or "\x00" in norm or norm.startswith("/") or bool(_DRIVE.match(norm))
            or any(part == ".." for part in norm.split("/")))


def open_archive(raw: bytes, where: str, what: str, hint: str) -> zipfile.ZipFile:
    """Open ``raw`` as a zip in memory, refusing zip slip names, bombs and encryption.

    Nothing is ever extracted to disk; every refusal is a one-line InputError naming
    ``where``.
    """
    if raw[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise InputError(f"{where}: not a {what} (not a zip archive)", hint)
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InputError(f"{where}: damaged {what} (the zip archive cannot be read)",
                         hint) from exc
    if len(infos) > MAX_MEMBERS:
        raise InputError(f"{where}: refused: the archive has {len(infos)} members "
                         f"(at most {MAX_MEMBERS})", hint)
    total = 0
    for info in infos:
        if unsafe_member_name(info.filename):
            raise InputError(f"{where}: refused: member {info.filename!r} has an unsafe path "
                             "(zip slip)", hint)
        if info.flag_bits & 0x1:
            raise InputError(f"{where}: refused: member {info.filename!r} is encrypted", hint)
        if info.file_size > RATIO_FLOOR and \
                info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise InputError(f"{where}: refused: member {info.filename!r} is compressed "
                             f"{info.file_size // max(info.compress_size, 1)}:1 (zip bomb)",
                             hint)
        total += info.file_size
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise InputError(f"{where}: refused: the archive unpacks to {_mib(total)} "
                         f"(at most {_mib(MAX_TOTAL_UNCOMPRESSED)})", hint)
    return zf


def read_limited(zf: zipfile.ZipFile, name: str, where: str, limit: int, hint: str) -> bytes:
    """Read one member, refusing it if it unpacks to more than ``limit`` bytes."""
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise InputError(f"{where}: refused: member {name!r} unpacks to "
                         f"{_mib(info.file_size)} (at most {_mib(limit)})", hint)
    try:
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError,
            zlib.error, RuntimeError) as exc:
        raise InputError(f"{where}: damaged archive: member {name!r} cannot be read",
                         hint) from exc
    if len(data) > limit:
        raise InputError(f"{where}: refused: member {name!r} unpacks to more than "
                         f"{_mib(limit)}", hint)
    return data


def _zip_bytes(members: Sequence[tuple[str, bytes]]) -> bytes:
    """A deterministic zip: fixed timestamps and permissions, members in the given order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


# -- export ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QdpxExportInfo:
    """What ``export_qdpx`` wrote, and what it could not carry."""

    path: Path
    documents: int
    codes: int
    codings: int
    users: int
    memos: int
    cases: int
    variables: int
    left_out: tuple[str, ...] = ()


def _variable_type(kind: str, values: Iterable[AttributeValue]) -> str:
    if kind == "date":
        return "Date"
    if kind == "number":
        every = list(values)
        if every and all(isinstance(v, int) and not isinstance(v, bool) for v in every):
            return "Integer"
        return "Float"
    return "Text"


def _variable_value(var_guid: str, var_type: str, value: AttributeValue) -> ET.Element:
    element = ET.Element("VariableValue")
    ET.SubElement(element, "VariableRef", {"targetGUID": var_guid})
    if var_type == "Date" and isinstance(value, date):
        ET.SubElement(element, "DateValue").text = value.isoformat()
    elif var_type == "Integer" and isinstance(value, int):
        ET.SubElement(element, "IntegerValue").text = str(value)
    elif var_type == "Float" and isinstance(value, int | float) and math.isfinite(value):
        try:
            text = format(Decimal(str(value)), "f")
        except InvalidOperation:
            text = "0"
        ET.SubElement(element, "FloatValue").text = text
    else:
        text_value = value.isoformat() if isinstance(value, date) else str(value)
        ET.SubElement(element, "TextValue").text = refi._xml_text(text_value)
    return element


def _code_element(code: Code, notes: dict[str, list[str]]) -> ET.Element:
    attrs = {"guid": refi.code_guid(code.id), "name": refi._xml_text(code.name),
             "isCodable": "true"}
    color = refi._color(code.color)
    if color:
        attrs["color"] = color
    element = ET.Element("Code", attrs)
    ET.SubElement(element, "Description").text = refi._xml_text(refi.describe_code(code))
    for note in notes.get(code.id, []):
        ET.SubElement(element, "NoteRef", {"targetGUID": note})
    for child in code.children:
        element.append(_code_element(child, notes))
    return element


def qdpx_bytes(store: Store) -> tuple[bytes, QdpxExportInfo]:
    """The .qdpx archive of a project as bytes, and what it holds (deterministic)."""
    from qcode import __version__
    from qcode.services.coding import codebook_from_project

    left_out: list[str] = []
    project_uid = str(store.get_setting("project_uid", "") or store.path.stem)

    # Users: every coder, and every memo author (by id).
    coders = {c.id: c.name for c in store.coders()}
    memos = store.memos()
    people = dict(coders)
    for memo in memos:
        people.setdefault(memo.author, memo.author)

    def user_guid(person: str) -> str:
        return object_guid("user", person)

    # Documents, codings and memo targets.
    docs = sorted(store.documents(), key=lambda d: (d.name, d.uid))
    doc_guid = {d.uid: object_guid("document", d.uid) for d in docs}
    codings = store.codings()  # current versions only, with their text
    exported_codings = {k.uid for k in codings}
    old = len(store.coding_rows()) - len(codings)
    if old:
        left_out.append(f"{_count(old, 'coding')} on older document versions (REFI-QDA "
                        "holds one text per source)")
    code_ids = {c.id for c in store.codes()}
    note_guid = {m.id: object_guid("memo", f"{project_uid}:{m.id}") for m in memos}
    project_notes: list[str] = []
    doc_notes: dict[str, list[str]] = {}
    code_notes: dict[str, list[str]] = {}
    coding_notes: dict[str, list[str]] = {}
    loose: list[int] = []
    for memo in memos:
        g = note_guid[memo.id]
        if memo.scope == "project":
            project_notes.append(g)
        elif memo.scope == "document" and memo.target in doc_guid:
            doc_notes.setdefault(str(memo.target), []).append(g)
        elif memo.scope == "code" and memo.target in code_ids:
            code_notes.setdefault(str(memo.target), []).append(g)
        elif memo.scope == "coding" and memo.target in exported_codings:
            coding_notes.setdefault(str(memo.target), []).append(g)
        else:
            loose.append(memo.id)
    if loose:
        left_out.append(f"{_count(len(loose), 'memo')} whose target is not exported "
                        "(written as notes without a reference)")

    root = ET.Element("Project", {"xmlns": refi.PROJECT_NS,
                                  "name": refi._xml_text(store.path.stem) or "qcode",
                                  "origin": f"qcode {__version__}"})
    if people:
        users = ET.SubElement(root, "Users")
        for person in sorted(people):
            ET.SubElement(users, "User", {"guid": user_guid(person),
                                          "name": refi._xml_text(people[person]) or person,
                                          "id": refi._xml_text(person)})

    # CodeBook: every codebook's codes, in codebook order.
    books = [codebook_from_project(store, name) for _, name, _, n in store.codebook_names()
             if n]
    n_codes = 0
    if books:
        codes_el = ET.SubElement(ET.SubElement(root, "CodeBook"), "Codes")
        for book in books:
            for code in book.codes:
                codes_el.append(_code_element(code, code_notes))
            n_codes += len(book.ids())

    # Variables: document attributes, then speaker attributes (and role).
    doc_types = store.attribute_types("document")
    speaker_types = store.attribute_types("speaker")
    doc_attrs = store.attributes("document")
    speaker_attrs = store.attributes("speaker")
    speakers = store.speakers()
    roles = {s.id: s.role for s in speakers if s.role}
    doc_vars: dict[str, tuple[str, str]] = {}
    speaker_vars: dict[str, tuple[str, str]] = {}
    for name, kind in sorted(doc_types.items()):
        seen = [v[name] for v in doc_attrs.values() if name in v]
        doc_vars[name] = (object_guid("variable", f"document:{name}"),
                          _variable_type(kind, seen))
    for name, kind in sorted(speaker_types.items()):
        seen = [v[name] for v in speaker_attrs.values() if name in v]
        speaker_vars[name] = (object_guid("variable", f"speaker:{name}"),
                              _variable_type(kind, seen))
    if roles and "role" not in speaker_vars:
        speaker_vars["role"] = (object_guid("variable", "speaker:role"), "Text")
    if doc_vars or speaker_vars:
        variables = ET.SubElement(root, "Variables")
        for scope, table in (("document", doc_vars), ("speaker", speaker_vars)):
            for name, (guid, var_type) in table.items():
                var = ET.SubElement(variables, "Variable", {
                    "guid": guid, "name": refi._xml_text(name), "typeOfVariable": var_type})
                ET.SubElement(var, "Description").text = f"qcode {scope} attribute"

    # Cases: one per speaker, with its attributes and the documents it speaks in.
    in_docs = store.speaker_documents()
    case_count = 0
    if speakers:
        cases = ET.SubElement(root, "Cases")
        for speaker in speakers:
            case = ET.SubElement(cases, "Case", {"guid": object_guid("case", speaker.id),
                                                 "name": refi._xml_text(speaker.id)})
            values: dict[str, AttributeValue] = dict(speaker_attrs.get(speaker.id, {}))
            if speaker.role and "role" not in values:
                values["role"] = speaker.role
            for name in sorted(values):
                if name in speaker_vars:
                    guid, var_type = speaker_vars[name]
                    case.append(_variable_value(guid, var_type, values[name]))
            for uid in in_docs.get(speaker.id, []):
                if uid in doc_guid:
                    ET.SubElement(case, "SourceRef", {"targetGUID": doc_guid[uid]})
            case_count += 1

    # Sources and their selections.
    by_doc: dict[int, list[Any]] = {}
    for k in codings:
        by_doc.setdefault(k.document_id, []).append(k)
    files: list[tuple[str, bytes]] = []
    if docs:
        sources = ET.SubElement(root, "Sources")
        for doc in docs:
            full = store.document(doc.id)
            guid = doc_guid[doc.uid]
            attrs = {"guid": guid, "name": refi._xml_text(doc.name),
                     "plainTextPath": f"internal://{guid}.txt"}
            stamp = _xsd_datetime(doc.imported_at)
            if stamp:
                attrs["creationDateTime"] = stamp
            source = ET.SubElement(sources, "TextSource", attrs)
            for k in sorted(by_doc.get(doc.id, []),
                            key=lambda c: (c.start, c.end, c.code_id, c.coder_id, c.uid)):
                sel_attrs = {"guid": object_guid("selection", k.uid),
                             "name": refi._xml_text(k.text),
                             "startPosition": str(k.start), "endPosition": str(k.end),
                             "creatingUser": user_guid(k.coder_id)}
                when = _xsd_datetime(k.created_at)
                if when:
                    sel_attrs["creationDateTime"] = when
                selection = ET.SubElement(source, "PlainTextSelection", sel_attrs)
                if k.memo:
                    ET.SubElement(selection, "Description").text = refi._xml_text(k.memo)
                coding_attrs = {"guid": coding_guid(k.uid), "creatingUser": user_guid(k.coder_id)}
                if when:
                    coding_attrs["creationDateTime"] = when
                coding = ET.SubElement(selection, "Coding", coding_attrs)
                ET.SubElement(coding, "CodeRef", {"targetGUID": refi.code_guid(k.code_id)})
                for note in coding_notes.get(k.uid, []):
                    ET.SubElement(coding, "NoteRef", {"targetGUID": note})
            for note in doc_notes.get(doc.uid, []):
                ET.SubElement(source, "NoteRef", {"targetGUID": note})
            for name, value in sorted(doc_attrs.get(doc.uid, {}).items()):
                if name in doc_vars:
                    var_guid, var_type = doc_vars[name]
                    source.append(_variable_value(var_guid, var_type, value))
            files.append((f"{SOURCES_DIR}/{guid}.txt", full.text.encode("utf-8")))

    # Notes: every memo.
    if memos:
        notes_el = ET.SubElement(root, "Notes")
        for memo in memos:
            attrs = {"guid": note_guid[memo.id],
                     "name": refi._xml_text(note_name(memo.title, memo.body)) or "memo",
                     "creatingUser": user_guid(memo.author)}
            created = _xsd_datetime(memo.created_at)
            modified = _xsd_datetime(memo.updated_at)
            if created:
                attrs["creationDateTime"] = created
            if modified:
                attrs["modifiedDateTime"] = modified
            note_el = ET.SubElement(notes_el, "Note", attrs)
            ET.SubElement(note_el, "PlainTextContent").text = refi._xml_text(memo.body)

    # Sets: one per codebook, carrying its details the way qcode's .qdc does.
    if books:
        sets = ET.SubElement(root, "Sets")
        for book in books:
            book_set = ET.SubElement(sets, "Set", {"guid": refi._book_guid(book.name),
                                                   "name": refi._xml_text(book.name)})
            ET.SubElement(book_set, "Description").text = refi._xml_text(
                refi._describe_book(book))
            for code, _parent in book.walk():
                ET.SubElement(book_set, "MemberCode", {"targetGUID": refi.code_guid(code.id)})
    for note in project_notes:
        ET.SubElement(root, "NoteRef", {"targetGUID": note})

    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    qde = ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")
    data = _zip_bytes([(QDE_NAME, qde), *sorted(files)])
    info = QdpxExportInfo(path=Path(), documents=len(docs), codes=n_codes,
                          codings=len(codings), users=len(people), memos=len(memos),
                          cases=case_count, variables=len(doc_vars) + len(speaker_vars),
                          left_out=tuple(left_out))
    return data, info


def export_qdpx(store: Store, out: Path) -> QdpxExportInfo:
    """Write the project as a REFI-QDA project file (.qdpx), valid against Project.xsd."""
    data, info = qdpx_bytes(store)
    out = Path(out)
    refi.write_bytes_atomic(out, data)
    return replace(info, path=out)


# -- import: text cleaning with an offset map -----------------------------------------


def clean_with_map(raw: str) -> tuple[str, list[int]]:
    """``clean_text(raw)`` and, per character of the result, its index in ``raw``.

    A position ``p`` in ``raw`` lands at ``bisect_left(src, p)`` in the clean text:
    deleted characters (CR of CRLF, control characters, trailing spaces, leading and
    trailing blank lines) vanish, and a span keeps exactly the characters it covered.
    """
    from qcode.ingest.hygiene import _CONTROL, clean_text

    chars: list[str] = []
    src: list[int] = []
    n = len(raw)
    for i, ch in enumerate(raw):
        if ch == "\r":
            if i + 1 < n and raw[i + 1] == "\n":
                continue
            ch = "\n"
        elif ch in "\f\v\u2028":
            ch = "\n"
        elif ch == "\u2029":
            chars.extend("\n\n")
            src.extend((i, i))
            continue
        elif _CONTROL.match(ch):
            continue
        chars.append(ch)
        src.append(i)
    text = "".join(chars)
    if not unicodedata.is_normalized("NFC", text):
        text, src = _nfc_with_map(text, src)
    keep = [True] * len(text)
    for m in _TRAILING_SPACE.finditer(text):
        for k in range(m.start(), m.end()):
            keep[k] = False
    out_chars = [c for c, k in zip(text, keep, strict=True) if k]
    out_src = [s for s, k in zip(src, keep, strict=True) if k]
    lo, hi = 0, len(out_chars)
    while lo < hi and out_chars[lo] == "\n":
        lo += 1
    while hi > lo and out_chars[hi - 1] == "\n":
        hi -= 1
    result = "".join(out_chars[lo:hi])
    mapping = out_src[lo:hi]
    expected = clean_text(raw)
    if result != expected:  # never seen; keep the text right, positions approximate
        scale = len(raw) / max(len(expected), 1)
        return expected, [min(int(k * scale), max(len(raw) - 1, 0)) for k in range(len(expected))]
    return result, mapping


def _nfc_with_map(text: str, src: list[int]) -> tuple[str, list[int]]:
    """NFC per run of a starter and its combining marks, keeping where each run came from."""
    out: list[str] = []
    out_src: list[int] = []
    for line_start, line in _lines_with_offsets(text):
        if unicodedata.is_normalized("NFC", line):
            out.append(line)
            out_src.extend(src[line_start:line_start + len(line)])
            continue
        runs: list[tuple[int, int]] = []
        start = 0
        for k in range(1, len(line) + 1):
            if k == len(line) or unicodedata.combining(line[k]) == 0:
                runs.append((start, k))
                start = k
        pieces = [unicodedata.normalize("NFC", line[a:b]) for a, b in runs]
        if "".join(pieces) != unicodedata.normalize("NFC", line):
            runs, pieces = [(0, len(line))], [unicodedata.normalize("NFC", line)]
        for (a, b), piece in zip(runs, pieces, strict=True):
            out.append(piece)
            if len(piece) == b - a:
                out_src.extend(src[line_start + a:line_start + b])
            else:
                span = [src[line_start + a + min(j * (b - a) // max(len(piece), 1), b - a - 1)]
                        for j in range(len(piece))]
                out_src.extend(span)
    return "".join(out), out_src


def _lines_with_offsets(text: str) -> Iterable[tuple[int, str]]:
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line)
        if start < len(text):
            yield start, "\n"
            start += 1


# -- import: counting rules for positions ---------------------------------------------


@dataclass(frozen=True)
class CountingRule:
    """How a file counts positions in a source's plain text."""

    key: str
    utf16: bool
    crlf_one: bool

    def describe(self, has_crlf: bool) -> str:
        """Human-readable, e.g. ``UTF-16 code units, CRLF counted as two``."""
        unit = "UTF-16 code units" if self.utf16 else "code points"
        if not has_crlf:
            return unit
        return unit + (", CRLF counted as one" if self.crlf_one else ", CRLF counted as two")


RULES = (CountingRule("codepoints", False, False), CountingRule("utf16", True, False),
         CountingRule("codepoints-crlf1", False, True), CountingRule("utf16-crlf1", True, True))


class _Positions:
    """Maps a file's position (under one rule) to a code-point index into the raw text."""

    def __init__(self, text: str, rule: CountingRule) -> None:
        self.n = len(text)
        self.table: list[int] | None = None
        if not rule.utf16 and not rule.crlf_one:
            return
        table = [0] * (self.n + 1)
        acc = 0
        for i, ch in enumerate(text):
            table[i] = acc
            if rule.crlf_one and ch == "\r" and i + 1 < self.n and text[i + 1] == "\n":
                continue
            acc += 2 if rule.utf16 and ord(ch) > 0xFFFF else 1
        table[self.n] = acc
        self.table = table

    def index(self, position: int) -> int | None:
        if self.table is None:
            return position if 0 <= position <= self.n else None
        i = bisect_left(self.table, position)
        return i if i <= self.n and self.table[i] == position else None


def _norm(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _name_matches(name: str, piece: str) -> bool:
    want, got = _norm(name), _norm(piece)
    if not want:
        return False
    if want == got:
        return True
    stem = want.rstrip(".… ")
    return (want.endswith(("...", "…")) and len(stem) >= 8 and got.startswith(stem))


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _on_boundaries(text: str, i: int, j: int) -> bool:
    start_ok = i == 0 or i >= len(text) or not (_is_word(text[i - 1]) and _is_word(text[i]))
    end_ok = j >= len(text) or j == 0 or not (_is_word(text[j - 1]) and _is_word(text[j]))
    return start_ok and end_ok


@dataclass(frozen=True)
class _Choice:
    rule: CountingRule
    positions: _Positions
    evidence: str


def choose_rule(text: str, spans: Sequence[tuple[int, int, str]],
                origin: str = "") -> _Choice:
    """The counting rule that fits a source's selections best (``(start, end, name)``).

    First the rule under which most ``name`` texts match, then the one with most spans
    on word boundaries; ties go by the producing program (NVivo counts UTF-16 units,
    ATLAS.ti and MAXQDA count CRLF as one), then to code points (the spec).
    """
    has_crlf = "\r\n" in text
    has_astral = any(ord(ch) > 0xFFFF for ch in text)
    candidates = [r for r in RULES if (has_astral or not r.utf16) and (has_crlf or not r.crlf_one)]
    low = origin.lower()
    if "nvivo" in low:
        order = ["utf16", "codepoints", "utf16-crlf1", "codepoints-crlf1"]
    elif "atlas" in low or "maxqda" in low:
        order = ["codepoints-crlf1", "utf16-crlf1", "codepoints", "utf16"]
    else:
        order = ["codepoints", "utf16", "codepoints-crlf1", "utf16-crlf1"]
    scored = []
    for rule in candidates:
        positions = _Positions(text, rule)
        named = matched = valid = bounded = 0
        for start, end, name in spans:
            i, j = positions.index(start), positions.index(end)
            if i is None or j is None or i > j:
                continue
            valid += 1
            if _on_boundaries(text, i, j):
                bounded += 1
            if _norm(name):
                named += 1
                if _name_matches(name, text[i:j]):
                    matched += 1
        scored.append(((matched, valid, bounded, -order.index(rule.key)), rule, positions,
                       (named, matched, valid, bounded)))
    scored.sort(key=lambda item: item[0], reverse=True)
    _key, rule, positions, (named, matched, valid, bounded) = scored[0]
    total = len(spans)
    if len(candidates) == 1:
        evidence = "the only reading: the text has no CRLF and no characters outside the BMP"
    elif named:
        evidence = f"selection names match the text for {matched}/{named}"
    else:
        evidence = (f"no selection names to check; {bounded}/{total} selections start and end "
                    "on word boundaries")
    if valid < total:
        evidence += f"; {total - valid} positions do not fit the text"
    return _Choice(rule, positions, f"{rule.describe(has_crlf)} ({evidence})")


# -- import: what the file holds --------------------------------------------------------


@dataclass
class _Coding:
    guid: str
    code: str          # GUID key of the code
    user: str | None   # GUID key of the user
    created: str | None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Selection:
    guid: str
    name: str
    start: int
    end: int
    user: str | None
    created: str | None
    codings: list[_Coding]
    description: str
    notes: list[str]


@dataclass
class _Source:
    guid: str
    name: str
    raw_bytes: bytes
    text: str          # decoded, BOM removed, before qcode's cleaning
    selections: list[_Selection]
    codings: list[_Coding]   # whole-document codings
    description: str
    notes: list[str]
    values: list[tuple[str, ET.Element]]
    warnings: list[str]


@dataclass
class _Case:
    guid: str
    name: str
    values: list[tuple[str, ET.Element]]
    sources: list[str]


@dataclass
class SourceImport:
    """What happened to one source of the file."""

    source: str
    document: str = ""
    status: str = "new"   # new, existing, skipped
    rule: str = ""
    selections: int = 0
    codings: int = 0
    detail: str = ""


@dataclass
class ProjectImportReport:
    """The summary of a .qdpx import: sources, coders, codes, codings, memos, attributes."""

    path: str
    origin: str = ""
    project: str = ""
    dry_run: bool = False
    sources: list[SourceImport] = field(default_factory=list)
    coders: list[str] = field(default_factory=list)
    codebooks: list[str] = field(default_factory=list)
    codes_added: int = 0
    codes_existing: int = 0
    codings_added: int = 0
    codings_existing: int = 0
    memos_added: int = 0
    attributes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many sources have this status."""
        return sum(1 for s in self.sources if s.status == status)

    def lines(self) -> list[str]:
        """The report as text lines, for the CLI."""
        head = f"{self.path}" + (f" (written by {self.origin})" if self.origin else "")
        out = [("Would import " if self.dry_run else "Imported ") + head]
        for s in self.sources:
            line = f"  {s.status:<8} {s.source}"
            if s.document and s.document != s.source:
                line += f" → {s.document}"
            if s.selections:
                line += (f": {_count(s.selections, 'selection')} → "
                         f"{_count(s.codings, 'coding')}")
            if s.rule:
                line += f"; positions: {s.rule}"
            if s.detail:
                line += f"; {s.detail}"
            out.append(line)
        out.append(f"codes: {self.codes_added} added, {self.codes_existing} already in the "
                   f"project" + (f" ({', '.join(self.codebooks)})" if self.codebooks else ""))
        out.append(f"codings: {self.codings_added} added, {self.codings_existing} already "
                   "in the project")
        out.append(f"memos: {self.memos_added} added")
        out.extend(f"coder: {c}" for c in self.coders)
        out.extend(f"attributes: {a}" for a in self.attributes)
        out.extend(f"not imported: {p}" for p in self.problems)
        out.extend(f"note: {n}" for n in self.notes)
        return out


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if child.tag == name]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((child for child in element if child.tag == name), None)


def _text_of(element: ET.Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _key(value: str | None) -> str | None:
    return refi._guid_key(value) if value and value.strip() else None


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _note_refs(element: ET.Element) -> list[str]:
    return [k for k in (_key(r.get("targetGUID")) for r in _children(element, "NoteRef")) if k]


def _codings_of(element: ET.Element) -> list[_Coding]:
    out = []
    for coding in _children(element, "Coding"):
        ref = _child(coding, "CodeRef")
        code = _key(ref.get("targetGUID")) if ref is not None else None
        if code is None:
            continue
        out.append(_Coding(guid=_key(coding.get("guid")) or "", code=code,
                           user=_key(coding.get("creatingUser")),
                           created=coding.get("creationDateTime"),
                           notes=_note_refs(coding)))
    return out


def _variable_values(element: ET.Element) -> list[tuple[str, ET.Element]]:
    out = []
    for vv in _children(element, "VariableValue"):
        ref = _child(vv, "VariableRef")
        target = _key(ref.get("targetGUID")) if ref is not None else None
        value = next((c for c in vv if c.tag.endswith("Value")), None)
        if target and value is not None:
            out.append((target, value))
    return out


def _typed_value(value: ET.Element) -> tuple[AttributeValue, AttributeType] | None:
    text = _text_of(value)
    if not text:
        return None
    if value.tag == "IntegerValue":
        number = _int(text)
        return (number, "number") if number is not None else (text, "text")
    if value.tag == "FloatValue":
        try:
            as_float = float(text)
        except ValueError:
            return text, "text"
        return (int(as_float) if as_float.is_integer() and "." not in text else as_float,
                "number")
    if value.tag == "DateValue":
        try:
            return date.fromisoformat(text[:10]), "date"
        except ValueError:
            return text, "text"
    return text, "text"


class _Archive:
    """A .qdpx opened safely in memory: its project.qde and a case-insensitive member index."""

    def __init__(self, path: Path) -> None:
        where = str(path)
        try:
            size = path.stat().st_size
            if size > refi.MAX_QDPX_BYTES:
                raise InputError(f"{where}: refused: the file is {_mib(size)} "
                                 f"(at most {_mib(refi.MAX_QDPX_BYTES)})", _HINT)
            raw = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{where}: cannot be read ({exc.strerror or exc})",
                             "check the path and the file's permissions") from exc
        self.where = where
        self.zf = open_archive(raw, where, "REFI-QDA project (.qdpx)", _HINT)
        names = [i.filename for i in self.zf.infolist() if not i.is_dir()]
        self.members = {n.replace("\\", "/").lower(): n for n in names}
        self.notes: list[str] = []
        root_qde = [n for n in names if "/" not in n.replace("\\", "/")
                    and n.lower().endswith(".qde")]
        if QDE_NAME in names:
            self.qde = QDE_NAME
        elif len(root_qde) == 1:
            self.qde = root_qde[0]
            self.notes.append(f"the project file in the archive is named {self.qde!r}, "
                              "not project.qde")
        elif not root_qde:
            raise InputError(f"{where}: not a REFI-QDA project (no project.qde in the "
                             "archive)", _HINT)
        else:
            raise InputError(f"{where}: several .qde files in the archive "
                             f"({_some(sorted(root_qde))})", "keep only project.qde")
        if not any(n.lower().startswith(SOURCES_DIR + "/") for n in self.members):
            self.notes.append("the archive has no sources folder")
        elif not any(n.startswith(SOURCES_DIR + "/") for n in names):
            self.notes.append("the sources folder is spelled 'Sources' (read anyway)")

    def qde_bytes(self) -> bytes:
        return read_limited(self.zf, self.qde, self.where, refi.MAX_XML_BYTES, _HINT)

    def member_for(self, path_attr: str) -> str | None:
        """The member a plainTextPath names (``internal://x``, ``sources/x`` or ``x``)."""
        ref = path_attr.strip().replace("\\", "/")
        low = ref.lower()
        if low.startswith("internal://"):
            ref = ref[len("internal://"):]
        elif "://" in low:
            return None
        ref = ref.lstrip("/")
        for candidate in (f"{SOURCES_DIR}/{ref}", ref):
            found = self.members.get(candidate.lower())
            if found is not None:
                return found
        return None

    def read(self, member: str, limit: int) -> bytes:
        return read_limited(self.zf, member, self.where, limit, _HINT)


def _decode(raw: bytes, where: str) -> tuple[str, list[str]]:
    from qcode.ingest.hygiene import decode_bytes

    decoded = decode_bytes(raw, where)
    return decoded.text, list(decoded.warnings)


def _read_sources(archive: _Archive, root: ET.Element,
                  report: ProjectImportReport) -> list[_Source]:
    out: list[_Source] = []
    sources_el = _child(root, "Sources")
    if sources_el is None:
        return out
    for element in sources_el:
        name = refi._tidy_name(element.get("name", ""))
        guid = _key(element.get("guid")) or ""
        if element.tag != "TextSource":
            kind = element.tag.replace("Source", "").lower() or element.tag
            report.sources.append(SourceImport(
                name or guid, status="skipped",
                detail=f"a {kind} source: qcode imports text sources only"))
            continue
        path_attr = element.get("plainTextPath") or ""
        content = _child(element, "PlainTextContent")
        member = archive.member_for(path_attr) if path_attr else None
        label = name or (Path(path_attr.split("://")[-1]).stem if path_attr else "") or guid
        raw: bytes | None = None
        if member is not None:
            raw = archive.read(member, MAX_SOURCE_BYTES)
        elif content is not None:
            raw = "".join(content.itertext()).encode("utf-8")
        if raw is None:
            why = (f"its text {path_attr!r} is not in the archive" if path_attr else
                   "it has no plain text (only a rich text file)")
            report.sources.append(SourceImport(label, status="skipped", detail=why))
            continue
        try:
            text, warnings = _decode(raw, f"{archive.where}!{member or label}")
        except IngestError as exc:
            report.sources.append(SourceImport(label, status="skipped", detail=exc.reason))
            continue
        selections = []
        for sel in _children(element, "PlainTextSelection"):
            start, end = _int(sel.get("startPosition")), _int(sel.get("endPosition"))
            if start is None or end is None:
                report.problems.append(f"{label}: a selection without valid positions")
                continue
            selections.append(_Selection(
                guid=_key(sel.get("guid")) or "", name=sel.get("name", ""), start=start,
                end=end, user=_key(sel.get("creatingUser")),
                created=sel.get("creationDateTime"), codings=_codings_of(sel),
                description=_text_of(_child(sel, "Description")), notes=_note_refs(sel)))
        out.append(_Source(guid=guid, name=label, raw_bytes=raw, text=text,
                           selections=selections, codings=_codings_of(element),
                           description=_text_of(_child(element, "Description")),
                           notes=_note_refs(element), values=_variable_values(element),
                           warnings=warnings))
    return out


def _code_note_refs(book: ET.Element | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if book is None:
        return out
    for code in book.iter("Code"):
        guid = _key(code.get("guid"))
        refs = _note_refs(code)
        if guid and refs:
            out.setdefault(guid, []).extend(refs)
    return out


@dataclass
class _CodePlan:
    books: list[Codebook]
    guid_to_id: dict[str, str]
    foreign: dict[str, str]  # GUIDs not made by qcode, for the re-import setting
    notes: list[str]


def _plan_codes(store: Store, root: ET.Element, where: str, fallback: str) -> _CodePlan:
    """The project's codebook as qcode codebooks (refi.read_qdc's mapping), ids decided."""
    book_el = _child(root, "CodeBook")
    if book_el is None:
        return _CodePlan([], {}, {}, [])
    holder = _child(book_el, "Codes")
    nodes = [refi._node(el, 1, where) for el in _children(holder if holder is not None
                                                          else book_el, "Code")]
    if not nodes:
        return _CodePlan([], {}, {}, ["the project's codebook has no codes"])
    existing = {c.id for c in store.codes()}
    known = {g: cid for g, cid in dict(store.get_setting(CODE_GUID_SETTING, {})).items()
             if cid in existing}
    mapper = refi._Mapper(nodes)
    every = mapper.walk()
    for node in every:  # qcode's own codes: the id in the description, GUID intact
        if node.description is not None:
            node.own = refi._parse_code_description(node.description)
        if node.own is None:
            continue
        mapper.own_count += 1
        wanted = node.own.code_id
        if refi.code_guid(wanted) == node.guid and wanted not in mapper.used:
            node.code_id = wanted
            mapper.used.add(wanted)
        else:
            mapper.stale_marker.append(node.name or wanted)
    known.update({refi.code_guid(cid): cid for cid in existing})  # qcode's own GUIDs
    for node in every:  # codes this project has: its GUIDs, or imported from there before
        if not node.code_id and node.guid in known and known[node.guid] not in mapper.used:
            node.code_id = known[node.guid]
            mapper.used.add(node.code_id)
    mapper.used |= existing
    for node in every:  # everything else: an id made from the name
        if node.code_id:
            continue
        base = refi.slugify(node.name)
        candidate, n = base, 1
        while candidate in mapper.used:
            n += 1
            suffix = f"-{n}"
            candidate = base[:64 - len(suffix)].rstrip("-") + suffix
        node.code_id = candidate
        mapper.used.add(candidate)
        mapper.slugged.append(f"{node.name!r} → {candidate}")
    tops = [(node, mapper.code(node)) for node in nodes]
    guid_to_id = {node.guid: node.code_id for node in every}
    foreign = {node.guid: node.code_id for node in every
               if refi.code_guid(node.code_id) != node.guid}

    # qcode's codebook Sets say which codebook each top-level code belongs to.
    books: list[Codebook] = []
    placed: set[int] = set()
    for sets_el in _children(root, "Sets"):
        for set_el in _children(sets_el, "Set"):
            details = refi._parse_book_description(_text_of_raw(_child(set_el, "Description")))
            name = set_el.get("name", "").strip()
            if details is None or not name:
                continue
            members = {_key(m.get("targetGUID") or m.get("guid")) for m in
                       _children(set_el, "MemberCode")}
            top = tuple(code for n, code in tops if n.guid in members and id(n) not in placed)
            placed.update(id(n) for n, _ in tops if n.guid in members)
            if top:
                books.append(Codebook(name=name, codes=top, version=str(details["version"]),
                                      language=str(details["language"]) or "nb",
                                      authors=tuple(details["authors"]),
                                      description=str(details["description"])))
    rest = tuple(code for n, code in tops if id(n) not in placed)
    if rest:
        books.append(Codebook(name=fallback, codes=rest))
    notes = [*mapper.report(), *refi._duplicates([c for b in books for c, _ in b.walk()])]
    return _CodePlan(books, guid_to_id, foreign, notes)


def _text_of_raw(element: ET.Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""


@dataclass
class _DocPlan:
    source: _Source
    row: SourceImport
    text: str = ""
    src_map: list[int] = field(default_factory=list)
    sha: str = ""
    existing_id: int | None = None
    existing_uid: str = ""
    name: str = ""
    choice: _Choice | None = None
    doc_id: int = 0
    uid: str = ""
    twin: _DocPlan | None = None  # an earlier source of this file with the same text
    current_text: str | None = None  # set when the text is an older version's: re-anchor


class _DryRun(Exception):
    """Raised to roll a dry run back."""


def import_qdpx(store: Store, path: Path, actor: str | None = None, *,
                dry_run: bool = False) -> ProjectImportReport:
    """Import a REFI-QDA project (.qdpx) into the project, all or nothing.

    Text sources become documents (matched by text to documents already in the
    project), the codebook becomes codebooks (qcode's own exports come back with
    their ids and fields), Users become coders, PlainTextSelections become
    codings, Cases and Variables become attributes where they map, Notes and
    Descriptions become memos. With ``dry_run`` nothing is written, and the report
    says what would have happened.
    """
    from qcode.services.projects import default_actor

    actor = actor or default_actor()
    path = Path(path)
    archive = _Archive(path)
    where = f"{path}!{archive.qde}"
    root, namespace = refi._parse_xml(archive.qde_bytes(), where)
    if root.tag != "Project":
        raise InputError(f"{where}: not a REFI-QDA project (the root element is "
                         f"<{root.tag}>, not <Project>)", _HINT)
    report = ProjectImportReport(path=str(path), origin=root.get("origin", "").strip(),
                                 project=root.get("name", "").strip(), dry_run=dry_run)
    report.notes.extend(archive.notes)
    if not re.fullmatch(r"urn:QDA-XML:project:.*", namespace or ""):
        shown = repr(namespace) if namespace else "no namespace"
        report.notes.append(f"XML namespace is {shown}, not {refi.PROJECT_NS}: read anyway")
    elif namespace != refi.PROJECT_NS:
        report.notes.append(f"XML namespace {namespace!r}: read as {refi.PROJECT_NS}")

    fallback = report.project if report.project.lower() not in ("", "untitled") else path.stem
    codes = _plan_codes(store, root, where, fallback)
    report.notes.extend(codes.notes)
    sources = _read_sources(archive, root, report)
    plans = _plan_documents(store, sources, report)
    users = _users(root)
    notes = _read_notes(archive, root)
    cases = _read_cases(root)
    variables = {_key(v.get("guid")) or "": refi._tidy_name(v.get("name", "")) or "variable"
                 for vs in _children(root, "Variables") for v in _children(vs, "Variable")}
    code_notes = _code_note_refs(_child(root, "CodeBook"))

    if not dry_run and store.documents():
        store.backup(reason="before-qdpx-import")
    try:
        with store.transaction():
            _apply(store, actor, path, root, report, codes, plans, users, notes, cases,
                   variables, code_notes)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


def _users(root: ET.Element) -> dict[str, tuple[str, str]]:
    """Per user GUID key: (name, id attribute)."""
    return {_key(u.get("guid")) or "": (u.get("name", "").strip(), u.get("id", "").strip())
            for us in _children(root, "Users") for u in _children(us, "User")}


@dataclass
class _Note:
    guid: str
    name: str
    body: str
    user: str | None
    created: str | None
    modified: str | None


def _read_notes(archive: _Archive, root: ET.Element) -> list[_Note]:
    out = []
    for notes_el in _children(root, "Notes"):
        for note in _children(notes_el, "Note"):
            body = _text_of_raw(_child(note, "PlainTextContent"))
            path_attr = note.get("plainTextPath")
            if not body.strip() and path_attr:
                member = archive.member_for(path_attr)
                if member is not None and member.lower().endswith(".txt"):
                    try:
                        body, _ = _decode(archive.read(member, MAX_NOTE_BYTES),
                                          f"{archive.where}!{member}")
                    except IngestError:
                        body = ""
            body = body.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
            out.append(_Note(guid=_key(note.get("guid")) or "",
                             name=refi._tidy_name(note.get("name", "")), body=body,
                             user=_key(note.get("creatingUser")),
                             created=note.get("creationDateTime"),
                             modified=note.get("modifiedDateTime")))
    return out


def _read_cases(root: ET.Element) -> list[_Case]:
    return [_Case(guid=_key(c.get("guid")) or "", name=refi._tidy_name(c.get("name", "")),
                  values=_variable_values(c),
                  sources=[k for k in (_key(r.get("targetGUID"))
                                       for r in _children(c, "SourceRef")) if k])
            for cs in _children(root, "Cases") for c in _children(cs, "Case")]


def _plan_documents(store: Store, sources: list[_Source],
                    report: ProjectImportReport) -> list[_DocPlan]:
    from qcode.ingest.common import sha256_text

    plans: list[_DocPlan] = []
    seen: dict[str, _DocPlan] = {}
    taken = {d.name for d in store.documents()}
    for source in sources:
        row = SourceImport(source.name, selections=len(source.selections))
        plan = _DocPlan(source, row)
        plan.text, plan.src_map = clean_with_map(source.text)
        if not plan.text.strip():
            row.status, row.detail = "skipped", "the text is empty"
            report.sources.append(row)
            continue
        plan.sha = sha256_text(plan.text)
        twins = store.versions_by_sha(plan.sha)
        if plan.sha in seen:
            plan.twin = seen[plan.sha]
            plan.name = plan.twin.name
            row.status, row.document = "existing", plan.name
            row.detail = f"same text as source {plan.twin.source.name!r} of this file"
        elif twins and twins[0].is_current:
            plan.existing_id, plan.existing_uid = twins[0].id, twins[0].uid
            plan.name = twins[0].name
            row.status, row.document = "existing", twins[0].name
            row.detail = "same text as a document already in the project"
        elif twins:
            current = store.current_version(twins[0].uid)
            assert current is not None
            plan.existing_id, plan.existing_uid = current.id, current.uid
            plan.current_text, plan.name = current.text, current.name
            row.status, row.document = "existing", current.name
            row.detail = (f"same text as version {twins[0].version} of {current.name!r}: "
                          f"codings re-anchored on version {current.version}")
        else:
            name = source.name
            n = 1
            while name in taken:
                n += 1
                name = f"{source.name} ({n})"
            taken.add(name)
            plan.name, row.document = name, name
            if name != source.name:
                row.detail = f"renamed: the project has a document named {source.name!r}"
        seen.setdefault(plan.sha, plan)
        if source.warnings:
            row.detail = "; ".join(filter(None, [row.detail, *source.warnings]))
        if source.selections:
            plan.choice = choose_rule(
                source.text, [(s.start, s.end, s.name) for s in source.selections],
                report.origin)
            row.rule = plan.choice.evidence
        report.sources.append(row)
        plans.append(plan)
    return plans


def _user_id(guid: str, users: dict[str, tuple[str, str]],
             coders: Sequence[str] = ()) -> tuple[str, str]:
    """The qcode id and display name for a REFI user GUID (key).

    A GUID qcode made for one of ``coders`` (or for the file's ``id``) gives that id back;
    any other user becomes ``<slug of the name>-<first 6 hex digits of the GUID>``.
    """
    name, given = users.get(guid, ("", ""))
    if given and ID_PATTERN.match(given) and object_guid("user", given) == guid:
        return given, name or given  # written by qcode: the id comes back
    for coder in coders:
        if object_guid("user", coder) == guid:
            return coder, name or coder
    base = refi.slugify(name) if name.strip() else "user"
    if base == "code":
        base = "user"
    return f"{base[:57].rstrip('-')}-{guid.replace('-', '')[:6]}", name or guid


def _kind_of(store: Store, segments: Sequence[Any]) -> str:
    speakers = {s.speaker for s in segments if s.speaker}
    if not speakers:
        return "document"
    rules = store.role_rules()
    known = {s.id: s.role for s in store.speakers()}
    informants = {s for s in speakers
                  if (known.get(s) or store.role_for(s, rules)) != INTERVIEWER_ROLE}
    return "focus_group" if len(informants) >= 3 else "interview"


def _apply(store: Store, actor: str, path: Path, root: ET.Element,
           report: ProjectImportReport, codes: _CodePlan, plans: list[_DocPlan],
           users: dict[str, tuple[str, str]], notes: list[_Note], cases: list[_Case],
           variables: dict[str, str], code_notes: dict[str, list[str]]) -> None:
    from qcode.ingest.common import transcript_document
    from qcode.ingest.hygiene import count_words
    from qcode.services.projects import import_options
    from qcode.store.db import utc_now

    now = utc_now()
    project_user = _key(root.get("creatingUserGUID"))
    attributes_before = (store.attributes("document"), store.attributes("speaker"),
                         {sp.id: sp.role for sp in store.speakers()})

    # Codebooks and codes: add what the project lacks, never change or remove codes.
    existing_codes = {c.id for c in store.codes()}
    for book in codes.books:
        book_id = store.codebook_id(book.name)
        created = book_id is None
        if book_id is None:
            book_id = store.insert_codebook(book, path.name)
        added = 0
        for code, parent in book.walk():
            if code.id in existing_codes:
                report.codes_existing += 1
                continue
            if parent is not None and store.code_codebook(parent) != book_id:
                report.notes.append(f"code {code.id!r} put at the top level of {book.name!r}: "
                                    f"its parent {parent!r} is in another codebook")
                parent = None
            store.insert_code(book_id, code, parent, store.next_position(book_id, parent))
            existing_codes.add(code.id)
            added += 1
        report.codes_added += added
        if added or created:
            store.add_revision(book_id, actor, f"{added} codes imported from {path.name}")
            report.codebooks.append(book.name)
    if codes.foreign:
        known = dict(store.get_setting(CODE_GUID_SETTING, {}))
        known.update(codes.foreign)
        store.set_setting(CODE_GUID_SETTING, known)

    # Coders: the users that made codings.
    coder_of: dict[str | None, str] = {}
    coders_here = [c.id for c in store.coders()]

    coder_name: dict[str | None, str] = {}
    new_coders: set[str] = set()

    def coder_for(*guids: str | None, create: bool = True) -> str:
        guid = next((g for g in (*guids, project_user) if g), None)
        if guid not in coder_of:
            if guid is None:
                cid, name = "refi-import", f"imported from {report.origin or path.name}"
            else:
                cid, name = _user_id(guid, users, coders_here)
            coder_of[guid], coder_name[guid] = cid, name
        cid = coder_of[guid]
        if create and cid not in new_coders and store.coder(cid) is None:
            store.add_coder(cid, coder_name[guid])
            new_coders.add(cid)
        return cid

    def author_for(guid: str | None) -> str:
        if guid is None:
            return actor
        if guid in coder_of:
            return coder_of[guid]
        return _user_id(guid, users, coders_here)[0]

    # Documents.
    options = import_options(store)
    by_source: dict[str, _DocPlan] = {}
    for plan in plans:
        by_source[plan.source.guid] = plan
        if plan.twin is not None:
            plan.doc_id, plan.uid = plan.twin.doc_id, plan.twin.uid
            continue
        if plan.existing_id is not None:
            plan.doc_id, plan.uid = plan.existing_id, plan.existing_uid
            continue
        parsed = transcript_document(Path("source.txt"), plan.source.raw_bytes, plan.text,
                                     "qdpx", options)
        parsed = replace(parsed, name=plan.name, source_name=f"{path.name}:{plan.source.name}")
        speakers = {s.speaker for s in parsed.segments if s.speaker}
        store.ensure_speakers(sorted(speakers))
        words = sum(count_words(plan.text[s.start:s.end]) for s in parsed.segments)
        plan.doc_id = store.insert_document(parsed, kind=_kind_of(store, parsed.segments),
                                            sha256=plan.sha, word_count=words, actor=actor,
                                            previous=None)
        plan.uid = store.document(plan.doc_id).uid
        store.record_event(actor, "document.import", {
            "document_id": plan.doc_id, "name": plan.name, "version": 1,
            "source": f"{path.name}:{plan.source.name}", "sha256": plan.sha,
            "previous_id": None, "codings_moved": 0, "codings_kept": 0})

    # Codings.
    memo_targets: dict[str, list[tuple[str, str | None]]] = {}  # note GUID -> targets
    for plan in plans:
        source, row = plan.source, plan.row
        bad: dict[str, int] = {}

        def problem(why: str, bad: dict[str, int] = bad) -> None:
            bad[why] = bad.get(why, 0) + 1

        def add(coding: _Coding, start: int, end: int, memo: str, fallback_user: str | None,
                key: str, plan: _DocPlan = plan, row: SourceImport = row,
                whole: bool = False) -> str | None:
            code_id = codes.guid_to_id.get(coding.code)
            if code_id is None:
                problem("codings whose code is not in the codebook")
                return None
            if whole:
                start, end = 0, len(plan.current_text or plan.text)
            elif plan.current_text is not None:
                place = anchor_span(plan.text, plan.current_text, start, end)
                if place is None:
                    problem("codings whose text is not in the current version of the document")
                    return None
                start, end = place
            if coding.guid and refi._GUID.match(coding.guid):
                uid = coding.guid.replace("-", "")
            else:
                uid = uuid.uuid5(refi.QCODE_GUID_NAMESPACE, f"coding:{plan.sha}:{key}").hex
            if store.coding_row_by_uid(uid) is not None:
                coder_for(coding.user, fallback_user, create=False)
                report.codings_existing += 1
                row.codings += 1
                return uid
            coder = coder_for(coding.user, fallback_user)
            if store.find_coding(plan.doc_id, start, end, code_id, coder) is not None:
                report.codings_existing += 1
                row.codings += 1
                return None
            store.insert_coding_row({
                "uid": uid, "document_id": plan.doc_id, "start": start, "end": end,
                "code_id": code_id, "coder_id": coder, "memo": memo,
                "created_at": _stored_datetime(coding.created, now)})
            report.codings_added += 1
            row.codings += 1
            return uid

        for n, coding in enumerate(source.codings):
            uid = add(coding, 0, 0, "", None, f"{source.guid}:doc:{n}", whole=True)
            for note in coding.notes:
                memo_targets.setdefault(note, []).append(
                    ("coding", uid) if uid else ("document", plan.uid))
        for n, sel in enumerate(source.selections):
            span = None
            if plan.choice is not None:
                i = plan.choice.positions.index(sel.start)
                j = plan.choice.positions.index(sel.end)
                if i is not None and j is not None and i <= j:
                    span = (bisect_left(plan.src_map, i), bisect_left(plan.src_map, j))
            if span is None:
                problem("selections whose positions do not fit the text")
                continue
            start, end = span
            uids: list[str] = []
            if start >= end:
                if sel.codings:
                    problem("empty selections (zero length, or only spaces qcode removes)")
            else:
                for m, coding in enumerate(sel.codings):
                    uid = add(coding, start, end, sel.description, sel.user,
                              f"{source.guid}:{sel.guid}:{n}:{m}")
                    if uid:
                        uids.append(uid)
                    for note in coding.notes:
                        memo_targets.setdefault(note, []).append(
                            ("coding", uid) if uid else ("document", plan.uid))
            if sel.description and not sel.codings:
                quote = plan.text[start:end][:60].replace("\n", " ")
                _memo(store, report, "document", plan.uid, author_for(sel.user),
                      sel.description, f"comment on «{quote}»", sel.created, now)
            for note in sel.notes:
                memo_targets.setdefault(note, []).extend(
                    [("coding", u) for u in uids] or [("document", plan.uid)])
        for why, count in bad.items():
            report.problems.append(f"{source.name}: {count} {why}")
        if source.description:
            _memo(store, report, "document", plan.uid, actor, source.description,
                  "Description", None, now)
        for note in source.notes:
            memo_targets.setdefault(note, []).append(("document", plan.uid))

    # Attributes: variables on sources, cases, document sets.
    _apply_attributes(store, report, root, plans, by_source, cases, variables)

    # Memos: notes where they are referenced, the project description.
    for code_guid_key, refs in code_notes.items():
        code_id = codes.guid_to_id.get(code_guid_key)
        for note in refs:
            memo_targets.setdefault(note, []).append(("code", code_id) if code_id
                                                     else ("project", None))
    for note in _note_refs(root):
        memo_targets.setdefault(note, []).append(("project", None))
    known_objects = {p.source.guid: ("document", p.uid) for p in plans}
    for links in _children(root, "Links"):
        for link in _children(links, "Link"):
            a, b = _key(link.get("originGUID")), _key(link.get("targetGUID"))
            for side, other in ((a, b), (b, a)):
                if side and other in known_objects:
                    memo_targets.setdefault(side, []).append(known_objects[other])
    for item in notes:
        if not item.body.strip():
            continue
        targets = list(dict.fromkeys(memo_targets.get(item.guid, []))) or [("project", None)]
        title = "" if item.name == note_name("", item.body) else item.name
        for scope, target in targets:
            _memo(store, report, scope, target, author_for(item.user), item.body, title,
                  item.created, now, item.modified)
    description = _text_of(_child(root, "Description"))
    if description:
        _memo(store, report, "project", None,
              author_for(project_user) if project_user in users else actor, description,
              "Project description", root.get("creationDateTime"), now)
    for guid, cid in coder_of.items():
        label = f"user {coder_name[guid]!r}" + (f" ({guid})" if guid else "")
        report.coders.append(f"{label} → {cid} ({'new' if cid in new_coders else 'existing'})")
    for guid, (name, _given) in users.items():
        if guid not in coder_of:
            report.coders.append(f"user {name or guid!r} ({guid}) → "
                                 f"{_user_id(guid, users, coders_here)[0]} (made no codings: "
                                 "no coder added)")

    attributes_after = (store.attributes("document"), store.attributes("speaker"),
                        {sp.id: sp.role for sp in store.speakers()})
    if not (report.count("new") or report.codes_added or report.codings_added
            or report.memos_added or new_coders or attributes_after != attributes_before):
        return  # nothing new: the log stays as it was
    summary = (f"import {path.name}: {report.count('new')} documents, {report.codes_added} "
               f"codes, {report.codings_added} codings, {report.memos_added} memos")
    store.record_event(actor, "project.import_qdpx", {
        "summary": summary, "source": path.name, "origin": report.origin,
        "documents": [s.document for s in report.sources if s.status == "new"],
        "codes_added": report.codes_added, "codings_added": report.codings_added,
        "memos_added": report.memos_added,
        "rules": {s.source: s.rule for s in report.sources if s.rule}})


def _memo(store: Store, report: ProjectImportReport, scope: str, target: str | None,
          author: str, body: str, title: str, created: str | None, now: str,
          modified: str | None = None) -> None:
    if not body.strip() or store.memo_exists(scope, target, author, body):
        return
    made = _stored_datetime(created, now)
    store.insert_memo_row({"scope": scope, "target": target, "author": author,
                           "title": title, "body": body, "created_at": made,
                           "updated_at": _stored_datetime(modified, made)})
    report.memos_added += 1


def _apply_attributes(store: Store, report: ProjectImportReport, root: ET.Element,
                      plans: list[_DocPlan], by_source: dict[str, _DocPlan],
                      cases: list[_Case], variables: dict[str, str]) -> None:
    doc_types = store.attribute_types("document")
    speaker_types = store.attribute_types("speaker")
    unknown_vars = 0

    def typed(values: list[tuple[str, ET.Element]],
              declared: dict[str, AttributeType]) -> tuple[dict[str, AttributeValue],
                                                           dict[str, AttributeType]]:
        nonlocal unknown_vars
        out: dict[str, AttributeValue] = {}
        types: dict[str, AttributeType] = {}
        for var, element in values:
            name = variables.get(var)
            if name is None:
                unknown_vars += 1
                continue
            found = _typed_value(element)
            if found is None:
                continue
            value, kind = found
            if name in declared and declared[name] != kind:
                kind = "text"  # the project's type wins; text never clashes
            out[name], types[name] = value, kind
        return out, types

    n_docs = 0
    for plan in plans:
        if plan.source.values:
            values, types = typed(plan.source.values, doc_types)
            if values:
                store.set_attributes("document", plan.uid, values, types)
                n_docs += 1
    if n_docs:
        report.attributes.append(f"variables of {_count(n_docs, 'source')} → document "
                                 "attributes")

    speakers = {s.id for s in store.speakers()}
    as_speaker = as_docs = 0
    skipped: list[str] = []
    for case in cases:
        targets = [by_source[g].uid for g in case.sources if g in by_source]
        if case.name and (case.name in speakers or object_guid("case", case.name) == case.guid):
            values, types = typed(case.values, speaker_types)
            role = values.pop("role", None)
            types.pop("role", None)
            if values:
                store.set_attributes("speaker", case.name, values, types)
            else:
                store.ensure_speakers([case.name])
            if role is not None:
                store.set_speaker_role(case.name, str(role), "attributes")
            as_speaker += 1
        elif targets:
            values, types = typed(case.values, doc_types)
            for uid in targets if values else []:
                store.set_attributes("document", uid, values, types)
            as_docs += 1 if values else 0
        elif case.values:
            skipped.append(case.name or case.guid)
    if as_speaker:
        report.attributes.append(f"{_count(as_speaker, 'case')} matched to speakers → speaker "
                                 "attributes")
    if as_docs:
        report.attributes.append(f"{_count(as_docs, 'case')} that are not speakers → "
                                 "attributes of the documents they refer to")
    if skipped:
        report.problems.append(f"variables of {_count(len(skipped), 'case')} that are neither "
                               f"a speaker nor linked to a source: {_some(skipped)}")
    if unknown_vars:
        report.problems.append(f"{_count(unknown_vars, 'value')} of undeclared variables")

    groups: dict[str, list[str]] = {}
    code_sets: list[str] = []
    for sets_el in _children(root, "Sets"):
        for set_el in _children(sets_el, "Set"):
            name = refi._tidy_name(set_el.get("name", ""))
            members = [_key(m.get("targetGUID")) for m in _children(set_el, "MemberSource")]
            hits = [by_source[m].uid for m in members if m in by_source]
            for uid in hits:
                groups.setdefault(uid, []).append(name)
            description = _text_of_raw(_child(set_el, "Description"))
            if not members and _children(set_el, "MemberCode") and \
                    refi._parse_book_description(description) is None:
                code_sets.append(name)
    for uid, names in groups.items():
        store.set_attributes("document", uid, {SET_ATTRIBUTE: "; ".join(names)},
                             {SET_ATTRIBUTE: "text"})
    if groups:
        report.attributes.append(f"document sets → document attribute {SET_ATTRIBUTE!r} on "
                                 f"{_count(len(groups), 'document')}")
    if code_sets:
        report.problems.append(f"code groups (qcode has none): {_some(code_sets)}")
