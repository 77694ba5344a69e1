"""Open answers from survey exports (.csv, .xlsx): one row per respondent.

The id column, the free-text (answer) columns and the attribute columns are
detected (and can be named with options). Each answer becomes a segment spoken
by its respondent. With ``survey_mode="question"`` (default) there is one
document per answer column; with ``"respondent"`` one document per respondent.
Attribute columns become speaker attributes of the respondent (and document
attributes in respondent mode); a ``role``/``rolle`` column sets the role.
"""

from __future__ import annotations

import re
from pathlib import Path

from qcode.errors import IngestError
from qcode.ingest.attributes import ROLE_COLUMNS, convert, infer_type
from qcode.ingest.common import sha256_bytes
from qcode.ingest.hygiene import count_words
from qcode.ingest.options import ImportOptions
from qcode.ingest.tables import Cell, Table, read_table
from qcode.models import AttributeValue, ParsedDocument, Segment

ID_NAMES = ("respondent", "respondent_id", "respondentid", "id", "svar_id", "nr",
            "løpenummer", "informant", "deltaker")
MIN_MEAN_WORDS = 4.0


def _text(cell: Cell) -> str:
    return "" if cell is None else str(cell).strip()


def _pick_id_column(table: Table, path: str, wanted: str | None) -> int:
    if wanted is not None:
        if wanted not in table.header:
            raise IngestError(path, f"has no column {wanted!r}",
                              f"columns are: {', '.join(table.header)}")
        index = table.header.index(wanted)
    else:
        lowered = [h.lower() for h in table.header]
        index = next((i for i, h in enumerate(lowered) if h in ID_NAMES), 0)
    keys = [_text(r[index]) for r in table.rows]
    if any(not k for k in keys):
        raise IngestError(path, f"column {table.header[index]!r} has empty respondent ids",
                          "name the id column with --id-column")
    # compare the speaker ids made from the keys: "1" and "R1" would both become R1
    if len({_speaker_id(k) for k in keys}) != len(keys):
        raise IngestError(path, f"column {table.header[index]!r} has duplicate respondent ids",
                          "name the id column with --id-column")
    return index


def _pick_text_columns(table: Table, path: str, id_index: int,
                       wanted: tuple[str, ...]) -> list[int]:
    if wanted:
        missing = [w for w in wanted if w not in table.header]
        if missing:
            raise IngestError(path, f"has no column {missing[0]!r}",
                              f"columns are: {', '.join(table.header)}")
        return [table.header.index(w) for w in wanted]
    chosen = []
    for i, _name in enumerate(table.header):
        if i == id_index:
            continue
        answers = [_text(r[i]) for r in table.rows if _text(r[i])]
        if not answers or all(isinstance(r[i], (int, float)) for r in table.rows if r[i]):
            continue
        if sum(count_words(a) for a in answers) / len(answers) >= MIN_MEAN_WORDS:
            chosen.append(i)
    if not chosen:
        raise IngestError(path, "no free-text answer column found",
                          "name the answer columns with --text-column")
    return chosen


def _speaker_id(key: str) -> str:
    return f"R{key}" if key.isdigit() else re.sub(r"\s+", "_", key)


def _block_text(answer: str) -> str:
    return re.sub(r"\n\s*\n+", "\n", answer.strip())


def read(path: Path, raw: bytes, options: ImportOptions) -> list[ParsedDocument]:
    """One document per answer column (or per respondent) with one segment per answer."""
    name = str(path)
    table = read_table(path, raw, options.sheet)
    if not table.rows:
        raise IngestError(name, "has a header but no answers", "check the export")
    id_index = _pick_id_column(table, name, options.id_column)
    text_indexes = _pick_text_columns(table, name, id_index, options.text_columns)
    role_index = next((i for i, h in enumerate(table.header)
                       if h.lower() in ROLE_COLUMNS and i not in text_indexes), None)
    attr_indexes = [i for i in range(len(table.header))
                    if i not in (id_index, role_index, *text_indexes)]
    types = {i: infer_type(r[i] for r in table.rows) for i in attr_indexes}
    speaker_attrs: dict[str, dict[str, AttributeValue]] = {}
    roles: dict[str, str] = {}
    for row in table.rows:
        speaker = _speaker_id(_text(row[id_index]))
        attrs: dict[str, AttributeValue] = {}
        for i in attr_indexes:
            value = convert(row[i], types[i])
            if value is not None:
                attrs[table.header[i]] = value
        speaker_attrs[speaker] = attrs
        if role_index is not None and _text(row[role_index]):
            roles[speaker] = _text(row[role_index])
    source_sha = sha256_bytes(raw)
    fmt = path.suffix.lower().lstrip(".")
    warnings = table.warnings

    def build(doc_name: str, blocks: list[tuple[str, str, str]],
              attributes: dict[str, AttributeValue]) -> ParsedDocument:
        parts: list[str] = []
        segments: list[Segment] = []
        pos = 0
        for speaker, label, answer in blocks:
            prefix = f"{speaker}: "
            block = prefix + answer
            segments.append(Segment(pos + len(prefix), pos + len(block), speaker, label=label))
            parts.append(block)
            pos += len(block) + 2
        return ParsedDocument(
            name=doc_name, text="\n\n".join(parts), segments=tuple(segments), kind="survey",
            source_name=path.name, source_format=fmt, source_sha256=source_sha,
            attributes=attributes,
            speaker_attributes={s: speaker_attrs[s] for s, _, _ in blocks},
            warnings=warnings,
        )

    documents: list[ParsedDocument] = []
    if options.survey_mode == "question":
        for i in text_indexes:
            blocks = [(_speaker_id(_text(r[id_index])), table.header[i], _block_text(_text(r[i])))
                      for r in table.rows if _text(r[i])]
            if blocks:
                documents.append(build(f"{path.stem}-{table.header[i]}", blocks, {}))
    else:
        for r in table.rows:
            speaker = _speaker_id(_text(r[id_index]))
            blocks = [(speaker, table.header[i], _block_text(_text(r[i])))
                      for i in text_indexes if _text(r[i])]
            if blocks:
                documents.append(build(f"{path.stem}-{speaker}", blocks,
                                       dict(speaker_attrs[speaker])))
    if not documents:
        raise IngestError(name, "every answer is empty", "check the answer columns")
    return [_with_roles(d, roles) for d in documents]


def _with_roles(doc: ParsedDocument, roles: dict[str, str]) -> ParsedDocument:
    """Carry respondent roles as the reserved speaker attribute ``role``."""
    merged = {s: ({**a, "role": roles[s]} if s in roles else a)
              for s, a in doc.speaker_attributes.items()}
    return ParsedDocument(**{**doc.__dict__, "speaker_attributes": merged})
