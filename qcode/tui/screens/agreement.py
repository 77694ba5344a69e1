"""Agreement between any number of coders per code, and the disagreements to resolve."""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from qcode import services
from qcode.errors import QcodeError
from qcode.tui.data import list_coders
from qcode.tui.messages import DisagreementsFound
from qcode.tui.screens.base import QScreen

UNITS = ("turn", "sentence", "paragraph", "document")
DECISIONS = {"a": "kept A's coding", "b": "kept B's coding", "both": "all are right",
             "neither": "none is right", "discuss": "to discuss"}
CONSENSUS = "consensus"
Pairwise = dict[tuple[str, str], dict[str, float | None]]


def letter(index: int) -> str:
    """A, B, C … for the compared coders (then A2, B2 … after Z)."""
    base = chr(ord("A") + index % 26)
    return base if index < 26 else f"{base}{index // 26 + 1}"


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


def mean_kappa(values: Sequence[float | None]) -> float | None:
    """Light's κ: the mean of the pairwise Cohen's κ that could be computed."""
    found = [v for v in values if v is not None and not math.isnan(v)]
    return sum(found) / len(found) if found else None


class AgreementScreen(QScreen):
    """Krippendorff's α for the chosen coders, κ per pair, disagreements per code."""

    MODE = "agreement"
    HELP_TITLE = "Agreement"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "compute", "Compute", id="agreement.compute",
                tooltip="α for all chosen coders, κ (per pair) and % agreement per code"),
        Binding("c", "coders", "Coders", id="agreement.coders",
                tooltip="choose which coders to compare (two or more)"),
        Binding("t", "unit", "Unit", id="agreement.unit",
                tooltip="turns, sentences, paragraphs or documents as units"),
        Binding("s", "choose_codes", "Codes", id="agreement.codes",
                tooltip="which codes to compare (each with its sub-codes); at first the top "
                        "two levels of every codebook"),
        Binding("a", "keep(0)", "Keep A", id="agreement.keep-a", show=False,
                tooltip="the first coder's codings of the unit become the consensus"),
        Binding("b", "keep(1)", "Keep B", id="agreement.keep-b", show=False),
        Binding("2", "resolve('both')", "All", id="agreement.both", show=False,
                tooltip="every coder's codings of the unit are right"),
        Binding("0", "resolve('neither')", "None", id="agreement.neither", show=False,
                tooltip="the unit should not have the code"),
        Binding("k", "keep_chosen", "Keep …", id="agreement.keep-chosen", show=False,
                tooltip="choose whose codings of the unit to keep (any of the coders)"),
        Binding("d", "resolve('discuss')", "Discuss", id="agreement.discuss", show=False,
                tooltip="mark the unit for discussion, with a note"),
        Binding("v", "view", "View in text", id="agreement.view", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.coders: list[str] = []
        self.codes: list[str] = []  # chosen codes; empty: the service's default
        self.unit = "turn"
        self.report: Any = None
        self.pairwise: Pairwise = {}
        self.disagreements: list[Any] = []
        self.stale = False
        self._columns_for = -1
        self._finding: tuple[Any, ...] | None = None  # the disagreements being found now
        self._next_find: tuple[Any, ...] | None = None  # asked for while that runs

    def compose_body(self) -> ComposeResult:
        yield Static("", id="agree-head", markup=False)
        yield Static("", id="agree-empty", markup=False)
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
        self._columns(2)

    def _columns(self, n: int) -> None:
        if self._columns_for == n:
            return
        self._columns_for = n
        table = self.query_one("#agree-table", DataTable)
        table.clear(columns=True)
        coded = "/".join(letter(i) for i in range(n)) if n <= 4 else "per coder"
        for key, label in (("code", "Code"), ("units", "Units"), ("coded", f"Coded {coded}"),
                           ("alpha", "α"), ("ci", "95% CI"),
                           ("kappa", "κ" if n == 2 else "mean κ"),
                           ("percent", "Agree" if n == 2 else "All agree"),
                           ("reading", "Reading")):
            table.add_column(label, key=key)

    # -- state ------------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Settle the coders and show what is known."""
        available = [c.id for c in list_coders(self.qapp.store)]
        self.coders = [c for c in self.coders if c in available]
        if len(self.coders) < 2:
            self.coders = [c for c in available if c != CONSENSUS]
        if self.report is not None:
            self.stale = True
        else:
            self._columns(max(len(self.coders), 2))
        self._head()

    def _label(self, coder: str) -> str:
        return letter(self.coders.index(coder)) if coder in self.coders else "?"

    def _head(self) -> None:
        head = Text(no_wrap=True, overflow="ellipsis")
        enough = len(self.coders) >= 2
        self.query_one("#agree-head").display = enough
        self.query_one("#agree-main").display = enough
        empty = self.query_one("#agree-empty", Static)
        empty.display = not enough
        if not enough:
            have = f"one, {self.coders[0]}" if self.coders else "no coders yet"
            empty.update(Text.assemble(
                ("Agreement needs two coders who coded the same documents.\n\n", "bold"),
                f"This project has {have}. Each coder codes the same interviews under their "
                "own coder id (c on the Home or Coding screen switches who is coding; 'qcode "
                "bundle' merges the work of coders on other machines). Then g here computes "
                "Krippendorff's α per code."))
            return
        head.append(" · ".join(f"{letter(i)} = {c}" for i, c in enumerate(self.coders)),
                    "bold")
        head.append(f" · unit: {self.unit}")
        if self.codes:
            head.append(f" · {len(self.codes)} chosen codes")
        if self.report is None:
            head.append(" · g computes Krippendorff's α per code (a few seconds); c chooses "
                        "the coders", "italic")
        else:
            head.append(f" · {len(self.report.documents)} documents coded by all")
            if self.stale:
                head.append(" · the project changed since: g computes again", "italic")
        row = self._row_data()
        if row is not None:
            head.append(f"\n{row.path}: ", "bold")
            head.append(str(row.reading))
            pairs = self._pair_kappas(row.code)
            if pairs:
                head.append("\nκ per pair: ", "bold")
                head.append(" · ".join(f"{self._label(a)}–{self._label(b)} {_fmt(k)}"
                                       for (a, b), k in pairs))
        self.query_one("#agree-head", Static).update(head)

    def _pair_kappas(self, code: str) -> list[tuple[tuple[str, str], float | None]]:
        return [(pair, by_code.get(code)) for pair, by_code in self.pairwise.items()]

    # -- choosing ---------------------------------------------------------------------

    def action_coders(self) -> None:
        """Choose the coders to compare (two or more)."""
        from qcode.tui.screens.modals import MultiChoiceModal

        app = self.qapp
        options: list[tuple[str, str | Text]] = [
            (c.id, c.id if c.id != CONSENSUS else f"{c.id} (the resolved codings)")
            for c in list_coders(app.store)]
        if len(options) < 2:
            app.notify("Agreement needs at least two coders in the project", severity="warning",
                       timeout=4)
            return

        def chosen(coders: list[str] | None) -> None:
            if not coders:
                return
            self.coders = coders
            self.report = None
            self.pairwise = {}
            self.query_one("#agree-table", DataTable).clear()
            self._columns(len(coders))
            self._load_disagreements()
            self._head()

        app.push_screen(MultiChoiceModal(
            "Compare which coders?", options, selected=self.coders, minimum=2,
            help="α is computed for all of them together, κ for every pair; only documents "
                 "that all of them coded are compared."), chosen)

    def action_choose_codes(self) -> None:
        """Choose the codes whose agreement is computed."""
        from qcode.tui.screens.modals import MultiChoiceModal

        app = self.qapp
        marks = app.marks()
        options: list[tuple[str, str | Text]] = []
        for code in app.codes():
            label = Text("  " * code.depth)
            label.append(f"{marks.get(code.id).symbol} ", marks.get(code.id).style)
            label.append(code.name)
            options.append((code.id, label))
        if not options:
            app.notify("No codes yet: load a codebook first", severity="warning", timeout=4)
            return
        default = [c.id for c in app.codes() if c.depth <= 1]

        def chosen(codes: list[str] | None) -> None:
            if codes is None:
                return
            self.codes = [] if sorted(codes) == sorted(default) else codes
            self._head()
            if self.report is not None:
                self.action_compute()

        app.push_screen(MultiChoiceModal(
            "Compare which codes?", options, selected=self.codes or default, minimum=1,
            help="Each code counts with its sub-codes."), chosen)

    def action_unit(self) -> None:
        """Switch between turns, sentences, paragraphs and documents as units."""
        self.unit = UNITS[(UNITS.index(self.unit) + 1) % len(UNITS)]
        self._head()
        if self.report is not None:
            self.action_compute()

    # -- computing --------------------------------------------------------------------

    def action_compute(self) -> None:
        """Compute agreement in the background: α for all, κ for every pair."""
        app = self.qapp
        if len(self.coders) < 2:
            self._head()
            return
        coders, unit, codes = list(self.coders), self.unit, list(self.codes) or None
        pairs = list(itertools.combinations(coders, 2)) if len(coders) > 2 else []
        bootstrap = app.settings.agreement_bootstrap
        actor = app.actor

        def task(store: Any, progress: Callable[[int, int, str], None],
                 cancel: threading.Event) -> tuple[Any, Pairwise]:
            steps = 1 + len(pairs)
            progress(0, steps, f"comparing {', '.join(coders)} by {unit} …")
            report = services.compute_agreement(store, coders, unit=unit, codes=codes,
                                                bootstrap=bootstrap)
            pairwise: Pairwise = {}
            for i, (a, b) in enumerate(pairs, start=1):
                progress(i, steps, f"κ of {a} and {b} …")
                if not report.documents:
                    break
                pair = services.compute_agreement(store, [a, b], unit=unit, codes=codes,
                                                  bootstrap=0, documents=report.documents)
                pairwise[(a, b)] = {r.code: r.kappa for r in pair.rows}
            # ends a blind-coding phase, as 'qcode agree' does
            services.mark_agreement_computed(store, coders, actor=actor)
            return report, pairwise

        def done(result: tuple[Any, Pairwise]) -> None:
            app.revision += 1  # blind coding may have ended: other screens reload
            self._seen_revision = app.revision
            self._show(*result)

        app.run_task("Computing agreement", task, done)

    def _show(self, report: Any, pairwise: Pairwise) -> None:
        self.report = report
        self.pairwise = pairwise
        self.stale = False
        coders = list(report.coders)
        self._columns(len(coders))
        table = self.query_one("#agree-table", DataTable)
        table.clear()
        marks = self.qapp.marks()
        for row in report.rows:
            coded = "/".join(str(row.coded_by.get(c, 0)) for c in coders)
            ci = f"{_fmt(row.ci_low)}–{_fmt(row.ci_high)}" if row.ci_low is not None else "–"
            kappa = row.kappa if len(coders) == 2 else \
                mean_kappa([by_code.get(row.code) for by_code in pairwise.values()])
            mark = marks.get(row.code)
            depth = row.path.count("/")
            label = "  " * depth + f"{mark.symbol} {row.path.rsplit('/', 1)[-1]}"
            if getattr(row, "group", "all") not in ("all", ""):
                label += f" · {row.group}"
            table.add_row(label, str(row.n_units), coded, _fmt(row.alpha), ci, _fmt(kappa),
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

    # -- disagreements ----------------------------------------------------------------

    def _load_disagreements(self, highlight: int = 0) -> None:
        """Find the highlighted code's disagreements in the background (seconds on a large
        project); one search at a time, the newest request next."""
        code = self._code()
        if code is None or self.report is None:
            self.disagreements = []
            self.query_one("#disagreements", OptionList).clear_options()
            self.query_one("#dis-head", Static).update("")
            self.query_one("#dis-detail", Static).update("")
            return
        request = (tuple(self.report.coders), code, self.unit, highlight)
        self.query_one("#dis-head", Static).update(Text.assemble(
            (f"Disagreements on {self.qapp.marks().get(code).name}: ", "bold"),
            ("finding them …", "italic")))
        if self._finding is not None:
            self._next_find = request
            return
        self._finding = request
        self._find_disagreements(self.qapp.project_path, request)

    @work(thread=True, group="disagreements", exit_on_error=False)
    def _find_disagreements(self, path: Any, request: tuple[Any, ...]) -> None:
        coders, code, unit, _highlight = request
        try:
            store = services.open_project(path)
            try:
                found = services.disagreements(store, list(coders), code, unit)
            finally:
                store.close()
        except BaseException as exc:  # shown by the handler; the search must end either way
            self.post_message(DisagreementsFound(request, [], exc))
            return
        self.post_message(DisagreementsFound(request, found))

    @on(DisagreementsFound)
    def _found(self, event: DisagreementsFound) -> None:
        self._finding = None
        waiting, self._next_find = self._next_find, None
        if waiting is not None and waiting[:3] != event.request[:3]:
            self._finding = waiting
            self._find_disagreements(self.qapp.project_path, waiting)
            return
        if waiting is not None:
            event.request = waiting  # same search, newer highlight
        if event.error is not None:
            if isinstance(event.error, QcodeError):
                self.qapp.show_error(event.error)
            else:
                self.qapp.show_bug(event.error)
            return
        coders, code, unit, highlight = event.request
        if self.report is None or code != self._code() or unit != self.unit:
            return
        self._show_disagreements(list(coders), code, event.found, highlight)

    def _show_disagreements(self, coders: list[str], code: str, found: list[Any],
                            highlight: int) -> None:
        app = self.qapp
        options = self.query_one("#disagreements", OptionList)
        self.disagreements = found
        items = []
        for i, d in enumerate(self.disagreements):
            label = Text()
            label.append(f"{d.document}", "bold")
            yes = [self._label(c) for c in coders if d.values.get(c)]
            label.append(f"  coded by {', '.join(yes)}" if len(coders) > 2 or len(yes) != 1
                         else f"  {yes[0]} only", "italic")
            if d.decided:
                label.append(f"  ✔ {self._decision_text(d.decided)}", "bold green")
            text = " ".join(d.text.split())
            label.append(f"\n  «{text[:140]}{'…' if len(text) > 140 else ''}»", "dim")
            items.append(Option(label, id=str(i)))
        options.set_options(items)
        if items:
            options.highlighted = max(0, min(highlight, len(items) - 1))
        else:
            self.query_one("#dis-detail", Static).update("")
        keys = "a b keep A/B · 2 all · 0 none · k keep … · d discuss · v view"
        self.query_one("#dis-head", Static).update(Text.assemble(
            (f"Disagreements on {app.marks().get(code).name}: {len(items)}", "bold"),
            (f"  (Tab) {keys}", "dim"), no_wrap=True, overflow="ellipsis"))

    def _decision_text(self, decided: str) -> str:
        if decided.startswith("keep:"):
            kept = decided.split(":", 1)[1].split(",")
            return "kept " + ", ".join(f"{self._label(c)} ({c})" for c in kept)
        if decided in ("a", "b") and self.report is not None:
            index = 0 if decided == "a" else 1
            coders = list(self.report.coders)
            if index < len(coders):
                return f"kept {letter(index)} ({coders[index]})"
        return DECISIONS.get(decided, decided)

    def _current(self) -> Any:
        option = self.query_one("#disagreements", OptionList).highlighted_option
        if option is None or option.id is None:
            return None
        return self.disagreements[int(option.id)]

    @on(OptionList.OptionHighlighted, "#disagreements")
    def _disagreement(self) -> None:
        d = self._current()
        if d is None or self.report is None:
            return
        app = self.qapp
        coders = list(self.report.coders)
        out = Text()
        if d.context_before:
            out.append(f"{d.context_before}\n", "dim")
        out.append(d.text, "bold")
        if d.context_after:
            out.append(f"\n{d.context_after}", "dim")
        codings = app.attempt(services.list_codings, app.store, document=d.document,
                              code=d.code) or []
        marks = app.marks()
        cells = []
        for c in coders:
            cell = Text()
            mine = [k for k in codings if k.coder_id == c and k.start < d.end and k.end > d.start]
            if not mine:
                cell.append("– not coded", "dim")
            for k in mine:
                mark = marks.get(k.code_id)
                cell.append(f"{mark.symbol} ", mark.style)
                cell.append(f"{mark.name}\n", "bold")
                text = " ".join(k.text.split())
                cell.append(f"«{text[:90]}{'…' if len(text) > 90 else ''}»\n")
            cells.append(cell)
        width = self.query_one("#dis-detail-box").size.width
        side = Table(expand=True, show_edge=False, padding=(0, 1), box=None)
        if width >= 20 * len(coders):  # the coders side by side
            for c in coders:
                side.add_column(Text(f"{self._label(c)} {c}", style="bold"), ratio=1)
            side.add_row(*cells)
        else:  # too narrow for columns: one coder under the other
            side.add_column(no_wrap=True)
            side.add_column(ratio=1)
            for c, cell in zip(coders, cells, strict=True):
                side.add_row(Text(self._label(c), style="bold"),
                             Text.assemble((f"{c}\n", "bold"), cell))
        body = Text()
        if d.decided:
            body.append(f"✔ {self._decision_text(d.decided)}\n", "bold green")
        body.append_text(out)
        detail = self.query_one("#dis-detail", Static)
        from rich.console import Group

        detail.update(Group(side, Text(""), body))
        box = self.query_one("#dis-detail-box", VerticalScroll)
        box.scroll_home(animate=False, immediate=True)
        self.call_after_refresh(box.scroll_home, animate=False)

    def _resolve(self, run: Callable[[], int | None], what: str) -> None:
        app = self.qapp
        options = self.query_one("#disagreements", OptionList)
        position = options.highlighted or 0
        if run() is None:
            return
        app.notify(f"Resolved: {what}", timeout=3, markup=False)
        app.revision += 1
        self._seen_revision = app.revision
        self._load_disagreements(highlight=position + 1)

    def action_keep(self, index: int) -> None:
        """Keep the codings of coder A (0) or B (1) for the highlighted unit."""
        d = self._current()
        if d is None or self.report is None:
            return
        coders = list(self.report.coders)
        if index >= len(coders):
            return
        app = self.qapp
        self._resolve(lambda: app.attempt(services.resolve_by_keeping, app.store, d,
                                          [coders[index]], coders=coders, actor=app.actor),
                      f"kept {letter(index)} ({coders[index]})")

    def action_keep_chosen(self) -> None:
        """Choose whose codings of the highlighted unit to keep."""
        from qcode.tui.screens.modals import MultiChoiceModal

        d = self._current()
        if d is None or self.report is None:
            return
        app = self.qapp
        coders = list(self.report.coders)
        options: list[tuple[str, str | Text]] = [
            (c, f"{self._label(c)} {c}  ({'coded' if d.values.get(c) else 'not coded'})")
            for c in coders]

        def chosen(keep: list[str] | None) -> None:
            if keep is None:
                return
            self._resolve(lambda: app.attempt(services.resolve_by_keeping, app.store, d, keep,
                                              coders=coders, actor=app.actor),
                          "kept " + ", ".join(keep))

        app.push_screen(MultiChoiceModal(
            "Keep whose codings of this unit?", options,
            selected=[c for c in coders if d.values.get(c)], minimum=1,
            help="Their codings become the consensus codings (0 keeps none)."), chosen)

    def action_resolve(self, decision: str) -> None:
        """Resolve the highlighted disagreement: all, none, or discuss later."""
        d = self._current()
        if d is None or self.report is None:
            return
        app = self.qapp
        coders = list(self.report.coders)

        def apply(note: str) -> None:
            self._resolve(lambda: app.attempt(services.resolve_disagreement, app.store, d,
                                              decision, note=note, coders=coders,
                                              actor=app.actor), DECISIONS[decision])

        if decision == "discuss":
            from qcode.tui.screens.modals import InputModal

            app.push_screen(InputModal("Note for the discussion", multiline=True),
                            lambda note: apply(note) if note is not None else None)
        else:
            apply("")

    def action_view(self) -> None:
        """Show the highlighted disagreement in the coding view."""
        d = self._current()
        if d is not None:
            self.qapp.open_document(d.document, start=d.start, end=d.end)
