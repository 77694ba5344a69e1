"""Small dialogs: confirm, error (message + hint), text input, choices, file picker, form."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    DirectoryTree,
    Input,
    Label,
    OptionList,
    SelectionList,
    Static,
    TextArea,
)
from textual.widgets.option_list import Option


class ConfirmModal(ModalScreen[bool]):
    """Ask a yes/no question; Enter or y confirms, Escape or n declines."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, message: str = "", *, yes: str = "Yes", no: str = "No",
                 danger: bool = False) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.message = message
        self.yes_label = yes
        self.no_label = no
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self.title_text, classes="dialog-title")
            if self.message:
                yield Static(self.message, classes="dialog-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes_label} (y)", id="yes",
                             variant="error" if self.danger else "primary")
                yield Button(f"{self.no_label} (n)", id="no")

    def on_mount(self) -> None:
        """Focus the safe answer for destructive questions."""
        self.query_one("#no" if self.danger else "#yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        """Answer the question."""
        self.dismiss(value)


class ErrorModal(ModalScreen[None]):
    """An error: what went wrong, and the hint that says how to fix it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close", id="error.close"),
    ]

    def __init__(self, message: str, hint: str | None = None, *, title: str = "Error") -> None:
        super().__init__(classes="dialog error")
        self.message = message
        self.hint = hint
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(f"✖ {self.title_text}", classes="dialog-title")
            yield Static(self.message, classes="dialog-message", markup=False)
            if self.hint:
                yield Static(Text.assemble(("Hint: ", "bold"), self.hint), classes="dialog-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close (Esc)", id="close", variant="primary")

    def on_mount(self) -> None:
        """Focus the close button."""
        self.query_one(Button).focus()

    @on(Button.Pressed)
    def _pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        """Close the dialog."""
        self.dismiss(None)


class InputModal(ModalScreen[str | None]):
    """Ask for one line (or, with ``multiline``, a text) of input."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="input.cancel"),
        Binding("ctrl+s", "submit", "Save", id="input.submit"),
    ]

    def __init__(self, title: str, *, value: str = "", placeholder: str = "",
                 help: str = "", multiline: bool = False,
                 check: Callable[[str], str | None] | None = None) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.help_text = help
        self.multiline = multiline
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box wide" if self.multiline else "dialog-box"):
            yield Label(self.title_text, classes="dialog-title")
            if self.help_text:
                yield Static(self.help_text, classes="dialog-help", markup=False)
            if self.multiline:
                area = TextArea(self.value, id="value", soft_wrap=True)
                area.show_line_numbers = False
                yield area
                yield Static("Ctrl+S saves · Esc cancels", classes="dialog-help")
            else:
                yield Input(self.value, placeholder=self.placeholder, id="value")
                yield Static("Enter saves · Esc cancels", classes="dialog-help")
            yield Static("", id="problem", classes="dialog-problem")

    def on_mount(self) -> None:
        """Focus the input."""
        self.query_one("#value").focus()

    def _current(self) -> str:
        if self.multiline:
            return self.query_one("#value", TextArea).text
        return self.query_one("#value", Input).value

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        """Return the text, unless the check refuses it."""
        value = self._current()
        if self.check is not None:
            problem = self.check(value)
            if problem:
                self.query_one("#problem", Static).update(problem)
                return
        self.dismiss(value)

    def action_cancel(self) -> None:
        """Return nothing."""
        self.dismiss(None)


class ChoiceModal(ModalScreen[str | None]):
    """Choose one of several options (ids with labels)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="choice.cancel"),
    ]

    def __init__(self, title: str, options: Sequence[tuple[str, str | Text]], *,
                 help: str = "", selected: str | None = None) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.options = list(options)
        self.help_text = help
        self.selected = selected

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self.title_text, classes="dialog-title")
            if self.help_text:
                yield Static(self.help_text, classes="dialog-help", markup=False)
            yield OptionList(*[Option(label, id=oid) for oid, label in self.options],
                             id="choices")
            yield Static("Enter chooses · Esc cancels", classes="dialog-help")

    def on_mount(self) -> None:
        """Focus the list at the current choice."""
        choices = self.query_one(OptionList)
        choices.focus()
        if self.selected is not None:
            for i, (oid, _label) in enumerate(self.options):
                if oid == self.selected:
                    choices.highlighted = i

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Choose nothing."""
        self.dismiss(None)


class MultiChoiceModal(ModalScreen[list[str] | None]):
    """Choose any number of options (at least ``minimum``); returns their ids in list order."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="multi.cancel"),
        Binding("ctrl+s", "submit", "Done", id="multi.submit",
                tooltip="Space or Enter ticks an option"),
    ]

    def __init__(self, title: str, options: Sequence[tuple[str, str | Text]], *,
                 selected: Sequence[str] = (), help: str = "", minimum: int = 1) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.options = list(options)
        self.selected = set(selected)
        self.help_text = help
        self.minimum = minimum

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self.title_text, classes="dialog-title")
            if self.help_text:
                yield Static(self.help_text, classes="dialog-help", markup=False)
            yield SelectionList[str](*[(label, oid, oid in self.selected)
                                       for oid, label in self.options], id="choices")
            yield Static("", id="problem", classes="dialog-problem")
            yield Static("Space or Enter ticks · Ctrl+S done · Esc cancels",
                         classes="dialog-help")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Done (Ctrl+S)", id="done", variant="primary")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        """Focus the list."""
        self.query_one(SelectionList).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "done":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_submit(self) -> None:
        """Return the ticked options, if there are enough."""
        ticked = set(self.query_one(SelectionList).selected)
        chosen = [oid for oid, _label in self.options if oid in ticked]
        if len(chosen) < self.minimum:
            self.query_one("#problem", Static).update(f"Tick at least {self.minimum}.")
            return
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        """Choose nothing."""
        self.dismiss(None)


class _Tree(DirectoryTree):
    """A directory tree without hidden files (and only some file types, if given)."""

    def __init__(self, path: Path, *, suffixes: tuple[str, ...] = (),
                 id: str | None = None) -> None:
        super().__init__(path, id=id)
        self.suffixes = suffixes

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Leave out dot-files, project files and their companions, other file types."""
        hidden = (".qcode", ".qcode-wal", ".qcode-shm", ".qcode-backups", ".qcode-journal")
        return [p for p in paths if not p.name.startswith(".") and not p.name.endswith(hidden)
                and (not self.suffixes or p.suffix.lower() in self.suffixes or p.is_dir())]


class FilePickerModal(ModalScreen[Path | None]):
    """Choose a file or folder from a tree, or type a path (also one that does not exist yet)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="files.cancel"),
        Binding("ctrl+o", "choose", "Choose", id="files.choose"),
        Binding("ctrl+n", "skip", "Skip (optional files)", id="files.skip"),
    ]

    def __init__(self, title: str, root: Path, *, value: str = "", help: str = "",
                 must_exist: bool = True, allow_dirs: bool = True,
                 skip_label: str | None = None, suffixes: tuple[str, ...] = ()) -> None:
        super().__init__(classes="dialog")
        self.suffixes = suffixes
        self.title_text = title
        self.root = root
        self.value = value
        self.help_text = help
        self.must_exist = must_exist
        self.allow_dirs = allow_dirs
        self.skip_label = skip_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box tall"):
            yield Label(self.title_text, classes="dialog-title")
            if self.help_text:
                yield Static(self.help_text, classes="dialog-help", markup=False)
            yield _Tree(self.root, suffixes=self.suffixes, id="tree")
            yield Input(self.value or str(self.root), id="path")
            yield Static("", id="problem", classes="dialog-problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Choose (Ctrl+O)", id="choose", variant="primary")
                if self.skip_label:
                    yield Button(self.skip_label, id="skip")
                yield Button("Cancel (Esc)", id="cancel")

    def on_mount(self) -> None:
        """Focus the tree, or the path when a new file name is expected."""
        self.query_one("#path" if not self.must_exist else "#tree").focus()

    @on(DirectoryTree.NodeHighlighted)
    def _highlighted(self, event: DirectoryTree.NodeHighlighted[Any]) -> None:
        data = event.node.data
        if data is not None and self.must_exist:
            self.query_one("#path", Input).value = str(data.path)

    @on(DirectoryTree.FileSelected)
    def _file(self, event: DirectoryTree.FileSelected) -> None:
        path_input = self.query_one("#path", Input)
        if self.must_exist:
            path_input.value = str(event.path)
            self.action_choose()
        else:
            path_input.value = str(event.path)
            path_input.focus()

    @on(DirectoryTree.DirectorySelected)
    def _directory(self, event: DirectoryTree.DirectorySelected) -> None:
        path_input = self.query_one("#path", Input)
        if self.must_exist:
            path_input.value = str(event.path)
        else:
            name = Path(path_input.value).name
            path_input.value = str(event.path / name) if name else str(event.path)

    @on(Input.Submitted, "#path")
    def _typed(self) -> None:
        self.action_choose()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "choose":
            self.action_choose()
        elif event.button.id == "skip":
            self.dismiss(Path())
        else:
            self.dismiss(None)

    def action_choose(self) -> None:
        """Return the path in the input (checked)."""
        raw = self.query_one("#path", Input).value.strip()
        problem = self.query_one("#problem", Static)
        if not raw:
            problem.update("Type a path or choose one in the tree.")
            return
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = self.root / path
        if self.must_exist and not path.exists():
            problem.update(f"{path} does not exist.")
            return
        if path.is_dir() and not self.allow_dirs:
            problem.update("Choose a file, not a folder.")
            return
        if not self.must_exist and path.is_dir():
            problem.update("Type a file name after the folder.")
            return
        if self.suffixes and not path.is_dir() and path.suffix.lower() not in self.suffixes:
            problem.update(f"Choose a {' or '.join(self.suffixes)} file.")
            return
        self.dismiss(path)

    def action_skip(self) -> None:
        """Go on without a file (where the file is optional)."""
        if self.skip_label:
            self.dismiss(Path())

    def action_cancel(self) -> None:
        """Choose nothing."""
        self.dismiss(None)


class FormModal(ModalScreen[dict[str, str] | None]):
    """Edit several named text fields at once; returns only the fields that changed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "submit", "Save", id="form.submit"),
    ]

    def __init__(self, title: str, fields: Sequence[tuple[str, str, str, bool]], *,
                 help: str = "", changed_only: bool = True) -> None:
        """``fields``: (key, label, value, multiline) for each field."""
        super().__init__(classes="dialog")
        self.title_text = title
        self.fields = list(fields)
        self.help_text = help
        self.changed_only = changed_only

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box wide tall"):
            yield Label(self.title_text, classes="dialog-title")
            if self.help_text:
                yield Static(self.help_text, classes="dialog-help", markup=False)
            with VerticalScroll(classes="form-fields"):
                for key, label, value, multiline in self.fields:
                    yield Label(label, classes="form-label")
                    if multiline:
                        area = TextArea(value, id=f"field-{key}", soft_wrap=True,
                                        classes="form-area")
                        area.show_line_numbers = False
                        yield area
                    else:
                        yield Input(value, id=f"field-{key}")
            yield Static("Ctrl+S saves · Esc cancels · Tab moves between fields",
                         classes="dialog-help")

    def on_mount(self) -> None:
        """Focus the first field."""
        if self.fields:
            self.query_one(f"#field-{self.fields[0][0]}").focus()

    def values(self) -> dict[str, str]:
        """The current value of every field."""
        out = {}
        for key, _label, _value, multiline in self.fields:
            widget = self.query_one(f"#field-{key}")
            out[key] = widget.text if multiline and isinstance(widget, TextArea) else \
                widget.value if isinstance(widget, Input) else ""
        return out

    def action_submit(self) -> None:
        """Return the (changed) values."""
        current = self.values()
        if self.changed_only:
            before = {key: value for key, _label, value, _m in self.fields}
            current = {k: v for k, v in current.items() if v != before[k]}
        self.dismiss(current)

    def action_cancel(self) -> None:
        """Return nothing."""
        self.dismiss(None)


class TextModal(ModalScreen[None]):
    """Show a longer text (a preview, a summary) to read and close."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close", id="text.close"),
    ]

    def __init__(self, title: str, body: str | Text) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box wide tall"):
            yield Label(self.title_text, classes="dialog-title")
            with VerticalScroll(classes="text-body"):
                yield Static(self.body, markup=False)
            yield Static("Esc closes", classes="dialog-help")

    def action_close(self) -> None:
        """Close the dialog."""
        self.dismiss(None)
