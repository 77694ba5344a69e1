"""The query engine on the demo project, checked against results computed here.

Every expected result is computed by the ``Oracle`` below straight from the
store's documents, turns, codings, speakers and attributes (brute force, no
engine code), then compared with what ``run_query`` and the aggregations
return. The demo is built once for the module; tests that change a project
work on a copy.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from qcode import services
from qcode.demo import build_demo
from qcode.errors import InputError, NotFound, QueryError
from qcode.models import Coding, Turn
from qcode.query.aggregate import code_attribute_matrix, cooccurrence_matrix
from qcode.query.engine import DEFAULT_FUZZY, QueryResult
from qcode.store import Store

INTERVIEWER = "interviewer"
ACTOR = "tester"
#: A word as the frequency table counts it: letters and digits, with inner - ’ ' .
WORD = re.compile(r"\w+(?:[-’'.]\w+)*")

Row = tuple[str, int, int, int]  # document, start, end, coding id
Place = tuple[str, int, int]  # document, start, end


# -- the oracle -------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """A coding with where it stands: its document name and the turn of its start."""

    coding: Coding
    turn: Turn

    @property
    def row(self) -> Row:
        return (self.coding.document, self.coding.start, self.coding.end, self.coding.id)

    @property
    def place(self) -> Place:
        return (self.coding.document, self.coding.start, self.coding.end)


class Oracle:
    """The project's raw data and brute-force answers, without the engine."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.docs = {d.name: d for d in store.documents()}
        self.text = {n: store.document(n).text for n in self.docs}
        self.turns = {n: store.turns(d.id) for n, d in self.docs.items()}
        self.role = {s.id: s.role for s in store.speakers()}
        self.sattrs = store.attributes("speaker")
        self.dattrs = store.attributes("document")
        self.codes = {c.id: c for c in store.codes()}
        self.facts = [Fact(k, self.turn_at(k.document, k.start)) for k in store.codings()]

    # places
    def turn_at(self, doc: str, pos: int) -> Turn:
        found = [t for t in self.turns[doc] if t.start <= pos < t.end]
        assert len(found) == 1, (doc, pos)
        return found[0]

    def informant(self, t: Turn) -> bool:
        return bool(t.speaker) and t.role != INTERVIEWER

    def all_turns(self) -> Iterator[tuple[str, Turn]]:
        for doc, turns in self.turns.items():
            for t in turns:
                yield doc, t

    # codes
    def family(self, code: str, mode: str = "tree") -> set[str]:
        """Ids of a code (exact), its descendants (children) or both (tree), by path."""
        root = self.codes[code].path
        below = {c.id for c in self.codes.values() if c.path.startswith(root + "/")}
        return {"exact": {code}, "children": below, "tree": below | {code}}[mode]

    def coded(self, codes: Iterable[str], *, interviewer: bool = False) -> list[Fact]:
        wanted = set(codes)
        return [f for f in self.facts if f.coding.code_id in wanted
                and (interviewer or f.turn.role != INTERVIEWER)]

    # attributes
    def speaker_attr(self, doc: str, t: Turn, name: str) -> Any:
        value = self.sattrs.get(t.speaker or "", {}).get(name)
        if value is None:
            value = self.dattrs.get(self.docs[doc].uid, {}).get(name)
        return value

    def doc_attr(self, doc: str, name: str) -> Any:
        return self.dattrs.get(self.docs[doc].uid, {}).get(name)

    # text
    def matches(self, pattern: str, *, interviewer: bool = False,
                speakers: Callable[[Turn], bool] | None = None) -> set[Place]:
        """Places where a regex (case-insensitive) matches inside turns."""
        rx = re.compile(pattern, re.IGNORECASE)
        out = set()
        for doc, t in self.all_turns():
            if t.role == INTERVIEWER and not interviewer:
                continue
            if speakers is not None and not speakers(t):
                continue
            out |= {(doc, m.start(), m.end())
                    for m in rx.finditer(self.text[doc], t.start, t.end)}
        return out

    # coverage
    def coverage(self, covered: Iterable[str], scope: Callable[[str, Turn], bool] | None = None,
                 by: Callable[[str, Turn], str] | None = None) -> dict[str, tuple[int, int]]:
        """{group: (k, n)}: n informants with a turn in scope, k of them in ``covered``."""
        group_of = by or (lambda _doc, t: t.role or "(no role)")
        members: dict[str, set[str]] = defaultdict(set)
        for doc, t in self.all_turns():
            if self.informant(t) and (scope is None or scope(doc, t)):
                members[group_of(doc, t)].add(t.speaker or "")
        hit = set(covered)
        return {g: (len(m & hit), len(m)) for g, m in members.items()}

    # relations
    def sentence_starts(self, doc: str, stored: bool) -> list[int]:
        """The stored sentences of an annotated document (if ``stored``), else the rule's."""
        found = sorted(s for _t, s, _e in self.store.sentences(self.docs[doc].id))
        if stored and found:
            return found
        return rule_sentence_starts(self.text[doc], self.turns[doc])


def rule_sentence_starts(text: str, turns: list[Turn]) -> list[int]:
    """Sentences as documented: within a turn, up to . ! ? … (and closing quotes or
    brackets) or a line break; ``(...)`` and ``(…)`` do not end a sentence."""
    out = []
    for t in turns:
        i, inside = t.start, False
        while i < t.end:
            ch = text[i]
            if not inside:
                if ch.isspace() or ch in ".!?…":
                    i += 1
                    continue
                out.append(i)
                inside = True
            gap = next((g for g in ("(...)", "(…)") if text.startswith(g, i)), None)
            if gap:
                i += len(gap)
            elif ch == "\n":
                inside = False
                i += 1
            elif ch in ".!?…":
                while i < t.end and text[i] in ".!?…":
                    i += 1
                while i < t.end and text[i] in "»”\"')]":
                    i += 1
                inside = False
            else:
                i += 1
    return out


def index_at(starts: list[int], pos: int) -> int:
    return max(sum(1 for s in starts if s <= pos) - 1, 0)


def overlaps(a: Coding, b: Coding) -> bool:
    return a.document == b.document and a.start < b.end and b.start < a.end


# -- result helpers ---------------------------------------------------------------------


def rows(result: QueryResult) -> set[Row]:
    return {(h.document, h.start, h.end, c) for h in result.hits for c in h.coding_ids}


def places(result: QueryResult) -> set[Place]:
    return {(h.document, h.start, h.end) for h in result.hits}


def cov(result: QueryResult) -> dict[str, tuple[int, int]]:
    return {c.group: (c.count, c.total) for c in result.coverage}


def facts_rows(facts: Iterable[Fact]) -> set[Row]:
    return {f.row for f in facts}


def covered_by(facts: Iterable[Fact]) -> set[str]:
    return {f.turn.speaker for f in facts if f.turn.speaker and f.turn.role != INTERVIEWER}


# -- fixtures ---------------------------------------------------------------------------


def _add_document_attributes(store: Store, folder: Path) -> None:
    """A note imported with a filename pattern (region, year) and a document sidecar
    (prosjekt; nummer declared text although its values are digits)."""
    note = folder / "notat_Nord_2025.txt"
    note.write_text("Et kort notat om samarbeid på kontoret.\n\nEt avsnitt til.\n",
                    encoding="utf-8")
    sidecar = folder / "dokumenter.csv"
    sidecar.write_text("document,prosjekt,nummer\nJS1,A,9\nJS2,A,10\nV4,B,100\n",
                       encoding="utf-8")
    report = services.import_paths(
        store, [note], services.import_options(store), attributes=sidecar,
        attribute_types={"nummer": "text"},
        filename_pattern=r"notat_(?P<region>[^_]+)_(?P<year>\d{4})", actor=ACTOR)
    assert not report.failed


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("demo")
    result = build_demo(folder)
    store = services.open_project(result.path)
    _add_document_attributes(store, folder)
    yield store
    store.close()


@pytest.fixture(scope="module")
def oracle(demo: Store) -> Oracle:
    return Oracle(demo)


def _copy(store: Store, dest: Path) -> Store:
    target = sqlite3.connect(dest)
    store.conn.backup(target)
    target.close()
    return services.open_project(dest)


@pytest.fixture
def copy(demo: Store, tmp_path: Path) -> Iterator[Store]:
    """A private copy of the demo project, for tests that change it."""
    store = _copy(demo, tmp_path / "copy.qcode")
    yield store
    store.close()


#: The documents the ``annotated`` project has language annotations for.
ANNOTATED = ("JS1", "JS2", "JS4", "V1", "V2", "V5", "fokusgruppe_sor",
             "personalundersokelse-forbedringer")


@pytest.fixture(scope="module")
def annotated(demo: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A copy of the demo with some documents annotated by the blank pipeline (stored
    sentences and lemmas); the others are left as they are."""
    store = _copy(demo, tmp_path_factory.mktemp("annotated") / "annotated.qcode")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QCODE_NLP_PIPELINE", "blank")
        report = services.annotate_documents(store, ANNOTATED)
    assert report.tier == 3 and sorted(report.annotated) == sorted(ANNOTATED)
    yield store
    store.close()


def q(store: Store, query: str, **options: Any) -> QueryResult:
    return services.run_query(store, query, **options)


def refused(store: Store, query: str, **options: Any) -> QueryError:
    with pytest.raises(QueryError) as info:
        q(store, query, **options)
    return info.value


# -- the demo as the tests assume it -----------------------------------------------------


def test_demo_shape(oracle: Oracle) -> None:
    # every coding starts and ends inside one turn (no coding spans turns), none is on an
    # interviewer turn: the expectations below rely on both
    for f in oracle.facts:
        assert f.turn.end >= f.coding.end, f.coding
        assert f.turn.role != INTERVIEWER
    roles = defaultdict(set)
    for s, r in oracle.role.items():
        roles[r].add(s)
    assert {r: len(v) for r, v in roles.items()} == {
        "interviewer": 2, "jobbspesialist": 30, "veileder": 57}
    assert not [f for f in oracle.facts if f.coding.code_id in ("prestisje", "samarbeid")]


# -- codes ------------------------------------------------------------------------------


def test_code_tree_exact_and_children(demo: Store, oracle: Oracle) -> None:
    tree = q(demo, "prestisje")
    expected = oracle.coded(oracle.family("prestisje"))
    assert rows(tree) == facts_rows(expected)
    assert len(expected) == 161 and len(tree.hits) == len({f.place for f in expected})
    # no coding carries the root code itself
    assert q(demo, "=prestisje").hits == []
    exact = q(demo, "=praksislogikker")
    assert rows(exact) == facts_rows(oracle.coded({"praksislogikker"})) and len(exact.hits) == 1
    children = q(demo, "praksislogikker/*")
    assert rows(children) == facts_rows(oracle.coded(oracle.family("praksislogikker",
                                                                   "children")))
    assert rows(q(demo, "praksislogikker")) == rows(children) | rows(exact)
    assert rows(q(demo, "praksislogikker/patologiserende/*")) == facts_rows(
        oracle.coded({"ikke-arbeidsklar", "motivasjon-vilje", "individfokus"}))


def test_code_paths_full_partial_and_id(demo: Store, oracle: Oracle) -> None:
    expected = facts_rows(oracle.coded({"relasjoner"}))
    assert len(expected) == 39
    for written in ("relasjoner", "samarbeid/relasjoner", "forutsetninger/relasjoner",
                    "samarbeid/forutsetninger/relasjoner"):
        assert rows(q(demo, written)) == expected, written
    err = refused(demo, "prestisje/relasjoner")
    assert err.message == "no code 'prestisje/relasjoner'" and err.position == 0
    assert err.hint and "relasjoner" in err.hint


def test_excerpts_merge_codings_of_the_same_text(demo: Store, oracle: Oracle) -> None:
    by_place: dict[Place, list[Fact]] = defaultdict(list)
    for f in oracle.coded(oracle.family("prestisje")):
        by_place[f.place].append(f)
    shared = {p: fs for p, fs in by_place.items() if len(fs) > 1}
    assert shared  # both coders coded some passages identically
    hits = {(h.document, h.start, h.end): h for h in q(demo, "prestisje").hits}
    for place, fs in shared.items():
        hit = hits[place]
        assert hit.coding_ids == sorted(f.coding.id for f in fs)
        assert hit.coders == sorted({f.coding.coder_id for f in fs})
        assert hit.codes == sorted({f.coding.code_id for f in fs})
        assert hit.text == oracle.text[place[0]][place[1]:place[2]]


# -- filters and coverage ---------------------------------------------------------------


def test_code_and_role_with_coverage(demo: Store, oracle: Oracle) -> None:
    result = q(demo, "prestisje AND role = veileder")
    expected = [f for f in oracle.coded(oracle.family("prestisje"))
                if f.turn.role == "veileder"]
    assert rows(result) == facts_rows(expected)
    # only the veileder group is in scope; n counts every veileder informant (survey too)
    assert cov(result) == oracle.coverage(covered_by(expected),
                                          scope=lambda _d, t: t.role == "veileder")
    assert cov(result) == {"veileder": (18, 57)}
    assert result.coverage[0].informants == sorted(covered_by(expected))
    # role values compare case-insensitively; Norwegian keywords mean the same
    assert rows(q(demo, "prestisje OG role = Veileder")) == rows(result)


def test_coverage_without_scope_counts_every_informant(demo: Store, oracle: Oracle) -> None:
    result = q(demo, "prestisje")
    expected = oracle.coded(oracle.family("prestisje"))
    assert cov(result) == oracle.coverage(covered_by(expected))
    assert cov(result) == {"jobbspesialist": (13, 30), "veileder": (18, 57)}
    # narrowing the corpus narrows n
    interviews = q(demo, "prestisje AND kind = interview")
    in_interviews = [f for f in expected if oracle.docs[f.coding.document].kind == "interview"]
    assert cov(interviews) == oracle.coverage(
        covered_by(in_interviews), scope=lambda d, _t: oracle.docs[d].kind == "interview")
    assert cov(interviews) == {"jobbspesialist": (6, 6), "veileder": (6, 6)}


def test_coverage_by_attribute(demo: Store, oracle: Oracle) -> None:
    result = q(demo, "prestisje", coverage_by="office")
    expected = oracle.coded(oracle.family("prestisje"))

    def office(doc: str, t: Turn) -> str:
        value = oracle.speaker_attr(doc, t, "office")
        return "(none)" if value is None else str(value)
    assert cov(result) == oracle.coverage(covered_by(expected), by=office)
    assert set(cov(result)) == {"(none)", "Nord", "Sør"}
    # a document attribute groups by the informant's document
    by_project = q(demo, "prestisje", coverage_by="prosjekt")

    def project(doc: str, _t: Turn) -> str:
        return str(oracle.doc_attr(doc, "prosjekt") or "(none)")
    assert cov(by_project) == oracle.coverage(covered_by(expected), by=project)
    assert cov(by_project)["A"][1] == 2 and cov(by_project)["B"] == (1, 1)
    err = refused(demo, "prestisje", coverage_by="kontorr")
    assert "cannot count coverage by 'kontorr'" in err.message


def test_filter_alone_selects_turns(demo: Store, oracle: Oracle) -> None:
    result = q(demo, "role = veileder")
    expected = {(d, t.start, t.end) for d, t in oracle.all_turns()
                if t.role == "veileder" and t.end > t.start}
    assert places(result) == expected and rows(result) == set()
    assert cov(result) == {"veileder": (57, 57)}
    assert {h.speaker for h in q(demo, "speaker = JS3").hits} == {"JS3"}
    assert {h.document for h in q(demo, "speaker = JS3").hits} == {"JS3", "oppfolging_JS3"}


@pytest.mark.parametrize(("query", "accept"), [
    ("document = V4", lambda o, d, t: d == "V4"),
    ("doc = V4", lambda o, d, t: d == "V4"),
    ("document in (JS1, V6)", lambda o, d, t: d in ("JS1", "V6")),
    ("document not in (JS1, V6)", lambda o, d, t: d not in ("JS1", "V6")),
    ("kind = focus_group", lambda o, d, t: o.docs[d].kind == "focus_group"),
    ("speaker in (JS1, V2)", lambda o, d, t: t.speaker in ("JS1", "V2")),
    ("office = Nord", lambda o, d, t: o.speaker_attr(d, t, "office") == "Nord"),
    # a missing value is "not Nord": survey respondents (who have kontor) count
    ("office != Nord", lambda o, d, t: o.speaker_attr(d, t, "office") != "Nord"),
    ("office not in (Nord)", lambda o, d, t: o.speaker_attr(d, t, "office") != "Nord"),
    ("office in (Nord, Sør)", lambda o, d, t: o.speaker_attr(d, t, "office") in ("Nord", "Sør")),
    ("age >= 40", lambda o, d, t: (o.speaker_attr(d, t, "age") or 0) >= 40),
    ("age > 9", lambda o, d, t: o.speaker_attr(d, t, "age") is not None),
    ("experience_years < 5,5",
     lambda o, d, t: o.speaker_attr(d, t, "experience_years") is not None
     and o.speaker_attr(d, t, "experience_years") < 5.5),
    ("interview_date >= 2026-03-01",
     lambda o, d, t: str(o.speaker_attr(d, t, "interview_date") or "") >= "2026-03-01"),
    ('interview_date >= "01.03.2026"',
     lambda o, d, t: str(o.speaker_attr(d, t, "interview_date") or "") >= "2026-03-01"),
    ("interview_date = 2026-04-21",
     lambda o, d, t: str(o.speaker_attr(d, t, "interview_date")) == "2026-04-21"),
    ('education = "master i sosialt arbeid"',
     lambda o, d, t: o.speaker_attr(d, t, "education") == "master i sosialt arbeid"),
    ("prosjekt = A", lambda o, d, t: o.doc_attr(d, "prosjekt") == "A"),
    ("region = Nord", lambda o, d, t: o.doc_attr(d, "region") == "Nord"),
    ("year = 2025", lambda o, d, t: o.doc_attr(d, "year") == 2025),
    # nummer is a text attribute: compared as text, "10" and "100" sort before "9"
    ("nummer < 9", lambda o, d, t: d in ("JS2", "V4")),
    ("nummer > 9", lambda o, d, t: False),
    ("nummer = 9", lambda o, d, t: d == "JS1"),
])
def test_filters_select_informant_turns(demo: Store, oracle: Oracle, query: str,
                                        accept: Callable[[Oracle, str, Turn], bool]) -> None:
    expected = {(d, t.start, t.end) for d, t in oracle.all_turns()
                if t.end > t.start and t.role != INTERVIEWER and accept(oracle, d, t)}
    assert places(q(demo, query)) == expected


def test_attribute_filters_on_codes_and_their_coverage(demo: Store, oracle: Oracle) -> None:
    prestisje = oracle.coded(oracle.family("prestisje"))
    older = [f for f in prestisje
             if (oracle.sattrs.get(f.turn.speaker or "", {}).get("age") or 0) >= 40]
    result = q(demo, "prestisje AND age >= 40")
    assert rows(result) == facts_rows(older)
    forty = {s for s, a in oracle.sattrs.items() if (a.get("age") or 0) >= 40}
    assert forty == {"JS2", "JS4", "JS5", "JS8", "V2", "V4", "V6", "V7", "V8"}
    assert {c.group: c.total for c in result.coverage} == {"jobbspesialist": 4, "veileder": 5}
    project = q(demo, "prestisje AND prosjekt = A")
    assert rows(project) == facts_rows(f for f in prestisje if f.coding.document in ("JS1", "JS2"))
    assert {c.group: c.total for c in project.coverage} == {"jobbspesialist": 2}


def test_coder_filter(demo: Store, oracle: Oracle) -> None:
    alone = q(demo, "coder = coder-b")
    assert rows(alone) == facts_rows(f for f in oracle.facts if f.coding.coder_id == "coder-b")
    both = q(demo, "prestisje AND coder = coder-a")
    assert rows(both) == facts_rows(f for f in oracle.coded(oracle.family("prestisje"))
                                    if f.coding.coder_id == "coder-a")
    # a coder filter does not narrow the corpus for coverage
    assert {c.total for c in both.coverage} == {30, 57}
    # in either order, with another filter
    assert rows(q(demo, "role = veileder AND coder = coder-a")) == facts_rows(
        f for f in oracle.facts if f.coding.coder_id == "coder-a" and f.turn.role == "veileder")
    # text matches carry no coder
    assert q(demo, '"felles møter" AND coder = coder-a').hits == []


def test_filters_grouped_in_parentheses_are_conditions(demo: Store, oracle: Oracle) -> None:
    prestisje = oracle.coded(oracle.family("prestisje"))
    result = q(demo, "prestisje AND (office = Nord OR age > 50)")

    def ok(doc: str, t: Turn) -> bool:
        return (oracle.speaker_attr(doc, t, "office") == "Nord"
                or (oracle.speaker_attr(doc, t, "age") or 0) > 50)
    expected = [f for f in prestisje if ok(f.coding.document, f.turn)]
    assert rows(result) == facts_rows(expected)
    assert all(h.codes for h in result.hits)  # no uncoded turns slip in
    assert cov(result) == oracle.coverage(covered_by(expected), scope=ok)
    negated = q(demo, "prestisje AND NOT (office = Nord OR role = veileder)")
    assert rows(negated) == facts_rows(
        f for f in prestisje if oracle.speaker_attr(f.coding.document, f.turn, "office") != "Nord"
        and f.turn.role != "veileder")
    assert set(cov(negated)) == {"jobbspesialist"}


# -- AND, OR, NOT -----------------------------------------------------------------------


def test_and_keeps_both_sides_where_they_overlap(demo: Store, oracle: Oracle) -> None:
    p = oracle.coded(oracle.family("prestisje"))
    s = oracle.coded(oracle.family("samarbeid"))
    expected = ({f.row for f in p if any(overlaps(f.coding, g.coding) for g in s)}
                | {g.row for g in s if any(overlaps(g.coding, f.coding) for f in p)})
    assert rows(q(demo, "prestisje AND samarbeid")) == expected
    assert rows(q(demo, "samarbeid AND prestisje")) == expected


def test_not_and_and_not(demo: Store, oracle: Oracle) -> None:
    p = oracle.coded(oracle.family("prestisje"))
    s = oracle.coded(oracle.family("samarbeid"))
    assert rows(q(demo, "samarbeid AND NOT prestisje")) == {
        g.row for g in s if not any(overlaps(g.coding, f.coding) for f in p)}
    assert rows(q(demo, "NOT prestisje AND samarbeid")) == rows(
        q(demo, "samarbeid AND NOT prestisje"))
    alone = q(demo, "NOT prestisje")
    assert places(alone) == {
        (d, t.start, t.end) for d, t in oracle.all_turns()
        if t.end > t.start and t.role != INTERVIEWER
        and not any(f.coding.document == d and f.coding.start < t.end and t.start < f.coding.end
                    for f in p)}
    assert rows(q(demo, "prestisje AND NOT role = veileder")) == facts_rows(
        f for f in p if f.turn.role != "veileder")
    # NOT selects turns, so NOT NOT prestisje is the turns that touch prestisje
    assert places(q(demo, "NOT NOT prestisje AND role = veileder")) == {
        (f.coding.document, f.turn.start, f.turn.end) for f in p if f.turn.role == "veileder"}


def test_precedence(demo: Store, oracle: Oracle) -> None:
    p = facts_rows(oracle.coded(oracle.family("prestisje")))
    s_v = facts_rows(f for f in oracle.coded(oracle.family("samarbeid"))
                     if f.turn.role == "veileder")
    loose = q(demo, "prestisje OR samarbeid AND role = veileder")
    assert rows(loose) == p | s_v
    assert rows(loose) == rows(q(demo, "prestisje OR (samarbeid AND role = veileder)"))
    p_v = facts_rows(f for f in oracle.coded(oracle.family("prestisje"))
                     if f.turn.role == "veileder")
    assert rows(q(demo, "(prestisje OR samarbeid) AND role = veileder")) == p_v | s_v
    assert rows(q(demo, "prestisje ELLER samarbeid")) == p | facts_rows(
        oracle.coded(oracle.family("samarbeid")))


# -- relations --------------------------------------------------------------------------


def test_overlaps_and_inside(demo: Store, oracle: Oracle) -> None:
    p = oracle.coded(oracle.family("prestisje"))
    s = oracle.coded(oracle.family("samarbeid"))
    over = q(demo, "prestisje overlaps samarbeid")
    assert rows(over) == {f.row for f in p if any(overlaps(f.coding, g.coding) for g in s)}
    assert rows(over) < rows(q(demo, "prestisje AND samarbeid"))
    pl = oracle.coded(oracle.family("praksislogikker", "children"))
    inside = q(demo, "prestisje inside praksislogikker/*")
    assert rows(inside) == {
        f.row for f in p if any(g.coding.document == f.coding.document
                                and g.coding.start <= f.coding.start
                                and f.coding.end <= g.coding.end for g in pl)}
    assert rows(q(demo, "prestisje inni praksislogikker/*")) == rows(inside)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_within_turns(demo: Store, oracle: Oracle, n: int) -> None:
    p = oracle.coded(oracle.family("prestisje"))
    s = oracle.coded(oracle.family("samarbeid"))
    expected = {f.row for f in p if any(
        g.coding.document == f.coding.document and abs(g.turn.index - f.turn.index) <= n
        for g in s)}
    unit = "turn" if n == 1 else "turns"
    assert rows(q(demo, f"prestisje within {n} {unit} of samarbeid")) == expected
    assert rows(q(demo, f"prestisje innen {n} turer fra samarbeid")) == expected


def _within_sentences(oracle: Oracle, n: int, stored: bool) -> set[Row]:
    p = oracle.coded(oracle.family("prestisje"))
    s = oracle.coded(oracle.family("samarbeid"))
    starts = {d: oracle.sentence_starts(d, stored) for d in oracle.docs}

    def at(f: Fact) -> int:
        return index_at(starts[f.coding.document], f.coding.start)
    return {f.row for f in p if any(
        g.coding.document == f.coding.document and abs(at(g) - at(f)) <= n for g in s)}


def test_within_sentences_falls_back_to_rule_sentences(demo: Store, oracle: Oracle) -> None:
    assert demo.all_sentences() == []  # the demo is not annotated
    for n in (0, 1, 3):
        assert rows(q(demo, f"prestisje within {n} sentences of samarbeid")) == \
            _within_sentences(oracle, n, stored=False), n


def test_within_sentences_uses_stored_sentences(annotated: Store) -> None:
    # annotated documents use their stored sentences, the others the rule
    oracle = Oracle(annotated)
    assert {d for d in oracle.docs if annotated.sentences(oracle.docs[d].id)} == set(ANNOTATED)
    for n in (0, 1):
        result = rows(q(annotated, f"prestisje within {n} sentences of samarbeid"))
        assert result == _within_sentences(oracle, n, stored=True), n
    # the pipeline splits differently from the rule: the stored sentences were used
    assert result != _within_sentences(oracle, 1, stored=False)


def test_rule_sentences_keep_left_out_speech_inside() -> None:
    from qcode.query.engine import TurnRow, _rule_sentences

    text = "Og «vi-følelsen» er sterk (...) synes jeg. Neste setning! «Hei.» Ja\nny linje"
    got = [text[s:e] for s, e in _rule_sentences(text, [TurnRow(1, 1, 1, 0, len(text),
                                                                 "JS1", None, None, None)])]
    assert got == ["Og «vi-følelsen» er sterk (...) synes jeg.", "Neste setning!", "«Hei.»",
                   "Ja", "ny linje"]


@pytest.mark.parametrize(("query", "most"), [
    ("patologiserende followed by inklusjonsorientert", 2),
    ("patologiserende etterfulgt av inklusjonsorientert", 2),
    ("patologiserende followed by inklusjonsorientert within 3 turns", 3),
    ("patologiserende followed by inklusjonsorientert within 0 turns", 0),
])
def test_followed_by(demo: Store, oracle: Oracle, query: str, most: int) -> None:
    a = oracle.coded(oracle.family("patologiserende"))
    b = oracle.coded(oracle.family("inklusjonsorientert"))
    expected = {f.row for f in a if any(
        g.coding.document == f.coding.document and g.coding.start >= f.coding.end
        and f.turn.index <= g.turn.index <= f.turn.index + most for g in b)}
    assert rows(q(demo, query)) == expected
    if most == 3:
        assert len(expected) > len(rows(q(demo, "patologiserende followed by "
                                                 "inklusjonsorientert")))


def test_followed_by_sentences(demo: Store, oracle: Oracle) -> None:
    a = oracle.coded(oracle.family("patologiserende"))
    b = oracle.coded(oracle.family("inklusjonsorientert"))
    starts = {d: oracle.sentence_starts(d, stored=False) for d in oracle.docs}

    def at(f: Fact) -> int:
        return index_at(starts[f.coding.document], f.coding.start)
    expected = {f.row for f in a if any(
        g.coding.document == f.coding.document and g.coding.start >= f.coding.end
        and at(f) <= at(g) <= at(f) + 2 for g in b)}
    assert rows(q(demo, "patologiserende followed by inklusjonsorientert within 2 sentences")
                ) == expected


# -- text search ------------------------------------------------------------------------


def test_words_phrases_and_prefixes(demo: Store, oracle: Oracle) -> None:
    word = q(demo, "text:samarbeid")
    assert places(word) == oracle.matches(r"\bsamarbeid\b")
    assert len(word.hits) == 11 and "notat_Nord_2025" in {h.document for h in word.hits}
    assert places(q(demo, "tekst:samarbeid")) == places(word)
    assert all(h.codes == [] and h.coding_ids == [] for h in word.hits)
    phrase = oracle.matches(r"\bfelles\W+møter\b")
    assert places(q(demo, '"felles møter"')) == phrase
    assert places(q(demo, "«felles møter»")) == phrase
    assert places(q(demo, 'text:"felles møter"')) == phrase
    assert phrase and all(oracle.text[d][s:e].lower().startswith("felles")
                          for d, s, e in phrase)
    prefix = q(demo, "samarbeid*")
    assert places(prefix) == oracle.matches(r"\bsamarbeid\w*")
    assert {h.text.lower() for h in prefix.hits} > {"samarbeid", "samarbeidet"}
    # any case
    assert places(q(demo, "text:Nav")) == oracle.matches(r"\bnav\b")
    assert places(q(demo, "text:NAV")) == places(q(demo, "text:nav"))


def test_diacritics_are_kept(demo: Store, oracle: Oracle) -> None:
    with_o_slash = q(demo, "text:før")
    assert places(with_o_slash) == oracle.matches(r"\bfør\b")
    assert {h.text.lower() for h in with_o_slash.hits} == {"før"}
    plain = q(demo, "text:for")
    assert places(plain) == oracle.matches(r"\bfor\b")
    assert not places(plain) & places(with_o_slash)
    # a spelling without ø finds nothing, there is no such word
    assert oracle.matches(r"\bmoter\b") == set() and q(demo, "text:moter").hits == []
    assert len(q(demo, "text:møter").hits) == 29


def test_fuzzy(demo: Store, oracle: Oracle) -> None:
    from rapidfuzz import fuzz

    words: dict[str, set[Place]] = defaultdict(set)
    for d, t in oracle.all_turns():
        if t.role != INTERVIEWER:
            for m in re.finditer(r"\w+(?:-\w+)*", oracle.text[d][t.start:t.end]):
                words[m.group().lower()].add((d, t.start + m.start(), t.start + m.end()))

    def near(value: str, threshold: int) -> set[Place]:
        return {p for w, ps in words.items() if fuzz.ratio(value, w) >= threshold for p in ps}
    default = q(demo, "~teamfølelse")
    assert DEFAULT_FUZZY == 80
    assert places(default) == near("teamfølelse", 80)
    assert {h.text.lower() for h in default.hits} == {"teamfølelsen"}
    looser = q(demo, "~teamfølelse:70")
    assert places(looser) == near("teamfølelse", 70)
    assert {h.text.lower() for h in looser.hits} == {"teamfølelsen", "teamleder"}
    # a spelling without ø is near enough
    assert places(q(demo, "~teamfolelse")) == places(default)


def test_fuzzy_phrase_matches_runs_of_words(demo: Store) -> None:
    found = {h.text.lower() for h in q(demo, '~"felles møter"').hits}
    assert {"felles møter", "felles møte", "fellesmøte"} <= found
    assert {h.text.lower() for h in q(demo, '~"felles møter":100').hits} == {"felles møter"}


def test_lemma_needs_annotations(demo: Store) -> None:
    err = refused(demo, "prestisje OR lemma:samarbeid")
    assert err.message == "lemma search needs language annotations"
    assert err.position == 13 and err.hint == "run 'qcode nlp annotate' first"


def test_lemma_after_annotation(annotated: Store) -> None:
    result = q(annotated, "lemma:samarbeid")
    texts = {h.text.lower() for h in result.hits}
    assert {"samarbeid", "samarbeidet"} <= texts
    assert all(t.startswith("samarbeid") for t in texts)
    # every token whose stored lemma is samarbeid is found, in annotated documents only
    oracle = Oracle(annotated)
    lemma_places = set()
    for name in ANNOTATED:
        for turn_id, data in annotated.turn_tokens(oracle.docs[name].id).items():
            turn = next(t for t in oracle.turns[name] if t.id == turn_id)
            if turn.role == INTERVIEWER:
                continue
            lemma_places |= {(name, s, e) for s, e, lemma in
                             zip(data["start"], data["end"], data["lemma"], strict=True)
                             if str(lemma).lower() == "samarbeid"}
    assert lemma_places and lemma_places <= places(result)
    assert {h.document for h in result.hits} <= set(ANNOTATED)
    # it finds more than the word itself (where there are annotations)
    words = {p for p in places(q(annotated, "text:samarbeid")) if p[0] in ANNOTATED}
    assert words < places(result)
    assert {"møte", "møter", "møtte"} <= {h.text.lower() for h in q(annotated, "lemma:møte").hits}
    # the documents without annotations are named in a warning
    missing = len(oracle.docs) - len(ANNOTATED)
    assert result.warnings == [
        f"lemma:samarbeid searched only the {len(ANNOTATED)} annotated documents; {missing} "
        "are not annotated (run 'qcode nlp annotate')"]


# -- the interviewer --------------------------------------------------------------------


def test_interviewer_turns_left_out_unless_named(demo: Store, oracle: Oracle) -> None:
    everyone = oracle.matches(r"\bopptakeren\b", interviewer=True)
    assert everyone and oracle.matches(r"\bopptakeren\b") == set()
    assert q(demo, "text:opptakeren").hits == []
    assert places(q(demo, "text:opptakeren", include_interviewer=True)) == everyone
    named = q(demo, "text:opptakeren AND role = interviewer")
    assert named.include_interviewer and places(named) == everyone
    only_i = oracle.matches(r"\bopptakeren\b", interviewer=True,
                            speakers=lambda t: t.speaker == "I")
    assert places(q(demo, "text:opptakeren AND speaker = I")) == only_i
    # the interviewer role has no coverage line
    assert named.coverage == []


def test_leaving_the_interviewer_out_does_not_bring_interviewers_in(demo: Store,
                                                                    oracle: Oracle) -> None:
    # oppfolging_JS3 has a second interviewer, "Intervjuer"
    assert oracle.matches(r"\bja\b", interviewer=True,
                          speakers=lambda t: t.speaker == "Intervjuer")
    informants = oracle.matches(r"\bja\b")
    for query in ("text:ja AND NOT speaker = I", "text:ja AND speaker != I",
                  "text:ja AND role != interviewer", "text:ja AND NOT role = interviewer"):
        result = q(demo, query)
        assert not result.include_interviewer, query
        assert places(result) == informants, query
    assert q(demo, "text:ja AND NOT speaker != I").include_interviewer


# -- units and context ------------------------------------------------------------------


def test_units(demo: Store, oracle: Oracle) -> None:
    expected = [f for f in oracle.coded(oracle.family("prestisje")) if f.turn.role == "veileder"]
    turns = q(demo, "prestisje AND role = veileder", unit="turn")
    assert places(turns) == {(f.coding.document, f.turn.start, f.turn.end) for f in expected}
    for h in turns.hits:
        assert h.text == oracle.text[h.document][h.start:h.end] and h.role == "veileder"
    docs = q(demo, "prestisje AND role = veileder", unit="document")
    assert {h.document for h in docs.hits} == {f.coding.document for f in expected}
    for h in docs.hits:
        assert (h.start, h.end, h.text, h.speaker) == (0, len(oracle.text[h.document]), "",
                                                       None)
        assert set(h.coding_ids) == {f.coding.id for f in expected
                                     if f.coding.document == h.document}
    # coverage does not depend on the unit
    assert cov(docs) == cov(turns) == cov(q(demo, "prestisje AND role = veileder"))
    err = refused(demo, "prestisje", unit="sentence")
    assert "unknown unit 'sentence'" in err.message


def test_hit_places_and_context(demo: Store, oracle: Oracle) -> None:
    result = q(demo, "=frihet AND document = JS2", context=1)
    expected = oracle.coded({"frihet"})
    expected = [f for f in expected if f.coding.document == "JS2"]
    assert rows(result) == facts_rows(expected) and expected
    text = oracle.text["JS2"]
    turns = oracle.turns["JS2"]
    for h in result.hits:
        turn = oracle.turn_at("JS2", h.start)
        assert (h.turn, h.speaker, h.role) == (turn.index, "JS2", "jobbspesialist")
        assert h.line == text.count("\n", 0, h.start) + 1
        i = turns.index(turn)
        assert h.context_before == text[turns[i - 1].start:turns[i - 1].end]
        assert h.context_after == text[turns[i + 1].start:turns[i + 1].end]
        assert h.informants == ["JS2"]
    assert result.hits == sorted(result.hits, key=lambda h: (h.start, h.end))
    # turn times come with the hit where the transcript has them
    timed = q(demo, "document = oppfolging_JS3 AND speaker = JS3").hits
    assert timed and all(h.time is not None for h in timed)


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "message", "position", "hint"), [
    ("prestisj", "no code 'prestisj'", 0, "did you mean prestisje?"),
    ("samarbeid AND relasjonr", "no code 'relasjonr'", 14,
     "did you mean relasjoner, frustrasjon?"),
    ("prestisje AND offce = Nord", "unknown field or attribute 'offce'", 14,
     "did you mean office?"),
    # found even where evaluation would not reach it
    ("(=prestisje AND offfice = Nord) OR samarbeid", "unknown field or attribute 'offfice'",
     16, "did you mean office?"),
    ("age > forti", "age is a number attribute", 0, "compare it with a number, such as "
     "age >= 40"),
    ("interview_date > mars", "interview_date is a date attribute", 0,
     'write a date such as interview_date >= 2026-03-01 or "01.03.2026"'),
    ('interview_date = "31.02.2026"', "interview_date is a date attribute", 0, None),
    ("prestisje ANDD samarbeid", "unknown operator 'ANDD'", 10, "did you mean AND?"),
])
def test_errors_have_position_and_hint(demo: Store, query: str, message: str, position: int,
                                       hint: str | None) -> None:
    err = refused(demo, query)
    assert err.message == message
    assert err.position == position
    if hint is not None:
        assert err.hint == hint
    assert err.caret().splitlines() == [query, " " * position + "^"]
    assert f"at position {position + 1}" in err.one_line()


# -- saved queries ----------------------------------------------------------------------


def test_saved_queries(copy: Store) -> None:
    services.save_query(copy, "prestisje-v", "prestisje AND role = veileder", actor=ACTOR)
    assert copy.saved_query("prestisje-v") == "prestisje AND role = veileder"
    assert rows(q(copy, "@prestisje-v")) == rows(q(copy, "prestisje AND role = veileder"))
    services.save_query(copy, "prestisje-v", "prestisje AND role = jobbspesialist", actor=ACTOR)
    assert [r[0:2] for r in copy.saved_queries()] == [
        ("prestisje-v", "prestisje AND role = jobbspesialist")]
    with pytest.raises(QueryError):
        services.save_query(copy, "broken", "prestisje AND", actor=ACTOR)
    with pytest.raises(InputError):
        services.save_query(copy, "two words", "prestisje", actor=ACTOR)
    services.delete_saved_query(copy, "prestisje-v", actor=ACTOR)
    with pytest.raises(NotFound):
        q(copy, "@prestisje-v")
    with pytest.raises(NotFound):
        services.delete_saved_query(copy, "prestisje-v", actor=ACTOR)


# -- reports ----------------------------------------------------------------------------


def test_report_create_rerun_diff(copy: Store) -> None:
    query = "frustrasjon AND role = veileder"
    first = services.create_report(copy, "frustrasjon", query, actor=ACTOR)
    rep = services.get_report(copy, first)
    result = q(copy, query)
    assert rep["query"] == query and rep["name"] == "frustrasjon"
    assert len(rep["result"]["hits"]) == len(result.hits)
    assert {(h["document"], h["start"], h["end"]) for h in rep["result"]["hits"]} == \
        places(result)
    assert rep["params"]["unit"] == "excerpt" and rep["params"]["coders"] == ["coder-a",
                                                                              "coder-b"]
    assert set(rep["params"]["codebook_revisions"]) == {
        b["name"] for b in services.list_codebooks(copy)}
    assert rep["result"]["coverage"] == [
        {"group": c.group, "informants": c.informants, "total": c.total}
        for c in result.coverage]
    # nothing changed: an empty diff
    same, diff = services.rerun_report(copy, first, actor=ACTOR)
    assert same != first and diff == {"added": [], "removed": []}
    # code one more veileder passage as frustrasjon and run it again
    coded = {(h["start"], h["end"]) for h in rep["result"]["hits"] if h["document"] == "V2"}
    turn = next(t for t in copy.turns(copy.document("V2").id)
                if t.speaker == "V2" and (t.start, t.end) not in coded)
    coding = services.apply_coding(copy, services.SpanRequest("V2", "frustrasjon",
                                                              turn=turn.index), "coder-a")
    third, diff = services.rerun_report(copy, same, actor=ACTOR)
    assert [(h["document"], h["start"], h["end"], h["coding_ids"]) for h in diff["added"]] == [
        ("V2", coding.start, coding.end, [coding.id])]
    assert diff["removed"] == []
    assert services.diff_reports(services.get_report(copy, first),
                                 services.get_report(copy, third)) == diff
    # removing it again shows as removed
    services.remove_codings(copy, [str(coding.id)], actor=ACTOR)
    _fourth, diff = services.rerun_report(copy, third, actor=ACTOR)
    assert diff["added"] == [] and len(diff["removed"]) == 1
    listed = services.list_reports(copy)
    assert [r["id"] for r in listed] == sorted((r["id"] for r in listed), reverse=True)
    assert len(listed) == 4 and {r["name"] for r in listed} == {"frustrasjon"}
    with pytest.raises(NotFound):
        services.get_report(copy, 999)


def test_report_from_a_saved_query_stores_its_text(copy: Store) -> None:
    services.save_query(copy, "fr", "frustrasjon", actor=ACTOR)
    rid = services.create_report(copy, "fr", "@fr", unit="turn", context=1, actor=ACTOR)
    rep = services.get_report(copy, rid)
    assert rep["query"] == "frustrasjon"
    assert rep["params"]["unit"] == "turn" and rep["params"]["context"] == 1
    assert rep["result"]["hits"][0]["context_before"]


# -- exports ----------------------------------------------------------------------------


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ("meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture
def frihet_report(copy: Store) -> int:
    return services.create_report(copy, "Frihet", "frihet AND kind = interview",
                                  actor=ACTOR)


def test_export_every_format(copy: Store, frihet_report: int, tmp_path: Path) -> None:
    import docx
    import openpyxl

    result = q(copy, "frihet AND kind = interview")

    def export(out: Path, fmt: str | None = None, **options: Any) -> Path:
        return services.export_report(copy, frihet_report, out, fmt, allow_leaks=True,
                                      **options)
    quotes = len(result.hits)
    plural = {"jobbspesialist": "jobbspesialister", "veileder": "veiledere"}
    line = "Dekning: " + ", ".join(f"{c.count} av {c.total} {plural[c.group]}"
                                   for c in result.coverage)

    # the leak check runs on every export (it passes here); the other formats skip it
    md = services.export_report(copy, frihet_report, tmp_path / "r.md").read_text("utf-8")
    assert md.startswith("# Frihet\n") and "`frihet AND kind = interview`" in md
    assert f"- **{line.replace(': ', ':** ', 1)}" in md
    assert "## Frihet i arbeidshverdagen (`prestisje/frihet`)" in md
    assert md.count("| «") == quotes

    page = export(tmp_path / "r.html").read_text("utf-8")
    parser = _Html()
    parser.feed(page)
    assert parser.stack == [] and parser.tags.count("tr") == quotes + 1
    assert "script" not in parser.tags and "a" not in parser.tags

    raw = export(tmp_path / "r.csv").read_bytes()
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    assert len(table) == quotes and {r["code"] for r in table} == {"frihet"}
    assert {(r["document"], int(r["start"]), int(r["end"])) for r in table} == places(result)
    bom = export(tmp_path / "b.csv", excel_bom=True)
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")

    book = openpyxl.load_workbook(export(tmp_path / "r.xlsx"))
    assert book.sheetnames == ["Oversikt", "frihet"]
    sheet = book["frihet"]
    assert [c.value for c in sheet[1]] == ["Sitat", "Informant", "Rolle", "Kilde", "Kodere"]
    assert sheet.max_row == quotes + 1
    assert all(str(sheet.cell(r, 1).value).startswith("«") for r in range(2, quotes + 2))
    flat = openpyxl.load_workbook(export(tmp_path / "flat.xlsx", xlsx_layout="one-table"))
    header = [c.value for c in flat.active[1]]
    assert header[:3] == ["level1", "level2", "code"] and flat.active.max_row == quotes + 1
    assert flat.active.cell(2, 1).value == "prestisje"

    word = docx.Document(str(export(tmp_path / "r.docx")))
    assert len(word.tables) == 1 and len(word.tables[0].rows) == quotes + 1
    assert word.tables[0].rows[0].cells[0].text == "Sitat"
    assert any(p.text == line.split(": ", 1)[1] for p in word.paragraphs)

    presence = export(tmp_path / "p.csv", "presence")
    grid = list(csv.reader(io.StringIO(presence.read_text("utf-8"))))
    assert grid[0] == ["document", "frihet"]
    docs_with = {h.document for h in result.hits}
    assert {r[0] for r in grid[1:] if r[1] == "1"} == docs_with
    assert len(grid) - 1 == len(copy.documents())  # every document, hits or not
    by_speaker = export(tmp_path / "s.csv", "presence", presence_by="speaker")
    grid = list(csv.reader(io.StringIO(by_speaker.read_text("utf-8"))))
    assert grid[0] == ["speaker", "role", "frihet"]
    assert {r[0] for r in grid[1:] if r[2] == "1"} == {h.speaker for h in result.hits}


def test_report_sections_coverage(copy: Store) -> None:
    rid = services.create_report(copy, "P", "prestisje AND kind = interview", unit="document",
                                 actor=ACTOR)
    data = services.report_data(copy, rid)
    oracle = Oracle(copy)
    for section in data.sections:
        facts = [f for f in oracle.coded({section.code})
                 if oracle.docs[f.coding.document].kind == "interview"]
        got = {c.group: (c.count, c.total) for c in section.coverage}
        assert got == oracle.coverage(covered_by(facts), scope=lambda d, _t: oracle.docs[d].kind
                                      == "interview"), section.code
    # by a document attribute
    rid = services.create_report(copy, "A", "prestisje", coverage_by="prosjekt", actor=ACTOR)
    data = services.report_data(copy, rid)
    frihet = next(s for s in data.sections if s.code == "frihet")
    facts = oracle.coded({"frihet"})
    expected = {str(oracle.doc_attr(f.coding.document, "prosjekt") or "(none)")
                for f in facts}
    assert {c.group for c in frihet.coverage if c.count} == expected


def test_leak_check_refuses_reports_with_leaks(copy: Store, tmp_path: Path) -> None:
    leaky = services.create_report(copy, "V4", "document = V4", actor=ACTOR)
    with pytest.raises(InputError) as info:
        services.export_report(copy, leaky, tmp_path / "v4.md")
    # the phone number, the fødselsnummer (and a name) all stand in one turn
    message = info.value.message
    assert message.startswith("1 exported excerpt contains ") and message.endswith(" in V4")
    assert re.search(r"contains \d+ possible leaks, e\.g\. ", message)
    assert "--allow-leaks" in (info.value.hint or "")
    assert not (tmp_path / "v4.md").exists()
    # refused even where the shortened quote would leave the number out
    shortened = services.export_report(copy, leaky, tmp_path / "v4.md", allow_leaks=True)
    assert "948 27 316" not in shortened.read_text("utf-8")
    written = services.export_report(copy, leaky, tmp_path / "full.md", full_text=True,
                                     allow_leaks=True)
    assert "948 27 316" in written.read_text("utf-8")
    # V4 hits that do not touch the leaks are fine
    clean = services.create_report(copy, "V4 prestisje", "prestisje AND document = V4",
                                   actor=ACTOR)
    assert services.report_data(copy, clean).sections
    services.export_report(copy, clean, tmp_path / "clean.md")
    # the check itself: spans that overlap a high-confidence finding
    hits = [h for h in q(copy, "document = V4").hits]
    phone = next(h for h in hits if "948 27 316" in h.text)
    with pytest.raises(InputError):
        services.check_export_for_leaks(copy, [phone])
    services.check_export_for_leaks(copy, [h for h in hits if h is not phone
                                           and not re.search(r"\d{6}", h.text)])


# -- frequencies and matrices -----------------------------------------------------------


def _union_words(oracle: Oracle, facts: list[Fact]) -> int:
    by_doc: dict[str, set[int]] = defaultdict(set)
    for f in facts:
        by_doc[f.coding.document] |= set(range(f.coding.start, f.coding.end))
    total = 0
    for doc, covered in by_doc.items():
        text = oracle.text[doc]
        # words inside runs of covered characters
        runs, start = [], None
        for i in range(len(text) + 1):
            if i in covered and start is None:
                start = i
            elif i not in covered and start is not None:
                runs.append((start, i))
                start = None
        total += sum(len(WORD.findall(text[s:e])) for s, e in runs)
    return total


def test_frequency_table(demo: Store, oracle: Oracle) -> None:
    table = {r.code: r for r in services.frequencies(demo)}
    assert list(table) == [c.id for c in demo.codes()]
    for code, row in table.items():
        facts = oracle.coded(oracle.family(code))
        assert row.codings == len(facts), code
        assert row.own_codings == len(oracle.coded({code})), code
        assert row.documents == len({f.coding.document for f in facts}), code
        assert row.informants == len(covered_by(facts)), code
        assert row.words == _union_words(oracle, facts), code
    # a parent counts its descendants
    assert table["samarbeid"].codings == sum(table[c].codings for c in (
        "forutsetninger", "samarbeidspraksis", "vurdering", "aldri-henvist")) == 447
    assert table["vurdering"].codings == 35 and table["vurdering"].own_codings == 10
    # overlapping codings count their words once
    prestisje = oracle.coded(oracle.family("prestisje"))
    assert table["prestisje"].words < sum(len(WORD.findall(f.coding.text)) for f in prestisje)
    only_b = {r.code: r for r in services.frequencies(demo, coders=["coder-b"])}
    assert only_b["prestisje"].codings == len([f for f in prestisje
                                               if f.coding.coder_id == "coder-b"])


def _top(oracle: Oracle) -> list[str]:
    return [c.id for c in oracle.codes.values() if c.depth <= 1]


def test_code_by_role_matrix(demo: Store, oracle: Oracle) -> None:
    for measure in ("codings", "informants", "documents", "turns"):
        m = services.matrix(demo, "codes", "role", measure=measure)
        assert m.rows == _top(oracle) and m.columns == ["jobbspesialist", "veileder"]
        for code in m.rows:
            for role in m.columns:
                facts = [f for f in oracle.coded(oracle.family(code)) if f.turn.role == role]
                expected = {"codings": len(facts), "informants": len(covered_by(facts)),
                            "documents": len({f.coding.document for f in facts}),
                            "turns": len({(f.coding.document, f.turn.index) for f in facts})
                            }[measure]
                assert m.cells[code][role] == expected, (measure, code, role)
    m = services.matrix(demo, "codes", "role")
    assert (m.cells["prestisje"]["jobbspesialist"], m.cells["prestisje"]["veileder"]) == (69, 92)
    assert m.column_totals == {r: len([f for f in oracle.facts if f.turn.role == r])
                               for r in m.columns}
    informants = services.matrix(demo, "codes", "role", measure="informants")
    assert informants.cells["prestisje"] == {"jobbspesialist": 13, "veileder": 18}


def test_code_by_office_matrix(demo: Store, oracle: Oracle) -> None:
    m = services.matrix(demo, "codes", "office", codes=["prestisje", "frihet", "relasjoner"],
                        measure="informants")
    assert m.rows == ["relasjoner", "prestisje", "frihet"]  # codebook order
    assert m.columns == ["(none)", "Nord", "Sør"]

    def office(f: Fact) -> str:
        value = oracle.speaker_attr(f.coding.document, f.turn, "office")
        return "(none)" if value is None else str(value)
    for code in m.rows:
        for col in m.columns:
            facts = [f for f in oracle.coded(oracle.family(code)) if office(f) == col]
            assert m.cells[code][col] == len(covered_by(facts)), (code, col)
    assert m.cells["frihet"]["Nord"] == len(
        {f.turn.speaker for f in oracle.coded({"frihet"}) if office(f) == "Nord"})
    assert code_attribute_matrix(demo, "document", codes=["frihet"]).cells["frihet"]["JS2"] == \
        len([f for f in oracle.coded({"frihet"}) if f.coding.document == "JS2"])
    with pytest.raises(InputError):
        services.matrix(demo, "codes", "kontorr")
    with pytest.raises(InputError):
        services.matrix(demo, "role", "codes")


def test_cooccurrence_matrix(demo: Store, oracle: Oracle) -> None:
    roots = ["samarbeid", "praksislogikker", "prestisje"]
    for measure in ("codings", "documents", "informants"):
        m = services.matrix(demo, "codes", "codes", depth=0, measure=measure)
        assert m.rows == m.columns == roots
        for r in roots:
            for c in roots:
                cs = oracle.coded(oracle.family(c))
                facts = [f for f in oracle.coded(oracle.family(r))
                         if any(overlaps(f.coding, g.coding) for g in cs)]
                expected = {"codings": len(facts),
                            "documents": len({f.coding.document for f in facts}),
                            "informants": len(covered_by(facts))}[measure]
                assert m.cells[r][c] == expected, (measure, r, c)
    m = services.matrix(demo, "codes", "codes", depth=0)
    # the diagonal is every coding of the code; rows count their own codings
    assert m.cells["prestisje"]["prestisje"] == 161
    assert m.cells["prestisje"]["samarbeid"] == len(rows(q(demo, "prestisje overlaps samarbeid"
                                                           )))
    small = cooccurrence_matrix(demo, codes=["frihet", "definisjonsmakt"])
    assert small.rows == ["frihet", "definisjonsmakt"]
    assert small.cells["frihet"]["definisjonsmakt"] == len(
        [f for f in oracle.coded({"frihet"})
         if any(overlaps(f.coding, g.coding) for g in oracle.coded({"definisjonsmakt"}))])
    with pytest.raises(InputError):
        services.matrix(demo, "codes", "codes", measure="words")
