"""Aggregations over codings: frequency table, code x attribute and code x code matrices.

Counts are over current document versions; interviewer turns are left out
unless asked for. A code's row rolls up its descendants ("with sub-codes");
the ``own`` columns count the code alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from qcode.errors import InputError
from qcode.models import INTERVIEWER_ROLE
from qcode.query.engine import (
    CodingRow,
    Corpus,
    Span,
    TurnRow,
    _group_value,
    corpus_for,
)
from qcode.store import Store

_WORD = re.compile(r"\w+(?:[-’'.]\w+)*")
_WORD_CHAR = re.compile(r"\w")
MEASURES = ("codings", "informants", "documents", "turns")


@dataclass
class FrequencyRow:
    """Counts for one code, rolled up over its descendants."""

    code: str
    path: str
    name: str
    depth: int
    codings: int
    documents: int
    informants: int
    words: int
    own_codings: int


def _kept(corpus: Corpus, codings: Iterable[CodingRow], coders: Sequence[str] | None,
          include_interviewer: bool) -> list[CodingRow]:
    skip = frozenset() if include_interviewer else corpus.interviewer_codings()
    wanted = frozenset(coders) if coders else None
    return [k for k in codings
            if k.id not in skip and (wanted is None or k.coder in wanted)]


def _speakers(corpus: Corpus, k: CodingRow) -> frozenset[str]:
    """The informants whose turns a coding touches (worked out once per corpus; codings
    touching the same informants share one set)."""
    known: dict[int, frozenset[str]] = corpus._lazy.setdefault("coding_speakers", {})
    found = known.get(k.id)
    if found is None:
        found = frozenset(
            t.speaker for t in corpus.turns_overlapping(Span(k.doc, k.start, k.end))
            if t.speaker and t.role != INTERVIEWER_ROLE)
        shared: dict[frozenset[str], frozenset[str]] = corpus._lazy.setdefault(
            "speaker_sets", {})
        found = known[k.id] = shared.setdefault(found, found)
    return found


def _word_char_table() -> Any:
    """A boolean per code point below U+10000: does ``\\w`` match it (kept for the process)."""
    import numpy as np

    global _WORD_TABLE
    if _WORD_TABLE is None:
        _WORD_TABLE = np.fromiter((bool(_WORD_CHAR.match(chr(i))) for i in range(0x10000)),
                                  dtype=bool, count=0x10000)
    return _WORD_TABLE


_WORD_TABLE: Any = None
_JOINERS = [ord(c) for c in "-’'."]


def word_bounds(text: str) -> tuple[Any, Any]:
    """Starts and ends of ``_WORD``'s matches in ``text`` (numpy int64 arrays), worked out
    on the code points at once: a word starts at a word character that neither follows a
    word character nor a joining mark (``-’'.``) that follows one, and ends after a word
    character that is neither followed by a word character nor by a joining mark and
    a word character."""
    import numpy as np

    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    if not len(cp):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    table = _word_char_table()
    isw = table[np.minimum(cp, 0xFFFF)]
    astral = np.flatnonzero(cp > 0xFFFF)
    if len(astral):
        isw[astral] = [bool(_WORD_CHAR.match(chr(int(c)))) for c in cp[astral]]
    joiner = np.isin(cp, _JOINERS)
    follows_word = np.zeros_like(isw)
    follows_word[1:] = isw[:-1]
    follows_word[2:] |= joiner[1:-1] & isw[:-2]
    before_word = np.zeros_like(isw)
    before_word[:-1] = isw[1:]
    before_word[:-2] |= joiner[1:-1] & isw[2:]
    starts = np.flatnonzero(isw & ~follows_word)
    ends = np.flatnonzero(isw & ~before_word) + 1
    return starts, ends


def _global_words(corpus: Corpus) -> tuple[Any, Any, Any]:
    """Every document's word starts and ends on one axis (a document's positions plus its
    offset, documents one after another), kept with the corpus: one binary search for
    many ranges in many documents."""
    import numpy as np

    found: tuple[Any, Any, Any] | None = corpus._lazy.get("global_words")
    if found is None:
        docs = sorted(corpus.docs)
        corpus.load_texts(docs)
        offsets = np.zeros((docs[-1] + 1) if docs else 0, dtype=np.int64)
        total = sum(len(corpus.text(doc)) + 1 for doc in docs)
        kind = np.int32 if total < 2**31 else np.int64  # half the memory where it fits
        starts, ends, at = [np.zeros(0, kind)], [np.zeros(0, kind)], 0
        for doc in docs:
            offsets[doc] = at
            s, e = word_bounds(corpus.text(doc))
            starts.append((s + at).astype(kind))
            ends.append((e + at).astype(kind))
            at += len(corpus.text(doc)) + 1
        found = (offsets, np.concatenate(starts), np.concatenate(ends))
        corpus._lazy["global_words"] = found
    return found


def _merged_words(corpus: Corpus, docs: Any, starts: Any, ends: Any) -> int:
    """Words in the union of the ranges ``[starts, ends)`` of documents ``docs`` (arrays):
    overlapping or touching ranges of a document merge first, so a word is counted once.

    No text is scanned: every word of the whole text that has a word character in a range
    is one match of ``_WORD`` there (a word cut at a range's edge leaves one piece, as the
    pattern is runs of word characters joined by single marks), so a range's count is the
    number of word starts in it, plus one for a word begun before it that reaches into it
    with a word character."""
    import numpy as np

    offsets, word_starts, word_ends = _global_words(corpus)
    if not len(docs) or not len(word_starts):
        return 0
    order = np.lexsort((starts, docs))
    d, s, e = docs[order], starts[order], ends[order]
    key_e = np.maximum.accumulate((d << 32) | e)
    new = np.ones(len(d), dtype=bool)
    new[1:] = ((d[1:] << 32) | s[1:]) > key_e[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, len(d) - 1)
    doc_of = d[first]
    shift = offsets[doc_of]
    kind = word_starts.dtype  # searching with another dtype would convert the whole axis
    lo = (s[first] + shift).astype(kind)
    hi = ((key_e[last] & 0xFFFFFFFF) + shift).astype(kind)
    begin = np.searchsorted(word_starts, lo, "left")
    total = int((np.searchsorted(word_starts, hi, "left") - begin).sum())
    for i in np.flatnonzero((begin > 0) & (word_ends[np.maximum(begin - 1, 0)] > lo)
                            & (hi > lo)):  # a word begun before the range reaches into it
        doc, off = int(doc_of[i]), int(shift[i])
        stop = min(int(word_ends[begin[i] - 1]), int(hi[i])) - off
        if _WORD_CHAR.search(corpus.text(doc), int(lo[i]) - off, stop):
            total += 1
    return total


@dataclass
class _Own:
    """What one code's own codings (not its descendants') cover."""

    codings: int = 0
    documents: set[int] = field(default_factory=set)
    speakers: set[str] = field(default_factory=set)


def frequency_table(store: Store, *, coders: Sequence[str] | None = None,
                    include_interviewer: bool = False,
                    corpus: Corpus | None = None) -> list[FrequencyRow]:
    """Codings, documents, informants and words coded per code, in codebook order.

    Each code's own codings are summed up once; a row rolls up its family's sums
    (unions of documents, informants and of the stretches of text coded).
    """
    import numpy as np

    corpus = corpus or corpus_for(store)
    own: dict[str, _Own] = defaultdict(_Own)
    kept = _kept(corpus, corpus.codings, coders, include_interviewer)
    for k in kept:
        mine = own[k.code]
        mine.codings += 1
        mine.documents.add(k.doc)
        mine.speakers.update(_speakers(corpus, k))
    index = {code: i for i, code in enumerate(own)}
    code_of = np.fromiter((index[k.code] for k in kept), dtype=np.int64, count=len(kept))
    docs = np.fromiter((k.doc for k in kept), dtype=np.int64, count=len(kept))
    starts = np.fromiter((k.start for k in kept), dtype=np.int64, count=len(kept))
    ends = np.fromiter((k.end for k in kept), dtype=np.int64, count=len(kept))
    rows = []
    for code in store.codes():
        members = [c for c in (code.id, *corpus.descendants(code.id)) if c in own]
        family = [own[c] for c in members]
        documents: set[int] = set().union(*(o.documents for o in family))
        speakers: set[str] = set().union(*(o.speakers for o in family))
        chosen = np.isin(code_of, [index[c] for c in members])
        words = _merged_words(corpus, docs[chosen], starts[chosen], ends[chosen])
        rows.append(FrequencyRow(code.id, code.path, code.name, code.depth,
                                 sum(o.codings for o in family), len(documents),
                                 len(speakers), words,
                                 own[code.id].codings if code.id in own else 0))
    return rows


@dataclass
class Matrix:
    """A table of counts: rows, columns, cells[row][column], and what is counted."""

    rows: list[str]
    columns: list[str]
    cells: dict[str, dict[str, int]]
    measure: str
    row_labels: dict[str, str]
    column_totals: dict[str, int]


def _select_codes(store: Store, corpus: Corpus, codes: Sequence[str] | None,
                  depth: int | None) -> list[tuple[str, str]]:
    all_codes = store.codes()
    if codes:
        from qcode.query.ast import CodeRef
        from qcode.query.engine import _Eval

        ev = _Eval(corpus, " ".join(codes))
        chosen = [ev.resolve(CodeRef(path=c, mode="tree", pos=0)) for c in codes]
        return [(c.id, c.path) for c in all_codes if c.id in chosen]
    limit = 1 if depth is None else depth
    return [(c.id, c.path) for c in all_codes if c.depth <= limit]


def _items(corpus: Corpus, members: Iterable[CodingRow], measure: str,
           include_interviewer: bool = False) -> set[Any]:
    """What ``measure`` counts of some codings: documents, informants or turns touched."""
    if measure == "documents":
        return {k.doc for k in members}
    if measure == "turns":  # the turns the codings touch (interviewer turns as asked)
        return {t.id for k in members
                for t in corpus.turns_overlapping(Span(k.doc, k.start, k.end))
                if include_interviewer or t.role != INTERVIEWER_ROLE}
    speakers: set[str] = set()
    for k in members:
        speakers.update(_speakers(corpus, k))
    return speakers


class _Tally:
    """Counts of ``measure`` for cells made of groups of codings: each group's items are
    worked out once, a cell is the size of the union of its groups' items (or, counting
    codings, the sum of its groups' sizes: a coding is in one group only)."""

    def __init__(self, corpus: Corpus, measure: str, include_interviewer: bool) -> None:
        self.corpus, self.measure, self.include = corpus, measure, include_interviewer
        self.cells: dict[Any, list[int]] = defaultdict(list)
        self.groups: list[list[CodingRow]] = []
        self._known: list[set[Any]] | None = None

    def add(self, members: list[CodingRow], cells: Iterable[Any]) -> None:
        self.groups.append(members)
        for cell in cells:
            self.cells[cell].append(len(self.groups) - 1)

    def count(self, cell: Any) -> int:
        found = self.cells.get(cell, [])
        if self.measure == "codings":
            groups = self.groups
            return sum(len(groups[g]) for g in found)
        items = self._items()
        return len(set().union(*(items[g] for g in found)))

    def _items(self) -> list[set[Any]]:
        if self._known is None:
            self._known = [_items(self.corpus, g, self.measure, self.include)
                           for g in self.groups]
        return self._known


def code_attribute_matrix(store: Store, attribute: str = "role", *,
                          codes: Sequence[str] | None = None, depth: int | None = None,
                          measure: str = "codings", coders: Sequence[str] | None = None,
                          include_interviewer: bool = False,
                          corpus: Corpus | None = None) -> Matrix:
    """Codes (rolled up) by the values of a speaker or document attribute (or role)."""
    if measure not in MEASURES:
        raise InputError(f"unknown measure {measure!r}", f"use one of {', '.join(MEASURES)}")
    corpus = corpus or corpus_for(store)
    if attribute not in ("role", "document", "speaker") and attribute not in \
            corpus.speaker_types and attribute not in corpus.doc_types:
        known = sorted({"role", "document", "speaker", *corpus.speaker_types,
                        *corpus.doc_types})
        raise InputError(f"unknown attribute {attribute!r}", f"use one of {', '.join(known)}")
    chosen = _select_codes(store, corpus, codes, depth)
    codings = _kept(corpus, corpus.codings, coders, include_interviewer)

    def value_of(k: CodingRow) -> str:
        turn = corpus.turn_at(k.doc, k.start) or TurnRow(-1, k.doc, 0, 0, 0, None, None,
                                                         None, None)
        if attribute == "document":
            return str(corpus.docs[k.doc]["name"])
        if attribute == "speaker":
            return turn.speaker or "(none)"
        return _group_value(corpus, turn.speaker or "", turn, attribute)

    by_value: dict[tuple[str, str], list[CodingRow]] = defaultdict(list)
    for k in codings:
        by_value[(value_of(k), k.code)].append(k)
    columns = sorted({v for v, _ in by_value}, key=str.casefold)
    rows_of = _rolled_up(corpus, [c for c, _ in chosen])
    tally = _Tally(corpus, measure, include_interviewer)
    for (value, code), members in by_value.items():
        tally.add(members, [(row, value) for row in rows_of.get(code, ())] + [value])
    cells = {code: {col: tally.count((code, col)) for col in columns} for code, _ in chosen}
    totals = {col: tally.count(col) for col in columns}
    return Matrix([c for c, _ in chosen], columns, cells, measure,
                  {c: p for c, p in chosen}, totals)


def _rolled_up(corpus: Corpus, names: Sequence[str]) -> dict[str, list[str]]:
    """Code -> the codes among ``names`` it rolls up to (itself or an ancestor)."""
    rows_of: dict[str, list[str]] = defaultdict(list)
    for c in names:
        for member in (c, *corpus.descendants(c)):
            rows_of[member].append(c)
    return rows_of


def cooccurrence_matrix(store: Store, *, codes: Sequence[str] | None = None,
                        depth: int | None = None, measure: str = "codings",
                        coders: Sequence[str] | None = None,
                        include_interviewer: bool = False,
                        corpus: Corpus | None = None) -> Matrix:
    """Code x code: how often codings of the row code overlap codings of the column code."""
    if measure not in MEASURES:
        raise InputError(f"unknown measure {measure!r}", f"use one of {', '.join(MEASURES)}")
    corpus = corpus or corpus_for(store)
    chosen = _select_codes(store, corpus, codes, depth)
    codings = _kept(corpus, corpus.codings, coders, include_interviewer)
    names = [c for c, _ in chosen]
    rows_of = _rolled_up(corpus, names)
    bits = {c: 1 << i for i, c in enumerate(names)}
    mask_of = {code: sum(bits[r] for r in rows) for code, rows in rows_of.items()}
    by_doc: dict[int, list[CodingRow]] = defaultdict(list)
    for k in codings:
        if k.code in mask_of:
            by_doc[k.doc].append(k)
    # one sweep per document: each coding learns the chosen codes of the codings it
    # overlaps, as a bit mask (itself included); codings of one code that overlap the
    # same chosen codes count in the same cells, so they are grouped
    groups: dict[tuple[str, int], list[CodingRow]] = defaultdict(list)
    for items in by_doc.values():
        items.sort(key=lambda k: k.start)
        ends = [k.end for k in items]
        seen = [mask_of[k.code] for k in items]
        own = seen[:]
        active: list[int] = []
        for i, k in enumerate(items):
            if active:
                start = k.start
                active = [j for j in active if ends[j] > start]
                mask = mine = own[i]
                for j in active:  # items[j].start <= k.start < items[j].end: shared text
                    mine |= own[j]
                    seen[j] |= mask
                seen[i] = mine
            active.append(i)
        for k, mask in zip(items, seen, strict=True):
            groups[(k.code, mask)].append(k)
    # then by row (a code rolls up to its chosen ancestors) and mask: a cell is the union
    # of the groups whose row it is in and whose mask has its column
    profiles: dict[tuple[str, int], list[CodingRow]] = defaultdict(list)
    for (code, mask), members in groups.items():
        for row in rows_of[code]:
            profiles[(row, mask)].extend(members)
    tally = _Tally(corpus, measure, include_interviewer)
    for (row, mask), members in profiles.items():
        tally.add(members, [row, *((row, c) for c in names if mask & bits[c])])
    cells = {r: {c: tally.count((r, c)) for c in names} for r in names}
    return Matrix(names, names, cells, measure, {c: p for c, p in chosen},
                  {c: tally.count(c) for c in names})
