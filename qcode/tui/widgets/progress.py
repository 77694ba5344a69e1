"""The progress overlay of a background task, with Escape to cancel."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, ProgressBar, Static


class ProgressOverlay(ModalScreen[None]):
    """Shows what a task is doing; Escape asks it to stop at its next step."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="progress.cancel"),
    ]

    class CancelRequested(Message):
        """The user asked to cancel the task."""

        def __init__(self, task_id: int) -> None:
            super().__init__()
            self.task_id = task_id

    def __init__(self, title: str, task_id: int, *, cancellable: bool = True) -> None:
        super().__init__(classes="dialog progress")
        self.title_text = title
        self.task_id = task_id
        self.cancellable = cancellable
        self.cancelling = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self.title_text, classes="dialog-title")
            yield ProgressBar(total=None, show_eta=False, id="bar")
            yield Static("starting …", id="step", markup=False)
            yield Static("Esc cancels (finished steps are kept)" if self.cancellable
                         else "Please wait …", id="cancel-hint", classes="dialog-help")

    def update_progress(self, done: int, total: int, label: str) -> None:
        """Show the task's latest progress."""
        bar = self.query_one("#bar", ProgressBar)
        if total > 0:
            bar.update(total=total, progress=done)
        if not self.cancelling:
            self.query_one("#step", Static).update(label)

    def action_cancel(self) -> None:
        """Ask the task to stop."""
        if not self.cancellable or self.cancelling:
            return
        self.cancelling = True
        self.query_one("#step", Static).update("cancelling after the current step …")
        self.post_message(self.CancelRequested(self.task_id))
