"""Agreement between two coders per code, and the disagreements to discuss and resolve."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from qcode import services
from qcode.tui.data import list_coders
from qcode.tui.screens.base import QScreen
from qcode.tui.screens.modals import ChoiceModal, InputModal

UNITS = ("turn", "sentence", "paragraph", "document")
DECISIONS = {"a": "keep A's coding", "b": "keep B's coding", "both": "both are right",
             "neither": "neither", "discuss": "discuss later"}


def agreement_service() -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]] | None:
    """The agreement services, or None while this qcode has none yet."""
    try:
        from qcode.services import (  # type: ignore[attr-defined,unused-ignore]
            compute_agreement,
            disagreements,
            resolve_disagreement,
        )
    except ImportError:
        return None
    return compute_agreement, disagreements, resolve_disagreement


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _percent(value: Any) -> str:
    if not isinstance(value, float) or math.isnan(value):
        return "–"
    return f"{100 * value:.0f}%"


class AgreementScreen(QScreen):
    """Krippendorff's alpha and percent agreement per code; disagreements per code."""

    MODE = "agreement"
    HELP_TITLE = "Agreement"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "compute", "Compute", id="agreement.compute",
                tooltip="α, κ and % agreement per code for coders A and B"),
        Binding("c", "coders", "Coders", id="agreement.coders", tooltip="choose coders A and B"),
        Binding("t", "unit", "Unit", id="agreement.unit",
                tooltip="turns, sentences, paragraphs or documents as units"),
        Binding("a", "resolve('a')", "Keep A", id="agreement.keep-a", show=False),
        Binding("b", "resolve('b')", "Keep B", id="agreement.keep-b", show=False),
        Binding("2", "resolve('both')", "Both", id="agreement.both", show=False),
        Binding("0", "resolve('neither')", "Neither", id="agreement.neither", show=False),
        Binding("d", "resolve('discuss')", "Discuss", id="agreement.discuss", show=False),
        Binding("v", "view", "View in text", id="agreement.view", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.coders: list[str] = []
        self.unit = "turn"
        self.report: Any = None
        self.disagreements: list[Any] = []
        self.stale = False

    def compose_body(self) -> ComposeResult:
        yield Static("", id="agree-head", markup=False)
        with Vertical(id="agree-main"):
            table: DataTable[str] = DataTable(id="agree-table", cursor_type="row",
                                              zebra_stripes=True)
            yield table
            yield Static("", id="dis-head", markup=False)
            with Horizontal(id="dis-main"):
                yield OptionList(id="disagreements")
                with VerticalScroll(id="dis-detail-box"):
                    yield Static("", id="dis-detail", markup=False)

    def on_mount(self) -> None:
        """Columns of the agreement table."""
        table = self.query_one("#agree-table", DataTable)
        for key, label in (("code", "Code"), ("units", "Units"), ("coded", "Coded A/B"),
                           ("alpha", "α"), ("ci", "95% CI"), ("kappa", "κ"),
                           ("percent", "Agree"), ("reading", "Reading")):
            table.add_column(label, key=key)

    def refresh_data(self) -> None:
        """Settle the coders and show what is known."""
        app = self.qapp
        available = [c.id for c in list_coders(app.store)]
        self.coders = [c for c in self.coders if c in available]
        for c in available:
            if len(self.coders) >= 2:
                break
            if c not in self.coders:
                self.coders.append(c)
        self._head()
        if agreement_service() is None:
            self.query_one("#agree-main").display = False
            return
        if self.report is not None:
            self.stale = True
            self._head()

    def _head(self) -> None:
        head = Text()
        if agreement_service() is None:
            head.append("Agreement is not available yet in this version of qcode.\n", "bold")
            head.append("The agreement service (Krippendorff's alpha per code, disagreements "
                        "to resolve) is being written; update qcode to use this screen.",
                        "dim")
            self.query_one("#agree-head", Static).update(head)
            return
        if len(self.coders) < 2:
            head.append("Agreement needs two coders who coded the same documents. ", "bold")
            head.append(f"This project has {len(self.coders)}.", "dim")
        else:
            a, b = self.coders[:2]
            head.append(f"A = {a} · B = {b}", "bold")
            head.append(f" · unit: {self.unit}")
            if self.report is None:
                head.append(" · g computes Krippendorff's α per code (a few seconds)",
                            "italic")
            else:
                head.append(f" · {len(self.report.documents)} documents coded by both")
                if self.stale:
                    head.append(" · the project changed since: g computes again", "italic")
            row = self._row_data()
            if row is not None:
                head.append(f"\n{row.path}: ", "bold")
                head.append(str(row.reading))
        self.query_one("#agree-head", Static).update(head)

    def action_coders(self) -> None:
        """Choose coders A and B."""
        app = self.qapp
        coders = [(c.id, c.id) for c in list_coders(app.store)]

        def first(a: str | None) -> None:
            if a is None:
                return
            rest = [(cid, label) for cid, label in coders if cid != a]
            app.push_screen(ChoiceModal("Coder B", rest), lambda b: second(a, b))

        def second(a: str, b: str | None) -> None:
            if b is None:
                return
            self.coders = [a, b]
            self.report = None
            self._head()

        app.push_screen(ChoiceModal("Coder A", coders), first)

    def action_unit(self) -> None:
        """Switch between turns and sentences as units."""
        self.unit = UNITS[(UNITS.index(self.unit) + 1) % len(UNITS)]
        self._head()
        if self.report is not None:
            self.action_compute()

    def action_compute(self) -> None:
        """Compute agreement in the background."""
        service = agreement_service()
        app = self.qapp
        if service is None or len(self.coders) < 2:
            self._head()
            return
        compute = service[0]
        coders, unit = list(self.coders[:2]), self.unit
        bootstrap = app.settings.agreement_bootstrap
        actor = app.actor

        def task(store: Any, progress: Callable[[int, int, str], None],
                 cancel: threading.Event) -> Any:
            progress(0, 0, f"comparing {coders[0]} and {coders[1]} by {unit} …")
            report = compute(store, coders, unit=unit, bootstrap=bootstrap)
            mark = getattr(services, "mark_agreement_computed", None)
            if mark is not None:  # ends a blind-coding phase, as 'qcode agree' does
                mark(store, coders, actor=actor)
            return report

        def done(report: Any) -> None:
            app.revision += 1  # blind coding may have ended: other screens reload
            self._seen_revision = app.revision
            self._show(report)

        app.run_task("Computing agreement", task, done)

    def _show(self, report: Any) -> None:
        self.report = report
        self.stale = False
        table = self.query_one("#agree-table", DataTable)
        table.clear()
        marks = self.qapp.marks()
        a, b = self.coders[:2]
        for row in report.rows:
            coded = f"{row.coded_by.get(a, 0)}/{row.coded_by.get(b, 0)}"
            ci = f"{_fmt(row.ci_low)}–{_fmt(row.ci_high)}" if row.ci_low is not None else "–"
            mark = marks.get(row.code)
            depth = row.path.count("/")
            label = "  " * depth + f"{mark.symbol} {row.path.rsplit('/', 1)[-1]}"
            if getattr(row, "group", "all") not in ("all", ""):
                label += f" · {row.group}"
            table.add_row(label, str(row.n_units), coded,
                          _fmt(row.alpha), ci, _fmt(getattr(row, "kappa", None)),
                          _percent(row.percent), str(row.reading).split(":")[0],
                          key=f"{row.code}:{getattr(row, 'group', '')}")
        if report.rows:
            table.move_cursor(row=0)
        table.focus()
        notes = list(getattr(report, "notes", []))
        if notes:
            self.qapp.notify("; ".join(notes), severity="warning", timeout=6, markup=False)
        self._head()
        self._load_disagreements()

    @on(DataTable.RowHighlighted, "#agree-table")
    def _row(self) -> None:
        self._head()
        self._load_disagreements()

    def _row_data(self) -> Any:
        if self.report is None or not self.report.rows:
            return None
        table = self.query_one("#agree-table", DataTable)
        return self.report.rows[min(table.cursor_row, len(self.report.rows) - 1)]

    def _code(self) -> str | None:
        row = self._row_data()
        return None if row is None else str(row.code)

    def _load_disagreements(self) -> None:
        service = agreement_service()
        code = self._code()
        options = self.query_one("#disagreements", OptionList)
        head = self.query_one("#dis-head", Static)
        if service is None or code is None:
            options.clear_options()
            head.update("")
            return
        app = self.qapp
        unit = self.unit if self.unit in ("turn", "sentence", "paragraph", "document") \
            else "turn"
        found = app.attempt(service[1], app.store, list(self.coders[:2]), code, unit)
        self.disagreements = list(found or [])
        a, b = self.coders[:2]
        items = []
        for i, d in enumerate(self.disagreements):
            label = Text()
            label.append(f"{d.document}", "bold")
            who = "A only" if d.values.get(a) else "B only" if d.values.get(b) else "?"
            label.append(f"  {who}", "italic")
            decided = getattr(d, "decided", None)
            if decided:
                label.append(f"  ✔ {DECISIONS.get(decided, decided)}", "bold green")
            text = " ".join(d.text.split())
            label.append(f"\n  «{text[:140]}{'…' if len(text) > 140 else ''}»", "dim")
            items.append(Option(label, id=str(i)))
        options.set_options(items)
        if items:
            options.highlighted = 0
        head.update(Text.assemble(
            (f"Disagreements on {app.marks().get(code).name}: {len(items)}", "bold"),
            ("  Tab to the list · a keep A · b keep B · 2 both · 0 neither · d discuss · "
             "v view", "dim")))

    def _current(self) -> Any:
        option = self.query_one("#disagreements", OptionList).highlighted_option
        if option is None or option.id is None:
            return None
        return self.disagreements[int(option.id)]

    @on(OptionList.OptionHighlighted, "#disagreements")
    def _disagreement(self) -> None:
        d = self._current()
        if d is None:
            return
        a, b = self.coders[:2]
        out = Text()
        if getattr(d, "context_before", ""):
            out.append(f"{d.context_before}\n", "dim")
        out.append(d.text, "bold")
        if getattr(d, "context_after", ""):
            out.append(f"\n{d.context_after}", "dim")
        out.append(f"\n\nA ({a}): {'coded' if d.values.get(a) else 'not coded'} · "
                   f"B ({b}): {'coded' if d.values.get(b) else 'not coded'}", "italic")
        self.query_one("#dis-detail", Static).update(out)

    def action_resolve(self, decision: str) -> None:
        """Resolve the highlighted disagreement."""
        service = agreement_service()
        d = self._current()
        if service is None or d is None:
            return
        app = self.qapp

        def apply(note: str) -> None:
            if app.succeeded(service[2], app.store, d, decision, note=note,
                             coders=list(self.coders[:2]), actor=app.actor):
                app.notify(f"Resolved: {DECISIONS[decision]}", timeout=3)
                app.revision += 1
                self._seen_revision = app.revision
                self._load_disagreements()

        if decision == "discuss":
            app.push_screen(InputModal("Note for the discussion", multiline=True),
                            lambda note: apply(note) if note is not None else None)
        else:
            apply("")

    def action_view(self) -> None:
        """Show the highlighted disagreement in the coding view."""
        d = self._current()
        if d is not None:
            self.qapp.open_document(d.document, start=d.start, end=d.end)
