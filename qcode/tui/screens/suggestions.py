"""Suggestions: proposed codes for the current document, with reasons; accept or reject."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from qcode import services
from qcode.tui.screens.base import QScreen
from qcode.tui.screens.modals import ChoiceModal, ConfirmModal
from qcode.tui.widgets.code_picker import code_entry


def _excerpt(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class SuggestionsScreen(QScreen):
    """Pending suggestions of the current document; one key accepts, one rejects."""

    MODE = "suggestions"
    HELP_TITLE = "Suggestions"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "accept", "Accept", id="suggestions.accept",
                tooltip="it becomes a coding of the active coder"),
        Binding("r", "reject", "Reject", id="suggestions.reject",
                tooltip="never proposed again for this span and code"),
        Binding("A", "accept_code", "Accept all of code", id="suggestions.accept-code",
                tooltip="every pending suggestion of the highlighted code, after a confirmation"),
        Binding("R", "reject_code", "Reject all of code", id="suggestions.reject-code",
                show=False),
        Binding("g", "generate", "Suggest", id="suggestions.run",
                tooltip="annotate the document and propose codes, in the background"),
        Binding("v", "view", "View in text", id="suggestions.view", show=False,
                tooltip="the suggestion in the coding view"),
        Binding("o", "open", "Document", id="suggestions.open", show=False,
                tooltip="choose the document"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.document: str | None = None
        self.pending: list[services.Suggestion] = []
        self.decided = 0

    def compose_body(self) -> ComposeResult:
        yield Static("", id="sugg-head", markup=False)
        with Horizontal(id="sugg-main"):
            table: DataTable[str | Text] = DataTable(id="sugg-table", cursor_type="row",
                                                     zebra_stripes=True)
            yield table
            with VerticalScroll(id="sugg-side"):
                yield Static("", id="sugg-detail", markup=False)

    def on_mount(self) -> None:
        """Set up the table."""
        table = self.query_one("#sugg-table", DataTable)
        table.add_column("Text", key="text")
        table.add_column("Code", key="code")
        table.add_column("Score", key="score")

    def refresh_data(self) -> None:
        """Reload the pending suggestions of the app's current document."""
        app = self.qapp
        name = app.current_document
        if name is None:
            docs = services.list_documents(app.store)
            name = docs[0].document.name if docs else None
        self.document = name
        if name is None:
            self.pending = []
        else:
            found = app.attempt(services.list_suggestions, app.store, document=name,
                                status="pending")
            self.pending = sorted(found or [], key=lambda s: (s.start, -s.score))
        self._fill()

    def _fill(self, keep: int | None = None) -> None:
        app = self.qapp
        table = self.query_one("#sugg-table", DataTable)
        row = table.cursor_row if keep is None else keep
        table.clear()
        marks = app.marks()
        for s in self.pending:
            mark = marks.get(s.code)
            code = Text()
            code.append(f"{mark.symbol} ", mark.style)
            code.append(_excerpt(mark.name, 20))
            table.add_row(_excerpt(s.text, 36), code, f"{s.score:.2f}", key=str(s.id))
        if self.pending:
            table.move_cursor(row=max(0, min(row, len(self.pending) - 1)))
        head = Text()
        if self.document is None:
            head.append("No documents yet: import some on the Home screen (F2, then i).")
        else:
            head.append(f"Suggestions for {self.document}", "bold")
            head.append(f" · {len(self.pending)} pending")
            if app.coder:
                head.append(f" · accepting as {app.coder}")
            if not self.pending:
                head.append(" · press g to propose codes for this document", "italic")
        self.query_one("#sugg-head", Static).update(head)
        self._detail()
        table.focus()

    @property
    def current(self) -> services.Suggestion | None:
        """The highlighted suggestion."""
        table = self.query_one("#sugg-table", DataTable)
        if not self.pending or table.row_count == 0:
            return None
        return self.pending[min(table.cursor_row, len(self.pending) - 1)]

    @on(DataTable.RowHighlighted, "#sugg-table")
    def _highlighted(self) -> None:
        self._detail()

    def _detail(self) -> None:
        detail = self.query_one("#sugg-detail", Static)
        s = self.current
        if s is None:
            detail.update(Text(
                "Suggestions propose codes for sentences, from the codebook's definitions and "
                "indicator words and from what you coded before. Nothing is coded until you "
                "accept it.\n\ng runs the suggester on this document (a few seconds; Esc "
                "cancels). a accepts, r rejects, A accepts all of a code after review.",
                style="dim"))
            return
        app = self.qapp
        out = Text()
        out.append(f"«{s.text}»\n\n", "italic")
        out.append("Why: ", "bold")
        out.append(f"{s.reason}\n", "")
        out.append(f"score {s.score:.2f} · {s.method}\n\n", "dim")
        code = next((c for c in app.codes() if c.id == s.code), None)
        if code is not None:
            out.append_text(code_entry(code, app.marks()))
        detail.update(out)

    # -- decisions --------------------------------------------------------------------

    def _decide(self, ids: list[int], accept: bool) -> None:
        app = self.qapp
        table = self.query_one("#sugg-table", DataTable)
        row = table.cursor_row

        def run(coder: str) -> None:
            fn = services.accept_suggestions if accept else services.reject_suggestions
            if app.attempt(fn, app.store, ids, coder) is None:
                return
            chosen = set(ids)
            self.pending = [s for s in self.pending if s.id not in chosen]
            self.decided += len(ids)
            word = "Accepted" if accept else "Rejected"
            app.notify(f"{word} {len(ids)} suggestion{'s' if len(ids) != 1 else ''}",
                       timeout=2)
            app.revision += 1
            self._seen_revision = app.revision
            self._fill(keep=row)

        app.with_coder(run)

    def action_accept(self) -> None:
        """Accept the highlighted suggestion."""
        if self.current is not None:
            self._decide([self.current.id], True)

    def action_reject(self) -> None:
        """Reject the highlighted suggestion."""
        if self.current is not None:
            self._decide([self.current.id], False)

    def _all_of_code(self, accept: bool) -> None:
        s = self.current
        if s is None:
            return
        app = self.qapp
        same = [x.id for x in self.pending if x.code == s.code]
        name = app.marks().get(s.code).name
        verb = "Accept" if accept else "Reject"

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._decide(same, accept)

        app.push_screen(ConfirmModal(
            f"{verb} all {len(same)} pending suggestions of «{name}»?",
            "Review them first: each one becomes a coding of yours." if accept else
            "They will not be proposed again.", yes=verb), confirmed)

    def action_accept_code(self) -> None:
        """Accept every pending suggestion of the highlighted code."""
        self._all_of_code(True)

    def action_reject_code(self) -> None:
        """Reject every pending suggestion of the highlighted code."""
        self._all_of_code(False)

    def action_view(self) -> None:
        """Show the highlighted suggestion in the coding view."""
        s = self.current
        if s is not None:
            self.qapp.open_document(s.document, start=s.start, end=s.end)

    @on(DataTable.RowSelected, "#sugg-table")
    def _selected(self) -> None:
        self.action_view()

    def action_open(self) -> None:
        """Choose the document to review."""
        app = self.qapp
        docs = services.list_documents(app.store)
        options: list[tuple[str, str | Text]] = [(d.document.name, d.document.name)
                                                 for d in docs]

        def chosen(name: str | None) -> None:
            if name:
                app.current_document = name
                self.refresh_data()

        app.push_screen(ChoiceModal("Suggestions for which document?", options,
                                    selected=self.document), chosen)

    def action_generate(self) -> None:
        """Annotate the document (progress, Esc cancels) and propose codes."""
        name = self.document
        app = self.qapp
        if name is None:
            return
        if not app.codes():
            app.notify("Load a codebook first (Home, then l)", severity="warning", timeout=5)
            return
        coder = app.coder

        def task(store: Any, progress: Callable[[int, int, str], None],
                 cancel: threading.Event) -> int | None:
            progress(0, 0, f"annotating {name} (language analysis) …")
            report = services.annotate_documents(store, [name], progress=progress,
                                                 cancel=cancel)
            if report.cancelled or cancel.is_set():
                return None
            progress(1, 1, "scoring sentences against the codebook …")
            return len(services.suggest(store, documents=[name], coder=coder))

        def done(count: int | None) -> None:
            if count is None:
                return
            app.notify(f"{count} suggestions for {name}", timeout=4)
            app.changed("suggestions")

        app.run_task(f"Suggesting codes for {name}", task, done)
