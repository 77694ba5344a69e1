"""Project home: documents, coding progress, leak warnings and memos; import and codebooks."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, DataTable, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from qcode import services
from qcode.errors import QcodeError
from qcode.resources import codebook_dir
from qcode.tui.data import coding_progress, list_coders
from qcode.tui.messages import LeakCount, ProgressStats
from qcode.tui.screens.base import QScreen

IMPORT_TYPES = ".txt .md .docx .odt .pdf .vtt .srt .csv .xlsx"


def _fmt_attrs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v.isoformat() if hasattr(v, 'isoformat') else v}"
                     for k, v in values.items())


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


class ImportPreviewModal(ModalScreen[bool]):
    """What an import would do (the importer's dry run): documents, kinds, speakers, roles."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "answer(False)", "Cancel", id="preview.cancel"),
        Binding("enter", "answer(True)", "Import", id="preview.import"),
    ]

    def __init__(self, report: services.ImportReport) -> None:
        super().__init__(classes="dialog")
        self.report = report

    def compose(self) -> ComposeResult:
        report = self.report
        would = report.count("new") + report.count("new_version")
        with Vertical(classes="dialog-box wide", id="preview-box"):
            yield Label(f"Preview: {would} of {len(report.rows)} documents would be imported",
                        classes="dialog-title")
            table: DataTable[str | int] = DataTable(id="preview-table", cursor_type="row",
                                                    zebra_stripes=True)
            yield table
            yield Static(self._notes(), id="preview-notes", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Import (Enter)", id="import", variant="primary",
                             disabled=would == 0)
                yield Button("Cancel (Esc)", id="cancel")

    def _notes(self) -> Text:
        out = Text()
        unknown = sorted({s for r in self.report.rows for s, role, _n in r.speakers
                          if role is None})
        if unknown:
            out.append("Speakers without a role: ", "bold")
            out.append(", ".join(unknown[:12]) + (" …" if len(unknown) > 12 else ""))
            out.append("  (add a role column to an attributes file, or set roles later "
                       "with 'qcode speakers set-role')\n")
        for r in self.report.rows:
            if r.detail and r.status not in ("new", "unchanged"):
                out.append(f"{r.name}: {r.detail}\n", "red" if r.status == "failed" else "")
            for w in r.warnings:
                out.append(f"warning: {r.name}: {w}\n", "yellow")
        if self.report.attributes:
            out.append(f"Attributes: {self.report.attributes}\n")
        if self.report.skipped:
            out.append(f"Skipped (not a supported type): {len(self.report.skipped)} files\n",
                       "dim")
        return out

    def on_mount(self) -> None:
        """Fill the table."""
        table = self.query_one(DataTable)
        table.add_columns("Document", "Status", "Kind", "Turns", "Words", "Speakers: role")
        for r in self.report.rows:
            status = r.status.replace("_", " ")
            # informants first: their roles are what to check; the interviewer comes last
            speakers = sorted(r.speakers, key=lambda sp: (sp[1] == "interviewer", sp[0]))
            shown = ", ".join(f"{sp}: {role or '?'}" for sp, role, _n in speakers[:4])
            if len(speakers) > 4:
                shown += f" +{len(speakers) - 4}"
            table.add_row(r.name, status, r.kind.replace("_", " "), r.turns, r.words, shown)
        button = self.query_one("#import", Button)
        if not button.disabled:
            button.focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "import")

    def action_answer(self, value: bool) -> None:
        """Import or cancel."""
        if value and self.query_one("#import", Button).disabled:
            return
        self.dismiss(value)


class HomeScreen(QScreen):
    """The project at a glance: documents, progress per coder, leaks, memos."""

    MODE = "home"
    HELP_TITLE = "Home"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="home.open", show=False),
        Binding("i", "import_files", "Import", id="home.import",
                tooltip="a file or a folder, with an optional attributes file; previewed first"),
        Binding("t", "import_attributes", "Attributes", id="home.attributes",
                tooltip="a CSV/XLSX file of speaker or document attributes"),
        Binding("l", "load_codebook", "Codebook", id="home.load-codebook",
                tooltip="one shipped with qcode, or your own YAML/.qdc"),
        Binding("m", "memo", "Memo", id="home.memo", tooltip="on the document"),
        Binding("c", "coder", "Coder", id="home.coder",
                tooltip="who is coding: choose or create a coder id"),
        Binding("r", "recheck", "Recheck", id="home.recheck", show=False,
                tooltip="count coding progress and leak findings again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.documents: list[services.DocumentSummary] = []
        self.leaks: dict[str, int | None] = {}
        self.progress: dict[str, dict[str, tuple[int, int]]] = {}
        self.speaker_attrs: dict[str, dict[str, Any]] = {}
        self._leak_cache: dict[int, int] = {}  # document version id -> high findings
        self._leaks_due: set[str] = set()  # leak counts not yet shown in the table
        self._leak_timer: Timer | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="home-summary", markup=False)
        yield Static("", id="home-banner", markup=False)
        with VerticalScroll(id="home-empty"):
            yield Static(self._welcome(), id="welcome", markup=False)
            with Horizontal(id="welcome-buttons"):
                yield Button("Import files (i)", id="btn-import", variant="primary")
                yield Button("Load a codebook (l)", id="btn-codebook")
        with Horizontal(id="home-main"):
            table: DataTable[str | int | Text] = DataTable(id="docs", cursor_type="row",
                                                           zebra_stripes=True)
            yield table
            with VerticalScroll(id="home-side"):
                yield Static("", id="doc-details", markup=False)

    def _welcome(self) -> Text:
        out = Text()
        out.append("This project is empty. What to do next:\n\n", "bold")
        out.append("1. Import your transcripts: press i\n", "bold")
        out.append(f"Files or a whole folder ({IMPORT_TYPES}). qcode shows the speakers it "
                   "finds and their roles before anything is stored; an attributes file "
                   "(informant, role, office …) can come along.\n")
        out.append("2. Load a codebook: press l\n", "bold")
        shipped = ", ".join(p.stem for p in sorted(codebook_dir().glob("*.yaml")))
        out.append(f"Shipped with qcode: {shipped}; or your own YAML file.\n")
        out.append("3. Open a document and code: ", "bold")
        out.append("Enter on a document, then a applies a code.\n\n")
        out.append("F1 shows every key and the first steps · Ctrl+P finds commands, documents "
                   "and codes", "dim")
        return out

    def on_mount(self) -> None:
        """Set up the table's columns."""
        table = self.query_one("#docs", DataTable)
        table.add_column("Document", key="name")
        table.add_column("Kind", key="kind")
        table.add_column("Words", key="words")
        table.add_column("Coded", key="coded")
        table.add_column("Leaks", key="leaks")
        table.add_column("Turns", key="turns")
        table.add_column("Informants", key="informants")

    # -- data -------------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Reload documents and start the progress and leak counts in the background."""
        app = self.qapp
        store = app.store
        self.documents = services.list_documents(store)
        self.speaker_attrs = {s.id: attrs for s, attrs in services.list_speakers(store)}
        info = services.project_info(store)
        counts = info["counts"]
        n_codes = len(app.codes())
        if self.documents:
            summary = " · ".join((
                _plural(len(self.documents), "document"),
                _plural(counts.get("words", 0), "word"),
                _plural(counts.get("turns", 0), "speaker turn"),
                f"{_plural(counts.get('codebooks', 0), 'codebook')} with "
                f"{_plural(n_codes, 'code')}",
                _plural(counts.get("codings", 0), "coding"),
                _plural(counts.get("memos", 0), "memo")))
        else:
            summary = f"{app.project_path.name}: no documents yet"
        self.query_one("#home-summary", Static).update(summary)
        banner = self.query_one("#home-banner", Static)
        hints = []
        if self.documents and not n_codes:
            hints.append("No codebook yet: press l to load a shipped codebook or your own.")
        if self.documents and not app.coder:
            hints.append("Who is coding? Press c to choose or create your coder id.")
        banner.update("  ".join(hints))
        banner.display = bool(hints)
        empty = not self.documents
        self.query_one("#home-empty").display = empty
        self.query_one("#home-main").display = not empty
        known = self._leak_cache
        self.leaks = {d.document.name: known.get(d.document.id) for d in self.documents}
        self.progress = {}
        self._fill_table()
        if not empty:
            # counted after the table is on screen, so the first paint does not wait for it
            self.call_after_refresh(self._count_in_background)
            self.query_one("#docs", DataTable).focus()
        else:
            self.query_one("#btn-import", Button).focus(scroll_visible=False)

    def _fill_table(self) -> None:
        table = self.query_one("#docs", DataTable)
        keep = table.cursor_row
        table.clear()
        for d in self.documents:
            doc = d.document
            table.add_row(_short(doc.name, 22), doc.kind.replace("_", " "), doc.word_count,
                          self._progress_cell(doc.name), self._leak_cell(doc.name),
                          doc.turn_count,
                          " ".join(d.informants[:6]) + (" …" if len(d.informants) > 6 else ""),
                          key=doc.name)
        if self.documents:
            current = self.qapp.current_document
            names = [d.document.name for d in self.documents]
            row = names.index(current) if current in names else min(keep, len(names) - 1)
            table.move_cursor(row=max(row, 0))
        self._show_details()

    def _progress_cell(self, name: str) -> str:
        if name not in self.progress:
            return "…"
        stats = self.progress[name]
        coder = self.qapp.coder
        if coder and coder in stats:
            done, total = stats[coder]
            return f"{done}/{total}"
        if coder or not stats:
            return "–"
        if len(stats) == 1:
            done, total = next(iter(stats.values()))
            return f"{done}/{total}"
        return f"{len(stats)} coders"

    def _leak_cell(self, name: str) -> Text:
        value = self.leaks.get(name)
        if value is None:
            return Text("…", style="dim")
        if value == 0:
            return Text("–", style="dim")
        return Text(f"⚠ {value}", style="bold red")

    def _count_in_background(self) -> None:
        unchecked = [(d.document.name, d.document.id) for d in self.documents
                     if d.document.id not in self._leak_cache]
        self._count_worker(self.qapp.project_path, unchecked)

    @work(thread=True, exclusive=True, group="home-counts", exit_on_error=False)
    def _count_worker(self, path: Path, unchecked: list[tuple[str, int]]) -> None:
        cancelled = get_current_worker().cancelled_event
        store = services.open_project(path)
        names = {doc_id: name for name, doc_id in unchecked}

        def leak_counts(compute: bool) -> None:
            with suppress(QcodeError):  # a check that cannot run leaves its cells at "…"
                services.leak_counts(
                    store, list(names), cancel=cancelled, compute=compute,
                    on_count=lambda doc_id, high: self.post_message(
                        LeakCount(names.pop(doc_id), doc_id, high)))

        try:
            leak_counts(compute=False)  # the stored counts: a few rows
            stats = coding_progress(store)
            if cancelled.is_set():
                return
            self.post_message(ProgressStats(stats))
            if names:  # documents checked for the first time (after an upgrade)
                leak_counts(compute=True)
        finally:
            store.close()

    @on(ProgressStats)
    def _stats(self, event: ProgressStats) -> None:
        self.progress = event.stats
        table = self.query_one("#docs", DataTable)
        cells = {name: self._progress_cell(name) for name in self.progress
                 if name in table.rows}
        # the column fits its widest new cell; letting every update resize it would
        # measure the whole column once per document (seconds on a large project)
        widest = max(cells, key=lambda n: len(cells[n]), default=None)
        for name, cell in cells.items():
            table.update_cell(name, "coded", cell, update_width=name == widest)
        self._show_details()

    @on(LeakCount)
    def _leak(self, event: LeakCount) -> None:
        self._leak_cache[event.document_id] = event.high
        self.leaks[event.document] = event.high
        self._leaks_due.add(event.document)
        # the table is redrawn at most a few times a second while the counts come in
        if self._leak_timer is None:
            self._leak_timer = self.set_timer(0.3, self._show_leaks)

    def _show_leaks(self) -> None:
        if self._leak_timer is not None:
            self._leak_timer.stop()
            self._leak_timer = None
        due, self._leaks_due = self._leaks_due, set()
        if not due or not self.is_mounted:
            return
        table = self.query_one("#docs", DataTable)
        for name in due:
            if name in table.rows:
                table.update_cell(name, "leaks", self._leak_cell(name))
        if self.selected in due:
            self._show_details()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Show the last leak counts as soon as the counting ends."""
        if event.worker.group == "home-counts" and event.state in (
                WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._show_leaks()

    @property
    def selected(self) -> str | None:
        """The document under the cursor."""
        table = self.query_one("#docs", DataTable)
        if not self.documents or table.row_count == 0:
            return None
        row = min(table.cursor_row, len(self.documents) - 1)
        return self.documents[row].document.name

    @on(DataTable.RowHighlighted, "#docs")
    def _highlighted(self) -> None:
        self._show_details()

    def _show_details(self) -> None:
        details = self.query_one("#doc-details", Static)
        name = self.selected
        if name is None:
            details.update("")
            return
        summary = next(d for d in self.documents if d.document.name == name)
        doc = summary.document
        out = Text()
        out.append(f"{doc.name}\n", "bold")
        out.append(f"{doc.kind.replace('_', ' ')} · version {doc.version} · "
                   f"from {doc.source_name}\n", "dim")
        if summary.attributes:
            out.append(_fmt_attrs(summary.attributes) + "\n")
        for informant in summary.informants[:8]:
            attrs = self.speaker_attrs.get(informant, {})
            out.append(f"{informant}", "bold")
            out.append(f"  {_fmt_attrs(attrs)}\n" if attrs else "\n")
        progress = self.progress.get(name)
        if progress:
            out.append("\nCoded turns\n", "bold underline")
            for coder, (done, total) in progress.items():
                out.append(f"{coder}: {done} of {total}\n")
        leaks = self.leaks.get(name)
        if leaks:
            out.append(f"\n⚠ {leaks} likely anonymisation leaks ", "bold red")
            out.append("(names, numbers …): check with 'qcode anonymize check "
                       f"{name}' before sharing\n")
        memos = services.list_memos(self.qapp.store, "document", name)
        out.append(f"\nMemos ({len(memos)})\n", "bold underline")
        if not memos:
            out.append("none yet · m writes one\n", "dim")
        for memo in memos:
            out.append(f"{memo.author}: ", "bold")
            out.append(f"{memo.body}\n\n")
        details.update(out)

    # -- actions ----------------------------------------------------------------------

    @on(DataTable.RowSelected, "#docs")
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        """Open the highlighted document in the coding view."""
        name = self.selected
        if name is not None:
            self.qapp.open_document(name)

    def action_recheck(self) -> None:
        """Count progress and leaks again."""
        self._leak_cache.clear()
        self.data_changed()

    def action_coder(self) -> None:
        """Switch the active coder."""
        self.qapp.choose_coder()

    def action_memo(self) -> None:
        """Write a memo on the highlighted document."""
        name = self.selected
        if name is None:
            return
        app = self.qapp
        from qcode.tui.screens.modals import InputModal

        def save(body: str | None) -> None:
            if body and body.strip() and app.attempt(
                    services.add_memo, app.store, "document", name, body, author=app.actor):
                app.notify(f"Memo saved on {name}", timeout=3)
                app.changed("memo")

        app.push_screen(InputModal(f"Memo on {name}", multiline=True,
                                   help="A summary, a first impression, something to check."),
                        save)

    @on(Button.Pressed, "#btn-import")
    def _import_button(self) -> None:
        self.action_import_files()

    @on(Button.Pressed, "#btn-codebook")
    def _codebook_button(self) -> None:
        self.action_load_codebook()

    def action_import_files(self) -> None:
        """Choose files or a folder, optionally an attributes file, preview, then import."""
        from qcode.tui.screens.modals import FilePickerModal

        app = self.qapp

        def files_chosen(path: Path | None) -> None:
            if path is None:
                return
            app.push_screen(FilePickerModal(
                "Attributes file (optional)", path.parent,
                help="A CSV or XLSX whose first column is the informant id (or document "
                     "name), e.g. informant, role, office, age. Skip if you have none.",
                allow_dirs=False, skip_label="Skip (Ctrl+N)", suffixes=(".csv", ".xlsx")),
                lambda attrs: attrs_chosen(path, attrs))

        def attrs_chosen(path: Path, attrs: Path | None) -> None:
            if attrs is None:
                return
            attributes = attrs if attrs != Path() else None
            self.preview_import([path], attributes)

        app.push_screen(FilePickerModal(
            "Import transcripts: choose a file or a folder", app.file_root,
            help=f"Supported: {IMPORT_TYPES}. Enter on a file chooses it; for a folder, "
                 "highlight it and press Ctrl+O."), files_chosen)

    def preview_import(self, paths: list[Path], attributes: Path | None) -> None:
        """Dry-run the import in the background, show the preview, then import for real."""
        app = self.qapp

        def dry(store: Any, progress: Callable[[int, int, str], None],
                cancel: threading.Event) -> services.ImportReport:
            options = services.import_options(store)
            return services.import_paths(store, paths, options, attributes=attributes,
                                         dry_run=True, progress=progress)

        def previewed(report: services.ImportReport) -> None:
            app.push_screen(ImportPreviewModal(report),
                            lambda ok: self.run_import(paths, attributes) if ok else None)

        app.run_task("Reading the files …", dry, previewed)

    def run_import(self, paths: list[Path], attributes: Path | None) -> None:
        """Import for real; each file is stored whole or not at all."""
        app = self.qapp
        actor = app.actor

        def real(store: Any, progress: Callable[[int, int, str], None],
                 cancel: threading.Event) -> services.ImportReport:
            options = services.import_options(store)
            return services.import_paths(store, paths, options, attributes=attributes,
                                         actor=actor, progress=progress)

        def imported(report: services.ImportReport) -> None:
            parts = [f"{report.count('new')} new"]
            if report.count("new_version"):
                parts.append(f"{report.count('new_version')} new versions")
            if report.count("unchanged"):
                parts.append(f"{report.count('unchanged')} unchanged")
            if report.failed:
                parts.append(f"{len(report.failed)} failed")
            app.notify("Imported: " + ", ".join(parts) +
                       (f"\n{report.attributes}" if report.attributes else ""),
                       severity="warning" if report.failed else "information", timeout=6)
            if report.failed:
                first = report.failed[0]
                app.notify(f"{first.name}: {first.detail}", severity="error", timeout=10,
                           markup=False)
            app.changed("import")

        app.run_task("Importing …", real, imported)

    def action_import_attributes(self) -> None:
        """Import an attributes file (speakers or documents) on its own."""
        from qcode.tui.screens.modals import FilePickerModal

        app = self.qapp
        service = getattr(services, "import_attributes", None)
        if service is None:
            app.notify("Importing an attributes file on its own is not available yet: "
                       "import it together with the transcripts (i), or use "
                       "'qcode import FILES --attributes FILE'.", severity="warning",
                       timeout=8)
            return

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            result = app.attempt(service, app.store, path, actor=app.actor)
            if result is not None:
                app.notify(f"Attributes: {result}", timeout=5, markup=False)
                app.changed("attributes")

        app.push_screen(FilePickerModal("Attributes file (CSV or XLSX)", app.file_root,
                                        allow_dirs=False, suffixes=(".csv", ".xlsx")), chosen)

    def action_load_codebook(self) -> None:
        """Load a shipped codebook or a YAML/.qdc file."""
        load_codebook_flow(self.qapp)


def _codebook_title(path: Path) -> str:
    """The ``name:`` at the top of a shipped codebook file (read without parsing it all)."""
    try:
        with path.open(encoding="utf-8") as lines:
            for line in itertools.islice(lines, 20):
                if line.startswith("name:"):
                    return line.split(":", 1)[1].strip().strip("'\"")
    except OSError:
        pass
    return "shipped with qcode"


def load_codebook_flow(app: Any) -> None:
    """Offer the shipped codebooks and "another file", then load the choice."""
    from qcode.tui.screens.modals import ChoiceModal, FilePickerModal

    shipped = sorted(codebook_dir().glob("*.yaml"))
    loaded = {b["name"] for b in services.list_codebooks(app.store)}
    options: list[tuple[str, str | Text]] = []
    for p in shipped:
        label = Text(p.stem, style="bold")
        label.append(f"  {_codebook_title(p)}", "dim")
        options.append((str(p), label))
    options.append(("__file__", "Another file (YAML or REFI-QDA .qdc) …"))

    def load(path: Path) -> None:
        report = app.attempt(services.load_codebook_file, app.store, path, actor=app.actor)
        if report is None:
            return
        if report.created:
            app.notify(f"Codebook {report.codebook}: {len(report.added)} codes loaded",
                       timeout=5, markup=False)
        elif report.changed:
            app.notify(f"Codebook {report.codebook} updated: {len(report.added)} added, "
                       f"{len(report.updated)} changed, {len(report.removed)} removed",
                       timeout=5, markup=False)
        else:
            app.notify(f"Codebook {report.codebook} is already loaded and unchanged",
                       timeout=5, markup=False)
        for warning in report.warnings[:3]:
            app.notify(warning, severity="warning", timeout=8, markup=False)
        app.changed("codebook")

    def chosen(value: str | None) -> None:
        if value is None:
            return
        if value == "__file__":
            app.push_screen(FilePickerModal("Codebook file", app.file_root, allow_dirs=False),
                            lambda p: load(p) if p else None)
            return
        load(Path(value))

    help_text = f"Loaded now: {', '.join(sorted(loaded))}." if loaded else \
        "A codebook holds the codes with definitions and when (not) to use them."
    app.push_screen(ChoiceModal("Load a codebook", options, help=help_text), chosen)


__all__ = ["HomeScreen", "ImportPreviewModal", "list_coders", "load_codebook_flow"]
