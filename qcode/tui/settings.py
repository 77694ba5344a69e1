"""What the terminal UI is started with (from the CLI, tests or snapshots)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TuiSettings:
    """Start-up choices for the TUI; everything else is read from the project."""

    coder: str | None = None
    """The active coder id; default: $QCODE_CODER or the user configuration."""
    screen: str = "home"
    """The screen to open first: home, coding, suggestions, codebook, query, agreement, help."""
    document: str | None = None
    """A document to open in the coding view at start."""
    blind: bool = False
    """Start with other coders' codings hidden."""
    nlp_pipeline: str | None = None
    """The language pipeline setting passed to annotation (default: the project's choice)."""
    show_path: bool = True
    """Show the project's folder in the title bar (off in snapshots, for determinism)."""
