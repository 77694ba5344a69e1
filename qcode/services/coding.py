"""Codebooks, coders, coding, memos, undo and history."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qcode.codebook import (
    CODE_FIELDS,
    COLOR_PATTERN,
    ID_PATTERN,
    Code,
    Codebook,
    build_tree,
)
from qcode.errors import InputError, NotFound, QcodeError
from qcode.models import CodeInfo, Coder, Coding, Document, Memo, Turn
from qcode.services.projects import default_actor
from qcode.store import Store

EDITABLE_FIELDS = tuple(f for f in CODE_FIELDS if f not in ("id", "children"))
MEMO_SCOPES = ("project", "document", "code", "coding")
SNAP_UNITS = ("none", "word", "sentence", "turn")
_SENTENCE_END = re.compile(r"[.!?…]+[»”\"')\]]*(?=\s|$)|\n\s*\n")


# -- coders --------------------------------------------------------------------------


def resolve_coder(store: Store, coder: str | None, *, create: bool = True) -> Coder:
    """The active coder by id (``--coder``, then $QCODE_CODER, then the user config).

    A new id is created on first use (its name is the id until renamed).
    """
    from qcode.config import configured_coder

    coder_id = coder or configured_coder()
    if not coder_id:
        raise InputError("who is coding? no coder given",
                         "pass --coder ID, set QCODE_CODER, or run 'qcode config coder ID'")
    if not ID_PATTERN.match(coder_id):
        raise InputError(f"coder id {coder_id!r} is not valid (lowercase letters, digits, - _)",
                         "for example --coder coder-a")
    found = store.coder(coder_id)
    if found is not None:
        return found
    if not create:
        raise NotFound(f"no coder {coder_id!r}", "list coders with 'qcode coders list'")
    with store.transaction(), store.capture() as changes:
        store.add_coder(coder_id, coder_id)
        store.record_event(coder_id, "coder.add", {"summary": f"add coder {coder_id}",
                                                   "coder": coder_id}, changes)
    return Coder(coder_id, coder_id)


def add_coder(store: Store, coder_id: str, name: str, actor: str | None = None) -> Coder:
    """Create a coder with a display name."""
    if not ID_PATTERN.match(coder_id):
        raise InputError(f"coder id {coder_id!r} is not valid (lowercase letters, digits, - _)",
                         "for example coder-a")
    if store.coder(coder_id) is not None:
        raise InputError(f"coder {coder_id!r} exists already", "choose another id")
    with store.transaction(), store.capture() as changes:
        store.add_coder(coder_id, name)
        store.record_event(actor or coder_id, "coder.add",
                           {"summary": f"add coder {coder_id}", "coder": coder_id}, changes)
    return Coder(coder_id, name)


# -- codebooks -----------------------------------------------------------------------


@dataclass
class CodebookLoadReport:
    """What loading a codebook file into a project changed."""

    codebook: str
    created: bool
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # absent from the file but coded
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True if anything in the project changed."""
        return bool(self.created or self.added or self.updated or self.moved or self.removed)


def _summary(report: CodebookLoadReport) -> str:
    if report.created:
        return f"loaded {len(report.added)} codes"
    parts = [f"{label} {len(items)}" for label, items in (
        ("added", report.added), ("updated", report.updated), ("moved", report.moved),
        ("removed", report.removed)) if items]
    return "reloaded: " + ", ".join(parts)


def load_codebook(store: Store, book: Codebook, *, source_name: str | None = None,
                  actor: str | None = None,
                  warnings: Sequence[str] = ()) -> CodebookLoadReport:
    """Load a codebook; loading one with the same name again updates it in place.

    Codes absent from the new file are removed unless they have codings, in
    which case they stay (and are reported).
    """
    actor = actor or default_actor()
    report = CodebookLoadReport(book.name, created=False, warnings=list(warnings))
    with store.transaction(), store.capture() as changes:
        book_id = store.codebook_id(book.name)
        existing = {c.id: c for c in store.codes(book_id)} if book_id is not None else {}
        others = {c.id: c.codebook for c in store.codes() if c.id not in existing}
        clash = [cid for cid in book.ids() if cid in others]
        if clash:
            raise InputError(f"code id {clash[0]!r} is already used by codebook "
                             f"{others[clash[0]]!r}", "code ids are unique across a project")
        if book_id is None:
            book_id = store.insert_codebook(book, source_name)
            report.created = True
        else:
            store.update_codebook(book_id, book)
        positions: dict[str | None, int] = {}
        for code, parent in book.walk():
            pos = positions.get(parent, 0)
            positions[parent] = pos + 1
            old = existing.get(code.id)
            if old is None:
                store.insert_code(book_id, code, parent, pos)
                report.added.append(code.id)
                continue
            values = store.code_values(code)
            before = store.code_values(_code_of(old))
            if values != before:
                report.updated.append(code.id)
            if old.parent_id != parent:
                report.moved.append(code.id)
            store.update_code(code.id, {**values, "parent_id": parent, "position": pos})
        incoming = set(book.ids())
        gone = [cid for cid in reversed([c.id for c in existing.values()])
                if cid not in incoming]
        for cid in gone:
            if store.coding_ids_for_codes([cid]) or any(
                    d not in gone for d in store.descendants(cid)):
                report.kept.append(cid)
            else:
                _delete_code_rows(store, [cid])
                report.removed.append(cid)
        if report.changed:
            summary = f"codebook {book.name}: {_summary(report)}"
            store.add_revision(book_id, actor, _summary(report))
            store.record_event(actor, "codebook.load", {
                "summary": summary, "codebook_id": book_id, "codebook": book.name,
                "source": source_name, "added": report.added, "updated": report.updated,
                "removed": report.removed, "kept": report.kept}, changes)
    return report


def load_codebook_file(store: Store, path: Path, actor: str | None = None) -> CodebookLoadReport:
    """Validate and load a YAML (or REFI-QDA .qdc) codebook file."""
    from qcode import codebook as cb

    if path.suffix.lower() in (".qdc", ".qdpx", ".qde"):
        from qcode.refi import read_qdc

        book, mapping = read_qdc(path)
        report = load_codebook(store, book, source_name=path.name, actor=actor)
        report.warnings.extend(mapping)
        return report
    book, problems = cb.load_codebook_file(path)
    return load_codebook(store, book, source_name=path.name, actor=actor,
                         warnings=[str(p) for p in problems])


def _code_of(info: CodeInfo) -> Code:
    return Code(id=info.id, name=info.name, definition=info.definition,
                when_to_use=info.when_to_use, when_not_to_use=info.when_not_to_use,
                example=info.example, color=info.color, indicators=info.indicators,
                memo=info.memo)


def codebook_from_project(store: Store, name: str) -> Codebook:
    """Rebuild a loaded codebook (with any edits made in the project)."""
    import json

    book_id = store.codebook_id(name)
    if book_id is None:
        raise NotFound(f"no codebook {name!r} in the project",
                       "list them with 'qcode codebook list'")
    row = store.codebook_row(book_id)
    head = Codebook(name=row["name"], codes=(), version=row["version"],
                    language=row["language"], authors=tuple(json.loads(row["authors"])),
                    description=row["description"])
    return build_tree(head, [(_code_of(c), c.parent_id) for c in store.codes(book_id)])


def list_codebooks(store: Store) -> list[dict[str, Any]]:
    """Codebooks with their number of codes and revisions."""
    out = []
    for book_id, name, version, n_codes in store.codebook_names():
        revisions = store.revisions(book_id)
        out.append({"name": name, "version": version, "codes": n_codes,
                    "revisions": len(revisions),
                    "last_change": revisions[-1][1] if revisions else None})
    return out


def list_codes(store: Store, codebook: str | None = None) -> list[CodeInfo]:
    """Codes in tree order (all codebooks, or one)."""
    if codebook is None:
        return store.codes()
    book_id = store.codebook_id(codebook)
    if book_id is None:
        raise NotFound(f"no codebook {codebook!r} in the project",
                       "list them with 'qcode codebook list'")
    return store.codes(book_id)


def resolve_code(store: Store, ref: str) -> CodeInfo:
    """A code by id or by path (``samarbeid/forutsetninger/relasjoner``)."""
    return _find_code(store.codes(), ref)


def _find_code(codes: Sequence[CodeInfo], ref: str) -> CodeInfo:
    """``resolve_code`` among codes already read."""
    ref = ref.strip().strip("/")
    for c in codes:
        if c.id == ref or c.path == ref:
            return c
    tail = ref.rsplit("/", 1)[-1]
    for c in codes:
        if c.id == tail and c.path.endswith(ref):
            return c
    import difflib

    close = difflib.get_close_matches(tail, [c.id for c in codes], n=3)
    hint = f"did you mean {', '.join(close)}?" if close else "list codes with 'qcode codebook show'"
    raise NotFound(f"no code {ref!r}", hint)


def _validate_field(fld: str, value: Any) -> Any:
    if fld not in EDITABLE_FIELDS:
        raise InputError(f"{fld!r} is not an editable code field",
                         f"fields: {', '.join(EDITABLE_FIELDS)}")
    if fld == "color":
        value = str(value).upper()
        if not COLOR_PATTERN.match(value):
            raise InputError(f"{value!r} is not a colour like #1F77B4", "use #RRGGBB")
    if fld == "name" and not str(value).strip():
        raise InputError("a code name must not be empty", "give it a name")
    if fld == "definition" and not str(value).strip():
        raise InputError("a definition must not be empty", "say what the code means")
    if fld == "indicators" and isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    return value


def add_code(store: Store, codebook: str, code_id: str, name: str, definition: str, *,
             parent: str | None = None, actor: str | None = None,
             **fields: Any) -> CodeInfo:
    """Add a code to a codebook (under ``parent`` or at the top level)."""
    actor = actor or default_actor()
    if not ID_PATTERN.match(code_id):
        raise InputError(f"{code_id!r} is not a valid code id (lowercase letters, digits, - _)",
                         "for example tillit or felles-moter")
    book_id = store.codebook_id(codebook)
    if book_id is None:
        raise NotFound(f"no codebook {codebook!r}", "list them with 'qcode codebook list'")
    if any(c.id == code_id for c in store.codes()):
        raise InputError(f"code id {code_id!r} exists already", "ids are unique in a project")
    parent_id = resolve_code(store, parent).id if parent else None
    if parent_id is not None and store.code_codebook(parent_id) != book_id:
        raise InputError(f"{parent_id!r} is in another codebook", f"choose a code in {codebook}")
    from dataclasses import replace

    values = {f: _validate_field(f, v) for f, v in fields.items() if v is not None}
    if "indicators" in values:
        values["indicators"] = tuple(values["indicators"])
    code = replace(Code(id=code_id, name=_validate_field("name", name),
                        definition=_validate_field("definition", definition)), **values)
    with store.transaction(), store.capture() as changes:
        store.insert_code(book_id, code, parent_id, store.next_position(book_id, parent_id))
        summary = f"add code {code_id}" + (f" under {parent_id}" if parent_id else "")
        store.add_revision(book_id, actor, summary)
        store.record_event(actor, "code.add", {"summary": summary, "codebook_id": book_id,
                                               "code": code_id}, changes)
    return store.code(code_id)


def edit_code(store: Store, code_ref: str, values: dict[str, Any],
              actor: str | None = None) -> CodeInfo:
    """Change fields of a code (rename = change ``name``)."""
    actor = actor or default_actor()
    code = resolve_code(store, code_ref)
    clean = {f: _validate_field(f, v) for f, v in values.items()}
    if not clean:
        raise InputError("nothing to change", "name a field, for example --name or --definition")
    with store.transaction(), store.capture() as changes:
        store.update_code(code.id, clean)
        if changes:
            book_id = store.code_codebook(code.id)
            summary = f"edit {code.id}: {', '.join(sorted(clean))}"
            store.add_revision(book_id, actor, summary)
            store.record_event(actor, "code.edit", {"summary": summary, "codebook_id": book_id,
                                                    "code": code.id}, changes)
    return store.code(code.id)


def move_code(store: Store, code_ref: str, new_parent: str | None,
              actor: str | None = None) -> CodeInfo:
    """Re-parent a code (``None``: top level) within its codebook."""
    actor = actor or default_actor()
    code = resolve_code(store, code_ref)
    book_id = store.code_codebook(code.id)
    parent_id = resolve_code(store, new_parent).id if new_parent else None
    if parent_id is not None and store.code_codebook(parent_id) != book_id:
        raise InputError(f"{parent_id!r} is in another codebook",
                         "codes move within their codebook")
    store.check_code_parent(code.id, parent_id)
    with store.transaction(), store.capture() as changes:
        store.update_code(code.id, {"parent_id": parent_id,
                                    "position": store.next_position(book_id, parent_id)})
        summary = f"move {code.id} under {parent_id or 'the top level'}"
        store.add_revision(book_id, actor, summary)
        store.record_event(actor, "code.move", {"summary": summary, "codebook_id": book_id,
                                                "code": code.id}, changes)
    return store.code(code.id)


@dataclass(frozen=True)
class MergeReport:
    """What merging one code into another did."""

    source: str
    target: str
    codings_moved: int
    duplicates_removed: int
    children_moved: int


def merge_codes(store: Store, source_ref: str, target_ref: str,
                actor: str | None = None) -> MergeReport:
    """Merge ``source`` into ``target``: codings and children move, the source is deleted."""
    actor = actor or default_actor()
    source, target = resolve_code(store, source_ref), resolve_code(store, target_ref)
    if source.id == target.id:
        raise InputError("cannot merge a code into itself", "name two different codes")
    if target.id in store.descendants(source.id):
        raise InputError(f"cannot merge {source.id!r} into its own descendant {target.id!r}",
                         "merge the child into the parent instead")
    book_id = store.code_codebook(target.id)
    moved = dupes = kids = 0
    from qcode.services.backup import backup_before

    backup_before(store, "merge")
    with store.transaction(), store.capture() as changes:
        for coding in store.codings(code_ids=[source.id], current_only=False):
            twin = store.find_coding(coding.document_id, coding.start, coding.end, target.id,
                                     coding.coder_id)
            if twin is not None:
                store.delete_coding(coding.id)
                dupes += 1
            else:
                store.update_coding(coding.id, {"code_id": target.id})
                moved += 1
        for child in [c for c in store.codes() if c.parent_id == source.id]:
            store.update_code(child.id, {"parent_id": target.id,
                                         "position": store.next_position(book_id, target.id)})
            kids += 1
        for memo_id in store.memo_ids_for("code", [source.id]):
            store._update("memos", memo_id, {"target": target.id})
        for sid in store.suggestion_ids_for_codes([source.id]):
            store.conn.execute("UPDATE suggestions SET code_id = ? WHERE id = ?",
                               (target.id, sid))
        store.delete_code_row(source.id)
        summary = (f"merge {source.id} into {target.id}: {moved} codings moved, "
                   f"{dupes} duplicates removed")
        store.add_revision(book_id, actor, summary)
        store.record_event(actor, "code.merge", {"summary": summary, "codebook_id": book_id,
                                                 "source": source.id, "target": target.id},
                           changes)
    return MergeReport(source.id, target.id, moved, dupes, kids)


def _delete_code_rows(store: Store, code_ids: Sequence[str]) -> None:
    for cid in code_ids:
        for coding_id in store.coding_ids_for_codes([cid]):
            for memo_id in store.memo_ids_for("coding", [store.coding(coding_id).uid]):
                store.delete_memo(memo_id)
            store.delete_coding(coding_id)
        for memo_id in store.memo_ids_for("code", [cid]):
            store.delete_memo(memo_id)
        store.conn.execute("DELETE FROM suggestions WHERE code_id = ?", (cid,))
        store.delete_code_row(cid)


def delete_code(store: Store, code_ref: str, *, force: bool = False,
                actor: str | None = None) -> tuple[list[str], int]:
    """Delete a code and its descendants; refused while codings exist unless ``force``.

    Returns the deleted code ids and the number of codings deleted. Undo restores both.
    """
    actor = actor or default_actor()
    code = resolve_code(store, code_ref)
    subtree = [code.id, *store.descendants(code.id)]
    codings = store.coding_ids_for_codes(subtree)
    if codings and not force:
        raise InputError(
            f"code {code.id!r} (with its sub-codes) has {len(codings)} codings",
            f"move them first ('qcode codebook merge {code.id} OTHER'), or pass --force "
            "(undo brings everything back)")
    if len(subtree) > 1 and not force:
        raise InputError(f"code {code.id!r} has {len(subtree) - 1} sub-codes",
                         "move or delete them first, or pass --force")
    book_id = store.code_codebook(code.id)
    if codings or len(subtree) > 1:
        from qcode.services.backup import backup_before

        backup_before(store, "delete")
    with store.transaction(), store.capture() as changes:
        _delete_code_rows(store, list(reversed(subtree)))
        summary = f"delete {code.id}" + (f" and {len(subtree) - 1} sub-codes"
                                         if len(subtree) > 1 else "") + \
            (f" with {len(codings)} codings" if codings else "")
        store.add_revision(book_id, actor, summary)
        store.record_event(actor, "code.delete", {"summary": summary, "codebook_id": book_id,
                                                  "codes": subtree}, changes)
    return subtree, len(codings)


def export_codebook(store: Store, name: str, out: Path, fmt: str | None = None) -> Path:
    """Write a codebook as YAML, Markdown, DOCX or REFI-QDA .qdc (format from the extension)."""
    fmt = (fmt or out.suffix.lstrip(".")).lower()
    if fmt == "yml":
        fmt = "yaml"
    book = codebook_from_project(store, name)
    if fmt == "yaml":
        from qcode.codebook import codebook_to_yaml

        out.write_text(codebook_to_yaml(book), encoding="utf-8")
    elif fmt in ("md", "docx"):
        from qcode.export.codebook import write_codebook_docx, write_codebook_markdown

        stats = store.code_stats()
        paths = {c.id: c.path for c in store.codes()}
        writer = write_codebook_markdown if fmt == "md" else write_codebook_docx
        writer(book, out, stats, paths)
    elif fmt == "qdc":
        from qcode.refi import write_qdc

        write_qdc(book, out)
    else:
        raise InputError(f"unknown codebook format {fmt!r}", "use yaml, md, docx or qdc")
    return out


# -- coding --------------------------------------------------------------------------


def _sentence_bounds(text: str, lo: int, hi: int, start: int, end: int) -> tuple[int, int]:
    s = lo
    for m in _SENTENCE_END.finditer(text, lo, hi):
        if m.end() <= start:
            s = m.end()
    e = hi
    for m in _SENTENCE_END.finditer(text, max(end - 1, lo), hi):
        e = m.end() if not m.group().startswith("\n") else m.start()
        break
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def snap_span(text: str, turns: Sequence[Any], start: int, end: int,
              unit: str) -> tuple[int, int]:
    """Widen a span to whole words, sentences (within its turn) or the turn."""
    if unit == "none":
        return start, end
    turn = next((t for t in turns if t.start <= start < max(t.end, t.start + 1)), None)
    lo, hi = (turn.start, turn.end) if turn else (0, len(text))
    if unit == "turn":
        if turn is None:
            raise InputError(f"no turn at offset {start}", "choose a span inside a turn")
        return turn.start, turn.end
    if unit == "word":
        while start > lo and (text[start - 1].isalnum() or text[start - 1] in "-'"):
            start -= 1
        while end < hi and (text[end].isalnum() or text[end] in "-'"):
            end += 1
        return start, end
    if unit == "sentence":
        return _sentence_bounds(text, lo, hi, start, end)
    raise InputError(f"unknown snap unit {unit!r}", f"use one of {', '.join(SNAP_UNITS)}")


@dataclass(frozen=True)
class SpanRequest:
    """A span to code: by offsets, by quote (unique in the document), or by turn number."""

    document: str
    code: str
    start: int | None = None
    end: int | None = None
    quote: str | None = None
    occurrence: int | None = None
    turn: int | None = None
    memo: str = ""


def _locate(store: Store, req: SpanRequest, snap: str) -> tuple[int, int, int]:
    doc = store.document(req.document)
    return _locate_in(doc, store.turns(doc.id), req, snap)


def _locate_in(doc: Document, turns: Sequence[Turn], req: SpanRequest,
               snap: str) -> tuple[int, int, int]:
    """(document id, start, end) of a request in a document already read."""
    if req.turn is not None:
        match = [t for t in turns if t.index == req.turn]
        if not match:
            raise InputError(f"{doc.name} has no turn {req.turn}",
                             f"turns are 1 to {len(turns)}")
        return doc.id, match[0].start, match[0].end
    if req.quote is not None:
        import unicodedata

        quote = unicodedata.normalize("NFC", req.quote)
        hits = [m.start() for m in re.finditer(re.escape(quote), doc.text)] if quote else []
        if not hits:
            raise InputError(f"{doc.name}: quote not found: {quote[:60]!r}",
                             "copy the text exactly from 'qcode show'")
        if req.occurrence is None and len(hits) > 1:
            raise InputError(f"{doc.name}: quote occurs {len(hits)} times: {quote[:60]!r}",
                             "lengthen the quote or give --occurrence N")
        index = (req.occurrence or 1) - 1
        if not 0 <= index < len(hits):
            raise InputError(f"{doc.name}: quote occurs {len(hits)} times, not "
                             f"{req.occurrence}", "give a smaller --occurrence")
        start, end = hits[index], hits[index] + len(quote)
    else:
        if req.start is None or req.end is None:
            raise InputError("a span needs --start and --end, --quote, or --turn",
                             "see 'qcode code apply --help'")
        start, end = req.start, req.end
    if not 0 <= start < end <= len(doc.text):
        raise InputError(f"span {start}-{end} is not inside {doc.name} "
                         f"(0-{len(doc.text)}, end exclusive, non-empty)",
                         "offsets are code points into the stored text")
    start, end = snap_span(doc.text, turns, start, end, snap)
    if start >= end:
        raise InputError(f"span {start}-{end} in {doc.name} is empty after snapping",
                         "choose a span with text")
    return doc.id, start, end


def apply_codings(store: Store, requests: Sequence[SpanRequest], coder: str | None, *,
                  snap: str = "none", actor: str | None = None,
                  kind: str = "coding.apply") -> list[Coding]:
    """Apply codes to spans as one undoable change; identical existing codings are kept once."""
    who = resolve_coder(store, coder)
    if not requests:
        raise InputError("no spans to code", "name at least one span")
    located = _locate_all(store, requests, snap)
    ids: list[int] = []
    with store.transaction(), store.capture() as changes:
        for span in located:
            existing = store.find_coding(span.document_id, span.start, span.end, span.code_id,
                                         who.id)
            ids.append(existing if existing is not None else
                       store.insert_coding(span.document_id, span.start, span.end,
                                           span.code_id, who.id, span.memo))
        if changes:
            n = len(changes)
            first = located[0]  # what ids[0] is: found or inserted with these values
            summary = (f"code {first.document} {first.start}-{first.end} as {first.code_id}"
                       if n == 1 else f"apply {n} codings")
            store.record_event(actor or who.id, kind, {"summary": summary, "coder": who.id,
                                                       "codings": ids}, changes)
    return [replace(c, text=span.text) for c, span in
            zip(store.codings_by_id(ids, with_text=False), located, strict=True)]


@dataclass(frozen=True)
class _Located:
    """A span request resolved against its document and the codebook."""

    document_id: int
    document: str
    start: int
    end: int
    code_id: str
    memo: str
    text: str


def _locate_all(store: Store, requests: Sequence[SpanRequest], snap: str) -> list[_Located]:
    """Locate every request, reading each document, its turns and the codes once.

    Requests are handled document by document (one text in memory at a time); if
    some fail, the error raised is that of the first failing request, as if they
    were located in order.
    """
    codes = store.codes()
    code_ids: dict[str, str] = {}
    by_document: dict[str, list[int]] = {}
    for i, r in enumerate(requests):
        by_document.setdefault(r.document, []).append(i)
    located: list[_Located | None] = [None] * len(requests)
    failure: tuple[int, QcodeError] | None = None
    for ref, positions in by_document.items():
        if failure is not None and failure[0] < positions[0]:
            continue
        try:
            doc = store.document(ref)
        except QcodeError as exc:
            failure = (positions[0], exc)
            continue
        turns = store.turns(doc.id)
        for i in positions:
            if failure is not None and failure[0] < i:
                break
            r = requests[i]
            try:
                doc_id, start, end = _locate_in(doc, turns, r, snap)
                code_id = code_ids.get(r.code)
                if code_id is None:
                    code_id = code_ids[r.code] = _find_code(codes, r.code).id
            except QcodeError as exc:
                failure = (i, exc)
                break
            located[i] = _Located(doc_id, doc.name, start, end, code_id, r.memo,
                                  doc.text[start:end])
    if failure is not None:
        raise failure[1]
    return [span for span in located if span is not None]


def apply_coding(store: Store, request: SpanRequest, coder: str | None, *,
                 snap: str = "none") -> Coding:
    """Apply one code to one span."""
    return apply_codings(store, [request], coder, snap=snap)[0]


def remove_codings(store: Store, refs: Sequence[str], actor: str | None = None) -> int:
    """Remove codings by id or uid (undoable); their coding memos go with them."""
    actor = actor or default_actor()
    found = [store.coding(r) for r in refs]
    with store.transaction(), store.capture() as changes:
        for c in found:
            for memo_id in store.memo_ids_for("coding", [c.uid]):
                store.delete_memo(memo_id)
            store.delete_coding(c.id)
        summary = (f"remove coding {found[0].id} ({found[0].code_id} in {found[0].document})"
                   if len(found) == 1 else f"remove {len(found)} codings")
        store.record_event(actor, "coding.remove", {"summary": summary}, changes)
    return len(found)


def set_coding_memo(store: Store, ref: str, memo: str, actor: str | None = None) -> Coding:
    """Set the short memo stored on a coding."""
    actor = actor or default_actor()
    coding = store.coding(ref)
    with store.transaction(), store.capture() as changes:
        store.update_coding(coding.id, {"memo": memo})
        store.record_event(actor, "coding.memo", {"summary": f"memo on coding {coding.id}"},
                           changes)
    return store.coding(coding.id)


def edit_coding(store: Store, ref: str, *, start: int | None = None, end: int | None = None,
                code: str | None = None, actor: str | None = None) -> Coding:
    """Move a coding to another span of its document and/or give it another code (undoable).

    The coding keeps its id, coder, memo and memos. Unchanged values are no change:
    nothing is written and no event is recorded.
    """
    actor = actor or default_actor()
    coding = store.coding(ref)
    new_start = coding.start if start is None else start
    new_end = coding.end if end is None else end
    new_code = coding.code_id if code is None else resolve_code(store, code).id
    doc = store.document(coding.document_id)
    if not 0 <= new_start < new_end <= len(doc.text):
        raise InputError(f"span {new_start}-{new_end} is not inside {doc.name} "
                         f"(0-{len(doc.text)}, end exclusive, non-empty)",
                         "offsets are code points into the stored text")
    if not doc.text[new_start:new_end].strip():
        raise InputError(f"span {new_start}-{new_end} in {doc.name} has no text",
                         "choose a span with words in it")
    values = {k: v for k, v in (("start", new_start), ("end", new_end), ("code_id", new_code))
              if getattr(coding, k) != v}
    if not values:
        return coding
    twin = store.find_coding(coding.document_id, new_start, new_end, new_code, coding.coder_id)
    if twin is not None and twin != coding.id:
        raise InputError(f"{coding.coder_id} already has this code on {doc.name} "
                         f"{new_start}-{new_end} (coding {twin})",
                         "remove this coding instead, or choose another span or code")
    parts = []
    if "code_id" in values:
        parts.append(f"{coding.code_id} -> {new_code}")
    if "start" in values or "end" in values:
        parts.append(f"{coding.start}-{coding.end} -> {new_start}-{new_end}")
    summary = f"edit coding {coding.id} in {doc.name}: {', '.join(parts)}"
    with store.transaction(), store.capture() as changes:
        store.update_coding(coding.id, values)
        store.record_event(actor, "coding.edit", {"summary": summary, "coding": coding.id,
                                                  "coder": coding.coder_id}, changes)
    return store.coding(coding.id)


def list_codings(store: Store, *, document: str | None = None, code: str | None = None,
                 coder: str | None = None, descendants: bool = True,
                 blind_for: str | None = None) -> list[Coding]:
    """Codings on current documents, filtered by document, code (with sub-codes), coder.

    ``blind_for``: the active coder; with blind coding on, others' codings are hidden.
    """
    doc_id = store.document(document).id if document else None
    code_ids = None
    if code:
        c = resolve_code(store, code)
        code_ids = [c.id, *(store.descendants(c.id) if descendants else [])]
    found = store.codings(document_id=doc_id, code_ids=code_ids, coder_id=coder)
    if blind_for is not None:
        from qcode.services.teamwork import is_blind, visible_coders

        if is_blind(store):
            visible = set(visible_coders(store, blind_for))
            found = [k for k in found if k.coder_id in visible]
    return found


# -- memos ---------------------------------------------------------------------------


def _memo_target(store: Store, scope: str, target: str | None) -> str | None:
    if scope not in MEMO_SCOPES:
        raise InputError(f"unknown memo scope {scope!r}", f"use one of {', '.join(MEMO_SCOPES)}")
    if scope == "project":
        return None
    if not target:
        raise InputError(f"a {scope} memo needs a target", f"name the {scope}")
    if scope == "document":
        return store.document(target).uid
    if scope == "code":
        return resolve_code(store, target).id
    return store.coding(target).uid


def add_memo(store: Store, scope: str, target: str | None, body: str, *,
             title: str = "", author: str | None = None) -> Memo:
    """Write a memo on the project, a document (by name), a code, or a coding."""
    author = author or default_actor()
    if not body.strip():
        raise InputError("the memo is empty", "write something")
    key = _memo_target(store, scope, target)
    with store.transaction(), store.capture() as changes:
        memo_id = store.insert_memo(scope, key, author, body, title)
        store.record_event(author, "memo.add", {"summary": f"{scope} memo {memo_id}"}, changes)
    return store.memo(memo_id)


def list_memos(store: Store, scope: str | None = None, target: str | None = None) -> list[Memo]:
    """Memos, oldest first (optionally of one scope and target)."""
    key = _memo_target(store, scope, target) if scope and target else None
    return store.memos(scope, key)


def edit_memo(store: Store, memo_id: int, body: str, actor: str | None = None) -> Memo:
    """Replace a memo's text (undoable)."""
    actor = actor or default_actor()
    store.memo(memo_id)
    with store.transaction(), store.capture() as changes:
        store.update_memo(memo_id, body)
        store.record_event(actor, "memo.edit", {"summary": f"edit memo {memo_id}"}, changes)
    return store.memo(memo_id)


def delete_memo(store: Store, memo_id: int, actor: str | None = None) -> None:
    """Delete a memo (undoable)."""
    actor = actor or default_actor()
    store.memo(memo_id)
    with store.transaction(), store.capture() as changes:
        store.delete_memo(memo_id)
        store.record_event(actor, "memo.delete", {"summary": f"delete memo {memo_id}"}, changes)


# -- undo, redo, history -------------------------------------------------------------


def undo(store: Store, actor: str | None = None) -> str:
    """Undo the actor's newest change; returns what was undone."""
    return store.undo(actor or default_actor()).summary


def redo(store: Store, actor: str | None = None) -> str:
    """Redo the actor's newest undone change; returns what was redone."""
    return store.redo(actor or default_actor()).summary


def history(store: Store, limit: int = 30, actor: str | None = None) -> list[dict[str, Any]]:
    """Recent events, newest first, with a one-line summary each."""
    rows = []
    for e in store.events(limit=None if actor else limit):
        if actor and e["actor"] != actor:
            continue
        p = e["payload"]
        rows.append({"id": e["id"], "at": e["at"], "actor": e["actor"], "kind": e["kind"],
                     "summary": p.get("summary") or _describe(e["kind"], p),
                     "undoable": bool(p.get("changes"))})
        if len(rows) >= limit:
            break
    return rows


def _describe(kind: str, payload: dict[str, Any]) -> str:
    if kind == "document.import":
        return f"import {payload.get('name')} v{payload.get('version')} from " \
               f"{payload.get('source')}"
    if kind == "attributes.import":
        return f"attributes from {payload.get('source')} ({payload.get('keys')} keys)"
    return ", ".join(f"{k}={v}" for k, v in payload.items() if k != "changes")[:80]


def list_coders(store: Store) -> list[Coder]:
    """Every coder of the project."""
    return store.coders()


def code_stats(store: Store) -> dict[str, tuple[int, int]]:
    """Per code id: (codings, informants covered) on current documents."""
    return store.code_stats()


def set_default_coder(coder_id: str) -> Path:
    """Remember the coder id in the user configuration (never in a project)."""
    from qcode.config import write_coder

    if not ID_PATTERN.match(coder_id):
        raise InputError(f"coder id {coder_id!r} is not valid", "lowercase, digits, - and _")
    return write_coder(coder_id)
