"""How codes look: a colour and a symbol each, so codes stay apart without colour too."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text

from qcode.models import CodeInfo

#: Single-cell symbols; a code's symbol is its place in the code list modulo this length.
SYMBOLS = "●▲■◆★✚◉♦✱◐◇○△□☆✦✖◑♠♣♥✿❖✤✪◈▣◎⊕⊗⊙⊞◊✧❂☼※§‡✜"
FALLBACK_COLOR = "#9E9E9E"


@dataclass(frozen=True)
class CodeMark:
    """The look of one code."""

    code_id: str
    name: str
    path: str
    symbol: str
    color: str

    @property
    def style(self) -> Style:
        """Foreground style of the code's symbol and label."""
        return Style(color=self.color, bold=True)

    def label(self, *, with_path: bool = False) -> Text:
        """``● Name`` with the symbol coloured."""
        text = Text()
        text.append(self.symbol, self.style)
        text.append(" ")
        text.append(self.path if with_path else self.name)
        return text


class MarkBook:
    """Symbols and colours of all codes of a project, in code-list order."""

    def __init__(self, codes: Iterable[CodeInfo] = ()) -> None:
        self.marks: dict[str, CodeMark] = {}
        for i, code in enumerate(codes):
            color = code.color if code.color and code.color.startswith("#") else FALLBACK_COLOR
            self.marks[code.id] = CodeMark(code.id, code.name, code.path,
                                           SYMBOLS[i % len(SYMBOLS)], color)

    def get(self, code_id: str) -> CodeMark:
        """The mark of a code (a grey question mark for an unknown id)."""
        found = self.marks.get(code_id)
        if found is None:
            return CodeMark(code_id, code_id, code_id, "?", FALLBACK_COLOR)
        return found

    def __contains__(self, code_id: object) -> bool:
        return code_id in self.marks
