"""REFI-QDA codebooks: write a Codebook Exchange file (.qdc), read one leniently.

``write_qdc`` writes a file that is valid against the official ``Codebook.xsd``
(namespace ``urn:QDA-XML:codebook:1.0``): nested ``Code`` elements with GUIDs
derived from the stable code ids, so two exports of the same codebook are
byte-identical. The schema has a single free-text field per code,
``Description``; qcode puts every field there in a labelled, readable form
(see ``CODE_LABELS``) that ends in a ``qcode:id=<id>`` marker, so nothing is lost
for programs that only show the description, and qcode can read its own files
back into an identical codebook. The codebook's own details (version, language,
authors, description) travel the same way in a ``Set`` holding every code.

``read_qdc`` accepts what other programs write: a ``.qdc``, a ``project.qde``
style ``CodeBook`` inside a ``Project``, or a whole ``.qdpx`` archive, in any
QDA-XML namespace or none. It refuses DTDs and entity declarations, and returns
a report of every mapping decision alongside the codebook.

Standard library only (``xml.parsers.expat`` and ``xml.etree.ElementTree``).
"""

from __future__ import annotations

import io
import json
import os
import re
import unicodedata
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from qcode.codebook import DEFAULT_COLOR, ID_PATTERN, MAX_DEPTH, Code, Codebook
from qcode.errors import InputError

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"
# Fixed namespace for uuid5: a code's GUID is uuid5(QCODE_GUID_NAMESPACE, code id).
QCODE_GUID_NAMESPACE = uuid.UUID("bda6e708-6d44-44d0-b395-545439ab9f83")

# Labels of the fields in a code's Description, in the order they are written.
CODE_LABELS: tuple[tuple[str, str], ...] = (
    ("definition", "Definisjon"),
    ("when_to_use", "Når brukes"),
    ("when_not_to_use", "Når brukes ikke"),
    ("example", "Eksempel"),
    ("indicators", "Indikatorer"),
    ("memo", "Memo"),
)
# Labels of the codebook's details in the Description of qcode's codebook Set.
BOOK_LABELS: tuple[tuple[str, str], ...] = (
    ("version", "Versjon"),
    ("language", "Språk"),
    ("authors", "Forfattere"),
    ("description", "Beskrivelse"),
)
ID_MARKER = "qcode:id="
BOOK_MARKER = "qcode:codebook"

MAX_XML_BYTES = 50 * 1024 * 1024
MAX_QDPX_BYTES = 512 * 1024 * 1024  # the archive also holds the sources; only project.qde is read
HEAD_BYTES = 4096
_HINT_EXPORT = "export the codebook again from the program that made it"

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12})\}?$")
_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_RGB_COLOR = re.compile(r"^rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,[^)]*)?\)$",
                        re.IGNORECASE)
_ID_LINE = re.compile(r"^qcode:id=([a-z0-9][a-z0-9_-]{0,63})$")
_TRANSLIT = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ß": "ss", "đ": "d", "ł": "l",
                           "þ": "th", "ð": "d", "œ": "oe"})


def code_guid(code_id: str) -> str:
    """The REFI GUID of a code: uuid5 of the stable code id, lowercase 8-4-4-4-12."""
    return str(uuid.uuid5(QCODE_GUID_NAMESPACE, code_id))


def _book_guid(name: str) -> str:
    # Code ids never contain ':', so these cannot collide with code GUIDs.
    return str(uuid.uuid5(QCODE_GUID_NAMESPACE, f"codebook:{name}"))


# -- the labelled form of a Description -------------------------------------------------


def _render_list(items: tuple[str, ...]) -> str:
    """Items as ``a; b; c``, or as JSON when that would be ambiguous."""
    simple = all(item and item == item.strip() and ";" not in item and "\n" not in item
                 for item in items) and not items[0].startswith("[")
    if simple:
        return "; ".join(items)
    return json.dumps(list(items), ensure_ascii=False)


def _parse_list(value: str) -> tuple[str, ...] | None:
    if value.startswith("["):
        try:
            data = json.loads(value)
        except ValueError:
            return None
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            return None
        return tuple(data)
    return tuple(value.split("; "))


def _render_blocks(pairs: list[tuple[str, str]], marker: str) -> str:
    """``Label: value`` paragraphs, continuation lines indented by two spaces, then the marker.

    Indenting every continuation line (blank ones too) keeps blank lines out of a
    block, so the text splits back into its blocks exactly.
    """
    blocks = [f"{label}: " + value.replace("\n", "\n  ") for label, value in pairs]
    return "\n\n".join([*blocks, marker])


def _parse_blocks(text: str,
                  labels: tuple[tuple[str, str], ...]) -> tuple[dict[str, str], str] | None:
    """Field values and the marker line of a labelled Description, or None if it is not one."""
    blocks = text.split("\n\n")
    if len(blocks) < 2:
        return None
    marker = blocks[-1]
    values: dict[str, str] = {}
    order = [label for _, label in labels]
    by_length = sorted(labels, key=lambda pair: -len(pair[1]))
    last = -1
    for block in blocks[:-1]:
        first, *rest = block.split("\n")
        found = next(((fld, label) for fld, label in by_length
                      if first.startswith(label + ": ")), None)
        if found is None or any(not line.startswith("  ") for line in rest):
            return None
        fld, label = found
        position = order.index(label)
        if position <= last:
            return None
        last = position
        values[fld] = "\n".join([first[len(label) + 2:], *(line[2:] for line in rest)])
    return values, marker


def describe_code(code: Code) -> str:
    """The Description qcode writes for a code: labelled fields and the id marker."""
    pairs: list[tuple[str, str]] = []
    for fld, label in CODE_LABELS:
        if fld == "indicators":
            if code.indicators:
                pairs.append((label, _render_list(code.indicators)))
            continue
        value: str = getattr(code, fld)
        if value or fld == "definition":
            pairs.append((label, value))
    return _render_blocks(pairs, ID_MARKER + code.id)


def _describe_book(book: Codebook) -> str:
    pairs: list[tuple[str, str]] = []
    for fld, label in BOOK_LABELS:
        if fld == "authors":
            if book.authors:
                pairs.append((label, _render_list(book.authors)))
            continue
        value: str = getattr(book, fld)
        if value or fld == "language":
            pairs.append((label, value))
    return _render_blocks(pairs, BOOK_MARKER)


@dataclass(frozen=True)
class _OwnFields:
    """What a Description in qcode's labelled form holds."""

    code_id: str
    definition: str
    when_to_use: str
    when_not_to_use: str
    example: str
    indicators: tuple[str, ...]
    memo: str


def _parse_code_description(text: str) -> _OwnFields | None:
    parsed = _parse_blocks(text, CODE_LABELS)
    if parsed is None:
        return None
    values, marker = parsed
    found = _ID_LINE.match(marker)
    if found is None or "definition" not in values:
        return None
    indicators: tuple[str, ...] = ()
    if "indicators" in values:
        items = _parse_list(values["indicators"])
        if items is None:
            return None
        indicators = items
    own = _OwnFields(found.group(1), values["definition"], values.get("when_to_use", ""),
                     values.get("when_not_to_use", ""), values.get("example", ""),
                     indicators, values.get("memo", ""))
    probe = Code(id=own.code_id, name="", definition=own.definition,
                 when_to_use=own.when_to_use, when_not_to_use=own.when_not_to_use,
                 example=own.example, indicators=own.indicators, memo=own.memo)
    return own if describe_code(probe) == text else None


def _parse_book_description(text: str) -> dict[str, str | tuple[str, ...]] | None:
    parsed = _parse_blocks(text, BOOK_LABELS)
    if parsed is None or parsed[1] != BOOK_MARKER:
        return None
    values = parsed[0]
    out: dict[str, str | tuple[str, ...]] = {
        "version": values.get("version", ""), "language": values.get("language", ""),
        "description": values.get("description", ""), "authors": ()}
    if "authors" in values:
        authors = _parse_list(values["authors"])
        if authors is None:
            return None
        out["authors"] = authors
    probe = Codebook(name="", codes=(), version=str(out["version"]),
                     language=str(out["language"]), authors=tuple(out["authors"]),
                     description=str(out["description"]))
    return out if _describe_book(probe) == text else None


# -- writing ----------------------------------------------------------------------------


def _xml_text(value: str) -> str:
    """Text with the characters XML 1.0 cannot carry removed."""
    return _XML_INVALID.sub("", value)


def _color(value: str) -> str | None:
    found = _HEX_COLOR.match(value.strip())
    if found is None or len(found.group(1)) != 6:
        return None
    return "#" + found.group(1).upper()


def _code_element(code: Code) -> ET.Element:
    attrs = {"guid": code_guid(code.id), "name": _xml_text(code.name), "isCodable": "true"}
    color = _color(code.color)
    if color:
        attrs["color"] = color
    element = ET.Element("Code", attrs)
    ET.SubElement(element, "Description").text = _xml_text(describe_code(code))
    for child in code.children:
        element.append(_code_element(child))
    return element


def qdc_bytes(book: Codebook) -> bytes:
    """The .qdc file for a codebook, as bytes (deterministic: same codebook, same bytes)."""
    from qcode import __version__

    if not book.codes:
        raise InputError(f"codebook {book.name!r} has no codes",
                         "a REFI-QDA codebook needs at least one code")
    # Plain tag names plus an xmlns attribute: ElementTree's default_namespace option
    # refuses unqualified attribute names.
    root = ET.Element("CodeBook", {"xmlns": CODEBOOK_NS, "origin": f"qcode {__version__}"})
    codes = ET.SubElement(root, "Codes")
    for code in book.codes:
        codes.append(_code_element(code))
    sets = ET.SubElement(root, "Sets")
    book_set = ET.SubElement(sets, "Set",
                             {"guid": _book_guid(book.name), "name": _xml_text(book.name)})
    ET.SubElement(book_set, "Description").text = _xml_text(
        _describe_book(book))
    for code, _parent in book.walk():
        ET.SubElement(book_set, "MemberCode", {"guid": code_guid(code.id)})
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def write_bytes_atomic(out: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``out``, then rename it over ``out``."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {out}: {exc.strerror or exc}",
                         "check that the folder exists and is writable") from exc


def write_qdc(book: Codebook, out: Path) -> None:
    """Write a REFI-QDA Codebook Exchange file (.qdc), valid against Codebook.xsd."""
    write_bytes_atomic(out, qdc_bytes(book))


# -- reading: safe XML ------------------------------------------------------------------


class _Refused(Exception):
    """Raised from inside expat when the document declares a DTD or entities."""


def _refuse(*_args: object) -> None:
    raise _Refused


def _check_head(raw: bytes, where: str) -> None:
    head = raw[:HEAD_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", "ignore")
    else:
        text = head.decode("latin-1")
    upper = text.upper()
    if "<!DOCTYPE" in upper or "<!ENTITY" in upper:
        raise _refused(where)


def _refused(where: str) -> InputError:
    return InputError(f"{where}: refused: the file declares a DOCTYPE or entities (unsafe XML)",
                      "REFI-QDA files never need one; " + _HINT_EXPORT)


def _parse_xml(raw: bytes, where: str) -> tuple[ET.Element, str]:
    """Parse XML into elements named by local name; returns the root and its namespace."""
    if not raw.lstrip(b"\xef\xbb\xbf").strip():
        raise InputError(f"{where}: the file is empty", _HINT_EXPORT)
    _check_head(raw, where)
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")
    namespaces: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        ns, _, local = name.rpartition(" ")
        if not namespaces:
            namespaces.append(ns)
        builder.start(local, {k: v for k, v in attrs.items() if " " not in k})

    def end(name: str) -> None:
        builder.end(name.rpartition(" ")[2])

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    try:
        parser.Parse(raw, True)
    except _Refused:
        raise _refused(where) from None
    except expat.ExpatError as exc:
        raise InputError(f"{where}:{exc.lineno}: not well-formed XML "
                         f"({expat.ErrorString(exc.code)}, column {exc.offset + 1})",
                         _HINT_EXPORT) from None
    return builder.close(), (namespaces[0] if namespaces else "")


def _read_source(path: Path) -> tuple[bytes, str, str | None]:
    """The XML bytes to parse, the name to use in messages, and a note about the container."""
    where = str(path)
    try:
        size = path.stat().st_size
        is_zip = False
        with open(path, "rb") as fh:
            is_zip = fh.read(4) == b"PK\x03\x04"
        limit = MAX_QDPX_BYTES if is_zip or path.suffix.lower() == ".qdpx" else MAX_XML_BYTES
        if size > limit:
            raise InputError(f"{where}: refused: the file is {_mib(size)} "
                             f"(at most {_mib(limit)})",
                             "this is not an ordinary codebook; " + _HINT_EXPORT)
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{where}: cannot be read ({exc.strerror or exc})",
                         "check the path and the file's permissions") from exc
    if not (is_zip or path.suffix.lower() == ".qdpx"):
        return raw, where, None
    return _read_qdpx(raw, where)


def _read_qdpx(raw: bytes, where: str) -> tuple[bytes, str, str | None]:
    from qcode.ingest.zipsafe import open_zip, read_member

    member = "project.qde"
    note = None
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as peek:
            names = peek.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        names = []  # open_zip below says what is wrong
    if member not in names:
        # The spec's own annex says Project.qde; ATLAS.ti 26 names it after the project.
        candidates = [n for n in names if "/" not in n and n.lower().endswith(".qde")]
        if len(candidates) == 1:
            member = candidates[0]
            note = f"the project file in the archive is named {member!r}, not project.qde"
    with open_zip(raw, where, "qdpx", member) as zf:
        size = zf.getinfo(member).file_size
        if size > MAX_XML_BYTES:
            raise InputError(f"{where}: refused: {member} unpacks to {_mib(size)} "
                             f"(at most {_mib(MAX_XML_BYTES)})", _HINT_EXPORT)
        data = read_member(zf, member, where, "qdpx")
    return data, f"{where}!{member}", note


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


# -- reading: mapping -------------------------------------------------------------------


@dataclass
class _Node:
    """A Code element as found, before ids are assigned."""

    guid: str
    name: str
    raw_name: str
    color_raw: str | None
    codable: bool
    description: str | None
    children: list[_Node] = field(default_factory=list)
    own: _OwnFields | None = None
    code_id: str = ""


def _guid_key(value: str) -> str:
    found = _GUID.match(value.strip())
    return found.group(1).lower() if found else value.strip().lower()


def _tidy_name(value: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", _xml_text(value))).strip()


def _lenient_color(value: str) -> str | None:
    text = value.strip()
    found = _HEX_COLOR.match(text)
    if found:
        digits = found.group(1)
        if len(digits) == 3:
            digits = "".join(ch * 2 for ch in digits)
        return "#" + digits[:6].upper()  # an alpha channel (#RRGGBBAA) is dropped
    found = _RGB_COLOR.match(text)
    if found and all(int(g) <= 255 for g in found.groups()):
        return "#" + "".join(f"{int(g):02X}" for g in found.groups())
    return None


def slugify(name: str) -> str:
    """A code id made from a name: æ→ae, ø→o, å→a, accents dropped, other runs → '-'."""
    text = unicodedata.normalize("NFKC", name).lower().translate(_TRANSLIT)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(ch))
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return slug[:60].rstrip("-") or "code"


def _some(items: list[str], limit: int = 5, sep: str = ", ") -> str:
    shown = sep.join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _local_children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if child.tag == name]


def _node(element: ET.Element, depth: int, where: str) -> _Node:
    if depth > MAX_DEPTH:
        raise InputError(f"{where}: codes are nested deeper than {MAX_DEPTH} levels",
                         "flatten the code hierarchy in the program that made the file")
    raw_name = element.get("name", "")
    description_el = next(iter(_local_children(element, "Description")), None)
    description = None
    if description_el is not None:
        description = "".join(description_el.itertext())
    color_raw = element.get("color")
    codable = element.get("isCodable", "true").strip().lower() not in ("false", "0")
    node = _Node(guid=_guid_key(element.get("guid", "")), name=_tidy_name(raw_name),
                 raw_name=raw_name, color_raw=color_raw, codable=codable,
                 description=description)
    node.children = [_node(child, depth + 1, where)
                     for child in _local_children(element, "Code")]
    return node


@dataclass
class _Mapper:
    """Turns found Code elements into qcode Codes, noting every decision."""

    nodes: list[_Node]
    used: set[str] = field(default_factory=set)
    no_color: list[str] = field(default_factory=list)
    expanded: list[str] = field(default_factory=list)
    bad_color: list[str] = field(default_factory=list)
    no_definition: list[str] = field(default_factory=list)
    slugged: list[str] = field(default_factory=list)
    tidied: list[str] = field(default_factory=list)
    unnamed: int = 0
    not_codable: list[str] = field(default_factory=list)
    stale_marker: list[str] = field(default_factory=list)
    own_count: int = 0

    def walk(self) -> list[_Node]:
        out: list[_Node] = []

        def visit(node: _Node) -> None:
            out.append(node)
            for child in node.children:
                visit(child)

        for node in self.nodes:
            visit(node)
        return out

    def assign_ids(self) -> None:
        every = self.walk()
        for node in every:  # first pass: ids qcode wrote itself, GUID intact
            if node.description is not None:
                node.own = _parse_code_description(node.description)
            if node.own is None:
                continue
            self.own_count += 1
            wanted = node.own.code_id
            if code_guid(wanted) == node.guid and wanted not in self.used:
                node.code_id = wanted
                self.used.add(wanted)
            else:
                self.stale_marker.append(node.name or wanted)
        for node in every:  # second pass: ids made from names
            if node.code_id:
                continue
            base = slugify(node.name)
            candidate, n = base, 1
            while candidate in self.used:
                n += 1
                suffix = f"-{n}"
                candidate = base[:64 - len(suffix)].rstrip("-") + suffix
            assert ID_PATTERN.match(candidate), candidate
            node.code_id = candidate
            self.used.add(candidate)
            self.slugged.append(f"{node.name!r} → {candidate}")

    def code(self, node: _Node) -> Code:
        own = node.own
        name = node.raw_name if own is not None and node.raw_name.strip() else node.name
        if name != node.raw_name and node.name:
            self.tidied.append(repr(node.name))
        if not name:
            self.unnamed += 1
            name = f"Kode uten navn {self.unnamed}"
        color = _lenient_color(node.color_raw) if node.color_raw is not None else None
        if node.color_raw is None or not node.color_raw.strip():
            self.no_color.append(name)
        elif color is None:
            self.bad_color.append(f"{name} ({node.color_raw.strip()!r})")
        elif len(node.color_raw.strip().lstrip("#")) != 6:
            self.expanded.append(f"{name} ({node.color_raw.strip()} → {color})")
        if not node.codable:
            self.not_codable.append(name)
        if own is None:
            own = _OwnFields(node.code_id, _clean_description(node.description or ""),
                             "", "", "", (), "")
        definition = own.definition
        if not definition.strip():
            self.no_definition.append(name)
            definition = name
        return Code(id=node.code_id, name=name, definition=definition,
                    when_to_use=own.when_to_use, when_not_to_use=own.when_not_to_use,
                    example=own.example, color=color or DEFAULT_COLOR,
                    indicators=own.indicators, memo=own.memo,
                    children=tuple(self.code(child) for child in node.children))

    def report(self) -> list[str]:
        lines = []
        if self.own_count:
            lines.append(f"qcode's labelled description found on {_count(self.own_count, 'code')}"
                         ": ids and all fields restored")
        if self.stale_marker:
            lines.append("qcode id marker not used (GUID changed or id repeated), id made from "
                         f"the name instead: {_some(self.stale_marker)}")
        if self.slugged:
            lines.append(f"id made from name for {_count(len(self.slugged), 'code')}: "
                         f"{_some(self.slugged)}")
        if self.no_definition:
            lines.append(f"definition missing for {_count(len(self.no_definition), 'code')}: "
                         "the name is used as definition, write a real one: "
                         f"{_some(self.no_definition)}")
        if self.no_color:
            lines.append(f"colour missing for {_count(len(self.no_color), 'code')}: default "
                         f"{DEFAULT_COLOR} used: {_some(self.no_color)}")
        if self.expanded:
            lines.append(f"colour expanded to #RRGGBB: {_some(self.expanded)}")
        if self.bad_color:
            lines.append(f"colour not understood, default {DEFAULT_COLOR} used: "
                         f"{_some(self.bad_color)}")
        if self.tidied:
            lines.append(f"odd whitespace in names tidied: {_some(self.tidied)}")
        if self.unnamed:
            lines.append(f"{_count(self.unnamed, 'code')} without a name: "
                         "called 'Kode uten navn N'")
        if self.not_codable:
            lines.append(f"{_count(len(self.not_codable), 'code')} marked as category "
                         "(isCodable=false) in the file, imported as ordinary codes: "
                         f"{_some(self.not_codable)}")
        return lines


def _clean_description(text: str) -> str:
    from qcode.ingest.hygiene import clean_text

    return clean_text(text).strip()


def _duplicates(codes: list[Code]) -> list[str]:
    seen: dict[str, list[Code]] = {}
    for code in codes:
        seen.setdefault(code.name.casefold(), []).append(code)
    groups = [f"{same[0].name!r} → {', '.join(c.id for c in same)}"
              for same in seen.values() if len(same) > 1]
    if not groups:
        return []
    return [f"{_count(len(groups), 'name')} used by more than one code (kept; the ids "
            f"differ): {_some(groups, sep='; ')}"]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def read_qdc(path: Path) -> tuple[Codebook, list[str]]:
    """Read a REFI-QDA codebook (.qdc, a project.qde or a .qdpx) into a Codebook.

    Returns the codebook and a human-readable report of the mapping decisions.
    Raises InputError (naming the file) for unsafe, malformed or empty input.
    """
    raw, where, container_note = _read_source(path)
    root, namespace = _parse_xml(raw, where)
    report: list[str] = []
    if container_note:
        report.append(container_note)
    origin = root.get("origin", "").strip()
    project_name = ""
    if root.tag == "Project":
        book_el = next(iter(_local_children(root, "CodeBook")), None)
        if book_el is None:
            raise InputError(f"{where}: the project has no codebook (no CodeBook element)",
                             "export a project that has codes, or a .qdc codebook")
        project_name = root.get("name", "").strip()
        report.append("only the codebook was read from the project; sources, codings, "
                      "notes and cases are not imported")
    elif root.tag == "CodeBook":
        book_el = root
    else:
        raise InputError(f"{where}: not a REFI-QDA codebook (the root element is "
                         f"<{root.tag}>, not <CodeBook> or <Project>)", _HINT_EXPORT)
    if namespace not in (CODEBOOK_NS, PROJECT_NS):
        shown = repr(namespace) if namespace else "no namespace"
        report.append(f"XML namespace is {shown}, not {CODEBOOK_NS}: read anyway")
    codes_el = next(iter(_local_children(book_el, "Codes")), None)
    holder = codes_el if codes_el is not None else book_el
    nodes = [_node(el, 1, where) for el in _local_children(holder, "Code")]
    if not nodes:
        raise InputError(f"{where}: no codes (the codebook's Codes element is empty or "
                         "missing)", "export a codebook that has at least one code")
    mapper = _Mapper(nodes)
    mapper.assign_ids()
    codes = tuple(mapper.code(node) for node in nodes)

    details: dict[str, str | tuple[str, ...]] | None = None
    book_name = ""
    ignored: list[str] = []
    for sets_el in _local_children(book_el, "Sets"):
        for set_el in _local_children(sets_el, "Set"):
            description_el = next(iter(_local_children(set_el, "Description")), None)
            text = "".join(description_el.itertext()) if description_el is not None else ""
            parsed = _parse_book_description(text) if details is None else None
            if parsed is not None and set_el.get("name", "").strip():
                details, book_name = parsed, set_el.get("name", "")
                continue
            members = len(_local_children(set_el, "MemberCode"))
            ignored.append(f"{_tidy_name(set_el.get('name', '')) or '(no name)'!r} "
                           f"({_count(members, 'code')})")

    all_codes = [c for c, _ in Codebook(name="", codes=codes).walk()]
    report.insert(0, f"{_count(len(all_codes), 'code')} read from {path.name}"
                  + (f" (written by {origin})" if origin else ""))
    if details is not None:
        book = Codebook(name=book_name, codes=codes, version=str(details["version"]),
                        language=str(details["language"]) or "nb",
                        authors=tuple(details["authors"]),
                        description=str(details["description"]))
    else:
        name = project_name if project_name.lower() not in ("", "untitled") else ""
        if name:
            report.append(f"codebook named after the project: {name!r}")
        else:
            name = path.stem
            report.append(f"codebook named after the file: {name!r}")
        book = Codebook(name=name, codes=codes)
    report.extend(mapper.report())
    report.extend(_duplicates(all_codes))
    if ignored:
        report.append(f"Sets ignored (qcode has no code groups): {_some(ignored)}")
    return book, report
