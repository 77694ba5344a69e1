"""Agreement on a coded project: units, rows, disagreement review and consensus."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcode import agreement as ag
from qcode import services
from qcode.errors import InputError
from qcode.services import SpanRequest
from qcode.store import Store

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
