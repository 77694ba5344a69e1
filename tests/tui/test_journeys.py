"""Pilot journeys through the TUI, each checked against the project read back through services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from qcode import services
from qcode.tui.app import QcodeApp
from qcode.tui.screens.coding import CodingScreen
from qcode.tui.screens.home import ImportPreviewModal
from qcode.tui.screens.modals import ChoiceModal, FilePickerModal, InputModal
from qcode.tui.widgets.code_picker import CodePicker
from tests.tui.conftest import run, settle

AppFor = Callable[..., QcodeApp]


def test_import_files_and_attributes_after_a_preview(
        project_path: Path, transcript_dir: Path, informants_csv: Path,
        app_for: AppFor, files_root: Path) -> None:
    app = app_for(project_path, coder="kh")

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert app.screen.query_one("#home-empty").display
            await pilot.press("i")
            await pilot.pause()
            assert isinstance(app.screen, FilePickerModal)
            app.screen.query_one("#path", Input).value = str(transcript_dir)
            await pilot.press("ctrl+o")
            await pilot.pause()
            assert isinstance(app.screen, FilePickerModal)  # the attributes file
            app.screen.query_one("#path", Input).value = str(informants_csv)
            await pilot.press("ctrl+o")
            await settle(app, pilot)
            assert isinstance(app.screen, ImportPreviewModal)
            preview = app.screen.report
            assert preview.dry_run and preview.count("new") == 3
            assert {s for r in preview.rows for s, _role, _n in r.speakers} >= {"JS1", "V1"}
            store = services.open_project(project_path)
            assert services.list_documents(store) == []  # nothing stored by the preview
            store.close()
            await pilot.press("enter")
            await settle(app, pilot)
            assert not isinstance(app.screen, ImportPreviewModal)

    run(journey())
    store = services.open_project(project_path)
    try:
        docs = {d.document.name for d in services.list_documents(store)}
        assert docs == {"JS1", "V1", "V2"}
        speakers = {s.id: (s.role, attrs) for s, attrs in services.list_speakers(store)}
        assert speakers["JS1"][0] == "jobbspesialist"
        assert speakers["V2"][1]["office"] == "Sør"
    finally:
        store.close()


def test_code_a_span_with_the_picker_and_undo(small_project: Path, app_for: AppFor) -> None:
    app = app_for(small_project, coder="kh", document="JS1")

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, CodingScreen)
            await pilot.press("down", "down")  # turn 3: the first informant turn
            turn = screen.view.cursor_turn
            assert turn is not None and turn.speaker == "JS1"
            await pilot.press("s")  # its first sentence
            span = screen.view.selection
            assert span is not None and screen.view.selected_text() == "Det går bra."
            await pilot.press("a")
            await pilot.pause()
            assert isinstance(app.screen, CodePicker)
            await pilot.press(*"nærhet")
            await pilot.press("enter")
            await pilot.pause()
            store = services.open_project(small_project)
            codings = services.list_codings(store, document="JS1")
            store.close()
            assert [(k.code_id, k.coder_id, k.start, k.end) for k in codings] == \
                [("relasjoner", "kh", span[0], span[1])]
            assert app.recent_codes == ["relasjoner"]
            await pilot.press("down", "1")  # the next turn, with recent code 1
            await pilot.pause()
            await pilot.press("u")
            await pilot.pause()

    run(journey())
    store = services.open_project(small_project)
    try:
        codings = services.list_codings(store, document="JS1")
        assert [k.code_id for k in codings] == ["relasjoner"]  # the second one undone
        assert codings[0].text == "Det går bra."
    finally:
        store.close()


def test_accept_and_reject_suggestions(demo_project: Path, app_for: AppFor) -> None:
    app = app_for(demo_project, coder="kh", screen="suggestions")
    app.current_document = "V2"

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await pilot.press("g")
            await settle(app, pilot)
            screen = app.screen
            pending = list(screen.pending)  # type: ignore[attr-defined]
            assert len(pending) >= 2
            first, second = pending[0], pending[1]
            await pilot.press("a")
            await pilot.pause()
            await pilot.press("r")
            await pilot.pause()
            left = {s.id for s in screen.pending}  # type: ignore[attr-defined]
            assert first.id not in left and second.id not in left
            store = services.open_project(demo_project)
            try:
                decided = {s.id: s.status for s in services.list_suggestions(store)
                           if s.status != "pending"}
                assert decided == {first.id: "accepted", second.id: "rejected"}
                codings = services.list_codings(store, document="V2", coder="kh")
                assert [(k.code_id, k.start, k.end) for k in codings] == \
                    [(first.code, first.start, first.end)]
            finally:
                store.close()

    run(journey())


def test_a_long_result_lists_a_page_at_a_time(demo_project: Path, app_for: AppFor,
                                              monkeypatch: Any) -> None:
    from textual.widgets import OptionList

    from qcode.tui.screens import query as query_screen

    monkeypatch.setattr(query_screen, "HITS_PAGE", 10)
    app = app_for(demo_project, coder="coder-a", screen="query")

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            app.screen.query_one("#query-input", Input).value = "samarbeid"
            await pilot.press("enter")
            await settle(app, pilot)
            screen = app.screen
            total = len(screen.result.hits)  # type: ignore[attr-defined]
            assert total > 20
            listed = screen.query_one("#hits", OptionList)
            assert listed.option_count == 11  # ten hits and "… more hits"
            more = listed.get_option_at_index(10)
            assert more.id == "more" and f"{total - 10:,} more hits" in str(more.prompt)
            listed.focus()
            listed.highlighted = 10
            await pilot.press("enter")
            await settle(app, pilot)
            assert listed.option_count == 21 and listed.highlighted == 10
            third = screen.result.hits[12]  # type: ignore[attr-defined]
            listed.highlighted = 12
            await pilot.press("enter")  # a hit of the second page opens where it is
            await settle(app, pilot)
            assert isinstance(app.screen, CodingScreen)
            assert app.current_document == third.document

    run(journey())


def test_run_a_query_store_it_as_a_report_and_export_it(
        demo_project: Path, app_for: AppFor, files_root: Path) -> None:
    app = app_for(demo_project, coder="coder-a", screen="query")
    out = files_root / "relasjoner.csv"

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            query = app.screen.query_one("#query-input", Input)
            query.value = "samarbeid/relasjoner AND role=jobbspesialist"
            await pilot.press("enter")
            await settle(app, pilot)
            screen = app.screen
            assert screen.result is not None  # type: ignore[attr-defined]
            hits = screen.result.hits  # type: ignore[attr-defined]
            assert hits and all(h.role == "jobbspesialist" for h in hits)
            coverage = str(screen.query_one("#coverage").render())
            assert "of 30 jobbspesialist informants" in coverage
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert isinstance(app.screen, InputModal)
            app.screen.query_one("#value", Input).value = "relasjoner-js"
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert isinstance(app.screen, InputModal)  # the report's name
            app.screen.query_one("#value", Input).value = "Relasjoner (JS)"
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, ChoiceModal)
            await pilot.press("down", "down", "enter")  # csv
            await pilot.pause()
            assert isinstance(app.screen, FilePickerModal)
            app.screen.query_one("#path", Input).value = str(out)
            await pilot.press("enter")
            await settle(app, pilot)

    run(journey())
    assert out.exists() and "jobbspesialist" in out.read_text(encoding="utf-8-sig")
    store = services.open_project(demo_project)
    try:
        assert [r["name"] for r in services.list_reports(store)] == ["Relasjoner (JS)"]
        assert services.resolve_saved(store, "@relasjoner-js") == \
            "samarbeid/relasjoner AND role=jobbspesialist"
    finally:
        store.close()


def test_agreement_then_resolve_a_disagreement(demo_project: Path, app_for: AppFor) -> None:
    app = app_for(demo_project, coder="coder-a", screen="agreement", agreement_bootstrap=0)

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert screen.coders == ["coder-a", "coder-b"]  # type: ignore[attr-defined]
            await pilot.press("g")
            await settle(app, pilot)
            report = screen.report  # type: ignore[attr-defined]
            assert report is not None and report.rows
            assert screen.disagreements  # type: ignore[attr-defined]
            first = screen.disagreements[0]  # type: ignore[attr-defined]
            await pilot.press("tab")
            await pilot.press("a")
            await settle(app, pilot)
            kept = [c for c, v in first.values.items() if v]
            store = services.open_project(demo_project)
            try:
                consensus = services.list_codings(store, document=first.document,
                                                  coder="consensus")
                if kept == ["coder-a"]:
                    assert any(k.start < first.end and k.end > first.start for k in consensus)
                else:
                    assert not consensus
                history = services.history(store, limit=5)
                assert any(h["kind"] == "review.decide" for h in history)
            finally:
                store.close()

    run(journey())


def test_codebook_rename_add_and_delete_with_undo(small_project: Path, app_for: AppFor) -> None:
    app = app_for(small_project, coder="kh", screen="codebook")

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            tree = screen.query_one("#code-tree")
            assert screen.code_tree.selected_code == "samarbeid"  # type: ignore[attr-defined]
            await pilot.press("down", "down")  # forutsetninger, relasjoner
            assert screen.code_tree.selected_code == "relasjoner"  # type: ignore[attr-defined]
            await pilot.press("r")
            await pilot.pause()
            app.screen.query_one("#value", Input).value = "Nærhet"
            await pilot.press("enter")
            await pilot.pause()
            await pilot.press("n")  # a new code under «Nærhet»
            await pilot.pause()
            form = app.screen
            form.query_one("#field-id", Input).value = "lunsj"
            form.query_one("#field-name", Input).value = "Lunsj sammen"
            from textual.widgets import TextArea
            form.query_one("#field-definition", TextArea).text = "Uformelle møter i lunsjen."
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert tree.has_focus
            await pilot.press("d")
            await pilot.pause()
            await pilot.press("y")
            await pilot.pause()
            store = services.open_project(small_project)
            try:
                ids = {c.id for c in services.list_codes(store)}
                assert "lunsj" not in ids
                assert services.resolve_code(store, "relasjoner").name == "Nærhet"
            finally:
                store.close()
            await pilot.press("u")  # the deletion comes back
            await pilot.pause()

    run(journey())
    store = services.open_project(small_project)
    try:
        lunsj = services.resolve_code(store, "lunsj")
        assert lunsj.parent_id == "relasjoner" and lunsj.definition.startswith("Uformelle")
    finally:
        store.close()


def test_command_palette_opens_documents_codes_and_saved_queries(
        small_project: Path, app_for: AppFor) -> None:
    store = services.open_project(small_project)
    services.save_query(store, "rel", "relasjoner", actor="kh")
    store.close()
    app = app_for(small_project, coder="kh")

    async def choose(pilot: Pilot[None], text: str) -> None:
        await pilot.press("ctrl+p")
        await pilot.pause()
        app.screen.query_one(Input).value = text
        await pilot.pause(0.6)
        await pilot.press("enter")
        await settle(app, pilot)

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            await choose(pilot, "Open V1")
            assert isinstance(app.screen, CodingScreen)
            assert app.screen.document is not None and app.screen.document.name == "V1"
            await choose(pilot, "Code Relasjoner og fysisk")
            assert app.current_mode == "codebook"
            assert app.screen.code_tree.selected_code == "relasjoner"  # type: ignore[attr-defined]
            await choose(pilot, "Query @rel")
            assert app.current_mode == "query"
            assert app.screen.last_query == "relasjoner"  # type: ignore[attr-defined]

    run(journey())


def _add_third_coder(project: Path) -> None:
    """coder-c codes like coder-a, leaving out every third coding."""
    store = services.open_project(project)
    try:
        docs_b = {k.document for k in services.list_codings(store, coder="coder-b")}
        requests = [services.SpanRequest(k.document, k.code_id, start=k.start, end=k.end)
                    for i, k in enumerate(services.list_codings(store, coder="coder-a"))
                    if k.document in docs_b and i % 3]
        services.apply_codings(store, requests, "coder-c")
    finally:
        store.close()


def test_agreement_of_three_coders_and_keep_one_of_them(demo_project: Path,
                                                         app_for: AppFor) -> None:
    from textual.widgets import DataTable, SelectionList

    from qcode.tui.screens.agreement import AgreementScreen
    from qcode.tui.screens.modals import MultiChoiceModal

    _add_third_coder(demo_project)
    coders = ["coder-a", "coder-b", "coder-c"]
    app = app_for(demo_project, coder="coder-a", screen="agreement", agreement_bootstrap=0)
    resolved: list[Any] = []

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, AgreementScreen)
            assert screen.coders == coders  # every coder but the consensus
            await pilot.press("g")
            await settle(app, pilot)
            report = screen.report
            assert report is not None and report.coders == coders and report.rows
            assert set(screen.pairwise) == {("coder-a", "coder-b"), ("coder-a", "coder-c"),
                                            ("coder-b", "coder-c")}
            table = screen.query_one("#agree-table", DataTable)
            labels = [str(c.label) for c in table.columns.values()]
            assert "mean κ" in labels and "Coded A/B/C" in labels
            head = str(screen.query_one("#agree-head").render())
            assert "C = coder-c" in head and "κ per pair: A–B" in head
            assert screen.disagreements
            target = next(d for d in screen.disagreements if d.values["coder-c"])
            index = screen.disagreements.index(target)
            await pilot.press("tab")
            screen.query_one("#disagreements").highlighted = index  # type: ignore[attr-defined]
            await pilot.pause()
            detail = _plain(screen.query_one("#dis-detail", Static).content)
            assert all(c in detail for c in coders)  # each coder's codings of the unit
            assert "not coded" in detail
            await pilot.press("k")
            await pilot.pause()
            assert isinstance(app.screen, MultiChoiceModal)
            choices = app.screen.query_one(SelectionList)
            assert sorted(choices.selected) == sorted(c for c in coders if target.values[c])
            choices.deselect_all()
            choices.select("coder-c")
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert isinstance(app.screen, AgreementScreen)
            resolved.append(target)
            # fewer coders: back to a pair, with Cohen's κ
            await pilot.press("c")
            await pilot.pause()
            assert isinstance(app.screen, MultiChoiceModal)
            await pilot.press("down", "down", "space", "ctrl+s")
            await pilot.pause()
            assert screen.coders == ["coder-a", "coder-b"] and screen.report is None
            await pilot.press("g")
            await settle(app, pilot)
            assert screen.report.coders == ["coder-a", "coder-b"] and not screen.pairwise
            labels = [str(c.label) for c in table.columns.values()]
            assert "κ" in labels and "mean κ" not in labels

    run(journey())
    [d] = resolved
    store = services.open_project(demo_project)
    try:
        consensus = [(k.code_id, k.start, k.end) for k in services.list_codings(
            store, document=d.document, coder="consensus") if k.start < d.end and k.end > d.start]
        family = {d.code, *store.descendants(d.code)}
        kept = sorted((k.code_id, k.start, k.end) for k in services.list_codings(
            store, document=d.document, coder="coder-c")
            if k.start < d.end and k.end > d.start and k.code_id in family)
        assert kept and sorted(consensus) == kept
        again = services.disagreements(store, coders, d.code, "turn")
        assert [x.decided for x in again if (x.document, x.start) == (d.document, d.start)] \
            == ["keep:coder-c"]
    finally:
        store.close()


def _plain(renderable: Any) -> str:
    """What a widget's content reads as, without styles."""
    from rich.console import Console

    console = Console(width=120, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_rerun_a_stored_report_and_read_frequencies_and_matrices(demo_project: Path,
                                                                  app_for: AppFor) -> None:
    from textual.widgets import DataTable, OptionList

    from qcode.tui.screens.query import QueryScreen

    query = "tilfredshet AND office=Nord"
    store = services.open_project(demo_project)
    try:
        report_id = services.create_report(store, "Fornøyde i Nord", query, actor="coder-a")
        [gone, *_rest] = services.run_query(store, query).hits
        doomed = [str(k.id) for k in services.list_codings(store, document=gone.document,
                                                            code="tilfredshet")
                  if k.start < gone.end and k.end > gone.start]
        services.remove_codings(store, doomed, actor="coder-a")
        frequencies = {r.code: r for r in services.frequencies(store)}
        office = services.matrix(store, "codes", "office", measure="informants")
        columns = services.matrix_columns(store)
    finally:
        store.close()
    app = app_for(demo_project, coder="coder-a", screen="query")

    async def choose(pilot: Pilot[None], index: int) -> None:
        assert isinstance(app.screen, ChoiceModal)
        app.screen.query_one(OptionList).highlighted = index
        await pilot.press("enter")
        await pilot.pause()

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, QueryScreen)
            await pilot.press("ctrl+g")  # the stored reports
            await pilot.pause()
            await choose(pilot, 0)
            await settle(app, pilot)
            assert screen.mode == "diff" and screen.diff_signs == ["-"]
            assert (screen.shown_hits[0].document, screen.shown_hits[0].start) == \
                (gone.document, gone.start)
            coverage = _plain(screen.query_one("#coverage", Static).content)
            assert "+0 −1" in coverage
            await pilot.press("ctrl+f")  # the frequency table
            await settle(app, pilot)
            assert screen.mode == "table"
            table = screen.query_one("#agg-table", DataTable)
            assert table.row_count == len(frequencies)
            row = table.get_row("samarbeid")
            assert [str(v) for v in row[1:]] == [str(getattr(frequencies["samarbeid"], f))
                                                 for f in ("codings", "documents",
                                                           "informants", "words")]
            await pilot.press("ctrl+n")  # codes x office, counting informants
            await pilot.pause()
            await choose(pilot, columns.index("office"))
            await choose(pilot, 1)
            await settle(app, pilot)
            labels = [str(c.label) for c in table.columns.values()]
            assert labels == ["Code", *office.columns]
            row = table.get_row("samarbeid")
            assert [str(v) for v in row[1:]] == [
                str(office.cells["samarbeid"][c] or "·") for c in office.columns]
            await pilot.press("escape")  # back to the hits
            await settle(app, pilot)
            assert screen.mode == "hits"

    run(journey())
    store = services.open_project(demo_project)
    try:
        reports = services.list_reports(store)
        assert sorted(r["name"] for r in reports) == ["Fornøyde i Nord"] * 2
        new = max(r["id"] for r in reports)
        assert new != report_id
        old_hits = services.get_report(store, report_id)["result"]["hits"]
        new_hits = services.get_report(store, new)["result"]["hits"]
        assert len(new_hits) == len(old_hits) - 1
    finally:
        store.close()


def test_the_app_uses_the_project_its_caller_opened(small_project: Path) -> None:
    from qcode.tui import TuiSettings, make_app

    store = services.open_project(small_project)
    app = make_app(small_project, TuiSettings(coder="kh"), store=store)

    async def journey() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(app, pilot)
            assert app.store is store  # one integrity check at start, not two
            assert app.screen.query_one("#docs").row_count == 3  # type: ignore[attr-defined]

    run(journey())
    store.close()  # closing again after the app did is harmless


def test_agreement_on_chosen_codes(demo_project: Path, app_for: AppFor) -> None:
    from textual.widgets import SelectionList

    from qcode.tui.screens.agreement import AgreementScreen
    from qcode.tui.screens.modals import MultiChoiceModal

    app = app_for(demo_project, coder="coder-a", screen="agreement", agreement_bootstrap=0)
    shown: list[tuple[str, float]] = []

    async def journey() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, AgreementScreen)
            await pilot.press("s")
            await pilot.pause()
            assert isinstance(app.screen, MultiChoiceModal)
            choices = app.screen.query_one(SelectionList)
            choices.deselect_all()
            choices.select("ledelse")
            choices.select("relasjoner")
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert screen.codes == ["relasjoner", "ledelse"]  # in codebook order
            await pilot.press("g")
            await settle(app, pilot)
            shown.extend((r.code, r.alpha) for r in screen.report.rows)

    run(journey())
    store = services.open_project(demo_project)
    try:
        report = services.compute_agreement(store, ["coder-a", "coder-b"], unit="turn",
                                            codes=["relasjoner", "ledelse"], bootstrap=0)
        assert shown == [(r.code, r.alpha) for r in report.rows]
        assert [c for c, _a in shown] == ["relasjoner", "ledelse"]
    finally:
        store.close()
