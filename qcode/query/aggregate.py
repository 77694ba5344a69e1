"""Aggregations over codings: frequency table, code x attribute and code x code matrices.

Counts are over current document versions; interviewer turns are left out
unless asked for. A code's row rolls up its descendants ("with sub-codes");
the ``own`` columns count the code alone.
"""

from __future__ import annotations

import bisect
import re
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
    out = []
    for k in codings:
        if coders and k.coder not in coders:
            continue
        turn = corpus.turn_at(k.doc, k.start)
        if not include_interviewer and turn is not None and turn.role == INTERVIEWER_ROLE:
            continue
        out.append(k)
    return out


def _speakers(corpus: Corpus, k: CodingRow) -> frozenset[str]:
    """The informants whose turns a coding touches (worked out once per corpus)."""
    known: dict[int, frozenset[str]] = corpus._lazy.setdefault("coding_speakers", {})
    found = known.get(k.id)
    if found is None:
        found = known[k.id] = frozenset(
            t.speaker for t in corpus.turns_overlapping(Span(k.doc, k.start, k.end))
            if t.speaker and t.role != INTERVIEWER_ROLE)
    return found


def _word_bounds(corpus: Corpus, doc: int) -> tuple[array[int], array[int]]:
    """Starts and ends of a document's words (``_WORD`` over the whole text), kept with the
    corpus."""
    cache: dict[int, tuple[array[int], array[int]]] = corpus._lazy.setdefault("words", {})
    found = cache.get(doc)
    if found is None:
        starts, ends = array("l"), array("l")
        for m in _WORD.finditer(corpus.text(doc)):
            starts.append(m.start())
            ends.append(m.end())
        found = cache[doc] = (starts, ends)
    return found


def _words_between(corpus: Corpus, doc: int, s: int, e: int) -> int:
    """``len(_WORD.findall(text, s, e))`` without scanning: every word of the whole text
    that has a word character in [s, e) is one match there (a word cut at ``s`` or ``e``
    leaves one piece, as the pattern is runs of word characters joined by single marks)."""
    starts, ends = _word_bounds(corpus, doc)
    first = bisect.bisect_left(starts, s)
    count = bisect.bisect_left(starts, e) - first
    if first > 0 and ends[first - 1] > s:  # a word begun before s reaches into the range
        text = corpus.text(doc)
        if _WORD_CHAR.search(text, s, min(ends[first - 1], e)):
            count += 1
    return count


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping stretches covering the same text as ``spans``."""
    spans.sort()
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


@dataclass
class _Own:
    """What one code's own codings (not its descendants') cover."""

    codings: int = 0
    documents: set[int] = field(default_factory=set)
    speakers: set[str] = field(default_factory=set)
    text: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # merged, per doc


def frequency_table(store: Store, *, coders: Sequence[str] | None = None,
                    include_interviewer: bool = False,
                    corpus: Corpus | None = None) -> list[FrequencyRow]:
    """Codings, documents, informants and words coded per code, in codebook order.

    Each code's own codings are summed up once; a row rolls up its family's sums
    (unions of documents, informants and of the stretches of text coded).
    """
    corpus = corpus or corpus_for(store)
    own: dict[str, _Own] = defaultdict(_Own)
    spans: dict[str, dict[int, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for k in _kept(corpus, corpus.codings, coders, include_interviewer):
        mine = own[k.code]
        mine.codings += 1
        mine.documents.add(k.doc)
        mine.speakers.update(_speakers(corpus, k))
        spans[k.code][k.doc].append((k.start, k.end))
    for cid, by_doc in spans.items():
        own[cid].text = {doc: _merged(found) for doc, found in by_doc.items()}
    rows = []
    for code in store.codes():
        family = [own[c] for c in (code.id, *corpus.descendants(code.id)) if c in own]
        documents: set[int] = set().union(*(o.documents for o in family))
        speakers: set[str] = set().union(*(o.speakers for o in family))
        text: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for o in family:
            for doc, stretches in o.text.items():
                text[doc].extend(stretches)
        words = sum(_words_between(corpus, doc, s, e)
                    for doc, found in text.items()
                    for s, e in (found if len(family) == 1 else _merged(found)))
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


def _measure(corpus: Corpus, members: Sequence[CodingRow], measure: str,
             include_interviewer: bool = False) -> int:
    if measure == "codings":
        return len(members)
    if measure == "documents":
        return len({k.doc for k in members})
    if measure == "turns":  # the turns the codings touch (interviewer turns as asked)
        return len({t.id for k in members
                    for t in corpus.turns_overlapping(Span(k.doc, k.start, k.end))
                    if include_interviewer or t.role != INTERVIEWER_ROLE})
    speakers: set[str] = set()
    for k in members:
        speakers.update(_speakers(corpus, k))
    return len(speakers)


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

    by_value: dict[str, list[CodingRow]] = defaultdict(list)
    for k in codings:
        by_value[value_of(k)].append(k)
    columns = sorted(by_value, key=str.casefold)
    cells: dict[str, dict[str, int]] = {}
    for code, _path in chosen:
        family = {code, *corpus.descendants(code)}
        cells[code] = {col: _measure(corpus, [k for k in by_value[col] if k.code in family],
                                     measure, include_interviewer) for col in columns}
    totals = {col: _measure(corpus, by_value[col], measure, include_interviewer)
              for col in columns}
    return Matrix([c for c, _ in chosen], columns, cells, measure,
                  {c: p for c, p in chosen}, totals)


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
    rows_of: dict[str, list[str]] = defaultdict(list)  # code -> the chosen codes it rolls up to
    for c in names:
        for member in (c, *corpus.descendants(c)):
            rows_of[member].append(c)
    by_doc: dict[int, list[CodingRow]] = defaultdict(list)
    for k in codings:
        if rows_of.get(k.code):
            by_doc[k.doc].append(k)
    # one sweep per document: each coding learns the chosen codes of the codings it overlaps
    overlapping: dict[int, set[str]] = {}
    for items in by_doc.values():
        items.sort(key=lambda k: k.start)
        active: list[CodingRow] = []
        for k in items:
            active = [a for a in active if a.end > k.start]
            mine = overlapping.setdefault(k.id, set(rows_of[k.code]))  # overlaps itself
            for a in active:  # a.start <= k.start < a.end: they share text
                mine.update(rows_of[a.code])
                overlapping[a.id].update(rows_of[k.code])
            active.append(k)
    members: dict[str, list[CodingRow]] = {c: [] for c in names}
    hits: dict[str, dict[str, list[CodingRow]]] = {r: {c: [] for c in names} for r in names}
    for items in by_doc.values():
        for k in items:
            for row in rows_of[k.code]:
                members[row].append(k)
                for col in overlapping[k.id]:
                    hits[row][col].append(k)
    cells = {r: {c: _measure(corpus, hits[r][c], measure, include_interviewer) for c in names}
             for r in names}
    return Matrix(names, names, cells, measure, {c: p for c, p in chosen},
                  {c: _measure(corpus, members[c], measure, include_interviewer)
                   for c in names})
