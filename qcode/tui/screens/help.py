"""Help: a first-steps guide and every key, generated from the bindings."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from qcode.tui.screens.base import QScreen

FIRST_STEPS = (
    "Home (F2): press i to import transcripts (a file or a folder). qcode shows the speakers "
    "it finds and their roles before anything is stored. Add an attributes file (informant, "
    "role, office …) in the same step.",
    "Press l to load a codebook: samarbeid, praksislogikker and prestisje ship with qcode.",
    "Press c to say who is coding (a short id such as your initials).",
    "Enter on a document opens it. ↑↓ move between turns; s selects a sentence, ←→ a word, "
    "Shift+←→ more words, or drag with the mouse.",
    "a opens the code picker: type a few letters, read the definition and when (not) to use "
    "the code, press Enter. 1-9 apply your recent codes again; u undoes.",
    "x removes your coding at the selection, r gives it another code, v edits its span "
    "(→ ← s move its end, Enter stores it). n jumps to the next turn you have not coded.",
    "Suggest (F4): g proposes codes with reasons; a accepts, r rejects.",
    "Query (F6): type a query such as samarbeid/relasjoner AND role=jobbspesialist, read "
    "the hits with how many informants they cover; Ctrl+T exports a quote table (Word, "
    "Excel, CSV). Ctrl+G re-runs a stored report and shows what changed; Ctrl+F and Ctrl+N "
    "show the frequency table and code matrices.",
    "Agreement (F7): g computes Krippendorff's α per code for the coders you choose with c; "
    "Tab to the disagreements and resolve each unit (a, b, 2, 0, k, d).",
)
FOOTNOTE = ("Every change is saved at once and written to the project's log: closing the "
            "terminal loses nothing. Ctrl+Q quits.")


class HelpScreen(QScreen):
    """The guide and the key reference."""

    MODE = "help"
    HELP_TITLE = "Help"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.show_screen('home')", "Back home", id="help.back"),
    ]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(self._first_steps(), id="first-steps")
            yield Static(self._keys(), id="key-table")

    def on_mount(self) -> None:
        """Focus the scrolling body so the arrow keys scroll it."""
        self.query_one("#help-body").focus()

    def _first_steps(self) -> Table:
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1),
                      title=Text("First steps", style="bold"), title_justify="left")
        table.add_column("n", no_wrap=True, justify="right")
        table.add_column("step", ratio=1)
        for n, step in enumerate(FIRST_STEPS, start=1):
            table.add_row(f"{n}.", step)
        table.add_row("", Text(FOOTNOTE, style="italic"))
        return table

    def _keys(self) -> Table:
        from qcode.tui.keys import key_sections

        table = Table(box=None, show_header=False, expand=True, padding=(0, 1))
        table.add_column("Keys", style="bold", no_wrap=True, min_width=14)
        table.add_column("Action", ratio=1)
        for title, rows in key_sections():
            table.add_row(Text(title, style="bold underline"), "")
            for row in rows:
                action = Text(row.description)
                if row.detail:
                    action.append(f" — {row.detail}", "dim")
                table.add_row(row.keys, action)
            table.add_row("", "")
        return table
