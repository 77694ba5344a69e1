"""Messages that flow up from widgets and workers to screens and the app.

Workers only ever post these (posting is thread-safe); the handlers on the app
and the screens change the widgets.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class TaskProgress(Message):
    """A background task did some of its work."""

    def __init__(self, task_id: int, done: int, total: int, label: str) -> None:
        super().__init__()
        self.task_id = task_id
        self.done = done
        self.total = total
        self.label = label

    def can_replace(self, message: Message) -> bool:
        """A newer progress report of the same task replaces an older one in the queue."""
        return isinstance(message, TaskProgress) and message.task_id == self.task_id


class TaskFinished(Message):
    """A background task ended; ``result`` is what its function returned."""

    def __init__(self, task_id: int, result: Any, cancelled: bool) -> None:
        super().__init__()
        self.task_id = task_id
        self.result = result
        self.cancelled = cancelled


class TaskFailed(Message):
    """A background task raised; the app shows the error and keeps running."""

    def __init__(self, task_id: int, error: BaseException) -> None:
        super().__init__()
        self.task_id = task_id
        self.error = error


class LeakCount(Message):
    """The leak check of one document finished (high-confidence findings)."""

    def __init__(self, document: str, document_id: int, high: int) -> None:
        super().__init__()
        self.document = document
        self.document_id = document_id
        self.high = high


class ProgressStats(Message):
    """Coding progress per document and coder was computed."""

    def __init__(self, stats: dict[str, dict[str, tuple[int, int]]]) -> None:
        super().__init__()
        self.stats = stats


class QueryFinished(Message):
    """A query ran; ``result`` is a ``QueryResult`` or ``error`` a ``QcodeError``."""

    def __init__(self, query: str, result: Any = None, error: BaseException | None = None
                 ) -> None:
        super().__init__()
        self.query = query
        self.result = result
        self.error = error


class CodeCounts(Message):
    """Codings and informants per code were counted (for the project at ``revision``)."""

    def __init__(self, revision: int, counts: dict[str, tuple[int, int]]) -> None:
        super().__init__()
        self.revision = revision
        self.counts = counts


class DisagreementsFound(Message):
    """The disagreements of one code were found (``error`` if that failed)."""

    def __init__(self, request: tuple[Any, ...], found: list[Any],
                 error: BaseException | None = None) -> None:
        super().__init__()
        self.request = request
        self.found = found
        self.error = error
