"""The anonymisation leak check and pseudonymisation of documents.

Checking combines the pipeline's named entities (when it has them) with the
rule detectors of ``qcode.nlp.leaks``. Applying replaces chosen findings with
consistent placeholders in a new version of the document; the key (original ->
placeholder) goes to a separate file outside the project, readable by its
owner only, and never into the project or an export.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qcode.errors import InputError
from qcode.store import Store

if TYPE_CHECKING:
    from qcode.nlp.leaks import Finding

PLACEHOLDERS = {
    "fodselsnummer": "(fødselsnummer)", "d_number": "(fødselsnummer)", "number": "(nummer)",
    "phone": "(telefonnummer)", "email": "(e-post)", "url": "(nettadresse)",
    "birth_date": "(dato)", "address": "(adresse)",
}
NUMBERED = {"name_list": "person", "entity": "navn", "gazetteer": "navn",
            "capitalised": "navn"}


@dataclass(frozen=True)
class DocumentFinding:
    """A finding in a stored document (offsets into its text)."""

    document: str
    start: int
    end: int
    text: str
    kind: str
    confidence: str
    detail: str


def read_names(path: Path | None) -> list[str]:
    """Names to look for, one per line, from a file kept outside the project."""
    if path is None:
        return []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the name list: {exc}".splitlines()[0],
                         "a UTF-8 text file with one name per line") from exc
    return [unicodedata.normalize("NFC", n.strip()) for n in lines
            if n.strip() and not n.startswith("#")]


def check_text(text: str, *, names: Sequence[str] = (), speakers: Iterable[str] = (),
               use_pipeline: bool = True) -> list[Finding]:
    """Leak findings in a plain text (the pipeline's entities included when it has NER)."""
    from qcode.nlp.leaks import find_leaks

    entities: list[tuple[int, int, str]] = []
    starts: list[int] = []
    if use_pipeline:
        from qcode.nlp.pipeline import load_pipeline

        nlp = load_pipeline()
        doc = nlp(text)
        entities = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        starts = [s.start_char for s in doc.sents]
    return list(find_leaks(text, entities=entities, sentence_starts=starts, names=names,
                           speakers=speakers))


def check_file(path: Path, *, names: Sequence[str] = ()) -> tuple[str, list[Finding]]:
    """Check a plain-text file before import; offsets are into its text as read (UTF-8, NFC)."""
    from qcode.ingest import read_bytes
    from qcode.ingest.hygiene import decode_bytes

    raw = read_bytes(path, 200 * 2**20)
    text = unicodedata.normalize("NFC", decode_bytes(raw, str(path)).text)
    return text, check_text(text, names=names)


def check_document(store: Store, ref: str, *, names: Sequence[str] = (),
                   annotate: bool = True) -> list[DocumentFinding]:
    """Check a stored document using its stored annotations (annotating first if needed)."""
    from qcode.nlp.leaks import find_leaks

    doc = store.document(ref)
    if annotate and doc.id not in store.annotated():
        from qcode.services.nlp import annotate_documents

        annotate_documents(store, [doc.name])
    entities = [(s, e, label) for _t, s, e, label in store.entities(doc.id)]
    starts = [s for _t, s, _e in store.sentences(doc.id)]
    speakers = {t.speaker for t in store.turns(doc.id) if t.speaker}
    findings = find_leaks(doc.text, entities=entities, sentence_starts=starts, names=names,
                          speakers=speakers)
    return [DocumentFinding(doc.name, f.start, f.end, f.text, f.kind, f.confidence, f.detail)
            for f in findings]


def leaks_in_spans(store: Store, spans: Sequence[tuple[str, int, int]],
                   names: Sequence[str] = ()) -> list[DocumentFinding]:
    """High-confidence findings inside the given (document, start, end) spans."""
    by_doc: dict[str, list[tuple[int, int]]] = {}
    for name, start, end in spans:
        by_doc.setdefault(name, []).append((start, end))
    flagged = []
    for name, ranges in by_doc.items():
        for f in check_document(store, name, names=names, annotate=False):
            if f.confidence == "high" and any(f.start < e and f.end > s for s, e in ranges):
                flagged.append(f)
    return flagged


def record_import_findings(store: Store, document_ids: Sequence[int],
                           actor: str) -> dict[str, int]:
    """Rule-based check right after import; warns and records counts (never the text)."""
    from qcode.nlp.leaks import find_leaks

    counts: dict[str, int] = {}
    with store.transaction():
        for doc_id in document_ids:
            doc = store.document(doc_id)
            speakers = {t.speaker for t in store.turns(doc.id) if t.speaker}
            high = [f for f in find_leaks(doc.text, speakers=speakers, use_gazetteer=True)
                    if f.confidence == "high"]
            if high:
                counts[doc.name] = len(high)
                store.record_event(actor, "anonymize.findings", {
                    "document_id": doc.id, "high": len(high),
                    "spans": [[f.start, f.end, f.kind] for f in high]})
    return counts


# -- apply ---------------------------------------------------------------------------


@dataclass
class ApplyReport:
    """What pseudonymisation changed."""

    document: str
    version: int
    replaced: int
    key_file: Path
    codings_moved: int
    placeholders: list[str] = field(default_factory=list)


def _load_key(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a qcode key file", "give a new or an existing key "
                         "file written by 'qcode anonymize apply'") from exc
    mapping = data.get("mapping", {}) if isinstance(data, dict) else {}
    return {str(k): str(v) for k, v in mapping.items()}


def _write_key(path: Path, mapping: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"qcode_key": 1, "note": "original -> placeholder; keep apart from the data",
                   "mapping": mapping}, fh, ensure_ascii=False, indent=1, sort_keys=True)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _placeholder(kind: str, original: str, mapping: dict[str, str]) -> str:
    key = original.casefold()
    if key in mapping:
        return mapping[key]
    if kind in PLACEHOLDERS:
        value = PLACEHOLDERS[kind]
    else:
        stem = NUMBERED.get(kind, "navn")
        used = {v for v in mapping.values() if v.startswith(f"({stem} ")}
        value = f"({stem} {len(used) + 1})"
    mapping[key] = value
    return value


def apply_pseudonyms(store: Store, ref: str, key_file: Path, *,
                     confidence: Sequence[str] = ("high",), kinds: Sequence[str] | None = None,
                     names: Sequence[str] = (), actor: str | None = None) -> ApplyReport:
    """Replace findings with consistent placeholders as a new version of the document."""
    from qcode.ingest.common import sha256_text
    from qcode.ingest.hygiene import count_words
    from qcode.models import ParsedDocument, Segment
    from qcode.services.projects import default_actor

    key_file = Path(key_file).resolve()
    if key_file == store.path.resolve() or key_file.suffix == ".qcode":
        raise InputError(f"{key_file}: the key must not be a project file",
                         "name a separate file, e.g. ~/nokler/studie-nokkel.json")
    doc = store.document(ref)
    chosen = [f for f in check_document(store, ref, names=names)
              if f.confidence in confidence and (kinds is None or f.kind in kinds)]
    if not chosen:
        raise InputError(f"{doc.name}: nothing to replace at confidence "
                         f"{'/'.join(confidence)}", "see 'qcode anonymize check'")
    mapping = _load_key(key_file)
    pieces: list[str] = []
    shifts: list[tuple[int, int, int]] = []  # old start, old end, new length
    pos = 0
    for f in sorted(chosen, key=lambda f: f.start):
        if f.start < pos:
            continue
        replacement = _placeholder(f.kind, f.text, mapping)
        pieces.append(doc.text[pos:f.start])
        pieces.append(replacement)
        shifts.append((f.start, f.end, len(replacement)))
        pos = f.end
    pieces.append(doc.text[pos:])
    new_text = "".join(pieces)

    def moved(offset: int, *, is_end: bool) -> int:
        delta = 0
        for s, e, n in shifts:
            if offset >= e:
                delta += n - (e - s)
            elif s < offset < e:  # inside a replaced span: snap to its edge
                return s + delta + (n if is_end else 0)
            elif offset == s and is_end:
                break
        return offset + delta

    turns = store.turns(doc.id)
    segments = tuple(Segment(moved(t.start, is_end=False), moved(t.end, is_end=True),
                             t.speaker, t.time_start, t.time_end, t.label) for t in turns)
    parsed = ParsedDocument(name=doc.name, text=new_text, segments=segments,
                            kind=doc.kind,  # type: ignore[arg-type]
                            source_name=doc.source_name, source_format=doc.source_format,
                            source_sha256=sha256_text(new_text))
    actor = actor or default_actor()
    codings = 0
    with store.transaction():
        new_id = store.insert_document(
            parsed, kind=doc.kind, sha256=sha256_text(new_text),
            word_count=sum(count_words(new_text[s.start:s.end]) for s in segments),
            actor=actor, previous=doc)
        for coding_id, start, end in store.codings_on(doc.id):
            store.move_coding(coding_id, new_id, moved(start, is_end=False),
                              max(moved(end, is_end=True), moved(start, is_end=False) + 1))
            codings += 1
        store.record_event(actor, "anonymize.apply", {
            "document": doc.name, "from_id": doc.id, "to_id": new_id,
            "replaced": len(shifts), "codings_moved": codings})
    _write_key(key_file, mapping)
    return ApplyReport(doc.name, doc.version + 1, len(shifts), key_file, codings,
                       sorted(set(mapping.values())))
