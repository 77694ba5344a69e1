"""The TUI's pure parts: transcript layout, code marks, the fuzzy ranking, query checks, keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qcode.models import CodeInfo, Turn
from qcode.tui.app import QcodeApp
from qcode.tui.keys import format_keys, key_sections, rows
from qcode.tui.screens.query import check_query
from qcode.tui.widgets.code_picker import rank_codes
from qcode.tui.widgets.marks import SYMBOLS, MarkBook
from qcode.tui.widgets.transcript import BLANK, HEAD, TEXT, layout
from tests.tui.conftest import run


def _turn(index: int, start: int, end: int, speaker: str | None = "JS1",
          role: str | None = "jobbspesialist") -> Turn:
    return Turn(index, 1, index, start, end, speaker, role, None, None, None)


def _code(code_id: str, name: str, definition: str = "", parent: str | None = None,
          indicators: tuple[str, ...] = ()) -> CodeInfo:
    path = f"{parent}/{code_id}" if parent else code_id
    return CodeInfo(code_id, "bok", parent, path, name, definition or name, "", "", "",
                    "#336699", indicators, "", 1 if parent else 0)


def test_layout_wraps_words_and_keeps_offsets() -> None:
    text = "I: Hei.\n\nJS1: " + " ".join(["ord"] * 30) + "\nny linje"
    turns = [_turn(1, 3, 7, "I", "interviewer"), _turn(2, 14, len(text))]
    lines = layout(text, turns, 24)
    kinds = [line.kind for line in lines]
    assert kinds[0] == HEAD and kinds[-1] == BLANK
    texts = [text[line.start:line.end] for line in lines if line.kind == TEXT]
    assert texts[0] == "Hei."
    assert all(len(t) <= 24 for t in texts)
    assert texts[-1] == "ny linje"  # a line break inside a turn starts a new line
    body = [t for t in texts[1:-1]]
    assert " ".join(body).split() == ["ord"] * 30
    firsts = [line for line in lines if line.first]
    assert [line.turn for line in firsts] == [0, 1]


def test_layout_of_a_long_transcript() -> None:
    """Lays out 500 turns (its speed is measured by the TUI benchmark, not here)."""
    words = ("Vi sitter i samme gang og snakker sammen hver dag om brukerne. " * 2000)
    text = words.strip()
    step = len(text) // 500
    turns = [_turn(i + 1, i * step, (i + 1) * step - 1) for i in range(500)]
    lines = layout(text, turns, 80)
    assert len(lines) > 2000


def test_marks_give_each_code_a_symbol_and_colour() -> None:
    codes = [_code(f"c{i}", f"Code {i}") for i in range(len(SYMBOLS) + 2)]
    book = MarkBook(codes)
    symbols = [book.get(c.id).symbol for c in codes[:len(SYMBOLS)]]
    assert len(set(symbols)) == len(SYMBOLS)
    assert book.get("c0").color == "#336699"
    assert book.get("unknown").symbol == "?"


def test_rank_codes_by_name_path_and_definition() -> None:
    codes = [_code("samarbeid", "Samarbeid"),
             _code("relasjoner", "Relasjoner og fysisk nærhet",
                   "Om de sitter i samme gang eller i ulike bygg", parent="samarbeid"),
             _code("frustrasjon", "Frustrasjon", parent="samarbeid"),
             _code("vi-folelse", "Vi-følelse", indicators=("teamfølelse",))]
    assert rank_codes("nærhet", codes)[0].id == "relasjoner"
    assert rank_codes("samme gang", codes)[0].id == "relasjoner"
    assert rank_codes("frust", codes)[0].id == "frustrasjon"
    assert rank_codes("teamfølelse", codes)[0].id == "vi-folelse"
    assert rank_codes("xyzzy", codes) == []
    assert [c.id for c in rank_codes("", codes, recent=["frustrasjon"])][:2] == \
        ["frustrasjon", "samarbeid"]


def test_query_check_reports_the_position() -> None:
    assert check_query("samarbeid AND role=jobbspesialist") is None
    assert check_query("@saved") is None
    error = check_query("samarbeid AND role=")
    assert error is not None and error.position == len("samarbeid AND role=")


def test_keys_are_documented_with_ids() -> None:
    assert format_keys("ctrl+z,u") == "Ctrl+Z / u"
    assert format_keys("shift+right,L") == "Shift+→ / L"
    assert format_keys("f1") == "F1"
    sections = dict(key_sections())
    coding = {r.binding_id: r for r in sections["Coding view"]}
    assert coding["coding.apply"].keys == "a"
    assert "coding.recent-1 … 9" in coding  # the nine number keys are one row
    for _title, section in key_sections():
        for row in section:
            assert row.binding_id and row.description
    from qcode.tui.app import QcodeApp

    ids = [r.binding_id for r in rows(list(QcodeApp.BINDINGS))]
    assert len(ids) == len(set(ids))


def test_keys_can_be_remapped_by_binding_id(small_project: Path,
                                            app_for: Callable[..., QcodeApp]) -> None:
    app = app_for(small_project, coder="kh", keymap={"app.help": "f10"})

    async def journey() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("f10")
            await pilot.pause()
            assert app.current_mode == "help"

    run(journey())
