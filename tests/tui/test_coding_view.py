"""The coding view in detail: selections, keys, blind mode, memos, long transcripts, errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Input, TextArea

from qcode import services
from qcode.errors import InputError
from qcode.tui.app import QcodeApp
from qcode.tui.screens.coding import CodingScreen
from qcode.tui.screens.modals import ErrorModal
from tests.tui.conftest import run, settle

AppFor = Callable[..., QcodeApp]


def _coded_by_another(project: Path) -> None:
    """Another coder ("other") codes turn 3 of JS1 as vi-folelse."""
    store = services.open_project(project)
    services.apply_coding(store, services.SpanRequest("JS1", "vi-folelse", turn=3), "other")
    store.close()


def test_selections_blind_mode_uncoded_turns_and_memos(small_project: Path,
                                                         app_for: AppFor) -> None:
    _coded_by_another(small_project)
    app = app_for(small_project, coder="kh", document="JS1")

    async def journey() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, CodingScreen)
            view = screen.view
            assert {k.coder_id for k in view.codings} == {"other"}
            await pilot.press("b")  # blind: only my codings
            await pilot.pause()
            assert view.codings == []
            await pilot.press("b")
            await pilot.pause()
            await pilot.press("n")  # the next informant turn I have not coded
            turn = view.cursor_turn
            assert turn is not None and turn.index == 3 and turn.speaker == "JS1"
            await pilot.press("right")  # one word
            assert view.selected_text() == "Det"
            await pilot.press("shift+right", "shift+right")
            assert view.selected_text() == "Det går bra"
            await pilot.press("escape")  # back to the whole turn
            assert view.selection == (turn.start, turn.end)
            await pilot.press("1")  # no recent code yet: a warning, nothing stored
            await pilot.press("M")  # a memo on the document
            await pilot.pause()
            app.screen.query_one("#value", TextArea).text = "Sterk vi-følelse."
            await pilot.press("ctrl+s")
            await pilot.pause()
            await pilot.press("g")
            await pilot.pause()
            app.screen.query_one("#value", Input).value = "5"
            await pilot.press("enter")
            await pilot.pause()
            assert view.cursor_turn is not None and view.cursor_turn.index == 5
            # a drag with the mouse selects whole words
            first, _last = view.turn_lines(view.cursor)
            y = first + 1 - view.scroll_offset.y
            await pilot.mouse_down(view, offset=(8, y))
            await pilot.hover(view, offset=(14, y))
            await pilot.mouse_up(view, offset=(14, y))
            assert view.selection_kind == "span"
            assert view.selected_text() in ("Ja, (veileder)", "Ja, (veileder) og")

    run(journey())
    store = services.open_project(small_project)
    try:
        memos = services.list_memos(store, "document", "JS1")
        assert [(m.author, m.body) for m in memos] == [("kh", "Sterk vi-følelse.")]
        assert [k.coder_id for k in services.list_codings(store, document="JS1")] == ["other"]
    finally:
        store.close()


def test_a_long_transcript_opens_and_scrolls(project_path: Path, tmp_path: Path,
                                                     app_for: AppFor) -> None:
    sentence = ("Vi sitter i samme gang, og det betyr utrolig mye for samarbeidet med "
                "veilederne. ")
    parts = []
    for i in range(400):
        parts.append(f"I: Spørsmål nummer {i}?\n\nJS9: {sentence * 4}\n")
    source = tmp_path / "long" / "JS9.txt"
    source.parent.mkdir()
    source.write_text("\n".join(parts), encoding="utf-8")
    store = services.open_project(project_path)
    services.import_paths(store, [source], services.import_options(store), actor="tester")
    doc, _turns = services.get_document(store, "JS9")
    store.close()
    assert doc.word_count > 20_000
    app = app_for(project_path, coder="kh")

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            app.open_document("JS9")  # how fast: benchmarks/run.py tui (docs/benchmarks.md)
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, CodingScreen)
            await pilot.press(*["pagedown"] * 20)
            assert screen.view.cursor > 20
            assert screen.view.scroll_offset.y > 100

    run(journey())


def test_failing_background_work_shows_a_dialog_and_the_app_goes_on(
        small_project: Path, app_for: AppFor) -> None:
    app = app_for(small_project, coder="kh")

    def broken(store: Any, progress: Callable[[int, int, str], None],
               cancel: threading.Event) -> None:
        raise RuntimeError("boom")

    def refused(store: Any, progress: Callable[[int, int, str], None],
                cancel: threading.Event) -> None:
        raise InputError("the file is empty", "choose another file")

    def slow(store: Any, progress: Callable[[int, int, str], None],
             cancel: threading.Event) -> int:
        for step in range(200):
            progress(step, 200, f"step {step}")
            time.sleep(0.01)
        return 1

    async def journey() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            app.run_task("Broken", broken)
            await settle(app, pilot)
            assert isinstance(app.screen, ErrorModal)
            assert "bug" in (app.screen.hint or "")
            await pilot.press("escape")
            app.run_task("Refused", refused)
            await settle(app, pilot)
            assert isinstance(app.screen, ErrorModal)
            assert app.screen.message == "the file is empty"
            assert app.screen.hint == "choose another file"
            await pilot.press("escape")
            done: list[int] = []
            app.run_task("Slow", slow, done.append)
            await pilot.pause(0.1)
            await pilot.press("escape")  # cancel
            await settle(app, pilot)
            assert done == []
            await pilot.press("u")  # nothing to undo: a notification, not a crash
            await pilot.pause()
            assert app.is_running

    run(journey())


def test_edit_the_span_of_a_coding_and_recode_it_with_undo(small_project: Path,
                                                          app_for: AppFor) -> None:
    from qcode.tui.widgets.code_picker import CodePicker

    app = app_for(small_project, coder="kh", document="JS1")

    def stored() -> list[tuple[int, str, str]]:
        store = services.open_project(small_project)
        try:
            return [(k.id, k.code_id, k.text)
                    for k in services.list_codings(store, document="JS1")]
        finally:
            store.close()

    async def journey() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, CodingScreen)
            view = screen.view
            await pilot.press("down", "down", "s", "a")
            await pilot.pause()
            await pilot.press(*"nærhet", "enter")
            await pilot.pause()
            [(ident, code, text)] = stored()
            assert (code, text) == ("relasjoner", "Det går bra.")
            await pilot.press("v")  # edit its span
            assert view.editing is not None and view.selection_kind == "edit"
            await pilot.press("right")  # the end grows by a word
            assert view.selected_text() == "Det går bra. Vi"
            await pilot.press("escape")  # cancelled: nothing changes
            await pilot.pause()
            assert view.editing is None and screen.editing is None
            assert stored() == [(ident, "relasjoner", "Det går bra.")]
            await pilot.press("v", "s")  # the end to the end of the next sentence
            assert view.selected_text() == ("Det går bra. Vi sitter på samme gang, så vi "
                                            "snakker sammen hver dag.")
            await pilot.press("left", "shift+right")  # end back a word, start on a word
            assert view.selected_text() == ("går bra. Vi sitter på samme gang, så vi "
                                            "snakker sammen hver dag")
            await pilot.press("enter")  # move the coding here
            await pilot.pause()
            assert view.editing is None
            assert stored() == [(ident, "relasjoner", "går bra. Vi sitter på samme gang, så vi "
                                 "snakker sammen hver dag")]
            await pilot.press("r")  # recode with the picker
            await pilot.pause()
            assert isinstance(app.screen, CodePicker)
            assert "relasjoner" not in [c.id for c in app.screen.codes]
            await pilot.press(*"vi-følelse", "enter")
            await pilot.pause()
            assert [(k, c) for k, c, _t in stored()] == [(ident, "vi-folelse")]
            assert app.recent_codes[0] == "vi-folelse"
            await pilot.press("u")  # undo the recode
            await pilot.pause()
            assert [(k, c) for k, c, _t in stored()] == [(ident, "relasjoner")]
            await pilot.press("u")  # undo the move
            await pilot.pause()

    run(journey())
    assert [(c, t) for _k, c, t in stored()] == [("relasjoner", "Det går bra.")]


def test_only_your_own_codings_can_be_edited(small_project: Path, app_for: AppFor) -> None:
    _coded_by_another(small_project)
    app = app_for(small_project, coder="kh", document="JS1")

    async def journey() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, CodingScreen)
            await pilot.press("down", "down", "v", "right", "enter", "r")
            await pilot.pause()
            assert isinstance(app.screen, CodingScreen)  # no picker: nothing of mine here
            assert screen.view.editing is None

    run(journey())
    store = services.open_project(small_project)
    try:
        [coding] = services.list_codings(store, document="JS1")
        assert (coding.coder_id, coding.code_id) == ("other", "vi-folelse")
        turn = next(t for t in services.get_document(store, "JS1")[1] if t.index == 3)
        assert (coding.start, coding.end) == (turn.start, turn.end)
    finally:
        store.close()
