"""Queries and reports: type a query (checked as you type), read hits, store and export."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from qcode import services
from qcode.errors import QcodeError, QueryError
from qcode.tui.data import saved_queries
from qcode.tui.messages import QueryFinished
from qcode.tui.screens.base import QScreen
from qcode.tui.screens.modals import ChoiceModal, ConfirmModal, FilePickerModal, InputModal

UNITS = (("excerpt", "excerpts"), ("turn", "turns"), ("document", "documents"))
EXPORT_FORMATS = (
    ("docx", "Word: quote tables per code, with coverage"),
    ("xlsx", "Excel: one sheet per code"),
    ("csv", "CSV: one row per quote"),
    ("md", "Markdown"),
    ("html", "HTML"),
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
        Binding("ctrl+s", "save", "Save query", id="query.save"),
        Binding("ctrl+r", "report", "Store report", id="query.report",
                tooltip="the query, its parameters and a snapshot of the hits"),
        Binding("ctrl+t", "export", "Export", id="query.export",
                tooltip="the report as a Word, Excel, CSV, Markdown or HTML quote table"),
        Binding("ctrl+l", "load", "Saved", id="query.load", tooltip="run a saved query"),
        Binding("ctrl+o", "open_hit", "Open hit", id="query.open-hit", show=False,
                tooltip="the highlighted hit in the coding view"),
        Binding("slash", "focus_query", "Edit query", id="query.focus", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.result: Any = None
        self.last_query = ""
        self.report_id: int | None = None

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
        yield Static("", id="coverage", markup=False)

    def on_mount(self) -> None:
        """Start with the query line and the examples."""
        self._status_help()

    def refresh_data(self) -> None:
        """Run the last query again (codings may have changed)."""
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
        self.query_one("#coverage", Static).update(Text("running …", style="dim"))
        self._query_worker(self.qapp.project_path, text, self.unit)

    @work(thread=True, exclusive=True, group="query", exit_on_error=False)
    def _query_worker(self, path: Path, text: str, unit: str) -> None:
        worker = get_current_worker()
        store = services.open_project(path)
        try:
            result = services.run_query(store, text, unit=unit, context=1)
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
        self.result = result = event.result
        marks = self.qapp.marks()
        options = []
        for i, hit in enumerate(result.hits):
            label = Text()
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
                label.append(f"\n  «{text[:150]}{'…' if len(text) > 150 else ''}»")
            options.append(Option(label, id=str(i)))
        hits.set_options(options)
        if options:
            hits.highlighted = 0
        line = Text()
        line.append(f"{len(result.hits)} hits ({result.unit})", "bold")
        if result.coverage:
            line.append(" · Coverage: ")
            line.append(", ".join(c.sentence() for c in result.coverage))
        for warning in result.warnings:
            line.append(f"\n⚠ {warning}", "yellow")
        coverage.update(line)
        self._detail()

    @on(OptionList.OptionHighlighted, "#hits")
    def _highlighted(self) -> None:
        self._detail()

    def _hit(self) -> Any:
        option = self.query_one("#hits", OptionList).highlighted_option
        if option is None or self.result is None or option.id is None:
            return None
        return self.result.hits[int(option.id)]

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
    def _hit_selected(self) -> None:
        self.action_open_hit()

    def action_open_hit(self) -> None:
        """Show the highlighted hit in the coding view."""
        hit = self._hit()
        if hit is None:
            return
        if self.unit == "document":
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
