"""Editing a coding: another span, another code, one undoable step each."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcode import services
from qcode.errors import InputError, NotFound
from qcode.services import SpanRequest
from qcode.store import Store

from ..conftest import REPO


@pytest.fixture
def coded(store: Store, transcript_dir: Path) -> Store:
    services.import_paths(store, [transcript_dir], services.import_options(store),
                          actor="tester")
    services.load_codebook_file(store, REPO / "codebooks" / "samarbeid.yaml", actor="tester")
    return store


def _text(store: Store, document: str, start: int, end: int) -> str:
    doc, _turns = services.get_document(store, document)
    return doc.text[start:end]


def test_move_a_coding_and_undo(coded: Store) -> None:
    first = services.apply_coding(coded, SpanRequest("JS1", "relasjoner", quote="Det går bra."),
                                  "kh")
    services.set_coding_memo(coded, str(first.id), "usikker", actor="kh")
    doc, _turns = services.get_document(coded, "JS1")
    start = doc.text.index("Vi sitter")
    end = doc.text.index("hver dag.") + len("hver dag.")
    moved = services.edit_coding(coded, str(first.id), start=first.start, end=end, actor="kh")
    assert (moved.id, moved.uid, moved.coder_id, moved.memo) == \
        (first.id, first.uid, "kh", "usikker")
    assert moved.text == _text(coded, "JS1", first.start, end)
    assert moved.text.startswith("Det går bra.") and moved.text.endswith("hver dag.")
    moved = services.edit_coding(coded, moved.uid, start=start, actor="kh")
    assert moved.text == "Vi sitter på samme gang, så vi snakker sammen hver dag."
    history = services.history(coded, limit=2, actor="kh")
    assert [h["kind"] for h in history] == ["coding.edit", "coding.edit"]
    assert "->" in history[0]["summary"]
    summary = services.undo(coded, "kh")
    assert summary == f"edit coding {first.id} in JS1: {first.start}-{end} -> {start}-{end}"
    back = services.list_codings(coded, document="JS1")
    assert [(k.start, k.end) for k in back] == [(first.start, end)]
    services.undo(coded, "kh")
    back = services.list_codings(coded, document="JS1")
    assert [(k.id, k.start, k.end, k.memo) for k in back] == \
        [(first.id, first.start, first.end, "usikker")]
    services.redo(coded, "kh")
    assert [(k.start, k.end) for k in services.list_codings(coded, document="JS1")] == \
        [(first.start, end)]


def test_recode_and_undo(coded: Store) -> None:
    coding = services.apply_coding(coded, SpanRequest("V1", "relasjoner", turn=2), "kh")
    recoded = services.edit_coding(coded, str(coding.id), code="ledelse", actor="kh")
    assert (recoded.id, recoded.code_id, recoded.start, recoded.end) == \
        (coding.id, "ledelse", coding.start, coding.end)
    assert services.list_codings(coded, code="relasjoner") == []
    summary = services.undo(coded, "kh")
    assert "relasjoner -> ledelse" in summary
    assert [k.code_id for k in services.list_codings(coded, document="V1")] == ["relasjoner"]


def test_span_and_code_in_one_step(coded: Store) -> None:
    coding = services.apply_coding(coded, SpanRequest("JS1", "relasjoner", quote="Det går bra."),
                                   "kh")
    edited = services.edit_coding(coded, str(coding.id), start=coding.start,
                                  end=coding.start + 3, code="ledelse", actor="kh")
    assert (edited.text, edited.code_id) == ("Det", "ledelse")
    services.undo(coded, "kh")  # one step brings both back
    back = services.list_codings(coded, document="JS1")
    assert [(k.code_id, k.text) for k in back] == [("relasjoner", "Det går bra.")]


def test_no_change_writes_nothing(coded: Store) -> None:
    coding = services.apply_coding(coded, SpanRequest("V1", "relasjoner", turn=2), "kh")
    events = coded.counts()["events"]
    same = services.edit_coding(coded, str(coding.id), start=coding.start, end=coding.end,
                                code="relasjoner", actor="kh")
    assert same == coding and coded.counts()["events"] == events


@pytest.mark.parametrize("change", [
    {"start": 5, "end": 5}, {"start": -1}, {"end": 10**6}, {"start": 20, "end": 10},
])
def test_invalid_spans_are_refused(coded: Store, change: dict[str, int]) -> None:
    coding = services.apply_coding(coded, SpanRequest("V1", "relasjoner", turn=2), "kh")
    with pytest.raises(InputError) as info:
        services.edit_coding(coded, str(coding.id), actor="kh", **change)  # type: ignore[arg-type]
    assert info.value.hint
    assert services.list_codings(coded, document="V1")[0] == coding


def test_a_span_of_blanks_is_refused(coded: Store) -> None:
    coding = services.apply_coding(coded, SpanRequest("JS1", "relasjoner", quote="Det går bra."),
                                   "kh")
    doc, _turns = services.get_document(coded, "JS1")
    gap = doc.text.index("\n\n")
    with pytest.raises(InputError, match="no text"):
        services.edit_coding(coded, str(coding.id), start=gap, end=gap + 2, actor="kh")


def test_a_duplicate_is_refused_and_unknown_refs_are_reported(coded: Store) -> None:
    one = services.apply_coding(coded, SpanRequest("V1", "relasjoner", turn=2), "kh")
    other = services.apply_coding(coded, SpanRequest("V1", "ledelse", turn=2), "kh")
    with pytest.raises(InputError, match="already has this code"):
        services.edit_coding(coded, str(other.id), code="relasjoner", actor="kh")
    assert services.edit_coding(coded, str(one.id), code="relasjoner", actor="kh") == one
    with pytest.raises(NotFound):
        services.edit_coding(coded, "9999", code="ledelse", actor="kh")
    with pytest.raises(NotFound):
        services.edit_coding(coded, str(one.id), code="no-such-code", actor="kh")
