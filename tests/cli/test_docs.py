"""The CLI reference (docs/cli.md) is generated from --help and must not drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gen_cli_docs.py"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date(gen: ModuleType) -> None:
    current = gen.OUTPUT.read_text(encoding="utf-8") if gen.OUTPUT.exists() else ""
    assert current == gen.render(), (
        f"docs/cli.md is stale: regenerate it with `{gen.REGENERATE}` and commit the result"
    )


def test_every_command_has_help_and_a_reference_entry(gen: ModuleType) -> None:
    from qcode.cli import cli

    reference = gen.OUTPUT.read_text(encoding="utf-8")
    commands = list(gen.walk(cli))
    assert len(commands) > 10
    for path, command, _ctx in commands:
        assert (command.help or "").strip(), f"'{path}' has no help text"
        assert f"\n## {path}\n" in reference, f"'{path}' is missing from docs/cli.md"

