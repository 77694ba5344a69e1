"""Take the SVG screenshots of docs/tutorial.md and docs/tui.md by driving the TUI.

    uv run python scripts/gen_tui_screenshots.py

It walks the tutorial's path with Textual's Pilot in a temporary folder (a new
project, the sample interviews and informants.csv from corpora/), and saves
each screen with ``app.save_screenshot`` into docs/img/. The agreement screen
is taken on the demo project, which has two coders.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "img"
SIZE = (100, 30)


async def settle(pilot: Any) -> None:
    """Let screens, messages and background work finish; drop the notifications."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


def shot(app: Any, name: str) -> None:
    """Save the current screen as docs/img/NAME.svg."""
    app.save_screenshot(f"{name}.svg", path=str(IMAGES))
    print(f"  docs/img/{name}.svg")


async def student(folder: Path) -> None:
    """From an empty project to a quote table."""
    from textual.widgets import Input

    from qcode import services
    from qcode.tui import TuiSettings, make_app
    from qcode.tui.screens.coding import CodingScreen

    project = services.init_project(folder / "masteroppgave.qcode", actor="kh")
    app = make_app(project, TuiSettings(coder="kh"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shot(app, "tui-home-empty")
        await pilot.press("i")
        await pilot.pause()
        app.screen.query_one("#path", Input).value = str(folder / "intervjuer")
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#path", Input).value = str(folder / "informants.csv")
        await pilot.press("ctrl+o")
        await settle(pilot)
        shot(app, "tui-import-preview")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("l")
        await pilot.pause()
        await pilot.press("down", "down", "enter")  # samarbeid
        await settle(pilot)
        shot(app, "tui-home")
        await pilot.press("enter")  # JS1
        await settle(pilot)
        coding = app.screen
        assert isinstance(coding, CodingScreen)
        coding.view.go_to_turn_number(9)
        await pilot.press("s", "s", "s")  # «Vi sitter i samme gang …»
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one(Input).value = "samme gang"
        await settle(pilot)
        shot(app, "tui-picker")
        await pilot.press("enter")
        await settle(pilot)
        shot(app, "tui-coding")
        await pilot.press("v", "s")  # the coding's span: up to the end of the next sentence
        await settle(pilot)
        shot(app, "tui-edit-span")
        await pilot.press("escape")  # (the tutorial keeps the first span)
        await settle(pilot)
        await pilot.press("f4", "g")
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)
        shot(app, "tui-suggestions")
        await pilot.press("a", "a")
        await settle(pilot)
        await pilot.press("f5", "down", "down")
        await settle(pilot)
        shot(app, "tui-codebook")
        await pilot.press("f6")
        await pilot.pause()
        app.screen.query_one("#query-input", Input).value = "samarbeid AND role=jobbspesialist"
        await pilot.press("enter")
        await settle(pilot)
        shot(app, "tui-query")
        await pilot.press("ctrl+t")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = "Samarbeid (jobbspesialister)"
        await pilot.press("enter")
        await settle(pilot)
        shot(app, "tui-export")
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+f")
        await settle(pilot)
        shot(app, "tui-frequencies")
        await pilot.press("escape")
        await settle(pilot)
        # later: one more coding, then the stored report is run again and compared
        app.open_document("JS2")
        await settle(pilot)
        coding = app.screen
        assert isinstance(coding, CodingScreen)
        coding.view.go_to_turn_number(9)
        await pilot.press("s", "s", "s", "a")  # «Altså, for at jeg skal kunne begynne …»
        await pilot.pause()
        app.screen.query_one(Input).value = "innsøking"
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("f6", "ctrl+g")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        shot(app, "tui-report-rerun")
        await pilot.press("f1")
        await settle(pilot)
        shot(app, "tui-help")


async def team(folder: Path) -> None:
    """The agreement screen on the demo project (two coders)."""
    from qcode.demo import build_demo
    from qcode.tui import TuiSettings, make_app

    demo = build_demo(folder / "demo").path
    app = make_app(demo, TuiSettings(coder="coder-a", screen="agreement"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        await pilot.press("down", "down", "tab")
        await settle(pilot)
        shot(app, "tui-agreement")


def main() -> int:
    """Take every screenshot."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    os.environ.pop("QCODE_CODER", None)
    with tempfile.TemporaryDirectory(prefix="qcode-shots-") as tmp:
        folder = Path(tmp)
        os.environ["QCODE_CONFIG"] = str(folder / "config.toml")
        shutil.copytree(ROOT / "corpora" / "intervjuer", folder / "intervjuer")
        shutil.copy2(ROOT / "corpora" / "informants.csv", folder / "informants.csv")
        os.chdir(folder)
        print("Taking screenshots:")
        asyncio.run(student(folder))
        asyncio.run(team(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
