"""What the terminal UI is started with (from the CLI, tests or snapshots)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    agreement_bootstrap: int = 1000
    """Bootstrap samples for the interval around Krippendorff's alpha."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Other keys for bindings, by binding id: ``{"coding.apply": "enter"}`` (see docs/tui.md)."""
