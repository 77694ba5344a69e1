"""The query engine's column evaluation, checked against the row-by-row engine it replaced.

``Reference`` below is the engine as it was before spans became numpy columns
(``qcode.query.columns``): lists of ``Span`` tuples, a bisect index per document,
filters called span by span, coverage and hits grouped in Python loops. It is
kept here only as an oracle; it shares with the engine the corpus (the rows and
its look-ups), parsing, code resolution and text search, which the columns did
not change.

Hypothesis writes queries over a generated project (three coders; nested,
overlapping, identical and touching codings; codings across turns and in
interviewer turns; a speaker in two documents; a survey; speaker and document
attributes, some missing; two documents whose names differ only in case), with
every unit, coverage grouping and interviewer option, on the full corpus and on
a blind coder's. Each must give the same result both ways: every hit in order
with every field, the coverage, the warnings, or the same error. A copy of the
project has turns the importers never make (an empty turn, one sharing its start
with the next, overlapping turns, a document without turns) for the engine's
fallbacks.

The column primitives are also checked one by one against their definitions:
overlap, containment, first occurrences, positions within N, and, per span, the
context (``turn_at``) and the informants touched (``turns_overlapping``).
"""

from __future__ import annotations

import bisect
import csv
import random
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qcode import services
from qcode.errors import QueryError
from qcode.models import INTERVIEWER_ROLE
from qcode.query import ast, engine
from qcode.query.engine import (
    _NO_TURN,
    Corpus,
    Coverage,
    Hit,
    Hits,
    QueryResult,
    Span,
    _compare,
    _Eval,
    _field,
    _group_value,
    _has_coder,
    _is_filter_expr,
    _mentions_interviewer,
    _scope_filters,
)
from qcode.resources import codebook_dir
from qcode.store import Store

ACTOR = "tester"
CODERS = ("coder-a", "coder-b", "coder-c")
WORDS = ("samarbeid", "felles", "møter", "teamfølelse", "teamfolelse", "kontoret", "vi",
         "jobbspesialisten", "veilederen", "tid", "brukerne", "ressurser", "nærhet", "Nav")


# -- the reference: the engine before columns, kept as an oracle ---------------------


class _Index:
    def __init__(self, spans: Iterable[Span]) -> None:
        by_doc: dict[int, list[Span]] = defaultdict(list)
        for s in spans:
            by_doc[s.doc].append(s)
        self.starts: dict[int, list[int]] = {}
        self.max_end: dict[int, list[int]] = {}
        for doc, items in by_doc.items():
            items.sort(key=lambda s: s.start)
            self.starts[doc] = [s.start for s in items]
            running, ends = -1, []
            for s in items:
                running = max(running, s.end)
                ends.append(running)
            self.max_end[doc] = ends

    def overlaps(self, span: Span) -> bool:
        starts = self.starts.get(span.doc)
        if not starts:
            return False
        i = bisect.bisect_left(starts, span.end)
        return i > 0 and self.max_end[span.doc][i - 1] > span.start

    def contains(self, span: Span) -> bool:
        starts = self.starts.get(span.doc)
        if not starts:
            return False
        i = bisect.bisect_right(starts, span.start)
        return i > 0 and self.max_end[span.doc][i - 1] >= span.end


def _unique(spans: Iterable[Span]) -> list[Span]:
    seen: set[Span] = set()
    out = []
    for s in spans:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


class ReferenceSpeakers:
    """The informants a span touches (``_SpanSpeakers`` before columns)."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus

    def pairs(self, span: Span) -> tuple[tuple[int, str], ...]:
        return tuple(dict.fromkeys((t.doc, t.speaker)
                                   for t in self.corpus.turns_overlapping(span)
                                   if t.speaker and t.role != INTERVIEWER_ROLE))

    def informants(self, spans: Iterable[Span]) -> list[str]:
        return sorted({speaker for s in spans for _doc, speaker in self.pairs(s)})


class Reference:
    """Evaluation span by span (the engine's ``_Eval`` before columns)."""

    def __init__(self, corpus: Corpus, query: str) -> None:
        self.c = corpus
        self.shared = _Eval(corpus, query)  # codes, typed values, text search: unchanged
        self._predicates: dict[int, Callable[[Span], bool]] = {}
        self.by_code: dict[str, list[Span]] = defaultdict(list)
        for k in corpus.codings:
            self.by_code[k.code].append(Span(k.doc, k.start, k.end, k.id))

    def check(self, node: ast.Node) -> None:
        for n in ast.walk(node):
            if isinstance(n, ast.Filter):
                self.predicate(n)

    def spans(self, node: ast.Node) -> list[Span]:
        if _is_filter_expr(node):
            accept = self.accepts(node)
            return [s for s in self.base_spans(coded=_has_coder(node)) if accept(s)]
        if isinstance(node, ast.CodeRef):
            return [s for code in dict.fromkeys(self.shared.codes_of(node))
                    for s in self.by_code.get(code, ())]
        if isinstance(node, ast.Text):
            return self.shared.text_spans(node)
        if isinstance(node, ast.Or):
            return _unique(self.spans(node.left) + self.spans(node.right))
        if isinstance(node, ast.And):
            return self.conjunction(node)
        if isinstance(node, ast.Not):
            return self.without(self.base_spans(coded=False), node.operand)
        if isinstance(node, ast.Relation):
            return self.relation(node)
        raise AssertionError(node)

    def base_spans(self, *, coded: bool) -> list[Span]:
        if coded:
            return [s for spans in self.by_code.values() for s in spans]
        return [Span(t.doc, t.start, t.end) for ts in self.c.turns.values() for t in ts
                if t.end > t.start]

    def conjunction(self, node: ast.And) -> list[Span]:
        left, right = node.left, node.right
        if _is_filter_expr(right):
            accept = self.accepts(right)
            return [s for s in self.spans(left) if accept(s)]
        if _is_filter_expr(left):
            accept = self.accepts(left)
            return [s for s in self.spans(right) if accept(s)]
        if isinstance(right, ast.Not):
            return self.without(self.spans(left), right.operand)
        if isinstance(left, ast.Not):
            return self.without(self.spans(right), left.operand)
        a, b = self.spans(left), self.spans(right)
        index_a, index_b = _Index(a), _Index(b)
        return _unique([s for s in a if index_b.overlaps(s)] +
                       [s for s in b if index_a.overlaps(s)])

    def without(self, spans: list[Span], operand: ast.Node) -> list[Span]:
        if _is_filter_expr(operand):
            accept = self.accepts(operand)
            return [s for s in spans if not accept(s)]
        index = _Index(self.spans(operand))
        return [s for s in spans if not index.overlaps(s)]

    def accepts(self, node: ast.Node) -> Callable[[Span], bool]:
        if isinstance(node, ast.Filter):
            return self.predicate(node)
        if isinstance(node, ast.Not):
            inner = self.accepts(node.operand)
            return lambda s: not inner(s)
        if isinstance(node, ast.And | ast.Or):
            left, right = self.accepts(node.left), self.accepts(node.right)
            if isinstance(node, ast.And):
                return lambda s: left(s) and right(s)
            return lambda s: left(s) or right(s)
        raise AssertionError(node)

    def relation(self, node: ast.Relation) -> list[Span]:
        a, b = self.spans(node.left), self.spans(node.right)
        index = _Index(b)
        if node.kind == "overlaps":
            return [s for s in a if index.overlaps(s)]
        if node.kind == "inside":
            return [s for s in a if index.contains(s)]
        n = node.n if node.n is not None else (2 if node.kind == "followed_by" else 0)
        position = self.sentence_index if node.unit == "sentences" else self.turn_index
        by_doc: dict[int, list[int]] = defaultdict(list)
        for s in b:
            by_doc[s.doc].append(position(s))
        for v in by_doc.values():
            v.sort()
        out = []
        for s in a:
            here = position(s)
            others = by_doc.get(s.doc, [])
            lo = bisect.bisect_left(others, here - n if node.kind == "within" else here)
            hi = bisect.bisect_right(others, here + n)
            if node.kind == "within":
                if lo < hi:
                    out.append(s)
            elif any(t.start >= s.end for t in b if t.doc == s.doc
                     and here <= position(t) <= here + n):
                out.append(s)
        return out

    def turn_index(self, span: Span) -> int:
        turn = self.c.turn_at(span.doc, span.start)
        return turn.idx if turn else 0

    def sentence_index(self, span: Span) -> int:
        starts = self.c.sentence_starts(span.doc)
        return max(bisect.bisect_right(starts, span.start) - 1, 0)

    def predicate(self, node: ast.Filter) -> Callable[[Span], bool]:
        found = self._predicates.get(id(node))
        if found is None:
            found = self._predicates[id(node)] = self._make_predicate(node)
        return found

    def _make_predicate(self, node: ast.Filter) -> Callable[[Span], bool]:
        name = _field(node)
        c = self.c
        if name in ("document", "doc"):
            return lambda s: _compare(c.docs[s.doc]["name"], node, text=True)
        if name == "kind":
            return lambda s: _compare(c.docs[s.doc]["kind"], node, text=True)
        if name == "coder":
            def by_coder(s: Span) -> bool:
                coding = c.coding_by_id.get(s.coding) if s.coding is not None else None
                return coding is not None and _compare(coding.coder, node, text=True)
            return by_coder
        if name == "speaker":
            return lambda s: _compare((c.turn_at(s.doc, s.start) or _NO_TURN).speaker, node,
                                      text=True)
        if name == "role":
            return lambda s: _compare((c.turn_at(s.doc, s.start) or _NO_TURN).role, node,
                                      text=True)
        if name in c.speaker_types:
            kind = c.speaker_types[name]
            typed = self.shared.typed(node, kind)

            def by_speaker_attr(s: Span) -> bool:
                turn = c.turn_at(s.doc, s.start)
                value = c.speaker_attrs.get(turn.speaker or "", {}).get(name) if turn else None
                if value is None:
                    value = c.doc_attrs.get(c.docs[s.doc]["uid"], {}).get(name)
                return _compare(value, typed, text=kind == "text")
            return by_speaker_attr
        if name in c.doc_types:
            kind = c.doc_types[name]
            typed = self.shared.typed(node, kind)
            return lambda s: _compare(c.doc_attrs.get(c.docs[s.doc]["uid"], {}).get(name),
                                      typed, text=kind == "text")
        self.shared.filter_test(node)  # the engine's error for an unknown field
        raise AssertionError(node)


def reference_hits(corpus: Corpus, spans: list[Span], unit: str, context: int,
                   with_interviewer: bool, speakers: ReferenceSpeakers,
                   counted: set[str]) -> list[Hit]:
    """Hits grouped by unit (``_hits`` before columns), all built."""
    groups: dict[Any, list[Span]] = defaultdict(list)
    for s in spans:
        if unit == "excerpt":
            groups[(s.doc, s.start, s.end)].append(s)
        elif unit == "turn":
            turns = [t for t in corpus.turns_overlapping(s)
                     if with_interviewer or t.role != INTERVIEWER_ROLE]
            turns = turns or [corpus.turn_at(s.doc, s.start) or _NO_TURN]
            for t in turns:
                groups[(s.doc, t.id)].append(s)
        else:
            groups[(s.doc,)].append(s)

    def bounds(key: Any) -> tuple[int, int]:
        if unit == "excerpt":
            return key[1], key[2]
        if unit == "turn":
            turn = corpus.turn_by_id.get(key[1])
            members = groups[key]
            return (turn.start, turn.end) if turn else (members[0].start, members[0].end)
        return 0, len(corpus.text(key[0]))

    rank = corpus.document_rank()
    if unit == "excerpt":
        per_doc: dict[int, list[Any]] = defaultdict(list)
        for key in groups:
            per_doc[key[0]].append(key)
        ordered = [k for d in sorted(per_doc, key=rank.__getitem__) for k in sorted(per_doc[d])]
    else:
        ordered = sorted(groups, key=lambda k: (rank[k[0]], *bounds(k)))

    def build(key: Any) -> Hit:
        doc, members = key[0], groups[key]
        text = corpus.text(doc)
        start, end = bounds(key)
        turn = corpus.turn_at(doc, start)
        codings = [corpus.coding_by_id[m.coding] for m in members if m.coding is not None]
        before = after = ""
        if context and turn is not None:
            siblings = corpus.turns[doc]
            i = max(bisect.bisect_right(corpus._turn_starts[doc], start) - 1, 0)
            before = "\n".join(text[t.start:t.end] for t in siblings[max(0, i - context):i])
            after = "\n".join(text[t.start:t.end] for t in siblings[i + 1:i + 1 + context])
        informants = speakers.informants(members)
        return Hit(
            document=corpus.docs[doc]["name"], start=start, end=end,
            text=text[start:end] if unit != "document" else "",
            turn=turn.idx if turn else None, line=corpus.line_of(doc, start),
            time=turn.time if turn else None,
            speaker=turn.speaker if turn and unit != "document" else None,
            role=turn.role if turn and unit != "document" else None,
            codes=sorted({k.code for k in codings}), coders=sorted({k.coder for k in codings}),
            coding_ids=sorted({k.id for k in codings}), context_before=before,
            context_after=after, informants=[s for s in informants if s in counted])

    return [build(key) for key in ordered]


def reference_coverage(corpus: Corpus, ev: Reference, spans: list[Span], scope: list[ast.Node],
                       by: str, speakers: ReferenceSpeakers) -> list[Coverage]:
    """Coverage per group (``_coverage`` before columns)."""
    accept = [ev.accepts(f) for f in scope]
    group = {pair: _group_value(corpus, pair[1], turns[0], by)
             for pair, turns in corpus.informant_turns().items()}
    in_scope: dict[str, set[str]] = defaultdict(set)
    for pair, turns in corpus.informant_turns().items():
        if not accept or any(all(a(Span(t.doc, t.start, t.end)) for a in accept)
                             for t in turns):
            in_scope[group[pair]].add(pair[1])
    touched: set[tuple[int, str]] = set()
    for s in spans:
        touched.update(speakers.pairs(s))
    covered: dict[str, set[str]] = defaultdict(set)
    for pair in touched:
        covered[group[pair]].add(pair[1])
    return [Coverage(name, sorted(covered.get(name, set()) & in_scope[name]),
                     len(in_scope[name])) for name in sorted(in_scope, key=str.casefold)]


def reference_query(store: Store, query: str, corpus: Corpus, *, unit: str, context: int,
                    include_interviewer: bool, coverage_by: str) -> QueryResult:
    """``run_query`` before columns."""
    from qcode.query.parser import parse

    attributes = set(corpus.speaker_types) | set(corpus.doc_types)
    node = parse(query, codes=[c for c in corpus.code_paths if c not in attributes])
    ev = Reference(corpus, query)
    ev.check(node)
    spans = ev.spans(node)
    with_interviewer = include_interviewer or _mentions_interviewer(node, corpus)
    if not with_interviewer:
        spans = [s for s in spans
                 if (corpus.turn_at(s.doc, s.start) or _NO_TURN).role != INTERVIEWER_ROLE]
    if coverage_by not in ("role", *corpus.speaker_types, *corpus.doc_types):
        raise QueryError(f"cannot count coverage by {coverage_by!r}: no such attribute", query,
                         0, "use role or an attribute name")
    speakers = ReferenceSpeakers(corpus)
    scope = [f for f in _scope_filters(node) if not _has_coder(f)]
    coverage = reference_coverage(corpus, ev, spans, scope, coverage_by, speakers)
    counted = {s for c in coverage for s in c.informants}
    hits = reference_hits(corpus, spans, unit, context, with_interviewer, speakers, counted)
    return QueryResult(query, unit, hits, coverage, coverage_by, with_interviewer,
                       ev.shared.warnings)


# -- the generated project ----------------------------------------------------------


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 9))]
    if rng.random() < 0.3:
        words[rng.randrange(len(words)):0] = ["felles", "møter"]
    return " ".join(words).capitalize() + rng.choice((".", ".", "?", "!"))


def _answer(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(1, 4)))


def _transcript(rng: random.Random, informants: list[str], header: bool) -> str:
    parts = ["Intervju om samarbeid"] if header else []
    for _ in range(rng.randint(4, 9)):
        parts.append(f"I: {_sentence(rng)}")
        parts.append(f"{rng.choice(informants)}: {_answer(rng)}")
        if rng.random() < 0.2:
            parts.append(_answer(rng))  # a paragraph without a label
    return "\n\n".join(parts) + "\n"


def _write_sources(folder: Path, rng: random.Random) -> tuple[Path, Path, Path, Path]:
    interviews = folder / "intervjuer"
    interviews.mkdir()
    layout = {"JS1-intervju": ["JS1"], "js1-oppfolging": ["JS1"], "V1-intervju": ["V1"],
              "Fokusgruppe": ["V2", "V3", "JS2"], "fokusgruppe": ["V4", "JS3"],
              "V5-intervju": ["V5"]}
    for name, informants in layout.items():
        (interviews / f"{name}.txt").write_text(
            _transcript(rng, informants, header=rng.random() < 0.5), encoding="utf-8")
    survey = folder / "undersokelse.csv"
    with survey.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["respondent", "rolle", "kontor", "samarbeid_fungerer", "forbedringer"])
        for r in range(1, 9):
            w.writerow([f"R{r:02d}", rng.choice(("veileder", "jobbspesialist")),
                        rng.choice(("Nord", "Sør")), _answer(rng), _answer(rng)])
    speakers = folder / "informanter.csv"
    speakers.write_text(
        "informant,role,office,age,interview_date\n"
        "JS1,jobbspesialist,Nord,34,2026-02-10\n"
        "JS2,jobbspesialist,Sør,,2026-03-02\n"
        "JS3,jobbspesialist,,51,\n"
        "V1,veileder,Nord,31,2026-02-11\n"
        "V2,veileder,Sør,44,12.03.2026\n"
        "V3,veileder,Øst,58,2026-03-12\n"
        "V4,veileder,Nord,40,2026-04-01\n"
        "V5,veileder,Sør,29,2026-04-02\n", encoding="utf-8")
    documents = folder / "dokumenter.csv"
    documents.write_text("document,prosjekt,nummer,office\nJS1-intervju,A,9,Vest\n"
                         "Fokusgruppe,A,10,\nV5-intervju,B,100,Øst\n", encoding="utf-8")
    return interviews, survey, speakers, documents


def _apply_codings(store: Store, rng: random.Random) -> None:
    codes = [c.id for c in store.codes()]
    for coder in CODERS[1:]:
        services.add_coder(store, coder, coder.title(), actor=ACTOR)
    for d in store.documents():
        doc, turns = services.get_document(store, d.name)
        spoken = [t for t in turns if t.end > t.start]
        shared: list[tuple[int, int, str]] = []  # spans several coders code alike
        for _ in range(max(2, len(spoken) // 2)):
            t = rng.choice(spoken)
            shared.append((t.start, t.end, rng.choice(codes)))
        by_coder: dict[str, set[tuple[int, int, str]]] = {c: set() for c in CODERS}
        for coder in CODERS:
            mine = by_coder[coder]
            mine.update(s for s in shared if rng.random() < 0.7)
            for _ in range(rng.randint(len(spoken) // 2, len(spoken) + 2)):
                first = rng.randrange(len(spoken))
                last = min(len(spoken) - 1, first + rng.choice((0, 0, 0, 1, 2)))
                a, b = spoken[first], spoken[last]
                start = rng.choice((a.start, rng.randint(a.start, a.end - 1)))
                end = rng.choice((b.end, rng.randint(max(start + 1, b.start), b.end)))
                mine.add((start, end, rng.choice(codes)))
                if rng.random() < 0.2:  # the same text with a second code
                    mine.add((start, end, rng.choice(codes)))
                if rng.random() < 0.15 and end < b.end:  # a coding touching this one
                    mine.add((end, rng.randint(end + 1, b.end), rng.choice(codes)))
        for coder, spans in by_coder.items():
            if spans:
                services.apply_codings(
                    store, [services.SpanRequest(doc.name, code, start=s, end=e)
                            for s, e, code in sorted(spans)], coder, actor=ACTOR)


def build_project(folder: Path, seed: int) -> Path:
    """A project with codings by three coders (see the module docstring)."""
    rng = random.Random(seed)
    interviews, survey, speakers, documents = _write_sources(folder, rng)
    path = services.init_project(folder / "generated.qcode", actor=ACTOR)
    store = services.open_project(path)
    try:
        options = services.import_options(store)
        report = services.import_paths(store, [interviews], options, attributes=speakers,
                                       actor=ACTOR)
        assert not report.failed, report.failed
        report = services.import_paths(store, [survey], options, actor=ACTOR)
        assert not report.failed, report.failed
        services.import_attributes(store, documents)
        for name in ("samarbeid", "praksislogikker", "prestisje"):
            services.load_codebook_file(store, codebook_dir() / f"{name}.yaml", actor=ACTOR)
        _apply_codings(store, rng)
    finally:
        store.close()
    return path


def make_odd_turns(path: Path, target: Path) -> Path:
    """A copy whose turns the importers never make: an empty turn, an empty turn sharing its
    start with the next, two overlapping turns, and a document without turns."""
    source = sqlite3.connect(path)
    copy = sqlite3.connect(target)
    source.backup(copy)
    source.close()
    docs = [r[0] for r in copy.execute(
        "SELECT id FROM documents WHERE kind != 'survey' ORDER BY name")]
    turns = {d: copy.execute('SELECT id, start, "end" FROM turns WHERE document_id = ? '
                             "ORDER BY start", (d,)).fetchall() for d in docs}
    empty = turns[docs[0]][2]
    copy.execute('UPDATE turns SET "end" = start WHERE id = ?', (empty[0],))
    shared, after = turns[docs[1]][1], turns[docs[1]][2]
    copy.execute('UPDATE turns SET start = ?, "end" = ? WHERE id = ?',
                 (after[1], after[1], shared[0]))
    longer, covered = turns[docs[2]][3], turns[docs[2]][4]
    copy.execute('UPDATE turns SET "end" = ? WHERE id = ?', (covered[2] + 3, longer[0]))
    copy.execute("DELETE FROM turns WHERE document_id = ?", (docs[3],))
    copy.commit()
    copy.close()
    return target


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Store]]:
    folder = tmp_path_factory.mktemp("generated")
    path = build_project(folder, seed=20260917)
    odd = make_odd_turns(path, folder / "odd.qcode")
    stores = {"generated": services.open_project(path), "odd": services.open_project(odd)}
    yield stores
    for store in stores.values():
        store.close()


# -- queries --------------------------------------------------------------------------

CODE_PATHS = ("prestisje", "samarbeid", "praksislogikker", "samarbeid/vurdering",
              "samarbeid/forutsetninger", "praksislogikker/*", "samarbeid/*", "=samarbeid",
              "=prestisje", "definisjonsmakt", "innsoking", "tilfredshet")
TEXTS = ('"felles møter"', "text:samarbeid", "samarb*", "~teamfølelse", "~teamfolelse:70",
         '"vi"', "text:Nav", "lemma:møte")
FILTERS = ("role = interviewer", "role != veileder", "role in (veileder, jobbspesialist)",
           "age >= 40", "age < 35", "office = Nord", "office not in (Sør)", "coder = coder-b",
           "coder != coder-a", "speaker = JS1", "speaker in (V2, I)", "document = fokusgruppe",
           "kind = survey", "kind != survey", "interview_date >= 2026-03-01", "prosjekt = A",
           "nummer >= 10", "office = Øst", "kontor = Nord", "age >= gammel")
RELATIONS = ("overlaps", "inside", "within 0 turns of", "within 1 turns of",
             "within 2 sentences of")

atoms = st.sampled_from(CODE_PATHS) | st.sampled_from(TEXTS) | st.sampled_from(FILTERS)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(inner, inner)
    return st.one_of(
        pair.map(lambda p: f"({p[0]}) AND ({p[1]})"),
        pair.map(lambda p: f"({p[0]}) OR ({p[1]})"),
        pair.map(lambda p: f"({p[0]}) AND NOT ({p[1]})"),
        inner.map(lambda a: f"NOT ({a})"),
        st.tuples(inner, st.sampled_from(RELATIONS), inner).map(
            lambda p: f"({p[0]}) {p[1]} ({p[2]})"),
        st.tuples(inner, inner, st.sampled_from(("", " within 1 turns", " within 0 sentences")))
        .map(lambda p: f"({p[0]}) followed by ({p[1]}){p[2]}"))


queries = st.recursive(atoms, _combine, max_leaves=4)
options = st.fixed_dictionaries({
    "unit": st.sampled_from(("excerpt", "excerpt", "turn", "document")),
    "context": st.sampled_from((0, 0, 1)),
    "include_interviewer": st.booleans(),
    "coverage_by": st.sampled_from(("role", "role", "office", "age", "prosjekt")),
})


def outcome(run: Callable[[], QueryResult]) -> tuple[Any, ...]:
    """A result as plain data (every hit field), or the error it raised."""
    try:
        result = run()
    except QueryError as exc:
        return ("error", str(exc), exc.hint)
    return (result.unit, len(result.hits), [astuple(h) for h in result.hits],
            [(c.group, c.informants, c.total) for c in result.coverage], result.coverage_by,
            result.include_interviewer, result.warnings)


def same_both_ways(store: Store, query: str, coders: tuple[str, ...] | None,
                   opts: dict[str, Any]) -> tuple[Any, ...]:
    ours = Corpus(store, coders)
    theirs = Corpus(store, coders)
    got = outcome(lambda: engine.run_query(store, query, corpus=ours, **opts))
    want = outcome(lambda: reference_query(store, query, theirs, **opts))
    assert got == want, query
    return got


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=queries, opts=options, variant=st.sampled_from(("generated", "odd")),
       coders=st.sampled_from((None, ("coder-a", "coder-c"))))
def test_columns_match_the_reference(projects: dict[str, Store], query: str,
                                     opts: dict[str, Any], variant: str,
                                     coders: tuple[str, ...] | None) -> None:
    same_both_ways(projects[variant], query, coders, opts)


@pytest.mark.parametrize("variant", ["generated", "odd"])
@pytest.mark.parametrize("query", [
    "samarbeid", "(samarbeid OR prestisje) AND NOT praksislogikker", "samarbeid AND prestisje",
    "samarbeid overlaps praksislogikker", "prestisje inside samarbeid",
    "samarbeid within 1 turns of prestisje", "prestisje followed by samarbeid within 2 turns",
    "samarbeid AND age >= 40", "NOT samarbeid", "role = veileder", "coder = coder-b",
    '"felles møter" OR samarbeid', "samarbeid AND role = interviewer",
])
def test_each_operator_on_a_large_result(projects: dict[str, Store], variant: str,
                                         query: str) -> None:
    """Each operator alone, with hits to compare (the generated queries may find none)."""
    for unit in ("excerpt", "turn"):
        got = same_both_ways(projects[variant], query, None,
                             {"unit": unit, "context": 1, "include_interviewer": False,
                              "coverage_by": "role"})
        assert got[0] == unit and got[1] > 0, (query, got[:2])


def test_the_project_has_what_the_reference_is_checked_on(projects: dict[str, Store]) -> None:
    """Overlapping, identical and interviewer codings; coverage in several groups; the odd
    copy's turns."""
    corpus = Corpus(projects["generated"])
    places = defaultdict(set)
    for k in corpus.codings:
        places[(k.doc, k.start, k.end)].add(k.coder)
    assert any(len(coders) > 1 for coders in places.values())
    assert any((corpus.turn_at(k.doc, k.start) or _NO_TURN).role == INTERVIEWER_ROLE
               for k in corpus.codings)
    assert any(len(corpus.turns_overlapping(Span(k.doc, k.start, k.end))) > 1
               for k in corpus.codings)
    assert {d["kind"] for d in corpus.docs.values()} >= {"survey"}
    assert len({d["name"].casefold() for d in corpus.docs.values()}) < len(corpus.docs)
    odd = Corpus(projects["odd"])
    assert any(ends is None for ends in odd._turn_ends.values())
    assert any(t.start == t.end for ts in odd.turns.values() for t in ts)
    assert len(odd.turns) < len(odd.docs)
    assert isinstance(engine.run_query(projects["odd"], "samarbeid", corpus=odd).hits, Hits)


# -- the column primitives against their definitions -----------------------------------


def _columns(spans: list[tuple[int, int, int]]) -> Any:
    import numpy as np

    from qcode.query.columns import SpanArray

    doc, start, end = (np.array([s[i] for s in spans], dtype=np.int64) for i in range(3))
    return SpanArray(doc, start, end, np.full(len(spans), -1, dtype=np.int64))


span_lists = st.lists(st.tuples(st.integers(1, 3), st.integers(0, 40), st.integers(0, 8))
                      .map(lambda t: (t[0], t[1], t[1] + t[2])), max_size=25)


@settings(max_examples=200, deadline=None)
@given(a=span_lists, b=span_lists)
def test_overlap_and_containment(a: list[tuple[int, int, int]],
                                 b: list[tuple[int, int, int]]) -> None:
    from qcode.query.columns import Index

    index = Index(_columns(b))
    assert index.overlaps(_columns(a)).tolist() == [
        any(d == e and s2 < t and t2 > s for e, s2, t2 in b) for d, s, t in a]
    assert index.contains(_columns(a)).tolist() == [
        any(d == e and s2 <= s and t2 >= t for e, s2, t2 in b) for d, s, t in a]


#: Codings by row (a coding's span is the same wherever it occurs), and spans without one.
CODED = [(1, 0, 4), (1, 0, 4), (1, 2, 3), (2, 0, 4), (3, 5, 5)]
spans_with_rows = st.lists(
    st.integers(0, len(CODED) - 1).map(lambda r: (*CODED[r], r))
    | st.tuples(st.integers(1, 3), st.integers(0, 5), st.integers(0, 2)).map(
        lambda t: (t[0], t[1], t[1] + t[2], -1)), max_size=30)


@settings(max_examples=200, deadline=None)
@given(spans=spans_with_rows)
def test_unique_keeps_first_occurrences_in_order(
        spans: list[tuple[int, int, int, int]]) -> None:
    import numpy as np

    from qcode.query.columns import SpanArray

    columns = SpanArray(*(np.array([s[i] for s in spans], dtype=np.int64) for i in range(4)))
    found = columns.unique()
    assert list(zip(found.doc.tolist(), found.start.tolist(), found.end.tolist(),
                    found.row.tolist(), strict=True)) == list(dict.fromkeys(spans))


@settings(max_examples=200, deadline=None)
@given(a=st.lists(st.tuples(st.integers(1, 3), st.integers(0, 12)), max_size=20),
       b=st.lists(st.tuples(st.integers(1, 3), st.integers(0, 12)), max_size=20),
       n=st.integers(0, 4))
def test_within_n_positions(a: list[tuple[int, int]], b: list[tuple[int, int]], n: int) -> None:
    import numpy as np

    from qcode.query.columns import within

    def columns(items: list[tuple[int, int]]) -> Any:
        return _columns([(d, 0, 0) for d, _ in items]), np.array([p for _, p in items],
                                                                 dtype=np.int64)

    (sa, pa), (sb, pb) = columns(a), columns(b)
    assert within(sa, pa, sb, pb, n).tolist() == [
        any(d == e and abs(p - q) <= n for e, q in b) for d, p in a]


@pytest.mark.parametrize("variant", ["generated", "odd"])
def test_contexts_and_touched_informants(projects: dict[str, Store], variant: str) -> None:
    """Per span (every coding, turn, and stretch starting at a turn's start): the context is
    the turn ``turn_at`` finds, the informants are those ``turns_overlapping`` finds."""
    import numpy as np

    corpus = Corpus(projects[variant])
    cols = corpus.columns()
    speakers = ReferenceSpeakers(corpus)
    spans = [Span(k.doc, k.start, k.end, k.id) for k in corpus.codings]
    for d, turns in corpus.turns.items():
        for t in turns:
            spans += [Span(d, t.start, t.end), Span(d, t.start, t.start + 1),
                      Span(d, t.start, t.start), Span(d, max(t.start - 2, 0), t.start)]
    spans += [Span(d, 0, 5) for d in corpus.docs]  # documents without turns too
    columns = cols.from_spans(spans)
    assert cols.to_spans(columns) == spans
    contexts = cols.contexts(columns).tolist()
    for i, (span, ctx) in enumerate(zip(spans, contexts, strict=True)):
        turn = corpus.turn_at(span.doc, span.start)
        assert (cols.turns[ctx] if ctx < cols.n_turns else None) is turn, span
        one = columns.take(np.array([i], dtype=np.int64))
        assert {cols.pairs[p] for p in cols.touched_pairs(one)} == set(speakers.pairs(span)), span
