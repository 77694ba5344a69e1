"""The one error hierarchy of qcode.

Every error a user can cause is a ``QcodeError``: a one-line ``message`` that names
the file or object concerned, and a ``hint`` that says how to fix it. Front ends
render them (the CLI on stderr with a non-zero exit code); nothing else should
reach a user as a traceback.

    QcodeError                 exit 1
    ├── ProjectError           no project found, not a qcode file, newer schema
    │   └── ProjectCorrupt     integrity or foreign-key check failed (exit 3)
    ├── InputError             a source file, codebook or argument is unusable
    │   └── IngestError        an importer refused a file
    │   └── QueryError         a query that does not parse (with its position)
    └── NotFound               a document, code, coder ... does not exist
"""

from __future__ import annotations

import unicodedata


def _flat(text: str) -> str:
    """Escape line breaks and other control characters (a file name may hold them)."""
    if all(c.isprintable() or c == " " for c in text):
        return text
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
                   for c in text)


class QcodeError(Exception):
    """A user-facing error with a one-line message and a hint for the fix."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and hint on one line, as the CLI prints them."""
        if self.hint:
            return _flat(f"{self.message} ({self.hint})")
        return _flat(self.message)


class ProjectError(QcodeError):
    """The project file is missing, ambiguous, or not a qcode project."""


class ProjectCorrupt(ProjectError):
    """The project file failed an integrity check."""

    exit_code = 3


class InputError(QcodeError):
    """Input that qcode cannot use: a file, an option value, a pattern."""


class IngestError(InputError):
    """An importer refused a source file; nothing was written."""

    def __init__(self, path: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{path}: {message}", hint)
        self.path = path
        self.reason = message


class QueryError(InputError):
    """A query that cannot be parsed or run; ``position`` is a code-point index into it."""

    def __init__(self, message: str, query: str, position: int, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.query = query
        self.position = max(0, min(position, len(query)))

    def caret(self) -> str:
        """The query with a caret under the failing position (two lines)."""
        return f"{self.query}\n{' ' * self.position}^"

    def one_line(self) -> str:
        """Message, position and hint on one line."""
        base = f"{self.message} at position {self.position + 1}"
        return _flat(f"{base} ({self.hint})" if self.hint else base)


class NotFound(QcodeError):
    """A named object (document, code, coder, backup ...) does not exist."""
