"""The terminal user interface: the only package that imports Textual.

``make_app`` builds the app for the CLI, the Pilot tests and the snapshot tests
alike; ``run`` opens a project in the terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qcode.tui.settings import TuiSettings

if TYPE_CHECKING:
    from qcode.store import Store
    from qcode.tui.app import QcodeApp

__all__ = ["TuiSettings", "make_app", "run"]


def make_app(project_path: Path, settings: TuiSettings | None = None, *,
             store: Store | None = None) -> QcodeApp:
    """Build the qcode app for a project file (opened when it runs, unless ``store`` is given)."""
    from qcode.tui.app import QcodeApp

    return QcodeApp(Path(project_path), settings or TuiSettings(), store=store)


def run(project_path: Path, settings: TuiSettings | None = None) -> None:
    """Open a project in the terminal UI and return when the user quits.

    The project is opened (and checked) first, so a missing or broken project
    raises its ``ProjectError`` here rather than inside the full-screen app; the
    app then uses that connection (one integrity check, not two).
    """
    from qcode import services

    store = services.open_project(Path(project_path))
    try:
        make_app(project_path, settings, store=store).run()
    finally:
        store.close()
