"""Spans as columns: a corpus's codings and turns as numpy arrays, and the span algebra on them.

A list of spans is a :class:`SpanArray`: four int64 arrays in the engine's order
(document, start, end, and the row of the span's coding in the corpus's coding
columns, -1 for a span without one). A position is encoded with its document as
``doc << 32 | pos``, so one sorted array and one ``searchsorted`` answer for every
document at once, and a running maximum of encoded ends never carries an end
across a document boundary (every end of an earlier document is smaller).

The *context* of a span is the turn its start lies in as ``Corpus.turn_at`` finds
it (an index into the turn columns), or, for a document without turns, a
context of its own after the turns. Every filter but ``coder`` reads a span
through its context, so a filter is a table over contexts, worked out once per
distinct value.

:class:`CorpusColumns` is built once per corpus (so once per data version), on
first use; this module is imported lazily, so numpy is not loaded by ``qcode --help``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qcode.models import INTERVIEWER_ROLE
from qcode.query.engine import Span

if TYPE_CHECKING:
    from qcode.query.engine import Corpus, TurnRow

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
#: Indices kept per coding as int32 (half the memory), or int64 where computed per query.
Indices = npt.NDArray[np.int32] | npt.NDArray[np.int64]

SHIFT = 32
#: Added to relation positions (turn or sentence numbers) so that ``position - n`` stays
#: non-negative inside its document's key range.
BIAS = 1 << 31


def _ints(values: Any, count: int = -1) -> Ints:
    return np.fromiter(values, dtype=np.int64, count=count)


def _frozen(array: npt.NDArray[Any]) -> None:
    array.flags.writeable = False


def distinct(values: Ints) -> Ints:
    """The distinct values, sorted (by a sort: ``np.unique`` hashes, slower for these)."""
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    result: Ints = ordered[keep]
    return result


def stable_order(keys: Indices, bound: int) -> Ints | None:
    """The stable sort order of non-negative ``keys`` below ``bound`` (one sort of
    ``key * n + index``), or None if that does not fit in 63 bits."""
    n = len(keys)
    if bound * max(n, 1) >= 1 << 62:
        return None
    result: Ints = np.sort(keys.astype(np.int64) * n + np.arange(n, dtype=np.int64)) % max(n, 1)
    return result


class SpanArray:
    """Spans in order, as columns; ``ctx`` (see ``CorpusColumns.contexts``) is filled on
    first use and follows ``take`` and ``concat``."""

    __slots__ = ("ctx", "doc", "end", "row", "start")

    def __init__(self, doc: Ints, start: Ints, end: Ints, row: Ints,
                 ctx: Indices | None = None) -> None:
        self.doc = doc
        self.start = start
        self.end = end
        self.row = row
        self.ctx = ctx

    def __len__(self) -> int:
        return len(self.doc)

    def take(self, which: Ints | Bools) -> SpanArray:
        """The spans at these indices (or where this mask is true), in that order."""
        return SpanArray(self.doc[which], self.start[which], self.end[which], self.row[which],
                         None if self.ctx is None else self.ctx[which])

    def concat(self, other: SpanArray) -> SpanArray:
        """These spans followed by ``other``'s."""
        ctx: Ints | None = (np.concatenate((self.ctx, other.ctx), dtype=np.int64)
                            if self.ctx is not None and other.ctx is not None else None)
        return SpanArray(np.concatenate((self.doc, other.doc)),
                         np.concatenate((self.start, other.start)),
                         np.concatenate((self.end, other.end)),
                         np.concatenate((self.row, other.row)), ctx)

    def unique(self) -> SpanArray:
        """The first occurrence of each span, in order (a stable sort finds the first)."""
        n = len(self)
        if n < 2:
            return self
        first = np.ones(n, dtype=bool)
        by_row = (stable_order(self.row, int(self.row.max()) + 1)
                  if bool((self.row >= 0).all()) else None)  # all coded: the coding is the span
        if by_row is not None:
            order = by_row
            rows = self.row[order]
            np.not_equal(rows[1:], rows[:-1], out=first[1:])
        else:
            k1 = (self.doc << SHIFT) + self.start
            k2 = (self.end << SHIFT) + (self.row + 1)
            order = np.lexsort((k2, k1))
            a, b = k1[order], k2[order]
            first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        if bool(first.all()):
            return self
        keep = np.zeros(n, dtype=bool)
        keep[order[first]] = True
        return self.take(keep)


class Index:
    """Overlap and containment look-ups against a set of spans (``_Index`` of old, for all
    documents at once): starts sorted, with a running maximum of ends."""

    def __init__(self, spans: SpanArray) -> None:
        base = spans.doc << SHIFT
        starts = base + spans.start
        order = np.argsort(starts, kind="stable")
        self.starts = starts[order]
        self.max_end: Ints = np.maximum.accumulate((base + spans.end)[order])

    def _before(self, keys: Ints, *, inclusive: bool) -> tuple[Bools, Ints]:
        """Whether any indexed span starts before each key (``inclusive``: at or before),
        and the largest end among those that do."""
        i = np.searchsorted(self.starts, keys, side="right" if inclusive else "left")
        return i > 0, self.max_end[np.maximum(i - 1, 0)]

    def overlaps(self, spans: SpanArray) -> Bools:
        """Which spans share text with an indexed span (in the same document)."""
        if not len(self.starts) or not len(spans):
            return np.zeros(len(spans), dtype=bool)
        base = spans.doc << SHIFT
        some, end = self._before(base + spans.end, inclusive=False)
        return some & (end > base + spans.start)

    def contains(self, spans: SpanArray) -> Bools:
        """Which spans lie inside an indexed span."""
        if not len(self.starts) or not len(spans):
            return np.zeros(len(spans), dtype=bool)
        base = spans.doc << SHIFT
        some, end = self._before(base + spans.start, inclusive=True)
        return some & (end >= base + spans.end)


def within(a: SpanArray, a_pos: Ints, b: SpanArray, b_pos: Ints, n: int) -> Bools:
    """Which of ``a`` have a span of ``b`` in the same document whose position (turn or
    sentence number) is at most ``n`` away from theirs."""
    if not len(a) or not len(b):
        return np.zeros(len(a), dtype=bool)
    keys = np.sort((b.doc << SHIFT) + (b_pos + BIAS))
    base = (a.doc << SHIFT) + BIAS
    lo = np.searchsorted(keys, base + (a_pos - n), side="left")
    hi = np.searchsorted(keys, base + (a_pos + n), side="right")
    result: Bools = lo < hi
    return result


class CorpusColumns:
    """A corpus's codings and turns as arrays, with the look-ups the engine needs."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        codings = corpus.codings
        n = len(codings)
        self.c_doc = _ints(map(itemgetter(1), codings), n)
        self.c_start = _ints(map(itemgetter(2), codings), n)
        self.c_end = _ints(map(itemgetter(3), codings), n)
        self.c_id = _ints(map(itemgetter(0), codings), n)
        # codes and coders as small integers, numbered in order of first appearance
        code_names = [k.code for k in codings]
        code_number = {c: i for i, c in enumerate(dict.fromkeys(code_names))}
        c_code = _ints(map(code_number.__getitem__, code_names), n)
        coder_names = [k.coder for k in codings]
        coder_number = {c: i for i, c in enumerate(dict.fromkeys(coder_names))}
        self.coders = list(coder_number)
        self.c_coder = _ints(map(coder_number.__getitem__, coder_names), n).astype(np.int32)
        # every coding, code by code (in order of first appearance), each code's in order
        self.by_code = np.argsort(c_code, kind="stable")
        bounds = np.concatenate(([0], np.cumsum(np.bincount(c_code, minlength=len(
            code_number))))).tolist()
        self.code_rows = {c: self.by_code[bounds[i]:bounds[i + 1]]
                          for c, i in code_number.items()}

        # documents (slots: sorted ids) and their turns, in one run ordered by document
        doc_ids = sorted(set(corpus.docs) | set(corpus.turns) | set(self.c_doc.tolist()))
        self.doc_ids = np.array(doc_ids, dtype=np.int64)
        self.n_docs = len(doc_ids)
        turns: list[TurnRow] = []
        first, count = [], []
        for d in doc_ids:
            ts = corpus.turns.get(d) or []
            first.append(len(turns))
            count.append(len(ts))
            turns.extend(ts)
        self.turns = turns
        t = len(turns)
        self.n_turns = t
        self.first = np.array(first, dtype=np.int64)
        self.count = np.array(count, dtype=np.int64)
        t_doc = _ints(map(itemgetter(1), turns), t)
        self.t_start = _ints(map(itemgetter(3), turns), t)
        self.t_end = _ints(map(itemgetter(4), turns), t)
        # documents whose turns ``turn_at`` and ``turns_overlapping`` cannot bisect (starts
        # out of order, or overlapping turns): never made by qcode, looked up in Python
        unsorted = t_doc[1:][(t_doc[1:] == t_doc[:-1]) & (self.t_start[1:] < self.t_start[:-1])]
        odd_docs = set(unsorted.tolist()) | {d for d in doc_ids if corpus.turns.get(d)
                                             and corpus._turn_ends.get(d) is None}
        self.irregular = np.array([d in odd_docs for d in doc_ids], dtype=bool)
        self.any_irregular = bool(odd_docs)
        t_base = t_doc << SHIFT
        self.t_start_key = t_base + self.t_start
        self.t_end_key = t_base + self.t_end
        if self.any_irregular:  # keep the keys sorted; those documents are looked up in Python
            odd = np.repeat(self.irregular, self.count)
            self.t_start_key[odd] = t_base[odd]
            self.t_end_key[odd] = t_base[odd]

        # contexts: the turns, then one per document (for documents without turns); what a
        # filter reads there depends on the document and the turn's speaker and role only:
        # contexts alike in those share a signature, numbered in order of first appearance
        signature: dict[Hashable, int] = {}
        turn_sig = _ints((signature.setdefault((tr.doc, tr.speaker, tr.role), len(signature))
                          for tr in turns), t)
        n_sigs = len(signature)
        ctx_sig = np.concatenate((turn_sig, n_sigs + np.arange(self.n_docs, dtype=np.int64)))
        before = np.concatenate(([-1], np.maximum.accumulate(turn_sig)))[:t]
        first_of_sig = np.flatnonzero(turn_sig > before)  # the first turn of each signature
        self._sig_turn: list[TurnRow | None] = [turns[i] for i in first_of_sig.tolist()]
        self._sig_turn += [None] * self.n_docs
        self._sig_doc = [tr.doc for tr in self._sig_turn if tr is not None] + doc_ids
        self._ctx_sig = ctx_sig
        self._tables: dict[Hashable, tuple[Ints, list[Any]]] = {}
        sig_role = [tr.role if tr else None for tr in self._sig_turn]
        self.ctx_interviewer = np.array([r == INTERVIEWER_ROLE for r in sig_role],
                                        dtype=bool)[ctx_sig]
        self.ctx_position = np.concatenate((_ints(map(itemgetter(2), turns), t),
                                            np.zeros(self.n_docs, dtype=np.int64)))

        # informants: (document, speaker) pairs, numbered in ``informant_turns`` order
        informant_turns = corpus.informant_turns()
        self.pairs = list(informant_turns)
        pair_number = {p: i for i, p in enumerate(self.pairs)}
        sig_pair = _ints((pair_number[(tr.doc, tr.speaker)]
                          if tr and tr.speaker and tr.role != INTERVIEWER_ROLE else -1
                          for tr in self._sig_turn[:n_sigs]), n_sigs)
        self.t_pair = sig_pair[turn_sig]
        speaker_number: dict[str, int] = {}
        self.pair_speaker = _ints((speaker_number.setdefault(s, len(speaker_number))
                                   for _d, s in self.pairs), len(self.pairs))
        self.speakers = list(speaker_number)
        reps = [(i, tr) for i, ts in enumerate(informant_turns.values()) for tr in ts]
        self.rep_pair = _ints((i for i, _ in reps), len(reps))
        self.reps = SpanArray(_ints((tr.doc for _, tr in reps), len(reps)),
                              _ints((tr.start for _, tr in reps), len(reps)),
                              _ints((tr.end for _, tr in reps), len(reps)),
                              np.full(len(reps), -1, dtype=np.int64))
        self._groups: dict[str, tuple[Ints, list[str]]] = {}

        self.c_ctx = self.contexts(SpanArray(self.c_doc, self.c_start, self.c_end,
                                             np.full(n, -1, dtype=np.int64))).astype(np.int32)
        self.contexts(self.reps)
        rank = corpus.document_rank()
        self.slot_rank = _ints((rank.get(d, len(rank) + i) for i, d in enumerate(doc_ids)),
                               self.n_docs)
        # the non-empty turns as spans, in the corpus's order (what a filter alone selects)
        slot_of = {d: i for i, d in enumerate(doc_ids)}
        ordered = [np.arange(first[slot_of[d]], first[slot_of[d]] + count[slot_of[d]])
                   for d in corpus.turns]
        turn_rows = (np.concatenate(ordered).astype(np.int64) if ordered
                     else np.zeros(0, dtype=np.int64))
        turn_rows = turn_rows[self.t_end[turn_rows] > self.t_start[turn_rows]]
        self.turn_spans = SpanArray(t_doc[turn_rows], self.t_start[turn_rows],
                                    self.t_end[turn_rows],
                                    np.full(len(turn_rows), -1, dtype=np.int64))
        self.contexts(self.turn_spans)
        # per coding: the turns it touches (a range, see ``turn_ranges``) and its stretch of
        # text, numbered in hit order (document, start, end)
        self.empty_turns = bool((self.t_end == self.t_start).any())
        lo, hi = self._ranges(self.c_doc, self.c_start, self.c_end)
        self.c_lo, self.c_hi = lo.astype(np.int32), hi.astype(np.int32)
        rank_of = self.slot_rank[np.searchsorted(self.doc_ids, self.c_doc)]
        span = int(self.c_end.max(initial=0)) + 1
        if (int(rank_of.max(initial=0)) + 1) * span * span < 1 << 62:  # one key, one sort
            order = np.argsort((rank_of * span + self.c_start) * span + self.c_end)
        else:
            order = np.lexsort((self.c_end, self.c_start, rank_of))
        new = np.ones(n, dtype=bool)
        r, st, en = rank_of[order], self.c_start[order], self.c_end[order]
        new[1:] = (r[1:] != r[:-1]) | (st[1:] != st[:-1]) | (en[1:] != en[:-1])
        self.c_text = np.empty(n, dtype=np.int32)
        self.c_text[order] = np.cumsum(new) - 1
        self.n_texts = int(new.sum())
        for array in (self.c_doc, self.c_start, self.c_end, self.c_id, self.c_coder,
                      self.by_code, self.doc_ids,
                      self.first, self.count, self.t_start, self.t_end, self.t_start_key,
                      self.t_end_key, self.ctx_position, self.ctx_interviewer,
                      self._ctx_sig, self.t_pair, self.pair_speaker, self.rep_pair,
                      self.c_ctx, self.slot_rank, self.c_lo, self.c_hi, self.c_text):
            _frozen(array)

    # -- spans in and out ------------------------------------------------------------------

    def codings(self, rows: Ints) -> SpanArray:
        """The spans of these codings (rows of the coding columns), in that order."""
        return SpanArray(self.c_doc[rows], self.c_start[rows], self.c_end[rows], rows,
                         self.c_ctx[rows])

    def of_codes(self, codes: Sequence[str]) -> SpanArray:
        """The spans of the codings of these codes: code by code, each in corpus order."""
        parts = [self.code_rows[c] for c in codes if c in self.code_rows]
        rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return self.codings(rows)

    def all_codings(self) -> SpanArray:
        """Every coding, code by code (codes in order of first appearance)."""
        return self.codings(self.by_code)

    def from_spans(self, spans: Sequence[Span]) -> SpanArray:
        """Columns of a list of spans."""
        n = len(spans)
        coding = _ints((-1 if s.coding is None else s.coding for s in spans), n)
        row = np.full(n, -1, dtype=np.int64)
        coded = coding >= 0
        if coded.any():
            order = np.argsort(self.c_id, kind="stable")  # seldom: text spans have none
            row[coded] = order[np.searchsorted(self.c_id[order], coding[coded])]
        return SpanArray(_ints((s.doc for s in spans), n), _ints((s.start for s in spans), n),
                         _ints((s.end for s in spans), n), row)

    def to_spans(self, spans: SpanArray) -> list[Span]:
        """A list of spans (with coding ids) of columns."""
        ids = self.c_id[np.maximum(spans.row, 0)] if len(self.c_id) else spans.row
        coding = np.where(spans.row >= 0, ids, -1).tolist()
        return [Span(d, s, e, k if k >= 0 else None) for d, s, e, k in
                zip(spans.doc.tolist(), spans.start.tolist(), spans.end.tolist(), coding,
                    strict=True)]

    # -- contexts and filters --------------------------------------------------------------

    def contexts(self, spans: SpanArray) -> Indices:
        """The context of each span: the turn ``Corpus.turn_at`` finds for its start, or its
        document's own context if the document has no turns."""
        if spans.ctx is None:
            slot = np.searchsorted(self.doc_ids, spans.doc)
            if not len(self.t_start_key):
                spans.ctx = self.n_turns + slot
                return spans.ctx
            i = np.searchsorted(self.t_start_key, (spans.doc << SHIFT) + spans.start,
                                side="right") - 1
            ctx = np.where(self.count[slot] > 0, np.maximum(i, self.first[slot]),
                           self.n_turns + slot)
            if self.any_irregular:
                for j in np.flatnonzero(self.irregular[slot]).tolist():
                    doc = int(spans.doc[j])
                    local = bisect.bisect_right(self.corpus._turn_starts[doc],
                                                int(spans.start[j])) - 1
                    ctx[j] = self.first[slot[j]] + max(local, 0)
            spans.ctx = ctx
        return spans.ctx

    def table(self, reader: Hashable,
              value_of: Callable[[TurnRow | None, int], Any]) -> tuple[Ints, list[Any]]:
        """For each context, the number of the value a filter reads there (``value_of(turn,
        document)``), and the distinct values: a filter tests each value once."""
        found = self._tables.get(reader)
        if found is None:
            number: dict[Any, int] = {}
            values: list[Any] = []
            per_sig = np.empty(len(self._sig_turn), dtype=np.int64)
            for i, (turn, doc) in enumerate(zip(self._sig_turn, self._sig_doc, strict=True)):
                value = value_of(turn, doc)
                try:
                    key: Any = (type(value), value)
                    hash(key)
                except TypeError:
                    key = ("unhashable", i)
                j = number.get(key)
                if j is None:
                    j = number[key] = len(values)
                    values.append(value)
                per_sig[i] = j
            ids = per_sig[self._ctx_sig]
            _frozen(ids)
            found = self._tables[reader] = (ids, values)
        return found

    def coder_mask(self, spans: SpanArray, accepted: Bools) -> Bools:
        """Which spans have a coding whose coder (by number) is accepted."""
        mask = np.zeros(len(spans), dtype=bool)
        coded = spans.row >= 0
        mask[coded] = accepted[self.c_coder[spans.row[coded]]]
        return mask

    def interviewer(self, spans: SpanArray) -> Bools:
        """Which spans start in an interviewer's turn."""
        result: Bools = self.ctx_interviewer[self.contexts(spans)]
        return result

    def positions(self, spans: SpanArray) -> Ints:
        """The number of the turn each span starts in (0 where there is none)."""
        result: Ints = self.ctx_position[self.contexts(spans)]
        return result

    # -- informants ------------------------------------------------------------------------

    def _ranges(self, doc: Ints, start: Ints, end: Ints) -> tuple[Ints, Ints]:
        base = doc << SHIFT
        lo = np.searchsorted(self.t_end_key, base + start, side="right")  # first ending after
        hi = np.searchsorted(self.t_start_key, base + np.maximum(end, start + 1),
                             side="left")  # turns starting before the end
        return lo, hi

    def turn_ranges(self, spans: SpanArray) -> tuple[Indices, Indices, Ints | None]:
        """For each span, the turns ``Corpus.turns_overlapping`` finds (in a document whose
        turns are in order): those from ``lo`` up to ``hi`` and, only where a span starts
        where empty turns are, those from ``first`` up to ``lo`` that start where it starts.
        ``first`` is None when the corpus has no empty turns."""
        lo: Indices
        hi: Indices
        if bool((spans.row >= 0).all()):
            lo, hi = self.c_lo[spans.row], self.c_hi[spans.row]
        else:
            lo, hi = self._ranges(spans.doc, spans.start, spans.end)
        first = (np.searchsorted(self.t_start_key, (spans.doc << SHIFT) + spans.start,
                                 side="left") if self.empty_turns else None)
        return lo, hi, first

    def regular(self, spans: SpanArray) -> Bools:
        """Which spans are in a document whose turns are in order and do not overlap."""
        if not self.any_irregular:
            return np.ones(len(spans), dtype=bool)
        result: Bools = ~self.irregular[np.searchsorted(self.doc_ids, spans.doc)]
        return result

    def touched_pairs(self, spans: SpanArray) -> Ints:
        """Numbers of the (document, informant) pairs whose turns the spans touch (the turns
        ``Corpus.turns_overlapping`` finds), sorted."""
        if not len(spans) or not self.n_turns:
            return np.zeros(0, dtype=np.int64)
        lo, hi, first = self.turn_ranges(spans)
        regular = self.regular(spans)
        some = regular & (hi > lo)
        marks = (np.bincount(lo[some], minlength=self.n_turns + 1)
                 - np.bincount(hi[some], minlength=self.n_turns + 1))
        touched = np.cumsum(marks[:self.n_turns]) > 0
        if first is not None:  # empty turns where a span starts count too
            for j in np.flatnonzero(regular & (first < lo)).tolist():
                start = int(spans.start[j])
                for k in range(int(first[j]), int(lo[j])):
                    if int(self.t_start[k]) == start:
                        touched[k] = True
        found = np.zeros(len(self.pairs), dtype=bool)
        pairs = self.t_pair[touched]
        found[pairs[pairs >= 0]] = True
        if not bool(regular.all()):
            number = {p: i for i, p in enumerate(self.pairs)}
            for s in self.to_spans(spans.take(~regular)):
                for t in self.corpus.turns_overlapping(s):
                    if t.speaker and t.role != INTERVIEWER_ROLE:
                        found[number[(t.doc, t.speaker)]] = True
        result: Ints = np.flatnonzero(found).astype(np.int64)
        return result

    def pair_groups(self, by: str, group: dict[tuple[int, str], str]) -> tuple[Ints, list[str]]:
        """For each pair, the number of its coverage group by ``by``; the group names."""
        found = self._groups.get(by)
        if found is None:
            number: dict[str, int] = {}
            ids = _ints((number.setdefault(group[p], len(number)) for p in self.pairs),
                        len(self.pairs))
            _frozen(ids)
            found = self._groups[by] = (ids, list(number))
        return found

    # -- excerpts --------------------------------------------------------------------------

    def excerpt_groups(self, spans: SpanArray) -> tuple[Ints, Ints]:
        """The order that lists spans by document (in hit order), start and end, and where
        each stretch of text (document, start, end) begins in it, with the end appended."""
        if not len(spans):
            return np.zeros(0, dtype=np.int64), np.zeros(1, dtype=np.int64)
        new = np.ones(len(spans), dtype=bool)
        by_text = (stable_order(self.c_text[spans.row], self.n_texts)
                   if bool((spans.row >= 0).all()) else None)
        if by_text is not None:  # codings only: their stretches are numbered in hit order
            order = by_text
            text = self.c_text[spans.row[order]]
            np.not_equal(text[1:], text[:-1], out=new[1:])
        else:
            rank = self.slot_rank[np.searchsorted(self.doc_ids, spans.doc)]
            order = np.lexsort((spans.end, spans.start, rank))
            r, s, e = rank[order], spans.start[order], spans.end[order]
            new[1:] = (r[1:] != r[:-1]) | (s[1:] != s[:-1]) | (e[1:] != e[:-1])
        bounds = np.append(np.flatnonzero(new), len(order)).astype(np.int64)
        return order, bounds
