"""The transcript: turns with numbers, speakers and roles, coded text marked in place.

A Line-API widget: the text is wrapped once per width into a list of line
records (document offsets only); ``render_line`` styles just the lines on
screen. A 20,000-word transcript therefore opens and scrolls as fast as a short
one. Codes are shown by colour and underline in the text and by their symbols
in the right margin, so they stay apart under NO_COLOR.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from qcode.models import Coding, Document, Turn
from qcode.tui.widgets.marks import MarkBook

GUTTER = 6  # cursor bar (1) + turn number (4) + space (1)
MARGIN = 8  # space + up to three symbols and "+"
MIN_TEXT = 20
_WORD = re.compile(r"\w[\w\-'’]*")
_NONSPACE = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"[.!?…]+[»”\"')\]]*(?=\s|$)")

HEAD, TEXT, BLANK = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Line:
    """One screen line of the layout: what it shows and which text it covers."""

    kind: int
    turn: int  # index into the turn list
    start: int  # document offsets of the text shown (text lines)
    end: int
    first: bool = False  # the first line of its turn (carries the number)


def balance(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a span by one bracket or guillemet so «(veileder)» is not cut in half."""
    for opener, closer in (("(", ")"), ("«", "»"), ("[", "]")):
        part = text[start:end]
        if part.count(opener) > part.count(closer) and end < len(text) \
                and text[end] == closer:
            end += 1
        elif part.count(closer) > part.count(opener) and start > 0 \
                and text[start - 1] == opener:
            start -= 1
    return start, end


def clock(seconds: float) -> str:
    """``[hh:mm:ss]`` for a time stamp in seconds."""
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def layout(text: str, turns: Sequence[Turn], width: int) -> list[Line]:
    """Wrap the turns to ``width`` text cells; one blank line between turns."""
    lines: list[Line] = []
    width = max(width, MIN_TEXT)
    for ti, turn in enumerate(turns):
        first = True
        if turn.speaker or turn.time_start is not None or turn.label:
            lines.append(Line(HEAD, ti, turn.start, turn.start, True))
            first = False
        pos = turn.start
        body = text[turn.start:turn.end]
        if not body:
            lines.append(Line(TEXT, ti, turn.start, turn.start, first))
            first = False
        for para in body.split("\n"):
            p_start = pos
            p_end = pos + len(para)
            pos = p_end + 1
            line_start: int | None = None
            line_end = p_start
            for m in _NONSPACE.finditer(text, p_start, p_end):
                w_start, w_end = m.start(), m.end()
                if line_start is None:
                    line_start = w_start
                elif w_end - line_start > width:
                    lines.append(Line(TEXT, ti, line_start, line_end, first))
                    first = False
                    line_start = w_start
                while w_end - line_start > width:  # a word longer than the line
                    lines.append(Line(TEXT, ti, line_start, line_start + width, first))
                    first = False
                    line_start += width
                line_end = w_end
            if line_start is None:
                if para.strip() == "" and len(body.split("\n")) > 1:
                    lines.append(Line(TEXT, ti, p_start, p_start, first))
                    first = False
                continue
            lines.append(Line(TEXT, ti, line_start, line_end, first))
            first = False
        lines.append(Line(BLANK, ti, turn.end, turn.end))
    return lines


class TranscriptView(ScrollView, can_focus=True):
    """A document's turns with a turn cursor and a selection (turn, sentence or words)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "turn(-1)", "Previous turn", id="transcript.turn-up", show=False),
        Binding("down,j", "turn(1)", "Next turn", id="transcript.turn-down", show=False),
        Binding("pageup", "page(-1)", "Page up", id="transcript.page-up", show=False),
        Binding("pagedown", "page(1)", "Page down", id="transcript.page-down", show=False),
        Binding("home", "edge(0)", "First turn", id="transcript.first", show=False),
        Binding("end", "edge(1)", "Last turn", id="transcript.last", show=False),
        Binding("s", "sentence(1)", "Sentence", id="transcript.sentence-next",
                tooltip="the next sentence, going on into the next turn"),
        Binding("S", "sentence(-1)", "Previous sentence", id="transcript.sentence-previous",
                show=False),
        Binding("right,l", "word(1)", "Next word", id="transcript.word-next", show=False),
        Binding("left,h", "word(-1)", "Previous word", id="transcript.word-previous",
                show=False),
        Binding("shift+right,L", "extend(1)", "Extend by a word", id="transcript.extend-right",
                show=False),
        Binding("shift+left,H", "extend(-1)", "Shrink by a word", id="transcript.extend-left",
                show=False),
        Binding("escape", "whole_turn", "Whole turn", id="transcript.whole-turn", show=False,
                tooltip="while editing a coding's span: cancel the edit"),
        Binding("enter", "edit_done", "Move coding here", id="transcript.move-here",
                tooltip="while editing a coding's span (v): store the selection as its span"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "transcript--cursor",
        "transcript--number",
        "transcript--speaker",
        "transcript--role",
        "transcript--interviewer",
        "transcript--selection",
        "transcript--time",
    }

    DEFAULT_CSS = """
    TranscriptView {
        background: $surface;
    }
    TranscriptView > .transcript--cursor { color: $accent; text-style: bold; }
    TranscriptView > .transcript--number { color: $text-muted; }
    TranscriptView > .transcript--speaker { text-style: bold; }
    TranscriptView > .transcript--role { color: $text-muted; text-style: italic; }
    TranscriptView > .transcript--interviewer { color: $text-muted; }
    TranscriptView > .transcript--selection { text-style: reverse; }
    TranscriptView > .transcript--time { color: $text-muted; }
    """

    class EditFinished(Message):
        """Span editing ended: ``span`` is the new span, or None when it was cancelled."""

        def __init__(self, view: TranscriptView, span: tuple[int, int] | None) -> None:
            super().__init__()
            self.view = view
            self.span = span

        @property
        def control(self) -> TranscriptView:
            """The transcript that sent the message."""
            return self.view

    class SelectionChanged(Message):
        """The turn cursor or the selection moved."""

        def __init__(self, view: TranscriptView) -> None:
            super().__init__()
            self.view = view

        @property
        def control(self) -> TranscriptView:
            """The transcript that sent the message."""
            return self.view

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.document: Document | None = None
        self.turns: list[Turn] = []
        self.codings: list[Coding] = []
        self.marks = MarkBook()
        self.cursor = 0
        self.selection: tuple[int, int] | None = None
        self.selection_kind = "turn"
        self._anchor: tuple[int, int] | None = None  # the word a word selection grows from
        self._lines: list[Line] = []
        self._width = 0
        self._text_starts: list[int] = []  # start offset of each text line, for bisect
        self._text_index: list[int] = []  # layout index of each text line
        self._turn_first: list[int] = []  # layout index of each turn's first line
        self._turn_starts: list[int] = []
        self._by_turn: list[list[Coding]] = []
        self._cache: dict[int, Strip] = {}
        self._drag_from: int | None = None
        self._dragged = False
        self.editing: tuple[int, int] | None = None  # the span being edited, as it was

    # -- data -------------------------------------------------------------------------

    def load(self, document: Document, turns: Sequence[Turn], codings: Sequence[Coding],
             marks: MarkBook, *, turn_index: int | None = None) -> None:
        """Show a document; the cursor goes to the turn numbered ``turn_index`` (or the first)."""
        self.document = document
        self.turns = list(turns)
        if self.editing is not None:
            self.editing = None
            self.refresh_bindings()
        self._turn_starts = [t.start for t in self.turns]
        self.marks = marks
        self._width = 0
        self.cursor = 0
        if turn_index is not None:
            for i, t in enumerate(self.turns):
                if t.index == turn_index:
                    self.cursor = i
                    break
        self.set_codings(codings)
        self._relayout()
        self._select_turn()
        self.scroll_to_cursor(top=True)

    def set_codings(self, codings: Sequence[Coding]) -> None:
        """Replace the codings drawn (after coding, undo, coder switch or blind mode)."""
        self.codings = sorted(codings, key=lambda k: (k.start, -k.end, k.id))
        self._by_turn = [[] for _ in self.turns]
        for k in self.codings:
            for i in self._turns_overlapping(k.start, k.end):
                self._by_turn[i].append(k)
        self._cache.clear()
        self.refresh()

    def set_marks(self, marks: MarkBook) -> None:
        """Use new code symbols and colours."""
        self.marks = marks
        self._cache.clear()
        self.refresh()

    @property
    def cursor_turn(self) -> Turn | None:
        """The turn under the cursor."""
        if not self.turns:
            return None
        return self.turns[self.cursor]

    def codings_at(self, start: int, end: int) -> list[Coding]:
        """Codings drawn that overlap a span (shortest first)."""
        found = [k for k in self.codings if k.start < end and k.end > start]
        return sorted(found, key=lambda k: (k.end - k.start, k.start))

    def selected_text(self) -> str:
        """The text of the selection."""
        if self.document is None or self.selection is None:
            return ""
        return self.document.text[self.selection[0]:self.selection[1]]

    def _turns_overlapping(self, start: int, end: int) -> range:
        if not self.turns:
            return range(0)
        lo = max(bisect.bisect_right(self._turn_starts, start) - 1, 0)
        hi = bisect.bisect_left(self._turn_starts, max(end, start + 1))
        return range(lo, max(hi, lo + 1))

    def turn_of(self, offset: int) -> int:
        """Index of the turn holding a document offset."""
        return max(bisect.bisect_right(self._turn_starts, offset) - 1, 0)

    # -- layout -----------------------------------------------------------------------

    def _relayout(self) -> None:
        width = self.scrollable_content_region.width or self.size.width or 80
        text_width = max(width - GUTTER - MARGIN, MIN_TEXT)
        if text_width == self._width and self._lines:
            return
        self._width = text_width
        text = self.document.text if self.document else ""
        self._lines = layout(text, self.turns, text_width)
        self._text_starts = []
        self._text_index = []
        self._turn_first = [0] * len(self.turns)
        seen = -1
        for i, line in enumerate(self._lines):
            if line.turn != seen:
                self._turn_first[line.turn] = i
                seen = line.turn
            if line.kind == TEXT:
                self._text_starts.append(line.start)
                self._text_index.append(i)
        self._cache.clear()
        self.virtual_size = Size(GUTTER + text_width + MARGIN, len(self._lines))
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        """Re-wrap for the new width, keeping the cursor in view."""
        self._relayout()
        self.scroll_to_cursor()

    def line_of(self, offset: int) -> int:
        """The layout index of the text line that shows a document offset."""
        if not self._text_starts:
            return 0
        i = max(bisect.bisect_right(self._text_starts, offset) - 1, 0)
        return self._text_index[i]

    def turn_lines(self, index: int) -> tuple[int, int]:
        """First and last layout line of a turn (without the blank line after it)."""
        first = self._turn_first[index]
        last = (self._turn_first[index + 1] - 2) if index + 1 < len(self.turns) \
            else len(self._lines) - 2
        return first, max(first, last)

    def scroll_to_cursor(self, *, top: bool = False) -> None:
        """Bring the cursor turn (or the selected part of a long turn) into view."""
        if not self.turns or not self._lines:
            return
        first, last = self.turn_lines(self.cursor)
        height = self.scrollable_content_region.height or self.size.height or 1
        turn = self.turns[self.cursor]
        if self.selection is not None and last - first + 1 > height \
                and self.selection[0] > turn.start:
            first = self.line_of(self.selection[0])
            last = min(self.line_of(max(self.selection[1] - 1, self.selection[0])),
                       first + height - 1)
        if top:
            self.scroll_to(y=first, animate=False, immediate=True)
            return
        view_top = self.scroll_offset.y
        if first >= view_top and last < view_top + height:
            return  # already in view: do not move the page
        target = first if last - first + 1 >= height * 3 // 4 else max(first - height // 4, 0)
        self.scroll_to(y=target, animate=False, immediate=True)

    # -- rendering --------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Render one visible line."""
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        strip = self._cache.get(index)
        if strip is None:
            strip = self._render_layout_line(index)
            self._cache[index] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _render_layout_line(self, index: int) -> Strip:
        line = self._lines[index]
        turn = self.turns[line.turn]
        base = self.rich_style
        segments: list[Segment] = []
        is_cursor = line.turn == self.cursor and line.kind != BLANK
        bar = "▌" if is_cursor else " "
        segments.append(Segment(bar, base + self._style("transcript--cursor")))
        if line.first:
            number_style = self._style("transcript--cursor" if is_cursor
                                       else "transcript--number")
            segments.append(Segment(f"{turn.index:>4} ", base + number_style))
        else:
            segments.append(Segment(" " * (GUTTER - 1), base))
        text_width = self._width
        if line.kind == HEAD:
            segments.extend(self._head_segments(turn, base))
        elif line.kind == TEXT:
            segments.extend(self._text_segments(line, turn, base))
        used = sum(s.cell_length for s in segments)
        if used < GUTTER + text_width:
            segments.append(Segment(" " * (GUTTER + text_width - used), base))
        segments.extend(self._margin(line, base))
        return Strip(segments)

    def _head_segments(self, turn: Turn, base: Style) -> list[Segment]:
        out: list[Segment] = []
        interviewer = turn.is_interviewer
        if turn.speaker:
            speaker_style = self._style("transcript--interviewer" if interviewer
                                        else "transcript--speaker")
            out.append(Segment(turn.speaker, base + speaker_style))
        if turn.role:
            out.append(Segment(f" ({turn.role})", base + self._style("transcript--role")))
        if turn.time_start is not None:
            out.append(Segment(f"  [{clock(turn.time_start)}]",
                               base + self._style("transcript--time")))
        if turn.label:
            out.append(Segment(f"  [{turn.label}]", base + self._style("transcript--time")))
        return out

    def _text_segments(self, line: Line, turn: Turn, base: Style) -> list[Segment]:
        if self.document is None or line.end <= line.start:
            return []
        text = self.document.text
        plain = base + self._style("transcript--interviewer") if turn.is_interviewer else base
        codings = [k for k in self._by_turn[line.turn]
                   if k.start < line.end and k.end > line.start]
        sel = self.selection
        cuts = {line.start, line.end}
        for k in codings:
            cuts.update(p for p in (k.start, k.end) if line.start < p < line.end)
        if sel is not None:
            cuts.update(p for p in sel if line.start < p < line.end)
        points = sorted(cuts)
        selection_style = self._style("transcript--selection")
        out: list[Segment] = []
        for a, b in itertools.pairwise(points):
            style = plain
            covering = [k for k in codings if k.start <= a and k.end >= b]
            if covering:
                inner = min(covering, key=lambda k: k.end - k.start)
                mark = self.marks.get(inner.code_id)
                style = style + Style(color=mark.color, underline=True,
                                      bold=len(covering) > 1)
            if sel is not None and sel[0] <= a and sel[1] >= b:
                style = style + selection_style
            out.append(Segment(text[a:b].replace("\t", " "), style))
        return out

    def _margin(self, line: Line, base: Style) -> list[Segment]:
        out = [Segment(" ", base)]
        if line.kind == BLANK:
            return [Segment(" " * MARGIN, base)]
        lo, hi = (line.start, line.end) if line.kind == TEXT else (line.start, line.start + 1)
        if line.kind == HEAD:
            return [Segment(" " * MARGIN, base)]
        seen: list[str] = []
        for k in self._by_turn[line.turn]:
            if k.start < max(hi, lo + 1) and k.end > lo and k.code_id not in seen:
                seen.append(k.code_id)
        used = 1
        for code_id in seen[:3]:
            mark = self.marks.get(code_id)
            out.append(Segment(mark.symbol, base + mark.style))
            out.append(Segment(" ", base))
            used += 2
        if len(seen) > 3:
            out.append(Segment("+", base))
            used += 1
        out.append(Segment(" " * (MARGIN - used), base))
        return out

    # -- selection --------------------------------------------------------------------

    def _changed(self, *, scroll: bool = True) -> None:
        self._cache.clear()
        self.refresh()
        if scroll:
            self.scroll_to_cursor()
        self.post_message(self.SelectionChanged(self))

    def _select_turn(self) -> None:
        turn = self.cursor_turn
        self._anchor = None
        if turn is None:
            self.selection = None
        else:
            self.selection = (turn.start, max(turn.end, turn.start))
            if turn.end <= turn.start:
                self.selection = None
        self.selection_kind = "turn"

    def go_to_turn(self, index: int) -> None:
        """Move the cursor to the turn at list position ``index`` and select it whole."""
        if not self.turns:
            return
        self.cursor = max(0, min(index, len(self.turns) - 1))
        self._select_turn()
        self._changed()

    def go_to_turn_number(self, number: int) -> bool:
        """Move the cursor to the turn numbered ``number``; False if there is none."""
        for i, t in enumerate(self.turns):
            if t.index == number:
                self.go_to_turn(i)
                return True
        return False

    def select_span(self, start: int, end: int, kind: str = "span") -> None:
        """Select a span (its turn becomes the cursor turn) and scroll to it."""
        if not self.turns or self.document is None:
            return
        start = max(0, min(start, len(self.document.text)))
        end = max(start + 1, min(end, len(self.document.text)))
        self.cursor = self.turn_of(start)
        self.selection = (start, end)
        self.selection_kind = kind
        self._anchor = None
        self._changed()

    # -- editing the span of a coding -------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter (move the coding here) is only there while a span is edited."""
        if action == "edit_done":
            return self.editing is not None
        return True

    def start_edit(self, start: int, end: int) -> None:
        """Select a coding's span for editing; Enter ends it with the selection, Esc cancels."""
        self.editing = (start, end)
        self.select_span(start, end, kind="edit")
        self.refresh_bindings()

    def action_edit_done(self) -> None:
        """Store the selection as the edited coding's span (Enter)."""
        from textual.actions import SkipAction

        if self.editing is None:
            raise SkipAction()
        span = self.selection
        self.editing = None
        if self.selection_kind == "edit":
            self.selection_kind = "span"
        self.refresh_bindings()
        self.post_message(self.EditFinished(self, span))

    def _edit_words(self, turn_index: int) -> list[tuple[int, int]]:
        return self._words(self.turns[turn_index]) if 0 <= turn_index < len(self.turns) else []

    def _edge_word(self, edge: str, step: int) -> None:
        """Move one edge of the edited span by a word (growing or shrinking the span)."""
        if self.selection is None:
            return
        start, end = self.selection
        if edge == "end":
            index = self.turn_of(max(end - 1, start))
            if step > 0:
                nxt = [w for w in self._edit_words(index) if w[1] > end]
                while not nxt and index + 1 < len(self.turns):
                    index += 1
                    nxt = self._edit_words(index)
                if nxt:
                    end = nxt[0][1]
            else:
                inside = [w for w in self._words_between(start, end) if w[1] < end]
                if inside:
                    end = inside[-1][1]
        else:
            index = self.turn_of(start)
            if step < 0:
                before = [w for w in self._edit_words(index) if w[0] < start]
                while not before and index > 0:
                    index -= 1
                    before = self._edit_words(index)
                if before:
                    start = before[-1][0]
            else:
                inside = [w for w in self._words_between(start, end) if w[0] > start]
                if inside:
                    start = inside[0][0]
        self.selection = (start, end)
        self.cursor = self.turn_of(start if edge == "start" else max(end - 1, start))
        self._changed()

    def _words_between(self, start: int, end: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for i in self._turns_overlapping(start, end):
            out += [w for w in self._edit_words(i) if w[0] < end and w[1] > start]
        return out

    def _edge_sentence(self, step: int) -> None:
        """Move the end of the edited span to the end of the next or previous sentence."""
        if self.selection is None:
            return
        start, end = self.selection
        index = self.turn_of(max(end - 1, start))
        if step > 0:
            ends = [e for _s, e in self._sentence_spans(self.turns[index]) if e > end]
            while not ends and index + 1 < len(self.turns):
                index += 1
                ends = [e for _s, e in self._sentence_spans(self.turns[index])]
            if ends:
                end = ends[0]
        else:
            ends = [e for i in self._turns_overlapping(start, end)
                    for _s, e in self._sentence_spans(self.turns[i]) if start < e < end]
            if ends:
                end = ends[-1]
        self.selection = (start, end)
        self.cursor = self.turn_of(max(end - 1, start))
        self._changed()

    def action_turn(self, step: int) -> None:
        """Move the turn cursor."""
        self.go_to_turn(self.cursor + step)

    def action_page(self, step: int) -> None:
        """Move the cursor about one screen of lines."""
        if not self.turns:
            return
        height = max(self.scrollable_content_region.height - 2, 1)
        target = self._turn_first[self.cursor] + step * height
        target = max(0, min(target, len(self._lines) - 1))
        index = self._lines[target].turn
        if index == self.cursor:
            index += step
        self.go_to_turn(index)

    def action_edge(self, end: int) -> None:
        """Go to the first or the last turn."""
        self.go_to_turn(len(self.turns) - 1 if end else 0)

    def action_whole_turn(self) -> None:
        """Select the whole cursor turn again (no-op, letting Escape through, if it is).

        While a coding's span is edited, Escape cancels the edit instead.
        """
        from textual.actions import SkipAction

        if self.editing is not None:
            start, end = self.editing
            self.editing = None
            self.refresh_bindings()
            self.select_span(start, end)
            self.post_message(self.EditFinished(self, None))
            return
        if self.selection_kind == "turn":
            raise SkipAction()
        self._select_turn()
        self._changed()

    def _words(self, turn: Turn) -> list[tuple[int, int]]:
        if self.document is None:
            return []
        return [(m.start(), m.end()) for m in _WORD.finditer(self.document.text, turn.start,
                                                             turn.end)]

    def action_word(self, step: int) -> None:
        """Select the next or previous single word of the turn (editing: move the end)."""
        if self.editing is not None:
            self._edge_word("end", step)
            return
        turn = self.cursor_turn
        if turn is None:
            return
        words = self._words(turn)
        if not words:
            return
        if self.selection_kind != "words" or self.selection is None:
            i = 0 if step > 0 else len(words) - 1
            if self.selection is not None and self.selection_kind in ("sentence", "span"):
                starts = [w[0] for w in words]
                i = max(bisect.bisect_right(starts, self.selection[0]) - 1, 0)
        else:
            starts = [w[0] for w in words]
            pos = self.selection[1] - 1 if step > 0 else self.selection[0]
            i = max(bisect.bisect_right(starts, pos) - 1, 0) + step
            i = max(0, min(i, len(words) - 1))
        self._anchor = words[i]
        self.selection = words[i]
        self.selection_kind = "words"
        self._changed()

    def action_extend(self, step: int) -> None:
        """Grow (or shrink) a word selection by one word at its end (editing: move the start)."""
        if self.editing is not None:
            self._edge_word("start", step)
            return
        turn = self.cursor_turn
        if turn is None:
            return
        words = self._words(turn)
        if not words:
            return
        if self.selection_kind != "words" or self.selection is None or self._anchor is None:
            self.action_word(1 if step > 0 else -1)
            return
        starts = [w[0] for w in words]
        a_i = max(bisect.bisect_right(starts, self._anchor[0]) - 1, 0)
        s_i = max(bisect.bisect_right(starts, self.selection[0]) - 1, 0)
        e_i = max(bisect.bisect_right(starts, self.selection[1] - 1) - 1, 0)
        moving = e_i if s_i == a_i else s_i
        moving = max(0, min(moving + step, len(words) - 1))
        lo, hi = sorted((a_i, moving))
        self.selection = (words[lo][0], words[hi][1])
        self._changed()

    def _sentence_spans(self, turn: Turn) -> list[tuple[int, int]]:
        if self.document is None or turn.end <= turn.start:
            return []
        text = self.document.text
        spans = []
        pos = turn.start
        for m in _SENTENCE_END.finditer(text, turn.start, turn.end):
            rest = text[m.end():turn.end].lstrip()
            if rest and rest[0].islower():  # "jeg har ... snart": a pause, not an end
                continue
            spans.append((pos, m.end()))
            pos = m.end()
        spans.append((pos, turn.end))
        out = []
        for a, b in spans:
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if b > a:
                out.append((a, b))
        return out

    def action_sentence(self, step: int) -> None:
        """Select the next or previous sentence, going into the next turn (editing: the end)."""
        if self.editing is not None:
            self._edge_sentence(step)
            return
        turn = self.cursor_turn
        if turn is None:
            return
        spans = self._sentence_spans(turn)
        if self.selection_kind not in ("sentence", "words", "span") or self.selection is None:
            index = 0 if step > 0 else len(spans) - 1
        else:
            starts = [s[0] for s in spans]
            current = max(bisect.bisect_right(starts, self.selection[0]) - 1, 0)
            index = current + step if self.selection_kind == "sentence" else current
        target = self.cursor
        while not 0 <= index < len(spans):
            target += 1 if step > 0 else -1
            if not 0 <= target < len(self.turns):
                return
            spans = self._sentence_spans(self.turns[target])
            index = 0 if step > 0 else len(spans) - 1
        self.cursor = target
        self.selection = spans[index]
        self.selection_kind = "sentence"
        self._anchor = None
        self._changed()

    # -- mouse ------------------------------------------------------------------------

    def _offset_at(self, x: int, y: int) -> int | None:
        index = self.scroll_offset.y + y
        if not 0 <= index < len(self._lines):
            return None
        line = self._lines[index]
        if line.kind != TEXT:
            turn = self.turns[line.turn]
            return turn.start if line.kind == HEAD else turn.end
        col = self.scroll_offset.x + x - GUTTER
        return line.start + max(0, min(col, line.end - line.start))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """Start a selection (or just move the cursor, if the mouse does not move)."""
        offset = event.get_content_offset(self)
        if offset is None or event.button != 1:
            return
        pos = self._offset_at(offset.x, offset.y)
        if pos is None:
            return
        self.focus()
        self._drag_from = pos
        self._dragged = False
        self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """Extend the selection while dragging."""
        if self._drag_from is None or self.document is None:
            return
        offset = event.get_content_offset(self)
        if offset is None:
            return
        pos = self._offset_at(offset.x, offset.y)
        if pos is None or pos == self._drag_from:
            return
        self._dragged = True
        a, b = sorted((self._drag_from, pos))
        self.cursor = self.turn_of(a)
        self.selection = (a, max(b, a + 1))
        self.selection_kind = "span"
        self._cache.clear()
        self.refresh()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        """Finish a drag (snapped to whole words) or move the cursor to the clicked turn."""
        if self._drag_from is None:
            return
        start = self._drag_from
        self._drag_from = None
        self.release_mouse()
        if self._dragged and self.selection is not None and self.document is not None:
            a, b = self.selection
            text = self.document.text
            while a > 0 and (text[a - 1].isalnum() or text[a - 1] in "-'"):
                a -= 1
            while b < len(text) and (text[b].isalnum() or text[b] in "-'"):
                b += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            a, b = balance(text, a, b)
            self.selection = (a, max(b, a + 1))
            self._changed(scroll=False)
            return
        self.cursor = self.turn_of(start)
        self._select_turn()
        self._changed(scroll=False)
