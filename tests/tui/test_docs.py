"""docs/tui.md lists every key, generated from the bindings; it must not drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gen_tui_keys.py"


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_tui_keys", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_key_reference_is_up_to_date(gen: ModuleType) -> None:
    page = gen.OUTPUT.read_text(encoding="utf-8")
    assert page == gen.render(page), (
        f"docs/tui.md is stale: regenerate it with `{gen.REGENERATE}` and commit the result")


def test_every_binding_id_is_in_the_reference(gen: ModuleType) -> None:
    from qcode.tui.keys import key_sections

    page = gen.OUTPUT.read_text(encoding="utf-8")
    for _title, rows in key_sections():
        for row in rows:
            assert f"`{row.binding_id}`" in page


def test_tutorial_screenshots_exist() -> None:
    tutorial = (REPO / "docs" / "tutorial.md").read_text(encoding="utf-8")
    import re

    images = re.findall(r"\]\((img/[^)]+\.svg)\)", tutorial)
    assert len(images) >= 6
    for image in images:
        assert (REPO / "docs" / image).exists(), image
