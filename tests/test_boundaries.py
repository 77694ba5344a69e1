"""Architecture boundaries: the core never imports Textual; heavy imports stay lazy."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import qcode

CORE_MODULES = sorted(
    m.name for m in pkgutil.walk_packages(qcode.__path__, "qcode.")
    if not m.name.startswith("qcode.tui") and m.name != "qcode.__main__"
)


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_core_never_imports_textual_or_spacy() -> None:
    imports = "\n".join(f"import {m}" for m in CORE_MODULES)
    loaded = _loaded_after(imports)
    assert "textual" not in loaded
    assert "spacy" not in loaded


def test_cli_startup_imports_nothing_heavy() -> None:
    """``qcode --help`` must answer at once: the CLI module loads only click and qcode basics."""
    loaded = _loaded_after("import qcode.cli")
    heavy = {"sqlite_utils", "docx", "odf", "pypdf", "openpyxl", "yaml", "spacy", "textual",
             "rapidfuzz", "lxml"}
    assert not heavy & {m.split(".")[0] for m in loaded}


def test_help_runs_in_a_fresh_process() -> None:
    out = subprocess.run([sys.executable, "-m", "qcode", "--help"], capture_output=True,
                         text=True, check=True)
    assert "Usage: qcode" in out.stdout
