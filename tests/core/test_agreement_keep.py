"""Resolving a disagreement among three coders by keeping any of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcode import services
from qcode.errors import InputError
from qcode.services import SpanRequest
from qcode.store import Store

from ..conftest import REPO

CODERS = ["coder-a", "coder-b", "coder-c"]


@pytest.fixture
def three_coders(store: Store, transcript_dir: Path) -> Store:
    services.import_paths(store, [transcript_dir], services.import_options(store),
                          actor="tester")
    services.load_codebook_file(store, REPO / "codebooks" / "samarbeid.yaml", actor="tester")
    doc, _turns = services.get_document(store, "V1")
    quote = "Skjemaene tar tid"
    start = doc.text.index(quote)
    services.apply_coding(store, SpanRequest("V1", "innsoking", turn=2), "coder-a")
    services.apply_coding(store, SpanRequest("V1", "innsoking", start=start,
                                             end=start + len(quote)), "coder-c")
    services.apply_coding(store, SpanRequest("V1", "frustrasjon", turn=2), "coder-b")
    for coder in CODERS:  # every coder coded JS1, so it is compared
        services.apply_coding(store, SpanRequest("JS1", "relasjoner", turn=3), coder)
    return store


def test_three_coders_disagree_and_keep_two(three_coders: Store) -> None:
    [item] = services.disagreements(three_coders, CODERS, "innsoking", "turn")
    assert item.values == {"coder-a": True, "coder-b": False, "coder-c": True}
    written = services.resolve_by_keeping(three_coders, item, ["coder-c", "coder-a"],
                                          "begge", coders=CODERS, actor="leder")
    assert written == 2
    consensus = services.list_codings(three_coders, document="V1", coder="consensus")
    assert sorted((k.code_id, k.text) for k in consensus) == [
        ("innsoking", "Den er tungvint, ærlig talt. Skjemaene tar tid, og jeg må dokumentere "
                      "alt."),
        ("innsoking", "Skjemaene tar tid")]
    assert all("keep coder-a, coder-c" in k.memo and "begge" in k.memo for k in consensus)
    [again] = services.disagreements(three_coders, CODERS, "innsoking", "turn")
    assert again.decided == "keep:coder-a,coder-c"
    assert services.history(three_coders, limit=1)[0]["kind"] == "review.decide"


def test_keeping_one_of_three_and_all_of_them(three_coders: Store) -> None:
    [item] = services.disagreements(three_coders, CODERS, "innsoking", "turn")
    assert services.resolve_by_keeping(three_coders, item, ["coder-c"], coders=CODERS,
                                       actor="leder") == 1
    [k] = services.list_codings(three_coders, document="V1", coder="consensus")
    assert k.text == "Skjemaene tar tid"
    assert services.resolve_by_keeping(three_coders, item, CODERS, coders=CODERS,
                                       actor="leder") == 2
    [again] = services.disagreements(three_coders, CODERS, "innsoking", "turn")
    assert again.decided == "both"  # all of them: the same decision as 'both'


def test_with_two_coders_it_is_the_usual_decision(three_coders: Store) -> None:
    pair = ["coder-a", "coder-b"]
    [item] = services.disagreements(three_coders, pair, "innsoking", "turn")
    assert services.resolve_by_keeping(three_coders, item, ["coder-b"], coders=pair,
                                       actor="leder") == 0
    [again] = services.disagreements(three_coders, pair, "innsoking", "turn")
    assert again.decided == "b"
    assert services.resolve_by_keeping(three_coders, item, [], coders=pair,
                                       actor="leder") == 0
    [again] = services.disagreements(three_coders, pair, "innsoking", "turn")
    assert again.decided == "neither"


def test_only_compared_coders_can_be_kept(three_coders: Store) -> None:
    [item] = services.disagreements(three_coders, CODERS, "innsoking", "turn")
    with pytest.raises(InputError, match="not among the compared coders") as info:
        services.resolve_by_keeping(three_coders, item, ["someone"], coders=CODERS)
    assert info.value.hint
    assert services.list_codings(three_coders, coder="consensus") == []
