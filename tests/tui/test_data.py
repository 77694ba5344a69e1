"""The read models of the screens: coding progress per turn."""

from __future__ import annotations

import itertools
import random

from qcode.models import Coding, Turn
from qcode.tui.data import codable_turns, turns_coded


def _turn(i: int, start: int, end: int, role: str | None = "informant") -> Turn:
    return Turn(id=i, document_id=1, index=i, start=start, end=end, speaker="X", role=role,
                time_start=None, time_end=None, label=None)


def _coding(i: int, start: int, end: int) -> Coding:
    return Coding(i, f"u{i}", 1, "D", start, end, "c", "kh", "", "")


def test_turns_coded_counts_overlaps_like_the_definition() -> None:
    rng = random.Random(7)
    for _ in range(200):
        bounds = sorted(rng.sample(range(1, 400), 20))
        turns = [_turn(i, a, b) for i, (a, b) in enumerate(itertools.pairwise(bounds))]
        codings = []
        for i in range(rng.randrange(0, 15)):
            a = rng.randrange(0, 399)
            codings.append(_coding(i, a, rng.randrange(a + 1, 401)))
        expected = sum(1 for t in turns
                       if any(k.start < t.end and k.end > t.start for k in codings))
        assert turns_coded(turns, codings) == expected


def test_edges_touching_are_not_overlaps() -> None:
    turns = [_turn(1, 0, 10), _turn(2, 10, 20), _turn(3, 20, 30)]
    assert turns_coded(turns, [_coding(1, 10, 20)]) == 1
    assert turns_coded(turns, [_coding(1, 9, 21)]) == 3
    assert turns_coded(turns, []) == 0
    assert [t.index for t in codable_turns([*turns, _turn(4, 30, 30),
                                            _turn(5, 30, 40, "interviewer")])] == [1, 2, 3]
