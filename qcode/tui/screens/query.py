"""Queries and reports: type a query (checked as you type), read hits, store and export."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from qcode import services
from qcode.errors import QcodeError, QueryError
from qcode.tui.app import settle_memory
from qcode.tui.data import saved_queries
from qcode.tui.messages import QueryFinished
from qcode.tui.screens.base import QScreen
from qcode.tui.screens.modals import ChoiceModal, ConfirmModal, FilePickerModal, InputModal

#: Hits listed at once; a last line lists the next page.
HITS_PAGE = 50

UNITS = (("excerpt", "excerpts"), ("turn", "turns"), ("document", "documents"))
EXPORT_FORMATS = (
    ("docx", "Word: quote tables per code, with coverage"),
    ("xlsx", "Excel: one sheet per code"),
    ("csv", "CSV: one row per quote"),
    ("md", "Markdown"),
    ("html", "HTML"),
)
MEASURES = (
    ("codings", "codings: how many codings"),
    ("informants", "informants: how many informants said it"),
    ("documents", "documents: in how many documents"),
    ("turns", "turns: how many turns the codings touch"),
)
EXAMPLES = ("samarbeid/relasjoner AND role=jobbspesialist", "tilfredshet AND office=Nord",
            "frustrasjon within 2 turns of innsoking", '"samme gang"')


def check_query(text: str) -> QueryError | None:
    """Parse a query; the error (with its position) or None."""
    from qcode.query.parser import parse

    if not text.strip() or text.startswith("@"):
        return None
    try:
        parse(text)
    except QueryError as exc:
        return exc
    return None


def _slug(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in text.lower())
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")[:40] or "report"


class QueryScreen(QScreen):
    """A query line, its hits with context, the coverage line; save, report, export."""

    MODE = "query"
    HELP_TITLE = "Query and reports"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="query.save",
                tooltip="the query, under a name (run it later as @name)"),
        Binding("ctrl+r", "report", "Store", id="query.report",
                tooltip="store the result as a report: the query, its parameters and a "
                        "snapshot of the hits"),
        Binding("ctrl+t", "export", "Export", id="query.export",
                tooltip="the report as a Word, Excel, CSV, Markdown or HTML quote table"),
        Binding("ctrl+l", "load", "Saved", id="query.load", tooltip="run a saved query",
                show=False),
        Binding("ctrl+g", "reports", "Reports", id="query.reports",
                tooltip="re-run a stored report and see which hits came and went since"),
        Binding("ctrl+f", "frequencies", "Freq", id="query.frequencies",
                tooltip="the frequency table: codings, documents, informants, words per code"),
        Binding("ctrl+n", "matrix", "Matrix", id="query.matrix",
                tooltip="codes by role, document, an attribute, or by codes (co-occurrence)"),
        Binding("escape", "back_to_hits", "Hits", id="query.hits", show=False,
                tooltip="back from a table or a report comparison to the query's hits"),
        Binding("ctrl+o", "open_hit", "Open hit", id="query.open-hit", show=False,
                tooltip="the highlighted hit in the coding view"),
        Binding("slash", "focus_query", "Edit query", id="query.focus", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.result: Any = None
        self.last_query = ""
        self.report_id: int | None = None
        self.mode = "hits"  # hits, diff (a re-run report) or table (frequencies, matrix)
        self.shown_hits: Sequence[Any] = []
        self._listed = 0
        self.diff_signs: list[str] = []
        self.table_title = ""

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="query-bar"):
            yield Input(placeholder="e.g. samarbeid/relasjoner AND role=jobbspesialist",
                        id="query-input")
            yield Select([(label, unit) for unit, label in UNITS], value="excerpt",
                         allow_blank=False, id="query-unit")
        yield Static("", id="query-status", markup=False)
        with Horizontal(id="query-main"):
            yield OptionList(id="hits")
            with VerticalScroll(id="hit-box"):
                yield Static("", id="hit-detail", markup=False)
        table: DataTable[str | int | Text] = DataTable(id="agg-table", zebra_stripes=True,
                                                        cursor_type="row")
        yield table
        yield Static("", id="coverage", markup=False)

    def on_mount(self) -> None:
        """Start with the query line and the examples."""
        self._status_help()
        self._set_mode("hits")

    def _set_mode(self, mode: str) -> None:
        self.mode = mode
        self.query_one("#query-main").display = mode != "table"
        self.query_one("#agg-table").display = mode == "table"

    def refresh_data(self) -> None:
        """Run the last query again (codings may have changed); tables stay as computed."""
        if self.mode != "hits":
            return
        if self.last_query:
            self._run(self.last_query)
        else:
            self.query_one("#query-input", Input).focus()

    def _status_help(self) -> None:
        out = Text()
        out.append("Type a query and press Enter. ", "bold")
        out.append("Examples: " + " · ".join(EXAMPLES), "dim")
        out.append("\nCodes by id or path, AND OR NOT, overlaps, within N turns of, role=…, "
                   "attributes, \"phrases\", tekst:word, @saved-name. See "
                   "docs/query-language.md.", "dim")
        self.query_one("#query-status", Static).update(out)

    @on(Input.Changed, "#query-input")
    def _validate(self, event: Input.Changed) -> None:
        text = event.value
        status = self.query_one("#query-status", Static)
        if not text.strip():
            self._status_help()
            return
        error = check_query(text)
        if error is None:
            status.update(Text("✔ query is well formed · Enter runs it", style="green"))
            return
        out = Text()
        out.append(f"✖ {error.message} at position {error.position + 1}\n", "bold red")
        start = max(0, error.position - 60)
        out.append(f"  {text[start:error.position + 20]}\n")
        out.append("  " + " " * (error.position - start) + "^", "bold red")
        if error.hint:
            out.append(f"  {error.hint}", "italic")
        status.update(out)

    @on(Input.Submitted, "#query-input")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        error = check_query(text)
        if error is not None:
            self.qapp.notify(f"{error.message} at position {error.position + 1}",
                             severity="error", timeout=5, markup=False)
            return
        self._run(text)

    @on(Select.Changed, "#query-unit")
    def _unit_changed(self) -> None:
        if self.last_query:
            self._run(self.last_query)

    @property
    def unit(self) -> str:
        """excerpt, turn or document."""
        value = self.query_one("#query-unit", Select).value
        return str(value) if isinstance(value, str) else "excerpt"

    def run_query(self, text: str) -> None:
        """Put a query in the line and run it."""
        self.query_one("#query-input", Input).value = text
        self._run(text)

    def _run(self, text: str) -> None:
        self.last_query = text
        self.report_id = None
        self._set_mode("hits")
        self.query_one("#coverage", Static).update(Text("running …", style="dim"))
        self._query_worker(self.qapp.project_path, text, self.unit)

    @work(thread=True, exclusive=True, group="query", exit_on_error=False)
    def _query_worker(self, path: Path, text: str, unit: str) -> None:
        worker = get_current_worker()
        store = services.open_project(path)
        try:
            result = services.run_query(store, text, unit=unit, context=1)
            result.hits[:HITS_PAGE]  # the first page is built here, not on the UI thread
        except QcodeError as exc:
            if not worker.is_cancelled:
                self.post_message(QueryFinished(text, error=exc))
            return
        finally:
            store.close()
        if not worker.is_cancelled:
            self.post_message(QueryFinished(text, result=result))

    @on(QueryFinished)
    def _finished(self, event: QueryFinished) -> None:
        if event.query != self.last_query:
            return
        coverage = self.query_one("#coverage", Static)
        hits = self.query_one("#hits", OptionList)
        if event.error is not None:
            self.result = None
            hits.clear_options()
            message = event.error.one_line() if isinstance(event.error, QcodeError) \
                else str(event.error)
            coverage.update(Text(f"✖ {message}", style="bold red"))
            return
        if self.mode != "hits":
            return
        self.result = result = event.result
        settle_memory()  # the corpus the query loaded stays: keep it out of the collector's way
        self._list_hits(result.hits)
        line = Text()
        line.append(f"{len(result.hits)} hits ({result.unit})", "bold")
        if result.coverage:
            line.append(" · Coverage: ")
            line.append(", ".join(c.sentence() for c in result.coverage))
        for warning in result.warnings:
            line.append(f"\n⚠ {warning}", "yellow")
        coverage.update(line)
        self._detail()

    def _list_hits(self, found: Sequence[Any], signs: list[str] | None = None,
                   shown: int | None = None) -> None:
        """Show the first ``shown`` hits in the list (a last line offers the next page);
        ``signs`` marks each as added (+) or removed (-). A query's hits are built as
        they are read, so a result of twelve thousand lists its first page at once."""
        self.shown_hits = found
        self.diff_signs = signs or []
        self._listed = shown = min(HITS_PAGE if shown is None else shown, len(found))
        hits = self.query_one("#hits", OptionList)
        marks = self.qapp.marks()
        options = []
        for i in range(shown):
            hit = found[i]
            label = Text()
            if signs:
                added = signs[i] == "+"
                label.append("+ " if added else "− ", "bold green" if added else "bold red")
            label.append(hit.document, "bold")
            if hit.turn is not None:
                label.append(f" #{hit.turn}")
            if hit.speaker:
                label.append(f" {hit.speaker}")
            if hit.role:
                label.append(f" ({hit.role})", "italic")
            for code in hit.codes[:3]:
                mark = marks.get(code)
                label.append(f" {mark.symbol}", mark.style)
            if hit.coders:
                label.append(f" {', '.join(hit.coders)}", "dim")
            text = " ".join(hit.text.split())
            if text:
                label.append(f"\n  «{text[:150]}{'…' if len(text) > 150 else ''}»",
                             "strike" if signs and signs[i] != "+" else "")
            options.append(Option(label, id=str(i)))
        if shown < len(found):
            rest = len(found) - shown
            options.append(Option(Text(f"… {rest:,} more hits: Enter lists the next "
                                       f"{min(rest, HITS_PAGE):,} (or export the result)",
                                       "italic"), id="more"))
        keep = hits.highlighted if shown > HITS_PAGE else 0
        hits.set_options(options)
        if options:
            hits.highlighted = min(keep or 0, len(options) - 1)

    @on(OptionList.OptionHighlighted, "#hits")
    def _highlighted(self) -> None:
        self._detail()

    def _hit(self) -> Any:
        option = self.query_one("#hits", OptionList).highlighted_option
        if option is None or option.id is None or not option.id.isdigit() \
                or int(option.id) >= len(self.shown_hits):
            return None
        return self.shown_hits[int(option.id)]

    def _detail(self) -> None:
        detail = self.query_one("#hit-detail", Static)
        hit = self._hit()
        if hit is None:
            detail.update("")
            return
        out = Text()
        out.append(f"{hit.document}", "bold")
        out.append(f" · turn {hit.turn} · line {hit.line}\n" if hit.turn else "\n", "dim")
        if hit.context_before:
            out.append(f"{hit.context_before}\n", "dim")
        out.append(hit.text or "(whole document)", "bold")
        out.append("\n")
        if hit.context_after:
            out.append(f"{hit.context_after}\n", "dim")
        marks = self.qapp.marks()
        for code in hit.codes:
            out.append("\n")
            out.append_text(marks.get(code).label(with_path=True))
        out.append("\n\nEnter shows it in the coding view", "dim italic")
        detail.update(out)

    @on(OptionList.OptionSelected, "#hits")
    def _hit_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == "more":
            self._list_hits(self.shown_hits, self.diff_signs or None,
                            self._listed + HITS_PAGE)
            return
        self.action_open_hit()

    def action_open_hit(self) -> None:
        """Show the highlighted hit in the coding view."""
        hit = self._hit()
        if hit is None:
            return
        if self.mode == "hits" and self.unit == "document":
            self.qapp.open_document(hit.document)
        else:
            self.qapp.open_document(hit.document, start=hit.start, end=hit.end)

    def action_focus_query(self) -> None:
        """Go to the query line."""
        self.query_one("#query-input", Input).focus()

    def _need_query(self) -> str | None:
        if not self.last_query:
            self.qapp.notify("Run a query first (type it, then Enter)", severity="warning",
                             timeout=3)
            return None
        return self.last_query

    def action_save(self) -> None:
        """Save the query under a name (run it later as @name)."""
        query = self._need_query()
        if query is None:
            return
        app = self.qapp

        def save(name: str | None) -> None:
            if name and app.succeeded(services.save_query, app.store, name.strip(), query,
                                      actor=app.actor):
                app.notify(f"Saved as @{name.strip()}", timeout=3, markup=False)

        app.push_screen(InputModal("Save the query as", value=_slug(query),
                                   help="One word; run it later as @name."), save)

    def action_load(self) -> None:
        """Choose a saved query and run it."""
        app = self.qapp
        saved = saved_queries(app.store)
        if not saved:
            app.notify("No saved queries yet (Ctrl+S saves the current one)", timeout=3)
            return
        options: list[tuple[str, str | Text]] = []
        for q in saved:
            label = Text(f"@{q.name}", style="bold")
            label.append(f"  {q.query}", "dim")
            options.append((q.query, label))
        app.push_screen(ChoiceModal("Run a saved query", options),
                        lambda q: self.run_query(q) if q else None)

    def _store_report(self, then: Callable[[int], None] | None = None) -> None:
        query = self._need_query()
        if query is None:
            return
        app = self.qapp
        if self.report_id is not None and then is not None:
            then(self.report_id)
            return

        def create(name: str | None) -> None:
            if not name:
                return
            report_id = app.attempt(services.create_report, app.store, name.strip(), query,
                                    unit=self.unit, actor=app.actor)
            if report_id is None:
                return
            self.report_id = report_id
            app.notify(f"Stored report {report_id}: {name.strip()}", timeout=3, markup=False)
            if then is not None:
                then(report_id)

        app.push_screen(InputModal("Name of the report", value=_slug(query),
                                   help="The report keeps the query, its parameters and a "
                                        "snapshot of the hits, so it can be re-run and "
                                        "compared later."), create)

    def action_report(self) -> None:
        """Store the current result as a report."""
        self._store_report()

    def action_export(self) -> None:
        """Store the result as a report and write it to a file."""
        app = self.qapp

        def choose_format(report_id: int) -> None:
            app.push_screen(ChoiceModal("Export as …", list(EXPORT_FORMATS)),
                            lambda fmt: choose_path(report_id, fmt) if fmt else None)

        def choose_path(report_id: int, fmt: str) -> None:
            name = _slug(self.last_query)
            app.push_screen(FilePickerModal(
                "Write the report to …", app.file_root,
                value=str(app.file_root / f"{name}.{fmt}"), must_exist=False,
                allow_dirs=False, help="Type a file name (the folder must exist)."),
                lambda path: export(report_id, fmt, path, False) if path else None)

        def export(report_id: int, fmt: str, path: Path, allow_leaks: bool) -> None:
            def task(store: Any, progress: Callable[[int, int, str], None],
                     cancel: threading.Event) -> Path:
                progress(0, 0, "checking the quotes for leaks and writing …")
                return services.export_report(store, report_id, path, fmt,
                                              allow_leaks=allow_leaks)

            def leaked(error: BaseException) -> bool:
                if not isinstance(error, QcodeError) or "leak" not in error.message:
                    return False
                app.push_screen(ConfirmModal(
                    "Export with possible leaks?", f"{error.message}.\n\nAnonymise first "
                    "(qcode anonymize check), or export anyway if these are false alarms.",
                    yes="Export anyway", no="Cancel", danger=True),
                    lambda ok: export(report_id, fmt, path, True) if ok else None)
                return True

            app.run_task("Exporting …", task,
                         lambda written: app.notify(f"Wrote {written}", timeout=6,
                                                    markup=False),
                         cancellable=False, on_error=leaked)

        self._store_report(choose_format)

    # -- stored reports: re-run and compare -------------------------------------------

    def action_reports(self) -> None:
        """Choose a stored report, re-run it and show what changed since its snapshot."""
        app = self.qapp
        reports = services.list_reports(app.store)
        if not reports:
            app.notify("No stored reports yet: run a query, then Ctrl+R stores it",
                       timeout=4)
            return
        options: list[tuple[str, str | Text]] = []
        for r in reports:
            label = Text(f"{r['id']}  {r['name']}", style="bold")
            label.append(f"  {str(r['created_at'])[:16].replace('T', ' ')}", "dim")
            label.append(f"\n   {r['query']}", "dim")
            options.append((str(r["id"]), label))
        app.push_screen(ChoiceModal(
            "Re-run a stored report", options,
            help="It runs again with the same query and parameters; the new result is stored "
                 "as a new report and compared with the old snapshot."),
            lambda rid: self.rerun_report(int(rid)) if rid else None)

    def rerun_report(self, report_id: int) -> None:
        """Re-run a stored report in the background and show the hits added and removed."""
        app = self.qapp
        actor = app.actor

        def task(store: Any, progress: Callable[[int, int, str], None],
                 cancel: threading.Event) -> tuple[dict[str, Any], dict[str, Any], Any]:
            progress(0, 0, "running the report's query again …")
            old = services.get_report(store, report_id)
            new_id, diff = services.rerun_report(store, report_id, actor=actor)
            return old, services.get_report(store, new_id), diff

        app.run_task("Re-running the report", task, self._show_diff)

    def _show_diff(self, result: tuple[dict[str, Any], dict[str, Any], Any]) -> None:
        old, new, diff = result
        self.last_query = ""
        self._set_mode("diff")
        self.qapp.changed("report")
        self.report_id = new["id"]
        self.query_one("#query-input", Input).value = new["query"]
        self._set_mode("diff")
        added = [SimpleNamespace(**h) for h in diff["added"]]
        removed = [SimpleNamespace(**h) for h in diff["removed"]]
        self._list_hits(added + removed, ["+"] * len(added) + ["-"] * len(removed))
        before, after = len(old["result"]["hits"]), len(new["result"]["hits"])
        line = Text()
        line.append(f"Report «{new['name']}» re-run: ", "bold")
        line.append(f"+{len(added)} ", "bold green")
        line.append(f"−{len(removed)} ", "bold red")
        line.append(f"· {before} hits when it was stored, {after} now (stored again as report "
                    f"{new['id']}; Ctrl+T exports it)")
        old_cov = {c["group"]: len(c["informants"]) for c in old["result"]["coverage"]}
        for c in new["result"]["coverage"]:
            was = old_cov.get(c["group"], 0)
            now = len(c["informants"])
            if now != was:
                line.append(f"\n{c['group']}: {was} → {now} of {c['total']} informants")
        if not added and not removed:
            line.append("\nNo change: the same hits as in the stored snapshot.", "italic")
        self.query_one("#coverage", Static).update(line)
        self.query_one("#query-status", Static).update(Text(
            "Esc goes back to the query's hits · Enter opens a hit in the coding view",
            style="dim"))
        self.query_one("#hits", OptionList).focus()
        self._detail()

    # -- frequencies and matrices -----------------------------------------------------

    def action_frequencies(self) -> None:
        """Show the code frequency table."""

        def task(store: Any, progress: Callable[[int, int, str], None],
                 cancel: threading.Event) -> Any:
            progress(0, 0, "counting per code …")
            return services.frequencies(store)

        self.qapp.run_task("Frequency table", task, self._show_frequencies)

    def _show_frequencies(self, rows: list[Any]) -> None:
        table = self._table("Frequencies per code (sub-codes count in their parents)")
        for key, heading in (("code", "Code"), ("codings", "Codings"),
                             ("documents", "Documents"), ("informants", "Informants"),
                             ("words", "Words")):
            table.add_column(heading, key=key)
        marks = self.qapp.marks()
        for r in rows:
            mark = marks.get(r.code)
            label = Text("  " * r.depth)
            label.append(f"{mark.symbol} ", mark.style)
            label.append(r.name)
            table.add_row(label, *[_number(n) for n in (r.codings, r.documents, r.informants,
                                                         r.words)], key=r.code)

    def action_matrix(self) -> None:
        """Choose what the columns are (and what is counted), then show the matrix."""
        app = self.qapp
        columns = services.matrix_columns(app.store)
        options: list[tuple[str, str | Text]] = []
        for name in columns:
            label = Text(name, style="bold")
            label.append({"codes": "  code x code: co-occurrence",
                          "role": "  the speakers' roles",
                          "document": "  one column per document",
                          "speaker": "  one column per speaker"}.get(name, "  attribute"),
                         "dim")
            options.append((name, label))

        def measure(column: str | None) -> None:
            if column is None:
                return
            app.push_screen(ChoiceModal("Count …", list(MEASURES), selected="codings"),
                            lambda m: self.show_matrix(column, m) if m else None)

        app.push_screen(ChoiceModal("Matrix: codes by …", options), measure)

    def show_matrix(self, column: str, measure: str = "codings") -> None:
        """Compute ``codes x column`` in the background and show it."""

        def task(store: Any, progress: Callable[[int, int, str], None],
                 cancel: threading.Event) -> Any:
            progress(0, 0, f"codes by {column} …")
            return services.matrix(store, "codes", column, measure=measure)

        self.qapp.run_task("Matrix", task, lambda matrix: self._show_matrix(column, matrix))

    def _show_matrix(self, column: str, matrix: Any) -> None:
        marks = self.qapp.marks()
        by_codes = column == "codes"
        what = "codes (overlapping codings)" if by_codes else column
        table = self._table(f"Matrix: codes × {what}, counting {matrix.measure}")
        table.add_column("Code", key="code")
        for col in matrix.columns:
            label = Text(f"{marks.get(col).symbol} ", marks.get(col).style) if by_codes \
                else Text()
            label.append(_short(marks.get(col).name if by_codes else col, 14))
            table.add_column(label, key=f"col:{col}")
        for code in matrix.rows:
            mark = marks.get(code)
            label = Text("  " * matrix.row_labels.get(code, code).count("/"))
            label.append(f"{mark.symbol} ", mark.style)
            label.append(mark.name)
            table.add_row(label, *[_number(matrix.cells[code].get(col, 0))
                                   for col in matrix.columns], key=code)
        if not by_codes:
            table.add_row(Text("all codings", style="italic"),
                          *[_number(matrix.column_totals.get(col, 0)) for col in matrix.columns],
                          key="__total__")

    def _table(self, title: str) -> DataTable[Any]:
        self._set_mode("table")
        self.table_title = title
        table = self.query_one("#agg-table", DataTable)
        table.clear(columns=True)
        self.query_one("#coverage", Static).update(Text(title, style="bold"))
        self.query_one("#query-status", Static).update(Text(
            "Esc goes back to the query's hits · Ctrl+F frequencies · Ctrl+N another matrix",
            style="dim"))
        table.focus()
        return table

    def action_back_to_hits(self) -> None:
        """Leave a table or a report comparison; show the query's hits again."""
        from textual.actions import SkipAction

        if self.mode == "hits":
            raise SkipAction()
        self._set_mode("hits")
        self._status_help()
        if self.last_query:
            self._run(self.last_query)
        else:
            self._list_hits([])
            self.query_one("#coverage", Static).update("")
            self.query_one("#hit-detail", Static).update("")
        self.query_one("#query-input", Input).focus()


def _number(value: int) -> Text:
    """A count, right-aligned; zero as a dot so the pattern of a matrix stands out."""
    return Text(str(value) if value else "·", justify="right",
                style="" if value else "dim")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
