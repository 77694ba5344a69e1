"""The bar at the top: project, screens (click or F-key) and the active coder."""

from __future__ import annotations

from textual.content import Content
from textual.markup import escape
from textual.reactive import reactive
from textual.widget import Widget

SCREENS: tuple[tuple[str, str, str], ...] = (
    ("home", "F2", "Home"),
    ("coding", "F3", "Code"),
    ("suggestions", "F4", "Suggest"),
    ("codebook", "F5", "Codebook"),
    ("query", "F6", "Query"),
    ("agreement", "F7", "Agree"),
    ("help", "F1", "Help"),
)


class NavBar(Widget):
    """One line: the project name, the screens with their keys, the coder."""

    DEFAULT_CSS = """
    NavBar { height: 1; background: $panel; color: $text; }
    """

    project = reactive("")
    coder = reactive("")
    blind = reactive(False)

    def __init__(self, current: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.current = current

    def render(self) -> Content:
        """Draw the bar; each screen name is a link to its screen."""
        width = self.size.width or 80
        parts = ["[b reverse] qcode [/] "]
        used = 8
        if width >= 104 and self.project:
            parts.append(f"[b]{escape(self.project)}[/]  ")
            used += len(self.project) + 2
        for mode, key, label in SCREENS:
            shown = f"{key} {label}" if width >= 96 else label
            if mode == self.current:
                parts.append(f"[b reverse] {shown} [/]")
            else:
                parts.append(f"[@click=app.show_screen('{mode}')] {shown} [/]")
            used += len(shown) + 2
        who = escape(self.coder) if self.coder else "[i]no coder[/]"
        right_len = len(self.coder or "no coder") + (8 if self.blind else 0) + 1
        pad = max(width - used - right_len, 1)
        parts.append(" " * pad)
        parts.append(f"[b]{who}[/]" + (" (blind)" if self.blind else "") + " ")
        return Content.from_markup("".join(parts))
