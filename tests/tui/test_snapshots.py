"""How each screen looks, at 100x30 (and the coding view at 80x24 and without colour).

Review the SVGs in ``__snapshots__/`` (``pytest --snapshot-report`` writes an HTML
report) before updating them with ``--snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from qcode.tui.app import QcodeApp
from qcode.tui.screens.home import HomeScreen
from qcode.tui.screens.modals import ErrorModal

AppFor = Callable[..., QcodeApp]
Snap = Callable[..., bool]
SIZE = (100, 30)


@pytest.fixture(autouse=True)
def _steady_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The text cursor does not blink, so screenshots do not depend on timing."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


async def _settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


class TestHome:
    def test_demo_project(self, snap_compare: Snap, demo_project: Path,
                          app_for: AppFor) -> None:
        app = app_for(demo_project, coder="coder-a")

        async def before(pilot: Any) -> None:
            await _settle(pilot)
            await pilot.press(*["down"] * 15)  # V4, with its anonymisation leaks
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=before)

    def test_empty_project_says_what_to_do_next(self, snap_compare: Snap, project_path: Path,
                                               app_for: AppFor) -> None:
        assert snap_compare(app_for(project_path), terminal_size=SIZE, run_before=_settle)

    def test_import_preview_shows_speakers_and_roles(
            self, snap_compare: Snap, project_path: Path, transcript_dir: Path,
            informants_csv: Path, app_for: AppFor) -> None:
        app = app_for(project_path, coder="kh")

        async def before(pilot: Any) -> None:
            await _settle(pilot)
            home = pilot.app.screen
            assert isinstance(home, HomeScreen)
            home.preview_import([transcript_dir], informants_csv)
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=before)


class TestCoding:
    @staticmethod
    async def _at_turn_5(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.screen.view.go_to_turn_number(5)
        await pilot.press("s")
        await _settle(pilot)

    def test_transcript_with_codings_and_selection(self, snap_compare: Snap,
                                                   demo_project: Path,
                                                   app_for: AppFor) -> None:
        app = app_for(demo_project, coder="coder-a", document="JS1")
        assert snap_compare(app, terminal_size=SIZE, run_before=self._at_turn_5)

    def test_transcript_at_80x24(self, snap_compare: Snap, demo_project: Path,
                                 app_for: AppFor) -> None:
        app = app_for(demo_project, coder="coder-a", document="JS1")
        assert snap_compare(app, terminal_size=(80, 24), run_before=self._at_turn_5)

    def test_transcript_without_colour(self, snap_compare: Snap, demo_project: Path,
                                       app_for: AppFor,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NO_COLOR", "1")
        app = app_for(demo_project, coder="coder-a", document="JS1")
        assert app.no_color
        assert snap_compare(app, terminal_size=SIZE, run_before=self._at_turn_5)

    def test_code_picker_shows_the_definition(self, snap_compare: Snap, demo_project: Path,
                                              app_for: AppFor) -> None:
        app = app_for(demo_project, coder="coder-a", document="JS1")

        async def before(pilot: Any) -> None:
            await self._at_turn_5(pilot)
            await pilot.press("a")
            await pilot.pause()
            pilot.app.screen.query_one(Input).value = "bruker"
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_suggestions_with_reasons(snap_compare: Snap, demo_project: Path,
                                  app_for: AppFor) -> None:
    app = app_for(demo_project, coder="coder-a", screen="suggestions")
    app.current_document = "V2"

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("g")
        await _settle(pilot)
        await pilot.press("down", "down")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_codebook_entry(snap_compare: Snap, demo_project: Path, app_for: AppFor) -> None:
    app = app_for(demo_project, coder="coder-a", screen="codebook")

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("down", "down")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_query_with_hits_and_coverage(snap_compare: Snap, demo_project: Path,
                                      app_for: AppFor) -> None:
    app = app_for(demo_project, coder="coder-a", screen="query")

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.screen.query_one("#query-input", Input).value = \
            "tilfredshet AND office=Nord"
        await pilot.press("enter")
        await _settle(pilot)
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_query_error_points_at_the_position(snap_compare: Snap, small_project: Path,
                                            app_for: AppFor) -> None:
    app = app_for(small_project, coder="kh", screen="query")

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.screen.query_one("#query-input", Input).value = \
            "relasjoner AND (role=veileder"
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_agreement_per_code(snap_compare: Snap, demo_project: Path, app_for: AppFor) -> None:
    app = app_for(demo_project, coder="coder-a", screen="agreement", agreement_bootstrap=200)

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("g")
        await _settle(pilot)
        await pilot.press("down")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_help_lists_the_keys(snap_compare: Snap, small_project: Path,
                             app_for: AppFor) -> None:
    app = app_for(small_project, coder="kh", screen="help")
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_error_dialog_has_the_hint(snap_compare: Snap, small_project: Path,
                                   app_for: AppFor) -> None:
    app = app_for(small_project, coder="kh")

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        pilot.app.push_screen(ErrorModal("V7.docx: the file is empty",
                                         "check that it was saved; qcode read 0 bytes"))
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)
