"""Every key binding with its description, read from the BINDINGS of the app and screens.

The help screen and ``docs/tui.md`` (``scripts/gen_tui_keys.py``) are both built
from ``key_sections()``, so they cannot drift from the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from textual.binding import Binding, BindingType

KEY_NAMES = {
    "up": "↑", "down": "↓", "left": "←", "right": "→", "pageup": "PgUp",
    "pagedown": "PgDn", "escape": "Esc", "enter": "Enter", "delete": "Del", "home": "Home",
    "end": "End", "tab": "Tab", "slash": "/", "question_mark": "?", "space": "Space",
}
_RECENT = re.compile(r"(.*)\.recent-(\d)$")


@dataclass(frozen=True)
class KeyRow:
    """One line of the key reference."""

    keys: str
    description: str
    binding_id: str
    detail: str = ""


def format_key(key: str) -> str:
    """``ctrl+z`` → ``Ctrl+Z``, ``shift+right`` → ``Shift+→``, ``f1`` → ``F1``."""
    parts = key.split("+")
    out = []
    for part in parts[:-1]:
        out.append(part.capitalize())
    last = parts[-1]
    if last in KEY_NAMES:
        last = KEY_NAMES[last]
    elif re.fullmatch(r"f\d+", last) or (len(parts) > 1 and len(last) == 1):
        last = last.upper()
    out.append(last)
    return "+".join(out)


def format_keys(keys: str) -> str:
    """All keys of a binding, e.g. ``x / Del``."""
    return " / ".join(format_key(k.strip()) for k in keys.split(","))


def rows(bindings: list[BindingType]) -> list[KeyRow]:
    """Key rows of a BINDINGS list; the nine recent-code keys become one row."""
    out: list[KeyRow] = []
    recent_done = False
    for b in bindings:
        if not isinstance(b, Binding) or not b.description:
            continue
        binding_id = b.id or b.action
        if _RECENT.match(binding_id):
            if recent_done:
                continue
            recent_done = True
            prefix = _RECENT.match(binding_id)
            out.append(KeyRow("1 … 9", "Apply recent code 1 to 9",
                              f"{prefix.group(1) if prefix else ''}.recent-1 … 9",
                              "the codes you used last, newest first"))
            continue
        out.append(KeyRow(format_keys(b.key), b.description, binding_id, b.tooltip))
    return out


def key_sections() -> list[tuple[str, list[KeyRow]]]:
    """The key reference: one section per screen or widget, in the order a user meets them."""
    from qcode.tui.app import QcodeApp
    from qcode.tui.screens.agreement import AgreementScreen
    from qcode.tui.screens.codebook import CodebookScreen
    from qcode.tui.screens.coding import CodingScreen
    from qcode.tui.screens.home import HomeScreen, ImportPreviewModal
    from qcode.tui.screens.modals import (
        ChoiceModal,
        ConfirmModal,
        FilePickerModal,
        FormModal,
        InputModal,
        MultiChoiceModal,
    )
    from qcode.tui.screens.query import QueryScreen
    from qcode.tui.screens.suggestions import SuggestionsScreen
    from qcode.tui.widgets.code_picker import CodePicker
    from qcode.tui.widgets.progress import ProgressOverlay
    from qcode.tui.widgets.transcript import TranscriptView

    everywhere = rows(list(QcodeApp.BINDINGS))
    everywhere.append(KeyRow(format_keys(QcodeApp.COMMAND_PALETTE_BINDING), "Commands",
                             "app.command-palette",
                             "search screens, documents, codes, saved queries and actions"))
    everywhere.append(KeyRow("Tab / Shift+Tab", "Next / previous panel", "app.focus",
                             "move between the panels of a screen"))
    return [
        ("Everywhere", everywhere),
        ("Home", rows(list(HomeScreen.BINDINGS))),
        ("Import preview", rows(list(ImportPreviewModal.BINDINGS))),
        ("Coding view", rows(list(CodingScreen.BINDINGS))),
        ("Transcript: moving and selecting", rows(list(TranscriptView.BINDINGS))),
        ("Code picker", rows(list(CodePicker.BINDINGS))),
        ("Suggestions", rows(list(SuggestionsScreen.BINDINGS))),
        ("Codebook", rows(list(CodebookScreen.BINDINGS))),
        ("Query and reports", rows(list(QueryScreen.BINDINGS))),
        ("Agreement", rows(list(AgreementScreen.BINDINGS))),
        ("Dialogs", rows([*ConfirmModal.BINDINGS, *InputModal.BINDINGS,
                          *ChoiceModal.BINDINGS, *MultiChoiceModal.BINDINGS,
                          *FilePickerModal.BINDINGS,
                          *FormModal.BINDINGS, *ProgressOverlay.BINDINGS])),
    ]


def markdown_reference() -> str:
    """The key reference as Markdown tables (``docs/tui.md``)."""
    lines: list[str] = []
    for title, section in key_sections():
        lines += [f"### {title}", "", "| Keys | Action | Id |", "|---|---|---|"]
        for row in section:
            action = row.description + (f": {row.detail}" if row.detail else "")
            keys = row.keys.replace("|", "\\|")
            lines.append(f"| `{keys}` | {action} | `{row.binding_id}` |")
        lines.append("")
    return "\n".join(lines)
