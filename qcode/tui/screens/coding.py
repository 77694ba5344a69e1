"""The coding view: read a transcript, select a turn, sentence or words, apply codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from qcode import services
from qcode.errors import QcodeError
from qcode.models import Coding, Document, Turn
from qcode.tui.data import codable_turns, project_visible_coders, turns_coded
from qcode.tui.screens.base import QScreen
from qcode.tui.screens.modals import ChoiceModal, ConfirmModal, InputModal, TextModal
from qcode.tui.widgets.code_picker import CodePicker, code_entry
from qcode.tui.widgets.transcript import TranscriptView


def _excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class CodingScreen(QScreen):
    """A document with its codings; the keys below apply, remove and annotate codes."""

    MODE = "coding"
    HELP_TITLE = "Coding view"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", "Apply code", id="coding.apply",
                tooltip="fuzzy search over names and definitions; the entry is shown first"),
        *[Binding(str(n), f"recent({n})", f"Apply recent code {n}", id=f"coding.recent-{n}",
                  show=False) for n in range(1, 10)],
        Binding("n", "uncoded(1)", "Next uncoded", id="coding.next-uncoded",
                tooltip="the next informant turn without a coding of yours"),
        Binding("x,delete", "remove", "Remove", id="coding.remove",
                tooltip="your coding at the selection (u brings it back)"),
        Binding("r", "recode", "Recode", id="coding.recode",
                tooltip="give your coding at the selection another code, with the picker"),
        Binding("v", "edit_span", "Edit span", id="coding.edit-span",
                tooltip="of your coding at the selection: → ← move its end by a word, "
                        "Shift+← Shift+→ its start, s S its end by a sentence, or select "
                        "anew (↑ ↓, mouse); Enter moves the coding there, Esc cancels"),
        Binding("m", "coding_memo", "Memo", id="coding.memo",
                tooltip="the memo of your coding at the selection"),
        Binding("M", "document_memo", "Doc memo", id="coding.document-memo", show=False,
                tooltip="on the document"),
        Binding("e", "explain", "Explain", id="coding.explain", show=False,
                tooltip="the codebook entries of the codes at the selection"),
        Binding("p", "uncoded(-1)", "Prev uncoded", id="coding.previous-uncoded", show=False),
        Binding("o", "open", "Open doc", id="coding.open", tooltip="another document"),
        Binding("c", "coder", "Coder", id="coding.coder", show=False,
                tooltip="who is coding: choose or create a coder id"),
        Binding("b", "blind", "Blind", id="coding.blind", show=False,
                tooltip="hide or show the other coders' codings"),
        Binding("g", "go_to_turn", "Go to turn", id="coding.go-to-turn", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.document: Document | None = None
        self.turns: list[Turn] = []
        self.all_codings: list[Coding] = []
        self.memo_count = 0
        self.editing: Coding | None = None  # the coding whose span is being edited

    def compose_body(self) -> ComposeResult:
        yield Static("", id="coding-head", markup=False)
        with Horizontal(id="coding-main"):
            with Vertical(id="coding-text"):
                yield TranscriptView(id="transcript")
                yield Static("", id="sel-line", markup=False)
            with Vertical(id="coding-side"):
                yield Static("", id="sel-info", markup=False)
                yield OptionList(id="here")
                yield Static("", id="recent", markup=False)
                yield Static("", id="doc-memos", markup=False)
        yield Static("", id="coding-empty", markup=False)

    @property
    def view(self) -> TranscriptView:
        """The transcript widget."""
        return self.query_one("#transcript", TranscriptView)

    # -- loading ----------------------------------------------------------------------

    def show_document(self, name: str, *, start: int | None = None, end: int | None = None,
                      turn: int | None = None) -> None:
        """Open a document (at a span or a turn number)."""
        app = self.qapp
        try:
            doc, turns = services.get_document(app.store, name)
        except QcodeError as exc:
            app.show_error(exc)
            return
        self.document, self.turns = doc, turns
        self.editing = None
        app.current_document = doc.name
        self._seen_revision = app.revision
        self._load_codings()
        self.view.load(doc, turns, self.visible_codings(), app.marks(), turn_index=turn)
        if start is not None and end is not None:
            self.view.select_span(start, end)
        self._show_layout()
        self.view.focus()
        self._update_side()

    def on_screen_resume(self) -> None:
        """Open a document the app asked for, else reload if the project changed."""
        if self.qapp.pending_open is not None:
            self._update_navbar()
            self.open_pending()
            return
        super().on_screen_resume()

    def open_pending(self) -> None:
        """Show the document (and span or turn) the app asked to open."""
        pending = self.qapp.pending_open
        self.qapp.pending_open = None
        if pending is not None:
            name, start, end, turn = pending
            self.show_document(name, start=start, end=end, turn=turn)

    def refresh_data(self) -> None:
        """Reload codings (the text never changes) or open the app's current document."""
        app = self.qapp
        name = app.current_document
        if self.document is None or (name and name != self.document.name):
            if name is None:
                docs = services.list_documents(app.store)
                if docs:
                    name = docs[0].document.name
            if name is not None:
                self.show_document(name)
                return
            self._show_layout()
            return
        try:
            current, _turns = services.get_document(app.store, self.document.name)
        except QcodeError:
            self.document = None
            self.refresh_data()
            return
        if current.id != self.document.id:  # a new version was imported
            self.show_document(current.name)
            return
        self._load_codings()
        self.view.set_marks(app.marks())
        self.view.set_codings(self.visible_codings())
        self._update_side()

    def _load_codings(self) -> None:
        if self.document is None:
            self.all_codings = []
            return
        app = self.qapp
        self.all_codings = services.list_codings(app.store, document=self.document.name)
        self.memo_count = len(services.list_memos(app.store, "document", self.document.name))

    def visible_codings(self) -> list[Coding]:
        """Codings drawn: all coders', or only the active coder's in blind mode.

        Blind coding set on the project (until agreement is computed) hides the
        others' codings whatever the view's own blind toggle says.
        """
        app = self.qapp
        allowed = project_visible_coders(app.store, app.coder)
        found = [k for k in self.all_codings if allowed is None or k.coder_id in allowed]
        if app.blind:
            return [k for k in found if k.coder_id == app.coder]
        return found

    def _show_layout(self) -> None:
        has_doc = self.document is not None
        self.query_one("#coding-main").display = has_doc
        self.query_one("#coding-head").display = has_doc
        empty = self.query_one("#coding-empty", Static)
        empty.display = not has_doc
        if not has_doc:
            empty.update("No document is open.\n\nImport transcripts on the Home screen (F2, "
                         "then i), then press Enter on a document — or press o here to "
                         "choose one.")

    # -- side panel -------------------------------------------------------------------

    @on(TranscriptView.SelectionChanged)
    def _selection_changed(self) -> None:
        self._update_side()

    def _update_side(self) -> None:
        if self.document is None:
            return
        app = self.qapp
        view = self.view
        doc = self.document
        mine = [k for k in self.all_codings if k.coder_id == app.coder] if app.coder else []
        codable = codable_turns(self.turns)
        done = turns_coded(codable, mine)
        head = (f"{doc.name} · {doc.kind.replace('_', ' ')} · {doc.word_count} words · "
                f"{doc.turn_count} turns")
        if app.coder:
            head += f" · {app.coder}: {done}/{len(codable)} turns coded"
        if project_visible_coders(app.store, app.coder) is not None:
            head += " · blind coding (project)"
        elif app.blind:
            head += " · blind"
        self.query_one("#coding-head", Static).update(head)
        turn = view.cursor_turn
        info = Text()
        if turn is not None:
            info.append(f"Turn {turn.index}", "bold")
            if turn.speaker:
                info.append(f" · {turn.speaker}")
            if turn.role:
                info.append(f" ({turn.role})", "italic")
            info.append("\n")
            kind = "the new span" if view.selection_kind == "edit" else \
                view.selection_kind
            info.append(f"Selected: {kind}", "dim")
            if view.selection is not None:
                n = len(view.selected_text().split())
                info.append(f", {n} words", "dim")
        if self.editing is not None:
            info.append("\n\n")
            info.append_text(self._edit_hint())
        self.query_one("#sel-info", Static).update(info)
        line = Text(no_wrap=True, overflow="ellipsis")
        if self.editing is not None:
            line.append_text(self._edit_hint(short=True))
        elif turn is not None:
            line.append(f"Turn {turn.index}", "bold")
            line.append(f" · {view.selection_kind}")
        here = self.query_one("#here", OptionList)
        marks = app.marks()
        options = []
        span = view.selection or ((turn.start, turn.end) if turn else (0, 0))
        for k in view.codings_at(*span):
            mark = marks.get(k.code_id)
            label = Text()
            label.append(f"{mark.symbol} ", mark.style)
            label.append(mark.name, "bold" if k.coder_id == app.coder else "")
            label.append(f"  {k.coder_id}", "dim")
            if k.memo:
                label.append(" ✎", "bold")
            label.append(f"\n  {_excerpt(k.text or doc.text[k.start:k.end], 28)}", "dim")
            options.append(Option(label, id=str(k.id)))
        if not options:
            options.append(Option(Text("no codings here · a applies a code", style="dim"),
                                   id="none", disabled=True))
        here_now = [] if self.editing is not None else view.codings_at(*span)[:4]
        if not here_now and self.editing is None and view.selection is not None:
            line.append(f"  «{_excerpt(view.selected_text(), 60)}»", "dim")
        for k in here_now:
            mark = marks.get(k.code_id)
            line.append("  ")
            line.append(mark.symbol, mark.style)
            line.append(f" {_excerpt(mark.name, 18)}")
            if k.coder_id != app.coder:
                line.append(f" ({k.coder_id})", "dim")
        self.query_one("#sel-line", Static).update(line)
        here.set_options(options)
        recent = Text()
        recent.append("Recent codes\n", "bold")
        if not app.recent_codes:
            recent.append("none yet · 1-9 apply them once used", "dim")
        for n, code_id in enumerate(app.recent_codes, start=1):
            mark = marks.get(code_id)
            recent.append(f"{n} ", "bold")
            recent.append(f"{mark.symbol} ", mark.style)
            recent.append(f"{_excerpt(mark.name, 28)}\n")
        self.query_one("#recent", Static).update(recent)
        memos = Text()
        memos.append(f"Document memos: {self.memo_count}", "bold")
        memos.append("  M writes one", "dim")
        self.query_one("#doc-memos", Static).update(memos)

    @on(OptionList.OptionSelected, "#here")
    def _coding_chosen(self, event: OptionList.OptionSelected) -> None:
        coding = self._coding_by_id(event.option.id)
        if coding is not None:
            self.view.select_span(coding.start, coding.end)
            self.view.focus()

    def _coding_by_id(self, ident: str | None) -> Coding | None:
        if ident is None or not ident.isdigit():
            return None
        return next((k for k in self.all_codings if k.id == int(ident)), None)

    # -- coding -----------------------------------------------------------------------

    def _span(self) -> tuple[int, int] | None:
        if self.document is None:
            return None
        selection = self.view.selection
        if selection is None:
            self.qapp.notify("Nothing selected: move to a turn with text", severity="warning",
                             timeout=3)
        return selection

    def action_apply(self) -> None:
        """Choose a code for the selection with the fuzzy picker."""
        span = self._span()
        if span is None:
            return
        app = self.qapp
        if not app.codes():
            app.notify("No codes yet: load a codebook on the Home screen (F2, then l)",
                       severity="warning", timeout=6)
            return
        subject = f"«{_excerpt(self.view.selected_text(), 70)}»"

        def chosen(code_id: str | None) -> None:
            if code_id:
                self.apply_code(code_id, span)

        app.push_screen(CodePicker(app.codes(), app.marks(), subject=subject,
                                   recent=app.recent_codes, counts=app.code_counts()),
                        chosen)

    def action_recent(self, number: int) -> None:
        """Apply the recently used code with this number."""
        app = self.qapp
        if number > len(app.recent_codes):
            app.notify(f"No recent code {number} yet: apply codes with a first",
                       severity="warning", timeout=3)
            return
        span = self._span()
        if span is not None:
            self.apply_code(app.recent_codes[number - 1], span)

    def apply_code(self, code_id: str, span: tuple[int, int]) -> None:
        """Store a coding of the active coder (asking who is coding if nobody is)."""
        document = self.document
        if document is None:
            return
        app = self.qapp

        def apply(coder: str) -> None:
            request = services.SpanRequest(document=document.name, code=code_id,
                                           start=span[0], end=span[1])
            coding = app.attempt(services.apply_coding, app.store, request, coder)
            if coding is None:
                return
            app.use_code(code_id)
            app.notify(f"Coded as {app.marks().get(code_id).name} (u undoes)", timeout=3,
                       markup=False)
            app.changed("coding")

        app.with_coder(apply)

    def _my_codings_at_selection(self) -> list[Coding]:
        app = self.qapp
        here = self.query_one("#here", OptionList)
        if here.has_focus and here.highlighted_option is not None:
            coding = self._coding_by_id(here.highlighted_option.id)
            return [coding] if coding is not None else []
        span = self.view.selection
        if span is None:
            return []
        return [k for k in self.view.codings_at(*span) if k.coder_id == app.coder]

    def _pick_coding(self, title: str, codings: list[Coding],
                     then: Callable[[Coding], None]) -> None:
        if len(codings) == 1:
            then(codings[0])
            return
        marks = self.qapp.marks()
        options: list[tuple[str, str | Text]] = []
        for k in codings:
            label = marks.get(k.code_id).label()
            label.append(f"  {_excerpt(k.text, 40)}", "dim")
            options.append((str(k.id), label))

        def chosen(ident: str | None) -> None:
            coding = self._coding_by_id(ident)
            if coding is not None:
                then(coding)

        self.qapp.push_screen(ChoiceModal(title, options), chosen)

    def action_remove(self) -> None:
        """Remove a coding of yours at the selection (undo brings it back)."""
        app = self.qapp
        codings = self._my_codings_at_selection()
        if not codings:
            app.notify("None of your codings is at the selection", severity="warning",
                       timeout=3)
            return

        def remove(coding: Coding) -> None:
            if coding.coder_id != app.coder:
                def confirmed(ok: bool | None) -> None:
                    if ok:
                        do_remove(coding)
                app.push_screen(ConfirmModal(
                    f"Remove a coding by {coding.coder_id}?",
                    "It is not yours. Undo (u) brings it back.", danger=True), confirmed)
                return
            do_remove(coding)

        def do_remove(coding: Coding) -> None:
            if app.attempt(services.remove_codings, app.store, [str(coding.id)],
                           actor=app.actor):
                app.notify(f"Removed {app.marks().get(coding.code_id).name} (u undoes)",
                           timeout=3, markup=False)
                app.changed("coding")

        self._pick_coding("Remove which coding?", codings, remove)

    def _my_coding_to_edit(self, what: str, then: Callable[[Coding], None]) -> None:
        """Pick the active coder's coding at the selection (asking which, if several)."""
        app = self.qapp
        codings = self._my_codings_at_selection()
        if codings and any(k.coder_id != app.coder for k in codings):
            app.notify(f"Only your own codings can be edited; this one is "
                       f"{codings[0].coder_id}'s (c switches the coder)",
                       severity="warning", timeout=5, markup=False)
            return
        if not codings:
            app.notify(f"None of your codings is at the selection: nothing to {what}",
                       severity="warning", timeout=4)
            return
        self._pick_coding(f"{what.capitalize()} which coding?", codings, then)

    def action_recode(self) -> None:
        """Give a coding of yours at the selection another code (one undoable step)."""
        app = self.qapp

        def recode(coding: Coding) -> None:
            current = app.marks().get(coding.code_id).name
            subject = f"«{_excerpt(coding.text, 60)}», now {current}"

            def chosen(code_id: str | None) -> None:
                if not code_id or code_id == coding.code_id:
                    return
                edited = app.attempt(services.edit_coding, app.store, str(coding.id),
                                     code=code_id, actor=app.actor)
                if edited is None:
                    return
                app.use_code(code_id)
                app.notify(f"Recoded: {current} → {app.marks().get(code_id).name} (u undoes)",
                           timeout=4, markup=False)
                app.changed("coding")

            app.push_screen(CodePicker(app.codes(), app.marks(), subject=subject,
                                       recent=app.recent_codes, counts=app.code_counts(),
                                       title="Recode as …", exclude=[coding.code_id]), chosen)

        self._my_coding_to_edit("recode", recode)

    def action_edit_span(self) -> None:
        """Edit the span of a coding of yours at the selection; Enter stores it."""
        if self.editing is not None:
            self.view.action_edit_done()
            return

        def begin(coding: Coding) -> None:
            self.editing = coding
            self.view.start_edit(coding.start, coding.end)
            self.view.focus()
            self._update_side()

        self._my_coding_to_edit("edit", begin)

    def _edit_hint(self, *, short: bool = False) -> Text:
        out = Text()
        coding = self.editing
        if coding is None:
            return out
        mark = self.qapp.marks().get(coding.code_id)
        out.append("Editing ", "bold")
        out.append(f"{mark.symbol} ", mark.style)
        out.append(_excerpt(mark.name, 24), "bold")
        if short:
            out.append(" · → ← end · Shift+← → start · s S sentence · Enter moves it here · "
                       "Esc cancels", "dim")
            return out
        out.append("\n→ ← its end by a word\nShift+← Shift+→ its start\ns S its end by a "
                   "sentence\nor select anew (↑ ↓, mouse)\nEnter moves the coding here\n"
                   "Esc cancels", "dim")
        return out

    @on(TranscriptView.EditFinished)
    def _edit_finished(self, event: TranscriptView.EditFinished) -> None:
        coding, self.editing = self.editing, None
        app = self.qapp
        if coding is None or event.span is None:
            if coding is not None:
                app.notify("Span edit cancelled", timeout=2)
            self._update_side()
            return
        start, end = event.span
        if (start, end) == (coding.start, coding.end):
            app.notify("The span is unchanged", timeout=2)
            self._update_side()
            return
        edited = app.attempt(services.edit_coding, app.store, str(coding.id), start=start,
                             end=end, actor=app.actor)
        if edited is None:
            self._update_side()
            return
        app.notify(f"Moved {app.marks().get(coding.code_id).name} to «"
                   f"{_excerpt(edited.text, 50)}» (u undoes)", timeout=4, markup=False)
        app.changed("coding")

    def action_coding_memo(self) -> None:
        """Write the memo of a coding at the selection."""
        app = self.qapp
        codings = self._my_codings_at_selection()
        if not codings:
            app.notify("None of your codings is at the selection: apply a code first (a)",
                       severity="warning", timeout=4)
            return

        def edit(coding: Coding) -> None:
            def save(body: str | None) -> None:
                if body is None:
                    return
                if app.attempt(services.set_coding_memo, app.store, str(coding.id), body,
                               actor=app.actor):
                    app.notify("Memo saved", timeout=2)
                    app.changed("memo")

            name = app.marks().get(coding.code_id).name
            app.push_screen(InputModal(f"Memo on «{_excerpt(coding.text, 40)}» ({name})",
                                       value=coding.memo, multiline=True), save)

        self._pick_coding("Memo on which coding?", codings, edit)

    def action_document_memo(self) -> None:
        """Write a memo on the document."""
        document = self.document
        if document is None:
            return
        app = self.qapp
        memos = services.list_memos(app.store, "document", document.name)
        earlier = "\n\n".join(f"{m.author}: {m.body}" for m in memos[-2:])

        def save(body: str | None) -> None:
            if body and body.strip() and app.attempt(
                    services.add_memo, app.store, "document", document.name, body,
                    author=app.actor):
                app.notify("Document memo saved", timeout=2)
                app.changed("memo")

        app.push_screen(InputModal(f"Memo on {document.name}", multiline=True,
                                   help=_excerpt(earlier, 400) if earlier else
                                   "What stands out in this interview?"), save)

    def action_explain(self) -> None:
        """Show the codebook entries of the codes at the selection."""
        span = self.view.selection
        if span is None:
            return
        app = self.qapp
        codes = {c.id: c for c in app.codes()}
        body = Text()
        for k in self.view.codings_at(*span):
            code = codes.get(k.code_id)
            if code is None:
                continue
            body.append_text(code_entry(code, app.marks()))
            body.append(f"coded by {k.coder_id}" + (f" · memo: {k.memo}" if k.memo else "")
                        + "\n\n", "italic")
        if not body.plain:
            body.append("No codings at the selection.")
        app.push_screen(TextModal("Codes at the selection", body))

    def action_uncoded(self, step: int) -> None:
        """Move to the next (or previous) informant turn without a coding of yours."""
        app = self.qapp
        view = self.view
        if not self.turns:
            return
        coder = app.coder
        codings = [k for k in self.all_codings if coder is None or k.coder_id == coder]
        codable = {t.id for t in codable_turns(self.turns)}
        i = view.cursor + step
        while 0 <= i < len(self.turns):
            t = self.turns[i]
            if t.id in codable and not any(k.start < t.end and k.end > t.start
                                           for k in codings):
                view.go_to_turn(i)
                return
            i += step
        app.notify("No uncoded informant turn " + ("after" if step > 0 else "before") +
                   " this one", timeout=3)

    def action_open(self) -> None:
        """Open another document."""
        app = self.qapp
        docs = services.list_documents(app.store)
        options: list[tuple[str, str | Text]] = []
        for d in docs:
            label = Text(d.document.name, style="bold")
            label.append(f"  {d.document.kind.replace('_', ' ')} · {d.document.word_count} "
                         "words", "dim")
            options.append((d.document.name, label))
        if not options:
            app.notify("No documents yet: import some on the Home screen (F2, then i)",
                       severity="warning", timeout=5)
            return
        app.push_screen(ChoiceModal("Open a document", options,
                                    selected=self.document.name if self.document else None),
                        lambda name: app.open_document(name) if name else None)

    def action_coder(self) -> None:
        """Switch the active coder."""
        self.qapp.choose_coder()

    def action_blind(self) -> None:
        """Hide or show the other coders' codings."""
        app = self.qapp
        app.blind = not app.blind
        app.notify("Blind mode: only your codings are shown" if app.blind
                   else "Blind mode off: all coders' codings are shown", timeout=3)
        app.changed("blind")

    def action_go_to_turn(self) -> None:
        """Jump to a turn by its number."""
        app = self.qapp

        def go(value: str | None) -> None:
            if value and value.strip().isdigit() and \
                    not self.view.go_to_turn_number(int(value)):
                app.notify(f"No turn {value}", severity="warning", timeout=3)

        app.push_screen(InputModal("Go to turn number", placeholder="e.g. 12"), go)
