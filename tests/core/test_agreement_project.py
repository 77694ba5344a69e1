"""Agreement on a coded project: units, rows, disagreement review and consensus."""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qcode import agreement as ag
from qcode import services
from qcode.demo import build_demo
from qcode.errors import InputError
from qcode.query.engine import TurnRow, _rule_sentences
from qcode.services import SpanRequest
from qcode.services.agreement import _Units
from qcode.store import Store
from qcode.store.nlp import TurnAnnotation

from ..conftest import REPO


@pytest.fixture
def two_coders(store: Store, transcript_dir: Path) -> Store:
    services.import_paths(store, [transcript_dir], services.import_options(store),
                          actor="tester")
    services.load_codebook_file(store, REPO / "codebooks" / "samarbeid.yaml", actor="tester")
    # informant turns: JS1 #2, JS1 #4, V1 #2, V2 #2 (turn indexes include JS1's header)
    a = [("JS1", "relasjoner", 3), ("JS1", "vi-folelse", 5), ("V1", "innsoking", 2),
         ("V2", "frustrasjon", 2)]
    b = [("JS1", "relasjoner", 3), ("V1", "innsoking", 2), ("V1", "frustrasjon", 2),
         ("V2", "tilfredshet", 2)]
    services.apply_codings(store, [SpanRequest(d, c, turn=t) for d, c, t in a], "coder-a")
    services.apply_codings(store, [SpanRequest(d, c, turn=t) for d, c, t in b], "coder-b")
    return store


def test_turn_unit_matches_the_statistics_by_hand(two_coders: Store) -> None:
    rep = services.compute_agreement(two_coders, ["coder-a", "coder-b"], unit="turn",
                                     codes=["samarbeid"], bootstrap=0)
    [row] = rep.rows
    assert rep.documents == ["JS1", "V1", "V2"] and row.n_units == 4
    # every informant turn is coded by both coders with some samarbeid code
    assert row.coded_by == {"coder-a": 4, "coder-b": 3} or row.coded_by == {
        "coder-a": 4, "coder-b": 4}
    vurdering = services.compute_agreement(two_coders, ["coder-a", "coder-b"], unit="turn",
                                           codes=["vurdering"], bootstrap=0).rows[0]
    # units: JS1#3, JS1#5, V1#2, V2#2 -> a: 0,0,0,1  b: 0,0,1,1
    a, b = [0, 0, 0, 1], [0, 0, 1, 1]
    assert vurdering.n_units == 4
    assert vurdering.alpha == pytest.approx(ag.krippendorff_alpha([a, b]))
    assert vurdering.kappa == pytest.approx(ag.cohen_kappa(a, b))
    assert vurdering.percent == pytest.approx(0.75)
    assert vurdering.reading == ag.interpret_alpha(vurdering.alpha)


def test_no_rollup_and_groups(two_coders: Store) -> None:
    rep = services.compute_agreement(two_coders, ["coder-a", "coder-b"], unit="turn",
                                     codes=["vurdering"], rollup=False, bootstrap=0)
    assert rep.rows[0].coded_by == {"coder-a": 0, "coder-b": 0}
    by_doc = services.compute_agreement(two_coders, ["coder-a", "coder-b"], unit="turn",
                                        codes=["frustrasjon"], by="document", bootstrap=0)
    assert [r.group for r in by_doc.rows] == ["JS1", "V1", "V2"]
    by_role = services.compute_agreement(two_coders, ["coder-a", "coder-b"], unit="turn",
                                         codes=["frustrasjon"], by="role", bootstrap=0)
    assert {r.group for r in by_role.rows} == {"jobbspesialist", "veileder"}


def test_character_unit_by_hand(two_coders: Store) -> None:
    rep = services.compute_agreement(two_coders, ["coder-a", "coder-b"], unit="character",
                                     codes=["frustrasjon"], bootstrap=0)
    [row] = rep.rows
    v1 = two_coders.turns(two_coders.document("V1").id)[1]
    v2 = two_coders.turns(two_coders.document("V2").id)[1]
    total = sum(t.end - t.start for d in ("JS1", "V1", "V2")
                for t in two_coders.turns(two_coders.document(d).id)
                if t.speaker and t.role != "interviewer")
    assert row.n_units == total
    assert row.coded_by == {"coder-a": v2.end - v2.start, "coder-b": v1.end - v1.start}
    # every coded character is coded by one coder only: no agreement on presence
    n1 = (v1.end - v1.start) + (v2.end - v2.start)
    n = 2 * total
    n0 = n - n1
    expected = 1 - (n - 1) * (2 * n1) / (2 * n0 * n1)
    assert row.alpha == pytest.approx(expected)
    assert row.percent == pytest.approx((total - n1) / total)


def test_unitized_alpha_row(two_coders: Store) -> None:
    rep = services.compute_agreement(two_coders, ["coder-a", "coder-b"], unit="unitized",
                                     codes=["innsoking"], bootstrap=0)
    assert rep.rows[0].alpha == pytest.approx(1.0)


def test_bootstrap_interval_is_seeded(two_coders: Store) -> None:
    one = services.compute_agreement(two_coders, ["coder-a", "coder-b"], codes=["samarbeid"],
                                     unit="sentence", bootstrap=200).rows[0]
    two = services.compute_agreement(two_coders, ["coder-a", "coder-b"], codes=["samarbeid"],
                                     unit="sentence", bootstrap=200).rows[0]
    assert (one.ci_low, one.ci_high) == (two.ci_low, two.ci_high)
    assert one.ci_low is not None and one.ci_high is not None
    assert one.ci_low <= one.alpha <= one.ci_high


def test_only_documents_coded_by_all(two_coders: Store, tmp_path: Path) -> None:
    f = tmp_path / "JS9.txt"
    f.write_text("I: Hei.\n\nJS9: Vi samarbeider godt.\n", encoding="utf-8")
    services.import_paths(two_coders, [f], services.import_options(two_coders), actor="t")
    services.apply_coding(two_coders, SpanRequest("JS9", "relasjoner", turn=2), "coder-a")
    rep = services.compute_agreement(two_coders, ["coder-a", "coder-b"], bootstrap=0)
    assert "JS9" not in rep.documents


def test_errors(two_coders: Store) -> None:
    with pytest.raises(InputError, match="at least two coders"):
        services.compute_agreement(two_coders, ["coder-a"])
    with pytest.raises(InputError, match="no coder 'coder-x'"):
        services.compute_agreement(two_coders, ["coder-a", "coder-x"])
    with pytest.raises(InputError, match="unknown unit"):
        services.compute_agreement(two_coders, ["coder-a", "coder-b"], unit="word")


def test_review_and_consensus(two_coders: Store) -> None:
    items = services.disagreements(two_coders, ["coder-a", "coder-b"], "vurdering", "turn")
    assert [(i.document, i.values) for i in items] == [
        ("V1", {"coder-a": False, "coder-b": True})]
    item = items[0]
    assert item.text.startswith("Den er tungvint")
    written = services.resolve_disagreement(two_coders, item, "b", "B har rett",
                                            coders=["coder-a", "coder-b"], actor="leder")
    assert written == 1
    consensus = services.list_codings(two_coders, coder="consensus")
    assert [(c.document, c.code_id) for c in consensus] == [("V1", "frustrasjon")]
    again = services.disagreements(two_coders, ["coder-a", "coder-b"], "vurdering", "turn")
    assert again[0].decided == "b"
    discussed = services.disagreements(two_coders, ["coder-a", "coder-b"], "vi-folelse",
                                       "turn")[0]
    assert services.resolve_disagreement(two_coders, discussed, "discuss", "Ta opp på møtet",
                                         coders=["coder-a", "coder-b"]) == 0
    kinds = [e["kind"] for e in two_coders.events(limit=3)]
    assert kinds[0] == "review.decide"
    # agreement with the consensus coder is one command away
    rep = services.compute_agreement(two_coders, ["coder-b", "consensus"],
                                     codes=["vurdering"], bootstrap=0)
    assert rep.documents == ["V1"]


# ---------------------------------------------------------------------------
# The service against a plain reference: every unit value by brute force
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_coders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The demo project, a third coder who codes at random, stored sentences in some documents."""
    store = services.open_project(build_demo(tmp_path_factory.mktemp("demo")).path)
    services.add_coder(store, "coder-c", "C", actor="t")
    rnd = random.Random(9)
    codes = [c.id for c in store.codes()]
    docs = [store.document(d.id) for d in store.documents()]
    requests = []
    for d in docs[1:]:  # the first document stays uncoded by coder-c
        turns = store.turns(d.id)
        for _ in range(30):
            start = rnd.randrange(len(d.text) - 1)
            end = min(len(d.text), start + rnd.randint(1, 600))
            requests.append(SpanRequest(d.name, rnd.choice(codes), start=start, end=end))
        for t in rnd.sample(turns, min(5, len(turns))):  # exactly on turn boundaries
            requests.append(SpanRequest(d.name, rnd.choice(codes), start=t.start, end=t.end))
    services.apply_codings(store, requests, "coder-c", actor="t")
    with store.transaction():
        for d in docs[:4]:  # sentences as if annotated: each turn cut in two
            store.save_annotation(d.id, "test", 1, [
                TurnAnnotation(t.id, {}, [(t.start, (t.start + t.end) // 2),
                                          ((t.start + t.end) // 2, t.end)], [])
                for t in store.turns(d.id) if t.end - t.start > 1])
    yield store
    store.close()


def _reference_units(store: Store, doc: Any, unit: str) -> list[tuple[int, int, str | None]]:
    turns = [t for t in store.turns(doc.id) if t.end > t.start and t.role != "interviewer"]
    if any(t.speaker for t in turns):
        turns = [t for t in turns if t.speaker]
    if unit == "document":
        return [(0, len(doc.text), None)] if turns else []
    if unit in ("turn", "character"):
        return [(t.start, t.end, t.role) for t in turns]
    out: list[tuple[int, int, str | None]] = []
    if unit == "paragraph":
        for t in turns:
            pos = t.start
            for line in doc.text[t.start:t.end].split("\n"):
                if line.strip():
                    out.append((pos, pos + len(line), t.role))
                pos += len(line) + 1
        return out
    stored = store.sentences(doc.id)
    if stored:
        role = {t.id: t.role for t in turns}
        return [(s, e, role[tid]) for tid, s, e in stored if tid in role]
    rows = [TurnRow(t.id, doc.id, t.index, t.start, t.end, t.speaker, t.role, t.time_start,
                    t.label) for t in turns]
    return [(s, e, next(t.role for t in turns if t.start <= s < t.end))
            for s, e in _rule_sentences(doc.text, rows)]


def _compared(store: Store, coders: Sequence[str], names: Sequence[str] | None = None
              ) -> list[Any]:
    docs = [store.document(d) for d in names] if names else \
        [store.document(d.id) for d in store.documents()]
    return [d for d in docs if all(store.codings(document_id=d.id, coder_id=c) for c in coders)]


def _reference(store: Store, coders: Sequence[str], unit: str, codes: Sequence[str],
               by: str | None, rollup: bool, names: Sequence[str] | None
               ) -> list[tuple[Any, ...]]:
    """Agreement rows the slow, obvious way: a value per unit (or character) and coder."""
    docs = _compared(store, coders, names)
    m = len(coders)
    rows = []
    for code in codes:
        family = {code, *(store.descendants(code) if rollup else [])}
        groups: dict[str, list[list[int]]] = defaultdict(list)
        for d in docs:
            spans = {c: [(k.start, k.end) for k in store.codings(document_id=d.id, coder_id=c)
                         if k.code_id in family] for c in coders}
            covered = {c: {x for a, b in spans[c] for x in range(a, b)} for c in coders} \
                if unit == "character" else {}
            if unit == "character" and by != "role":
                groups[d.name if by == "document" else "all"] += []
            for s, e, role in _reference_units(store, d, unit):
                group = d.name if by == "document" else (role or "(no role)") \
                    if by == "role" else "all"
                if unit == "character":
                    groups[group] += [[int(x in covered[c]) for c in coders] for x in range(s, e)]
                else:
                    groups[group].append([int(any(a < e and b > s for a, b in spans[c]))
                                          for c in coders])
        for group, units in sorted(groups.items()):
            values: list[list[int | None]] = [[u[j] for u in units] for j in range(m)]
            coded = {c: sum(u[j] for u in units) for j, c in enumerate(coders)}
            alpha, kappa, percent = math.nan, None, math.nan
            if unit != "character" and not sum(coded.values()):
                percent = 1.0
            elif units:
                alpha = ag.krippendorff_alpha(values)
                if m == 2:
                    kappa = ag.cohen_kappa(values[0], values[1])
                    percent = ag.percent_agreement(values[0], values[1])
                elif unit != "character":
                    percent = sum(1 for u in units if len(set(u)) == 1) / len(units)
            rows.append((code, group, len(units), coded, alpha, kappa, percent))
    return rows


def _same(x: float | None, y: float | None) -> bool:
    return x == y or (x is not None and y is not None and math.isnan(x) and math.isnan(y))


THREE = ["coder-a", "coder-b", "coder-c"]
TWO = ["coder-c", "coder-a"]


@pytest.mark.parametrize(("coders", "unit", "by"), [
    (THREE, "turn", None), (TWO, "turn", None), (TWO, "turn", "document"),
    (THREE, "turn", "role"), (THREE, "sentence", None), (TWO, "sentence", "role"),
    (THREE, "paragraph", None), (TWO, "paragraph", None), (THREE, "document", None),
    (TWO, "document", "role"), (THREE, "character", None), (TWO, "character", None),
    (THREE, "character", "document"), (TWO, "character", "role")])
def test_agreement_equals_the_brute_force_reference(three_coders: Store, coders: list[str],
                                                    unit: str, by: str | None) -> None:
    codes = ["samarbeid", "praksislogikker", "vurdering"]
    rollup = unit != "paragraph"
    # characters one by one are slow in the reference: a few documents, the first uncoded
    names = ["fokusgruppe_sor", "JS1", "V1", "V6"] if unit == "character" else None
    rep = services.compute_agreement(three_coders, coders, unit=unit, codes=codes, by=by,
                                     rollup=rollup, documents=names, bootstrap=0)
    expected = _reference(three_coders, coders, unit, codes, by, rollup, names)
    assert rep.documents == [d.name for d in _compared(three_coders, coders, names)]
    assert len(rep.documents) >= 3
    assert [(r.code, r.group, r.n_units, r.coded_by) for r in rep.rows] == \
        [row[:4] for row in expected]
    for r, (*_, alpha, kappa, percent) in zip(rep.rows, expected, strict=True):
        assert _same(r.alpha, alpha) and _same(r.kappa, kappa) and _same(r.percent, percent), r
        assert r.ci_low is None and r.ci_high is None


def test_disagreements_equal_the_brute_force_reference(three_coders: Store) -> None:
    coders = ["coder-a", "coder-b", "coder-c"]
    items = services.disagreements(three_coders, coders, "praksislogikker", "paragraph")
    expected = []
    family = {"praksislogikker", *three_coders.descendants("praksislogikker")}
    for doc in _compared(three_coders, coders):
        d = doc
        spans = {c: [(k.start, k.end) for k in three_coders.codings(document_id=d.id,
                                                                     coder_id=c)
                     if k.code_id in family] for c in coders}
        for s, e, _ in _reference_units(three_coders, doc, "paragraph"):
            values = {c: any(a < e and b > s for a, b in spans[c]) for c in coders}
            if len(set(values.values())) > 1:
                expected.append((d.name, s, e, doc.text[s:e], values))
    assert len(expected) > 20
    assert [(i.document, i.start, i.end, i.text, i.values) for i in items] == expected


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 8)), max_size=12),
       st.integers(0, 40), st.integers(1, 10))
def test_units_overlapping_a_span(units: list[tuple[int, int]], start: int, length: int
                                  ) -> None:
    spans = [(s, s + n, "all") for s, n in units]
    for layout in (spans, sorted(spans)):  # any order (a scan), in order (binary search)
        found = _Units([[], layout]).overlapping(1, start, start + length)
        assert list(found) == [i for i, (s, e, _) in enumerate(layout)
                               if s < start + length and e > start]
        ordered = all(a[1] <= b[1] for a, b in itertools.pairwise(layout)) and \
            all(a[0] <= b[0] for a, b in itertools.pairwise(layout))
        assert isinstance(found, range) == ordered
