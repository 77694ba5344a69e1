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


def test_editing_the_span_of_a_coding(snap_compare: Snap, demo_project: Path,
                                      app_for: AppFor) -> None:
    app = app_for(demo_project, coder="coder-a", document="JS1")

    async def before(pilot: Any) -> None:
        await TestCoding._at_turn_5(pilot)
        await pilot.press("a")
        await pilot.pause()
        pilot.app.screen.query_one(Input).value = "rolleforståelse"
        await _settle(pilot)
        await pilot.press("enter")
        await _settle(pilot)
        await pilot.press("v")  # two codings of coder-a here: which one?
        await pilot.pause()
        await pilot.press("enter")  # the new one (the shortest comes first)
        await pilot.press("s", "right")  # its end: a sentence, then a word further
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_import_preview_at_80x24(snap_compare: Snap, project_path: Path,
                                 transcript_dir: Path, informants_csv: Path,
                                 app_for: AppFor) -> None:
    app = app_for(project_path, coder="kh")

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        home = pilot.app.screen
        assert isinstance(home, HomeScreen)
        home.preview_import([transcript_dir], informants_csv)
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_suggestions_at_80x24(snap_compare: Snap, demo_project: Path,
                              app_for: AppFor) -> None:
    app = app_for(demo_project, coder="coder-a", screen="suggestions")
    app.current_document = "V2"

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("g")
        await _settle(pilot)
        await pilot.press("down")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


class TestReports:
    @staticmethod
    def _query_screen(demo_project: Path, app_for: AppFor) -> QcodeApp:
        from qcode import services

        store = services.open_project(demo_project)
        try:
            query = "tilfredshet AND office=Nord"
            services.create_report(store, "Fornøyde i Nord", query, actor="coder-a")
            [gone, *_rest] = services.run_query(store, query).hits
            services.remove_codings(store, [
                str(k.id) for k in services.list_codings(store, document=gone.document,
                                                          code="tilfredshet")
                if k.start < gone.end and k.end > gone.start], actor="coder-a")
        finally:
            store.close()
        return app_for(demo_project, coder="coder-a", screen="query")

    def test_a_rerun_report_lists_what_changed(self, snap_compare: Snap, demo_project: Path,
                                               app_for: AppFor) -> None:
        app = self._query_screen(demo_project, app_for)

        async def before(pilot: Any) -> None:
            await _settle(pilot)
            await pilot.press("ctrl+g")
            await pilot.pause()
            await pilot.press("enter")
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=before)

    def test_frequency_table(self, snap_compare: Snap, demo_project: Path,
                             app_for: AppFor) -> None:
        app = app_for(demo_project, coder="coder-a", screen="query")

        async def before(pilot: Any) -> None:
            await _settle(pilot)
            await pilot.press("ctrl+f")
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=before)

    def test_code_by_role_matrix(self, snap_compare: Snap, demo_project: Path,
                                 app_for: AppFor) -> None:
        app = app_for(demo_project, coder="coder-a", screen="query")

        async def before(pilot: Any) -> None:
            await _settle(pilot)
            pilot.app.screen.show_matrix("role", "informants")
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=before)

    def test_code_by_code_matrix(self, snap_compare: Snap, demo_project: Path,
                                 app_for: AppFor) -> None:
        app = app_for(demo_project, coder="coder-a", screen="query")

        async def before(pilot: Any) -> None:
            await _settle(pilot)
            pilot.app.screen.show_matrix("codes")
            await _settle(pilot)

        assert snap_compare(app, terminal_size=SIZE, run_before=before)


class TestAgreement:
    @staticmethod
    def _three_coders(demo_project: Path) -> None:
        from tests.tui.test_journeys import _add_third_coder

        _add_third_coder(demo_project)

    def test_three_coders_and_a_unit_side_by_side(self, snap_compare: Snap,
                                                  demo_project: Path,
                                                  app_for: AppFor) -> None:
        self._three_coders(demo_project)
        app = app_for(demo_project, coder="coder-a", screen="agreement",
                      agreement_bootstrap=200)

        async def before(pilot: Any) -> None:
            await _settle(pilot)
            await pilot.press("g")
            await _settle(pilot)
            await pilot.press("down", "tab", "down")
            await _settle(pilot)

        assert snap_compare(app, terminal_size=(120, 36), run_before=before)

    def test_three_coders_at_80x24(self, snap_compare: Snap, demo_project: Path,
                                   app_for: AppFor) -> None:
        self._three_coders(demo_project)
        app = app_for(demo_project, coder="coder-a", screen="agreement",
                      agreement_bootstrap=200)

        async def before(pilot: Any) -> None:
            await _settle(pilot)
            await pilot.press("g")
            await _settle(pilot)
            await pilot.press("tab")
            await _settle(pilot)

        assert snap_compare(app, terminal_size=(80, 24), run_before=before)

    def test_one_coder_says_what_is_needed(self, snap_compare: Snap, small_project: Path,
                                           app_for: AppFor) -> None:
        app = app_for(small_project, coder="kh", screen="agreement")
        assert snap_compare(app, terminal_size=SIZE, run_before=_settle)
