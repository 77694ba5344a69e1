"""Fixtures of the TUI tests: small and demo projects, the app factory, fast language layer.

Pilot tests are plain functions that run their journey with ``asyncio.run``;
snapshot tests use pytest-textual-snapshot's ``snap_compare``. Projects live in
temporary folders; the screens never show the folder, only the file name, so
the snapshots do not depend on it.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from qcode import services
from qcode.resources import codebook_dir
from qcode.tui import TuiSettings, make_app
from qcode.tui.app import QcodeApp

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a Pilot journey to its end."""
    return asyncio.run(coro)


async def settle(app: QcodeApp, pilot: Any) -> None:
    """Let messages, screens and workers finish."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture(autouse=True)
def _quiet_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user configuration, no configured coder, the fast language pipeline."""
    monkeypatch.setenv("QCODE_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("QCODE_CODER", raising=False)
    monkeypatch.delenv("QCODE_PROJECT", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("QCODE_NLP_PIPELINE", "blank")


@pytest.fixture
def small_project(project_path: Path, transcript_dir: Path, informants_csv: Path) -> Path:
    """Three short transcripts with informant attributes and the samarbeid codebook."""
    store = services.open_project(project_path)
    try:
        services.import_paths(store, [transcript_dir], services.import_options(store),
                              attributes=informants_csv, actor="tester")
        services.load_codebook_file(store, codebook_dir() / "samarbeid.yaml", actor="tester")
    finally:
        store.close()
    return project_path


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo project (sample corpus, three codebooks, two coders), built once."""
    from qcode.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo-master")).path


@pytest.fixture
def demo_project(demo_master: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo project for one test."""
    folder = tmp_path / "demo"
    folder.mkdir()
    target = folder / demo_master.name
    for suffix in ("", "-wal", "-shm"):
        source = demo_master.with_name(demo_master.name + suffix)
        if source.exists():
            shutil.copy2(source, target.with_name(target.name + suffix))
    return target


@pytest.fixture
def app_for() -> Callable[..., QcodeApp]:
    """Build the app for a project the way the CLI does (``make_app``)."""

    def build(path: Path, **settings: Any) -> QcodeApp:
        return make_app(path, TuiSettings(**settings))

    return build


@pytest.fixture
def wait_workers() -> Callable[[Any], Awaitable[None]]:
    """A ``run_before`` for snapshots: wait until background work is done."""

    async def wait(pilot: Any) -> None:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return wait


@pytest.fixture
def files_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run with the current folder at a temporary place (the file pickers start there)."""
    root = tmp_path / "work"
    root.mkdir()
    monkeypatch.chdir(root)
    yield root
