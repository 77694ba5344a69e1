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
- ``agreement-fast``: turn-unit and character-level agreement with units built once
  per document, codings read once without their text, coding-to-unit marks by binary
  search and alpha from the 2 x 2 coincidence counts (bootstrap 0 only).
- ``xlsx-styles``: the XLSX writer copies one prepared cell style instead of building
  ``Alignment``/``Font`` objects per cell (openpyxl deduplicates them by hashing).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from fractions import Fraction
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


# -- agreement-fast ----------------------------------------------------------------------------


def _alpha_binary(counts: Counter[int], m: int) -> float:
    """Alpha (nominal) from how many units have k of m coders saying 1; exact as the original."""
    from qcode import agreement as ag

    o = [[Fraction(0), Fraction(0)], [Fraction(0), Fraction(0)]]
    for k, times in counts.items():
        o[0][0] += Fraction(times * (m - k) * (m - k - 1), m - 1)
        o[1][1] += Fraction(times * k * (k - 1), m - 1)
        o[0][1] += Fraction(times * k * (m - k), m - 1)
        o[1][0] += Fraction(times * k * (m - k), m - 1)
    present = [i for i in (0, 1) if o[i][0] + o[i][1]]
    if len(present) < 2:
        return math.nan
    floats = [[float(c) for c in row] for row in o]
    return ag._alpha_from_coincidences(floats, [0.0, 1.0], "nominal")


@patch("agreement-fast")
def _agreement_fast(verify: bool) -> None:
    from qcode import agreement as ag
    from qcode.models import INTERVIEWER_ROLE
    from qcode.services import agreement as sa

    original = sa.compute_agreement

    def compute_agreement(store: Any, coders: Sequence[str], *, unit: str = "turn",
                          codes: Sequence[str] | None = None, rollup: bool = True,
                          by: str | None = None, documents: Sequence[str] | None = None,
                          include_interviewer: bool = False, bootstrap: int = 1000) -> Any:
        if unit not in ("turn", "character") or by or documents or bootstrap:
            return original(store, coders, unit=unit, codes=codes, rollup=rollup, by=by,
                            documents=documents, include_interviewer=include_interviewer,
                            bootstrap=bootstrap)
        from qcode.services.coding import resolve_code

        coders = list(dict.fromkeys(coders))
        m = len(coders)
        all_codes = store.codes()
        chosen = [resolve_code(store, c) for c in codes] if codes else \
            [c for c in all_codes if c.depth <= 1]
        rows_of: dict[str, list[int]] = defaultdict(list)
        for i, code in enumerate(chosen):
            for member in sa._family(store, code.id, rollup):
                rows_of[member].append(i)
        docs = {r[0]: r[1] for r in store.query_documents()}  # current documents
        raw = [r for r in store.query_codings() if r[5] in coders]
        coded_docs = defaultdict(set)
        for r in raw:
            coded_docs[r[5]].add(r[1])
        compared = sorted((d for d in docs if all(d in coded_docs[c] for c in coders)),
                          key=lambda d: (docs[d].casefold(), d))
        compared_set = set(compared)
        turns: dict[int, list[Any]] = defaultdict(list)
        for t in store.query_turns():  # id, doc, idx, start, end, speaker, role, time, label
            if t[1] in compared_set and t[4] > t[3] and \
                    (include_interviewer or t[6] != INTERVIEWER_ROLE):
                turns[t[1]].append(t)
        report = sa.AgreementReport(coders, unit, [docs[d] for d in compared], [],
                                    include_interviewer, rollup)
        if not compared:
            report.notes.append("no document is coded by all of these coders")
            return report
        units: dict[int, list[tuple[int, int]]] = {}
        for d in compared:
            ts = sorted(turns.get(d, []), key=lambda t: t[2])
            if any(t[5] for t in ts):
                ts = [t for t in ts if t[5]]
            units[d] = sorted((t[3], t[4]) for t in ts)
        coder_index = {c: i for i, c in enumerate(coders)}
        if unit == "turn":
            unit_starts = {d: [s for s, _ in units[d]] for d in compared}
            unit_ends = {d: [e for _, e in units[d]] for d in compared}
            offsets, total = {}, 0
            for d in compared:
                offsets[d] = total
                total += len(units[d])
            marks = [[set() for _ in coders] for _ in chosen]
            for r in raw:  # id, doc, start, end, code, coder, memo
                if r[1] not in compared_set or not rows_of.get(r[4]):
                    continue
                lo = bisect.bisect_right(unit_ends[r[1]], r[2])  # first unit ending after
                hi = bisect.bisect_left(unit_starts[r[1]], r[3])  # units starting before
                if lo >= hi:
                    continue
                base = offsets[r[1]]
                for row in rows_of[r[4]]:
                    marks[row][coder_index[r[5]]].update(range(base + lo, base + hi))
            for i, code in enumerate(chosen):
                per_unit: Counter[int] = Counter()
                for s in marks[i]:
                    per_unit.update(s)
                counts = Counter(per_unit.values())
                counts[0] = total - len(per_unit)
                coded = {c: len(marks[i][j]) for j, c in enumerate(coders)}
                kappa = None
                if sum(coded.values()) == 0:
                    alpha, percent = math.nan, 1.0
                else:
                    alpha = _alpha_binary(counts, m)
                    percent = (counts[0] + counts[m]) / total if total else math.nan
                    if m == 2:
                        both = sum(1 for u, n in per_unit.items() if n == 2)
                        only = [len(marks[i][j]) - both for j in range(2)]
                        table = [[counts[0], only[1]], [only[0], both]]
                        kappa = _kappa(table, total)
                report.rows.append(sa.AgreementRow(code.id, code.path, "all", total, coded,
                                                   alpha, None, None, kappa, percent,
                                                   ag.interpret_alpha(alpha)))
        else:
            spans: list[dict[int, list[list[tuple[int, int]]]]] = [
                defaultdict(lambda: [[] for _ in coders]) for _ in chosen]
            for r in raw:
                if r[1] in compared_set:
                    for row in rows_of.get(r[4], ()):
                        spans[row][r[1]][coder_index[r[5]]].append((r[2], r[3]))
            for i, code in enumerate(chosen):
                by_mask: Counter[int] = Counter()
                total = 0
                for d in compared:
                    regions = units[d]
                    total += sum(e - s for s, e in regions)
                    per_coder = spans[i].get(d)
                    if per_coder:
                        _char_masks(regions, [sa._merge(v) for v in per_coder], by_mask)
                covered = sum(by_mask.values())
                coded = {c: sum(n for mask, n in by_mask.items() if mask >> j & 1)
                         for j, c in enumerate(coders)}
                o = [[0.0, 0.0], [0.0, 0.0]]
                for mask, length in [(0, total - covered), *by_mask.items()]:
                    k = bin(mask).count("1")
                    o[1][1] += length * k * (k - 1) / (m - 1)
                    o[0][0] += length * (m - k) * (m - k - 1) / (m - 1)
                    o[0][1] += length * k * (m - k) / (m - 1)
                    o[1][0] += length * k * (m - k) / (m - 1)
                n0, n1 = o[0][0] + o[0][1], o[1][0] + o[1][1]
                n = n0 + n1
                alpha = 1 - (n - 1) * (o[0][1] + o[1][0]) / (2 * n0 * n1) if n0 and n1 \
                    else math.nan
                kappa = percent = None
                if m == 2 and total:
                    table = [[total - covered, by_mask[2]], [by_mask[1], by_mask[3]]]
                    kappa = _kappa(table, total)
                    percent = (table[0][0] + table[1][1]) / total
                report.rows.append(sa.AgreementRow(
                    code.id, code.path, "all", total, coded, alpha, None, None, kappa,
                    percent if percent is not None else math.nan, ag.interpret_alpha(alpha)))
        if verify:
            old = original(store, coders, unit=unit, codes=codes, rollup=rollup, by=by,
                           documents=documents, include_interviewer=include_interviewer,
                           bootstrap=bootstrap)
            assert old.documents == report.documents, "documents differ"
            for a, b in zip(old.rows, report.rows, strict=True):
                assert (a.code, a.n_units, a.coded_by) == (b.code, b.n_units, b.coded_by), \
                    (a, b)
                for x, y in ((a.alpha, b.alpha), (a.percent, b.percent),
                             (a.kappa or 0.0, b.kappa or 0.0)):
                    assert (math.isnan(x) and math.isnan(y)) or math.isclose(
                        x, y, rel_tol=1e-9, abs_tol=1e-12), (a, b)
        return report

    sa.compute_agreement = compute_agreement
    import qcode.services as services

    services.compute_agreement = compute_agreement  # type: ignore[attr-defined]


def _kappa(table: list[list[int]], total: int) -> float:
    p_o = Fraction(table[0][0] + table[1][1], total)
    a1 = Fraction(table[1][0] + table[1][1], total)
    b1 = Fraction(table[0][1] + table[1][1], total)
    p_e = a1 * b1 + (1 - a1) * (1 - b1)
    return math.nan if p_e == 1 else float((p_o - p_e) / (1 - p_e))


def _char_masks(regions: list[tuple[int, int]], per_coder: list[list[tuple[int, int]]],
                by_mask: Counter[int]) -> None:
    """Add to ``by_mask`` the characters of the regions covered by each set of coders."""
    events: list[tuple[int, int]] = []
    for j, spans in enumerate(per_coder):
        for s, e in spans:
            events.append((s, 1 << j))
            events.append((e, 1 << j))
    if not events:
        return
    events.sort()
    starts = [s for s, _ in regions]
    mask, prev = 0, events[0][0]
    for pos, bit in events:
        if pos > prev and mask:
            # characters prev..pos covered by `mask`, clipped to the regions
            i = max(bisect.bisect_right(starts, prev) - 1, 0)
            while i < len(regions) and regions[i][0] < pos:
                lo, hi = max(regions[i][0], prev), min(regions[i][1], pos)
                if hi > lo:
                    by_mask[mask] += hi - lo
                i += 1
        mask ^= bit
        prev = pos


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
