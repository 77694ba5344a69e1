"""Prototypes of the proposed performance fixes, monkeypatched in for "what if" measurements.

These are NOT the fixes: they patch qcode at run time inside a benchmark worker
(``benchmarks.run <bench> --patch NAME[,NAME]``) so the gain of a proposed change
can be measured on the same project, in the same run, before anyone edits
``qcode/``. Each patch checks itself against the code it replaces where it can
(``--verify``: same results). Delete this file once the fixes have landed.

- ``turns-bisect``: ``Corpus.turns_overlapping`` by binary search instead of a scan
  of every turn of the document; line numbers from a per-document index of newlines.
- ``cooccurrence-sweep``: the code x code matrix by one sweep over each document's
  codings instead of (codes x codes x codings) interval look-ups.
- ``codings-no-substr``: ``Store.codings`` reads each document's text once and slices
  it, instead of ``substr(d.text, ...)`` per coding (SQLite re-reads the whole text
  for every row).
- ``xlsx-styles``: the XLSX writer copies one prepared cell style instead of building
  ``Alignment``/``Font`` objects per cell (openpyxl deduplicates them by hashing).
- ``import-batched``: one transaction per ``import_paths`` call (each file a
  savepoint, still all-or-nothing) and the FTS rows inserted from Python slices.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

PATCHES: dict[str, Callable[[bool], None]] = {}


def patch(name: str) -> Callable[[Callable[[bool], None]], Callable[[bool], None]]:
    def register(fn: Callable[[bool], None]) -> Callable[[bool], None]:
        PATCHES[name] = fn
        return fn
    return register


def apply(names: Sequence[str], verify: bool = False) -> None:
    """Apply the named patches (in this process only)."""
    for name in names:
        PATCHES[name](verify)


# -- turns-bisect ------------------------------------------------------------------------------


@patch("turns-bisect")
def _turns_bisect(verify: bool) -> None:
    from qcode.query import engine

    original = engine.Corpus.turns_overlapping

    def ends_of(self: Any, doc: int) -> list[int] | None:
        cache = self.__dict__.setdefault("_bench_turn_ends", {})
        if doc not in cache:
            ends = [t.end for t in self.turns.get(doc, ())]
            monotone = all(a <= b for a, b in itertools.pairwise(ends))
            cache[doc] = ends if monotone else None  # overlapping turns: keep the scan
        return cache[doc]  # type: ignore[no-any-return]

    def turns_overlapping(self: Any, span: Any) -> list[Any]:
        turns = self.turns.get(span.doc)
        if not turns:
            return []
        ends = ends_of(self, span.doc)
        if ends is None:
            return original(self, span)  # type: ignore[no-any-return]
        starts = self._turn_starts[span.doc]
        end = max(span.end, span.start + 1)
        lo = bisect.bisect_right(ends, span.start)  # first turn ending after span.start
        hi = bisect.bisect_left(starts, end)  # turns starting before the span's end
        first = bisect.bisect_left(starts, span.start)  # empty turns at span.start count too
        extra = [t for t in turns[first:lo] if t.start == span.start]
        out = extra + turns[lo:hi] if extra else turns[lo:hi]
        if verify:
            assert out == original(self, span), span
        return out

    engine.Corpus.turns_overlapping = turns_overlapping  # type: ignore[method-assign]

    newlines: dict[tuple[int, int], list[int]] = {}  # (hash, length) -> newline offsets
    original_line = engine._line_of

    def line_of(text: str, pos: int) -> int:
        key = (hash(text), len(text))  # no reference to the text: the cache cannot leak it
        offsets = newlines.get(key)
        if offsets is None:
            if len(newlines) > 2_000:
                newlines.clear()
            offsets = newlines[key] = []
            i = text.find("\n")
            while i >= 0:
                offsets.append(i)
                i = text.find("\n", i + 1)
        line = bisect.bisect_left(offsets, pos) + 1
        if verify:
            assert line == original_line(text, pos)
        return line

    engine._line_of = line_of


# -- cooccurrence-sweep ------------------------------------------------------------------------


@patch("cooccurrence-sweep")
def _cooccurrence_sweep(verify: bool) -> None:
    from qcode.query import aggregate

    original = aggregate.cooccurrence_matrix

    def cooccurrence_matrix(store: Any, *, codes: Sequence[str] | None = None,
                            depth: int | None = None, measure: str = "codings",
                            coders: Sequence[str] | None = None,
                            include_interviewer: bool = False,
                            corpus: Any = None) -> Any:
        if measure not in aggregate.MEASURES:
            return original(store, codes=codes, depth=depth, measure=measure, coders=coders,
                            include_interviewer=include_interviewer, corpus=corpus)
        corpus = corpus or aggregate.Corpus(store)
        chosen = aggregate._select_codes(store, corpus, codes, depth)
        codings = aggregate._kept(corpus, corpus.codings, coders, include_interviewer)
        names = [c for c, _ in chosen]
        rows_of: dict[str, list[str]] = defaultdict(list)  # code -> chosen codes above it
        for c in names:
            for member in (c, *corpus.descendants(c)):
                rows_of[member].append(c)
        by_doc: dict[int, list[Any]] = defaultdict(list)
        for k in codings:
            if rows_of.get(k.code):
                by_doc[k.doc].append(k)
        overlaps: dict[int, set[str]] = {}
        for items in by_doc.values():
            items.sort(key=lambda k: k.start)
            active: list[Any] = []
            for k in items:
                active = [a for a in active if a.end > k.start]
                mine = overlaps.setdefault(k.id, set(rows_of[k.code]))
                for a in active:  # a.start <= k.start < a.end, and k.end > k.start
                    mine.update(rows_of[a.code])
                    overlaps[a.id].update(rows_of[k.code])
                active.append(k)
        members: dict[str, list[Any]] = {c: [] for c in names}
        hits: dict[str, dict[str, list[Any]]] = {c: {d: [] for d in names} for c in names}
        for items in by_doc.values():
            for k in items:
                for row in rows_of[k.code]:
                    members[row].append(k)
                    for col in overlaps[k.id]:
                        hits[row][col].append(k)
        cells = {r: {c: aggregate._measure(corpus, hits[r][c], measure, include_interviewer)
                     for c in names} for r in names}
        result = aggregate.Matrix(names, names, cells, measure, dict(chosen),
                                  {c: aggregate._measure(corpus, members[c], measure,
                                                         include_interviewer) for c in names})
        if verify:
            old = original(store, codes=codes, depth=depth, measure=measure, coders=coders,
                           include_interviewer=include_interviewer, corpus=corpus)
            assert old.cells == result.cells and old.column_totals == result.column_totals
        return result

    aggregate.cooccurrence_matrix = cooccurrence_matrix


# -- codings-no-substr -------------------------------------------------------------------------


@patch("codings-no-substr")
def _codings_no_substr(verify: bool) -> None:
    from qcode.models import Coding
    from qcode.store.coding import CodingRepo

    original = CodingRepo.codings
    columns = ('SELECT k.id, k.uid, k.document_id, d.name, k.start, k."end", k.code_id, '
               "k.coder_id, k.memo, k.created_at FROM codings k "
               "JOIN documents d ON d.id = k.document_id")

    def codings(self: Any, *, document_id: int | None = None,
                code_ids: Sequence[str] | None = None, coder_id: str | None = None,
                current_only: bool = True) -> list[Any]:
        where: list[str] = []
        params: list[Any] = []
        if current_only:
            where.append("d.superseded_by IS NULL")
        if document_id is not None:
            where.append("k.document_id = ?")
            params.append(document_id)
        if code_ids is not None:
            where.append(f"k.code_id IN ({', '.join('?' for _ in code_ids)})")
            params.extend(code_ids)
        if coder_id is not None:
            where.append("k.coder_id = ?")
            params.append(coder_id)
        sql = columns + (" WHERE " + " AND ".join(where) if where else "")
        sql += ' ORDER BY d.name, k.start, k."end", k.code_id, k.coder_id'
        rows = self.conn.execute(sql, params).fetchall()
        texts: dict[int, str] = {}
        ids = sorted({r[2] for r in rows})
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            texts.update(self.conn.execute(
                f"SELECT id, text FROM documents WHERE id IN ({', '.join('?' for _ in chunk)})",
                chunk).fetchall())
        out = [Coding(*r, texts[r[2]][r[4]:r[5]]) for r in rows]
        if verify:
            assert out == original(self, document_id=document_id, code_ids=code_ids,
                                   coder_id=coder_id, current_only=current_only)
        return out

    CodingRepo.codings = codings  # type: ignore[method-assign]


# -- xlsx-styles -------------------------------------------------------------------------------


@patch("xlsx-styles")
def _xlsx_styles(verify: bool) -> None:
    from copy import copy

    from openpyxl.styles import Alignment, Font

    from qcode.export import report

    templates: dict[tuple[int, bool, bool], Any] = {}

    def _xl_set(ws: Any, row: int, column: int, value: Any, *, bold: bool = False,
                wrap: bool = False) -> None:
        cell = ws.cell(row=row, column=column)
        if isinstance(value, str):
            cell.value = report._XML_BAD.sub("", value)
            cell.data_type = "s"
        else:
            cell.value = value
        key = (id(ws.parent), bold, wrap)
        style = templates.get(key)
        if style is None:  # style the first cell of its kind the slow way, copy it after
            if bold:
                cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=wrap, vertical="top")
            templates[key] = copy(cell._style)
        else:
            cell._style = copy(style)

    report._xl_set = _xl_set


# -- import-batched ----------------------------------------------------------------------------


@patch("import-batched")
def _import_batched(verify: bool) -> None:
    from qcode.services import projects
    from qcode.store.repo import Store

    original = projects.import_paths

    def import_paths(store: Any, paths: Any, options: Any, **kwargs: Any) -> Any:
        if kwargs.get("dry_run"):
            return original(store, paths, options, **kwargs)
        with store.transaction():  # every file's own transaction becomes a savepoint
            return original(store, paths, options, **kwargs)

    def insert_segments(self: Any, document_id: int, segments: Sequence[Any]) -> None:
        self._require_transaction()
        self.conn.executemany(
            'INSERT INTO turns (document_id, idx, start, "end", speaker, time_start, time_end, '
            "label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(document_id, i, s.start, s.end, s.speaker, s.time_start, s.time_end, s.label)
             for i, s in enumerate(segments, start=1)])
        text = self.conn.execute("SELECT text FROM documents WHERE id = ?",
                                 (document_id,)).fetchone()[0]
        self.conn.executemany(
            "INSERT INTO turns_fts (rowid, text) VALUES (?, ?)",
            [(tid, text[s:e]) for tid, s, e in self.conn.execute(
                'SELECT id, start, "end" FROM turns WHERE document_id = ?', (document_id,))])

    projects.import_paths = import_paths
    import qcode.services as services

    services.import_paths = import_paths  # type: ignore[attr-defined]
    Store.insert_segments = insert_segments  # type: ignore[method-assign]
