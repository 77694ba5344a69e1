"""The terminal user interface: the only package that imports Textual.

``make_app`` builds the app for the CLI, the Pilot tests and the snapshot tests
alike; ``run`` opens a project in the terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qcode.tui.settings import TuiSettings

if TYPE_CHECKING:
    from qcode.tui.app import QcodeApp

__all__ = ["TuiSettings", "make_app", "run"]


def make_app(project_path: Path, settings: TuiSettings | None = None) -> QcodeApp:
    """Build the qcode app for a project file (nothing is opened until it runs)."""
    from qcode.tui.app import QcodeApp

    return QcodeApp(Path(project_path), settings or TuiSettings())


def run(project_path: Path, settings: TuiSettings | None = None) -> None:
    """Open a project in the terminal UI and return when the user quits.

    The project is opened (and checked) first, so a missing or broken project
    raises its ``ProjectError`` here rather than inside the full-screen app.
    """
    from qcode import services

    services.open_project(Path(project_path)).close()
    make_app(project_path, settings).run()
