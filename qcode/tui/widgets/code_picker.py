"""The fuzzy code picker: type part of a name or a definition, read the entry, press Enter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from qcode.models import CodeInfo
from qcode.tui.widgets.marks import MarkBook

TOP_LEVEL = "__top__"
MIN_SCORE = 68.0


def rank_codes(query: str, codes: Sequence[CodeInfo],
               recent: Sequence[str] = ()) -> list[CodeInfo]:
    """Codes matching ``query`` best first: names, ids and paths, then definitions.

    An empty query lists recently used codes first, then the tree in order.
    """
    query = query.strip()
    if not query:
        first = [c for cid in recent for c in codes if c.id == cid]
        return first + [c for c in codes if c.id not in recent]
    from rapidfuzz import fuzz, utils

    needle = utils.default_process(query)
    scored: list[tuple[float, int, CodeInfo]] = []
    for order, code in enumerate(codes):
        name = utils.default_process(code.name)
        if needle in name:
            score = 100.0 + (5.0 if name.startswith(needle) or f" {needle}" in name else 0.0)
        else:
            score = max(fuzz.partial_ratio(needle, name) * 0.95,
                        fuzz.WRatio(needle, name) * 0.85)
        score = max(score, fuzz.partial_ratio(needle, code.path.replace("-", " ").replace(
            "/", " "), processor=utils.default_process) * 0.85)
        if len(needle) >= 4:
            about = " ".join((code.definition, code.when_to_use, " ".join(code.indicators)))
            score = max(score, fuzz.partial_ratio(needle, about,
                                                  processor=utils.default_process) * 0.7)
        if score >= MIN_SCORE:
            scored.append((score, order, code))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [c for _s, _o, c in scored]


def code_entry(code: CodeInfo, marks: MarkBook, counts: tuple[int, int] | None = None) -> Text:
    """A code's full codebook entry as rich text."""
    mark = marks.get(code.id)
    out = Text()
    out.append(f"{mark.symbol} ", mark.style)
    out.append(code.name, "bold")
    out.append(f"  [{code.id}]\n", "dim")
    out.append(f"{code.path}\n", "dim")
    for label, value in (("Definition", code.definition), ("When to use", code.when_to_use),
                         ("When not to use", code.when_not_to_use), ("Example", code.example),
                         ("Indicators", ", ".join(code.indicators)), ("Memo", code.memo)):
        if value:
            out.append(f"\n{label}\n", "bold underline")
            out.append(f"{value}\n")
    if counts is not None:
        out.append(f"\nCodings: {counts[0]} · informants: {counts[1]}\n", "dim")
    return out


class CodePicker(ModalScreen[str | None]):
    """Choose a code; the highlighted code's definition is shown before it is applied.

    Returns the code id, ``TOP_LEVEL`` (when offered) or None.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("up", "move(-1)", "Previous code", id="picker.up", show=False),
        Binding("down", "move(1)", "Next code", id="picker.down", show=False),
        Binding("pageup", "move(-8)", "Page up", id="picker.page-up", show=False),
        Binding("pagedown", "move(8)", "Page down", id="picker.page-down", show=False),
    ]

    def __init__(self, codes: Sequence[CodeInfo], marks: MarkBook, *,
                 title: str = "Apply a code", subject: str = "",
                 recent: Sequence[str] = (), counts: dict[str, tuple[int, int]] | None = None,
                 offer_top_level: bool = False, exclude: Sequence[str] = ()) -> None:
        super().__init__(classes="dialog picker")
        self.codes = [c for c in codes if c.id not in exclude]
        self.marks = marks
        self.title_text = title
        self.subject = subject
        self.recent = list(recent)
        self.counts = counts or {}
        self.offer_top_level = offer_top_level
        self.shown: list[CodeInfo] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box picker-box"):
            yield Label(self.title_text, classes="dialog-title")
            if self.subject:
                yield Static(self.subject, classes="picker-subject", markup=False)
            yield Input(placeholder="type a name, id or words from a definition",
                        id="picker-query")
            with Horizontal(classes="picker-body"):
                yield OptionList(id="picker-list")
                with VerticalScroll(id="picker-preview-box"):
                    yield Static("", id="picker-preview")
            yield Static("↑↓ choose · Enter applies · Esc cancels", classes="dialog-help")

    def on_mount(self) -> None:
        """Fill the list and focus the query."""
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, query: str) -> None:
        self.shown = rank_codes(query, self.codes, self.recent)
        options: list[Option] = []
        if self.offer_top_level and not query.strip():
            options.append(Option(Text("⌂ (top level)", style="italic"), id=TOP_LEVEL))
        for code in self.shown:
            label = Text()
            mark = self.marks.get(code.id)
            if code.id in self.recent[:9]:
                label.append(f"{self.recent.index(code.id) + 1} ", "bold")
            label.append(f"{mark.symbol} ", mark.style)
            label.append("  " * code.depth if not query.strip() else "")
            label.append(code.name)
            options.append(Option(label, id=code.id))
        option_list = self.query_one("#picker-list", OptionList)
        option_list.set_options(options)
        if options:
            option_list.highlighted = 0
        self._preview()

    @on(Input.Changed, "#picker-query")
    def _changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(OptionList.OptionHighlighted, "#picker-list")
    def _highlighted(self) -> None:
        self._preview()

    def _preview(self) -> None:
        option_list = self.query_one("#picker-list", OptionList)
        preview = self.query_one("#picker-preview", Static)
        option = option_list.highlighted_option
        if option is None:
            preview.update("No code matches. Try fewer letters, or words from a definition.")
            return
        if option.id == TOP_LEVEL:
            preview.update("Place the code at the top level of its codebook.")
            return
        code = next((c for c in self.codes if c.id == option.id), None)
        if code is not None:
            preview.update(code_entry(code, self.marks, self.counts.get(code.id)))

    def counts_changed(self) -> None:
        """Fresh codings and informants per code were counted: show them."""
        counts = getattr(self.app, "code_counts", None)
        if counts is not None:
            self.counts = counts()
            self._preview()

    def action_move(self, step: int) -> None:
        """Move the highlight in the list while typing."""
        option_list = self.query_one("#picker-list", OptionList)
        if option_list.option_count == 0:
            return
        current = option_list.highlighted or 0
        option_list.highlighted = max(0, min(current + step, option_list.option_count - 1))

    @on(Input.Submitted, "#picker-query")
    def _submitted(self) -> None:
        option = self.query_one("#picker-list", OptionList).highlighted_option
        if option is not None:
            self.dismiss(option.id)

    @on(OptionList.OptionSelected, "#picker-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)
