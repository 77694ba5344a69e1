"""Typed attributes: type inference, conversion, sidecar tables and filename patterns."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from qcode.errors import IngestError, InputError
from qcode.ingest.tables import Cell, read_table
from qcode.models import AttributeType, AttributeValue

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_NO_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
KEY_COLUMNS = ("informant", "speaker", "taler", "id", "respondent", "deltaker")
DOCUMENT_KEY_COLUMNS = ("document", "dokument", "file", "fil", "filename")
ROLE_COLUMNS = ("role", "rolle")


def _as_date(value: str) -> date | None:
    for rx, order in ((_ISO_DATE, (1, 2, 3)), (_NO_DATE, (3, 2, 1))):
        m = rx.match(value)
        if m:
            try:
                return date(int(m.group(order[0])), int(m.group(order[1])),
                            int(m.group(order[2])))
            except ValueError:
                return None
    return None


def infer_type(values: Iterable[Cell]) -> AttributeType:
    """``number`` or ``date`` when every non-empty value is one, else ``text``."""
    present = [v for v in values if v not in (None, "")]
    if not present:
        return "text"
    if all(isinstance(v, (int, float)) or (isinstance(v, str) and _FLOAT.match(v.strip()))
           for v in present):
        return "number"
    if all(isinstance(v, date) or (isinstance(v, str) and _as_date(v.strip())) for v in present):
        return "date"
    return "text"


def convert(value: Cell, kind: AttributeType) -> AttributeValue | None:
    """Convert a cell to the attribute type; empty cells become None."""
    if value is None or value == "":
        return None
    if kind == "number":
        if isinstance(value, (int, float)):
            return value
        text = str(value).strip()
        return int(text) if _INT.match(text) else float(text.replace(",", "."))
    if kind == "date":
        if isinstance(value, date):
            return value
        parsed = _as_date(str(value).strip())
        if parsed is None:
            raise InputError(f"{value!r} is not a date", "write dates as YYYY-MM-DD")
        return parsed
    return value.isoformat() if isinstance(value, date) else str(value).strip()


@dataclass(frozen=True)
class AttributeTable:
    """Attributes read from a sidecar: keyed by speaker id or by document name."""

    scope: str  # "speaker" or "document"
    key_column: str
    types: Mapping[str, AttributeType]
    values: Mapping[str, Mapping[str, AttributeValue]]
    roles: Mapping[str, str]


MAX_TABLE_BYTES = 20 * 2**20


def read_attribute_table(
    path: Path, overrides: Mapping[str, AttributeType] | None = None
) -> AttributeTable:
    """Read a sidecar CSV/XLSX: the first column (or one named informant/document) is the key."""
    try:
        size = path.stat().st_size
        if size > MAX_TABLE_BYTES:  # refused before reading: a sidecar is small
            raise IngestError(str(path), f"too large for an attribute table ({size / 2**20:.1f} "
                              f"MiB; the limit is {MAX_TABLE_BYTES // 2**20} MiB)",
                              "keep one row per key and only the attribute columns")
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(str(path), f"cannot be read: {exc.strerror}", "check the path") from exc
    table = read_table(path, raw)
    lowered = [h.lower() for h in table.header]
    scope = "speaker"
    key_index = 0
    for i, name in enumerate(lowered):
        if name in DOCUMENT_KEY_COLUMNS:
            scope, key_index = "document", i
            break
        if name in KEY_COLUMNS:
            key_index = i
            break
    key_column = table.header[key_index]
    role_index = next((i for i, n in enumerate(lowered) if n in ROLE_COLUMNS), None)
    if scope == "document":
        role_index = None
    types: dict[str, AttributeType] = {}
    for i, name in enumerate(table.header):
        if i in (key_index, role_index):
            continue
        types[name] = (overrides or {}).get(name) or infer_type(r[i] for r in table.rows)
    values: dict[str, dict[str, AttributeValue]] = {}
    roles: dict[str, str] = {}
    for number, row in enumerate(table.rows, start=2):
        key = str(row[key_index] or "").strip()
        if not key:
            raise IngestError(str(path), f"row {number} has an empty {key_column!r}",
                              "every row needs a key")
        if key in values:
            raise IngestError(str(path), f"{key!r} appears twice (row {number})",
                              "keep one row per key")
        attrs: dict[str, AttributeValue] = {}
        for name, kind in types.items():
            try:
                converted = convert(row[table.header.index(name)], kind)
            except (InputError, ValueError) as exc:
                raise IngestError(str(path), f"row {number}, column {name!r}: {exc}",
                                  f"fix the value or declare the type ({name}=text)") from exc
            if converted is not None:
                attrs[name] = converted
        values[key] = attrs
        if role_index is not None and row[role_index] not in (None, ""):
            roles[key] = str(row[role_index]).strip()
    return AttributeTable(scope, key_column, types, values, roles)


def filename_attributes(pattern: str, name: str) -> dict[str, AttributeValue]:
    """Document attributes from a regex with named groups matched against a file name."""
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise InputError(f"filename pattern {pattern!r} is not a valid regex: {exc}",
                         "use named groups, for example (?P<office>[^_]+)_(?P<informant>.+)"
                         ) from exc
    if not rx.groupindex:
        raise InputError(f"filename pattern {pattern!r} has no named groups",
                         "name what you capture: (?P<office>...)")
    m = rx.search(name)
    if not m:
        return {}
    out: dict[str, AttributeValue] = {}
    for key, raw in m.groupdict().items():
        if raw:
            converted = convert(raw, infer_type([raw]))
            if converted is not None:
                out[key] = converted
    return out
