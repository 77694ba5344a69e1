"""Where the shipped sample corpus and codebooks are found at run time."""

from __future__ import annotations

from pathlib import Path

from qcode.errors import QcodeError

_PACKAGE = Path(__file__).resolve().parent


def data_root() -> Path:
    """The folder holding ``corpora/`` and ``codebooks/``: the source tree or the wheel's copy."""
    for root in (_PACKAGE.parent, _PACKAGE / "_data"):
        if (root / "corpora").is_dir() and (root / "codebooks").is_dir():
            return root
    raise QcodeError("the sample corpus is missing from this installation",
                     "reinstall qcode, or run it from a clone of the repository")


def corpus_dir() -> Path:
    """The shipped sample corpus."""
    return data_root() / "corpora"


def codebook_dir() -> Path:
    """The shipped codebooks."""
    return data_root() / "codebooks"
