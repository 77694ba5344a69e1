"""The qcode app: screens as modes, global keys, background tasks, errors and the coder.

State that several screens share lives here (the open project, the active
coder, blind mode, recently used codes, the current document); screens read it
and ask the app to change it. Background work runs in thread workers that open
their own project connection and only post messages; the handlers below update
the widgets.
"""

from __future__ import annotations

import asyncio
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState, get_current_worker

from qcode import services
from qcode.errors import QcodeError
from qcode.models import CodeInfo
from qcode.store import Store
from qcode.tui.commands import (
    ActionsProvider,
    CodesProvider,
    DocumentsProvider,
    QueriesProvider,
)
from qcode.tui.data import code_stats, list_coders
from qcode.tui.messages import CodeCounts, TaskFailed, TaskFinished, TaskProgress
from qcode.tui.screens.base import QScreen
from qcode.tui.screens.home import HomeScreen
from qcode.tui.settings import TuiSettings
from qcode.tui.widgets.marks import MarkBook

if TYPE_CHECKING:
    from qcode.tui.widgets.progress import ProgressOverlay

T = TypeVar("T")
Reporter = Callable[[int, int, str], None]
TaskFunction = Callable[[Store, Reporter, threading.Event], Any]
MAX_RECENT = 9


# The home screen is shown first; the others are imported when they are first shown.


def _coding_screen() -> Screen[Any]:
    from qcode.tui.screens.coding import CodingScreen

    return CodingScreen()


def _suggestions_screen() -> Screen[Any]:
    from qcode.tui.screens.suggestions import SuggestionsScreen

    return SuggestionsScreen()


def _codebook_screen() -> Screen[Any]:
    from qcode.tui.screens.codebook import CodebookScreen

    return CodebookScreen()


def _query_screen() -> Screen[Any]:
    from qcode.tui.screens.query import QueryScreen

    return QueryScreen()


def _agreement_screen() -> Screen[Any]:
    from qcode.tui.screens.agreement import AgreementScreen

    return AgreementScreen()


def _help_screen() -> Screen[Any]:
    from qcode.tui.screens.help import HelpScreen

    return HelpScreen()


class TaskCancelled(Exception):
    """Raised inside a task's progress callback once the user cancelled it."""


class _Task:
    """A running background task and what to do when it ends."""

    def __init__(self, title: str, overlay: ProgressOverlay | None,
                 on_done: Callable[[Any], None] | None,
                 on_error: Callable[[BaseException], bool] | None) -> None:
        self.title = title
        self.overlay = overlay
        self.on_done = on_done
        self.on_error = on_error
        self.worker: Worker[None] | None = None



def settle_memory() -> None:
    """Move what the app holds now (Textual, the loaded screens, a query's corpus) out of
    the garbage collector's view (``gc.freeze``). A full collection otherwise walks all of
    it and holds the interpreter for 80-150 ms on a large project, which shows as a stalled
    UI while a worker runs; objects that go out of use are still freed as usual. (Called
    when a query result arrives; freezing at start-up made the first screen 0.5 s slower on
    M, as the collector then runs full collections more often while the app is built.)"""
    import gc

    gc.freeze()


class QcodeApp(App[None]):
    """Qualitative coding of interviews in the terminal."""

    CSS_PATH = "qcode.tcss"
    TITLE = "qcode"
    DEFAULT_MODE = "home"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # noqa: RUF012
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "home": HomeScreen,
        "coding": _coding_screen,
        "suggestions": _suggestions_screen,
        "codebook": _codebook_screen,
        "query": _query_screen,
        "agreement": _agreement_screen,
        "help": _help_screen,
    }
    COMMANDS = App.COMMANDS | {ActionsProvider, DocumentsProvider, CodesProvider,
                               QueriesProvider}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "show_screen('help')", "Help", id="app.help",
                tooltip="all keys and a first-steps guide"),
        Binding("f2", "show_screen('home')", "Home", id="app.home", show=False),
        Binding("f3", "show_screen('coding')", "Code", id="app.coding", show=False),
        Binding("f4", "show_screen('suggestions')", "Suggestions", id="app.suggestions",
                show=False),
        Binding("f5", "show_screen('codebook')", "Codebook", id="app.codebook", show=False),
        Binding("f6", "show_screen('query')", "Query", id="app.query", show=False),
        Binding("f7", "show_screen('agreement')", "Agreement", id="app.agreement",
                show=False),
        Binding("ctrl+z,u", "undo", "Undo", id="app.undo", show=False,
                tooltip="your newest change (coding, codebook, memo), also from earlier"),
        Binding("ctrl+y,U", "redo", "Redo", id="app.redo", show=False),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", show=False, priority=True),
    ]

    def __init__(self, project_path: Path, settings: TuiSettings, *,
                 store: Store | None = None) -> None:
        super().__init__()
        self.project_path = Path(project_path)
        self.settings = settings
        self.coder: str | None = settings.coder
        self.blind = settings.blind
        self.recent_codes: list[str] = []
        self.current_document: str | None = settings.document
        self.revision = 0
        self.pending_open: tuple[str, int | None, int | None, int | None] | None = None
        self.file_root = Path.cwd()
        self.mode_screens: dict[str, QScreen] = {}
        self._store: Store | None = store
        self._codes: tuple[int, list[CodeInfo], MarkBook] | None = None
        self._tasks: dict[int, _Task] = {}
        self._task_seq = 0
        self._counts: dict[str, tuple[int, int]] = {}
        self._counts_revision = -1  # the revision the counts are of
        self._counting_revision = -1  # the revision being counted now

    # -- the project ------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The project, opened on first use in the UI thread (workers open their own)."""
        if self._store is None:
            self._store = services.open_project(self.project_path)
        return self._store

    @property
    def actor(self) -> str:
        """Who changes things: the active coder, else the user's name."""
        return self.coder or services.default_actor()

    def codes(self) -> list[CodeInfo]:
        """All codes in tree order (cached until the project changes)."""
        return self._code_cache()[1]

    def marks(self) -> MarkBook:
        """Symbols and colours of the codes."""
        return self._code_cache()[2]

    def _code_cache(self) -> tuple[int, list[CodeInfo], MarkBook]:
        if self._codes is None or self._codes[0] != self.revision:
            codes = services.list_codes(self.store)
            self._codes = (self.revision, codes, MarkBook(codes))
        return self._codes

    def code_counts(self) -> dict[str, tuple[int, int]]:
        """Codings and informants per code, as last counted.

        Counting takes seconds on a large project, so it runs in the background
        whenever the project changed since; screens that show counts are told by
        ``counts_changed()`` when fresh ones arrive.
        """
        if self._counts_revision != self.revision and self._counting_revision != self.revision:
            self._counting_revision = self.revision
            self._count_codes(self.revision)
        return self._counts

    @property
    def counts_are_fresh(self) -> bool:
        """True when the code counts are those of the project as it is now."""
        return self._counts_revision == self.revision

    @work(thread=True, group="code-counts", exit_on_error=False)
    def _count_codes(self, revision: int) -> None:
        store = services.open_project(self.project_path)
        try:
            counts = code_stats(store)
        finally:
            store.close()
        self.post_message(CodeCounts(revision, counts))

    @on(CodeCounts)
    def _counted(self, event: CodeCounts) -> None:
        if event.revision < self._counts_revision:
            return
        self._counts, self._counts_revision = event.counts, event.revision
        for screen in self.screen_stack:
            changed = getattr(screen, "counts_changed", None)
            if changed is not None:
                changed()

    def on_mount(self) -> None:
        """Open the project, settle the coder and go to the first screen."""
        self.title = f"qcode · {self.project_path.name}"
        try:
            self.store  # noqa: B018 - open now, so a broken project is reported at once
        except QcodeError as exc:
            from qcode.tui.screens.modals import ErrorModal

            self.push_screen(ErrorModal(exc.message, exc.hint, title="Cannot open the project"),
                             lambda _r: self.exit())
            return
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        if self.coder is None:
            self.coder = self._default_coder()
        if self.settings.document:
            self.call_after_refresh(self.open_document, self.settings.document)
        elif self.settings.screen != self.DEFAULT_MODE:
            self.call_after_refresh(self.action_show_screen, self.settings.screen)


    def _default_coder(self) -> str | None:
        try:
            return services.resolve_coder(self.store, None, create=False).id
        except QcodeError as exc:
            from qcode.errors import NotFound

            if isinstance(exc, NotFound):  # configured, not yet in this project
                from qcode.config import configured_coder

                return configured_coder()
        coders = list_coders(self.store)
        return coders[0].id if len(coders) == 1 else None

    def on_unmount(self) -> None:
        """Close the project."""
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- screens ----------------------------------------------------------------------

    def action_show_screen(self, mode: str) -> None:
        """Go to a screen (home, coding, suggestions, codebook, query, agreement, help)."""
        if mode not in self.MODES or isinstance(self.screen, ModalScreen):
            return
        self.switch_mode(mode)

    async def on_screen(self, mode: str, callback: Callable[[Screen[Any]], Any]) -> None:
        """Go to a screen and, once it is shown, call ``callback(screen)``."""
        if mode not in self.MODES or isinstance(self.screen, ModalScreen):
            return
        await self.switch_mode(mode)
        screen = self.get_screen_for_mode(mode)
        if screen is None:
            await asyncio.sleep(0)
            screen = self.get_screen_for_mode(mode)
        if screen is not None:
            callback(screen)

    def qscreen(self) -> QScreen | None:
        """The current main screen, if it is one of qcode's."""
        screen = self.screen
        return screen if isinstance(screen, QScreen) else None

    def open_document(self, name: str, *, start: int | None = None, end: int | None = None,
                      turn: int | None = None) -> None:
        """Show a document in the coding view, optionally at a span or turn."""
        from qcode.tui.screens.coding import CodingScreen

        self.current_document = name
        self.pending_open = (name, start, end, turn)
        screen = self.get_screen_for_mode("coding")
        if self.current_mode == "coding" and isinstance(screen, CodingScreen) \
                and screen.is_mounted:
            screen.open_pending()
        else:
            self.switch_mode("coding")

    def get_screen_for_mode(self, mode: str) -> Screen[Any] | None:
        """The main screen of a mode, once it has been shown."""
        return self.mode_screens.get(mode)

    # -- changes ----------------------------------------------------------------------

    def changed(self, what: str = "") -> None:
        """Note that the project changed; the current screen reloads, others when shown."""
        self.revision += 1
        screen = self.qscreen()
        if screen is not None:
            screen.data_changed()

    def set_coder(self, coder: str | None) -> None:
        """Make ``coder`` the active coder (created on its first coding)."""
        self.coder = coder
        self.changed("coder")
        if coder:
            self.notify(f"Coding as {coder}", timeout=3)

    def use_code(self, code_id: str) -> None:
        """Remember a code as recently used (number keys 1-9 apply these)."""
        if code_id in self.recent_codes:
            self.recent_codes.remove(code_id)
        self.recent_codes.insert(0, code_id)
        del self.recent_codes[MAX_RECENT:]

    def with_coder(self, then: Callable[[str], None]) -> None:
        """Run ``then(coder)`` with the active coder, asking who is coding first if needed."""
        if self.coder:
            then(self.coder)
            return
        self.choose_coder(then)

    def choose_coder(self, then: Callable[[str], None] | None = None) -> None:
        """Pick the active coder from the project's coders, or type a new id."""
        from qcode.tui.screens.modals import ChoiceModal, InputModal

        coders = list_coders(self.store)
        options = [(c.id, f"{c.id}  ({c.name})" if c.name != c.id else c.id) for c in coders]
        options.append(("__new__", "New coder id …"))

        def typed(value: str | None) -> None:
            if not value:
                return
            value = value.strip()
            self.set_coder(value)
            if then is not None:
                then(value)

        def chosen(value: str | None) -> None:
            if value is None:
                return
            if value == "__new__":
                self.push_screen(InputModal(
                    "Who is coding?", placeholder="e.g. your initials: kh",
                    help="A short id in lowercase letters, digits, - or _. It marks your "
                         "codings, so agreement between coders can be checked later.",
                    check=_check_coder_id), typed)
                return
            self.set_coder(value)
            if then is not None:
                then(value)

        if not coders:
            chosen("__new__")
            return
        self.push_screen(ChoiceModal("Who is coding?", options, selected=self.coder), chosen)

    def action_undo(self) -> None:
        """Undo the active coder's newest change."""
        summary = self.attempt(services.undo, self.store, self.actor)
        if summary is not None:
            self.notify(f"Undone: {summary}", timeout=4)
            self.changed("undo")

    def action_redo(self) -> None:
        """Redo the active coder's newest undone change."""
        summary = self.attempt(services.redo, self.store, self.actor)
        if summary is not None:
            self.notify(f"Redone: {summary}", timeout=4)
            self.changed("redo")

    # -- errors -----------------------------------------------------------------------

    def attempt(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Call a service; a ``QcodeError`` becomes a notification with its hint."""
        try:
            return fn(*args, **kwargs)
        except QcodeError as exc:
            self.show_error(exc)
        except Exception as exc:  # a bug: show it, keep the app and the data
            self.show_bug(exc)
        return None

    def succeeded(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Call a service that returns nothing; True if it worked (errors are shown)."""
        try:
            fn(*args, **kwargs)
        except QcodeError as exc:
            self.show_error(exc)
            return False
        except Exception as exc:
            self.show_bug(exc)
            return False
        return True

    def show_error(self, exc: QcodeError, *, modal: bool = False) -> None:
        """Show a user error with its hint."""
        if modal:
            from qcode.tui.screens.modals import ErrorModal

            self.push_screen(ErrorModal(exc.message, exc.hint))
            return
        body = exc.message if not exc.hint else f"{exc.message}\nHint: {exc.hint}"
        self.notify(body, title="Error", severity="error", timeout=8, markup=False)

    def show_bug(self, exc: BaseException) -> None:
        """Show an unexpected error in a dialog; the project is unchanged by a failed step."""
        from qcode.tui.screens.modals import ErrorModal

        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        self.push_screen(ErrorModal(
            last, "this is a bug in qcode; your project is safe (every step is saved or "
                  "not at all). Please report it with what you did.",
            title="Something went wrong"))

    # -- background tasks -------------------------------------------------------------

    def run_task(self, title: str, fn: TaskFunction, on_done: Callable[[Any], None] | None = None,
                 *, cancellable: bool = True, overlay: bool = True,
                 on_error: Callable[[BaseException], bool] | None = None) -> int:
        """Run ``fn(store, progress, cancel)`` in a thread with its own project connection.

        A progress overlay shows its steps and Escape cancels it (at its next
        step). ``on_done(result)`` runs in the UI when it finishes (not when it is
        cancelled); errors are shown unless ``on_error`` returns True.
        """
        from qcode.tui.widgets.progress import ProgressOverlay

        self._task_seq += 1
        task_id = self._task_seq
        panel = ProgressOverlay(title, task_id, cancellable=cancellable) if overlay else None
        task = _Task(title, panel, on_done, on_error)
        self._tasks[task_id] = task
        if panel is not None:
            self.push_screen(panel)
        task.worker = self._task_worker(task_id, fn)
        return task_id

    @work(thread=True, exit_on_error=False, group="tasks")
    def _task_worker(self, task_id: int, fn: TaskFunction) -> None:
        worker = get_current_worker()
        cancel = worker.cancelled_event

        def progress(done: int, total: int, label: str) -> None:
            if cancel.is_set():
                raise TaskCancelled()
            self.post_message(TaskProgress(task_id, done, total, label))

        try:
            store = services.open_project(self.project_path)
        except BaseException as exc:
            self.post_message(TaskFailed(task_id, exc))
            return
        try:
            result = fn(store, progress, cancel)
        except TaskCancelled:
            self.post_message(TaskFinished(task_id, None, True))
        except BaseException as exc:
            self.post_message(TaskFailed(task_id, exc))
        else:
            self.post_message(TaskFinished(task_id, result, cancel.is_set()))
        finally:
            store.close()

    @on(TaskProgress)
    def _task_progress(self, event: TaskProgress) -> None:
        task = self._tasks.get(event.task_id)
        if task is not None and task.overlay is not None and task.overlay.is_mounted:
            task.overlay.update_progress(event.done, event.total, event.label)

    def _end_task(self, task_id: int) -> _Task | None:
        task = self._tasks.pop(task_id, None)
        if task is not None and task.overlay is not None and task.overlay.is_attached:
            if self.screen is task.overlay:
                self.pop_screen()
            else:
                task.overlay.dismiss(None)
        return task

    @on(TaskFinished)
    def _task_finished(self, event: TaskFinished) -> None:
        task = self._end_task(event.task_id)
        if task is None:
            return
        if event.cancelled:
            self.notify(f"{task.title}: cancelled; finished steps are kept", timeout=5)
            self.changed("task")
            return
        if task.on_done is not None:
            try:
                task.on_done(event.result)
            except QcodeError as exc:
                self.show_error(exc, modal=True)
            except Exception as exc:
                self.show_bug(exc)

    @on(TaskFailed)
    def _task_failed(self, event: TaskFailed) -> None:
        task = self._end_task(event.task_id)
        if task is not None and task.on_error is not None and task.on_error(event.error):
            return
        error = event.error
        if isinstance(error, QcodeError):
            from qcode.tui.screens.modals import ErrorModal

            self.push_screen(ErrorModal(error.message, error.hint,
                                        title=task.title if task else "Error"))
        else:
            self.show_bug(error)
        self.changed("task")

    def on_progress_overlay_cancel_requested(self, event: ProgressOverlay.CancelRequested
                                             ) -> None:
        """A progress overlay asked to cancel its task."""
        task = self._tasks.get(event.task_id)
        if task is not None and task.worker is not None:
            task.worker.cancel()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker outside the task runner failed: show it, never exit."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            if isinstance(error, QcodeError):
                self.show_error(error)
            else:
                self.show_bug(error)


def _check_coder_id(value: str) -> str | None:
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", value.strip()):
        return "Use lowercase letters, digits, - or _ (for example kh or coder-a)."
    return None
