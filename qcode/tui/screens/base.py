"""What every main screen shares: the top bar, the footer, reloading after changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from qcode.tui.widgets.navbar import NavBar

if TYPE_CHECKING:
    from qcode.tui.app import QcodeApp


class QScreen(Screen[None]):
    """A main screen (a mode of the app); reloads its data when shown after a change."""

    MODE: ClassVar[str] = ""
    HELP_TITLE: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__(id=f"screen-{self.MODE}")
        self._seen_revision = -1

    @property
    def qapp(self) -> QcodeApp:
        """The app, typed."""
        return cast("QcodeApp", self.app)

    def on_mount(self) -> None:
        """Let the app find this screen by its mode."""
        self.qapp.mode_screens[self.MODE] = self

    def compose(self) -> ComposeResult:
        """The top bar, the screen's own widgets, the footer."""
        yield NavBar(self.MODE, id="navbar")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets."""
        yield from ()

    def on_screen_resume(self) -> None:
        """Reload if the project changed while another screen was shown."""
        self._update_navbar()
        if self._seen_revision != self.qapp.revision:
            self.data_changed()

    def data_changed(self) -> None:
        """The project (or the coder) changed: show the current state."""
        self._seen_revision = self.qapp.revision
        self._update_navbar()
        from qcode.errors import QcodeError

        try:
            self.refresh_data()
        except QcodeError as exc:  # e.g. the project file went away
            self.qapp.show_error(exc, modal=True)

    def _update_navbar(self) -> None:
        bars = self.query(NavBar)
        if not bars:
            return
        bar = bars.first()
        app = self.qapp
        bar.project = app.project_path.name
        bar.coder = app.coder or ""
        bar.blind = app.blind
        bar.refresh()

    def refresh_data(self) -> None:
        """Read what the screen shows from the project."""
