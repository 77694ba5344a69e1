"""The home screen's leak counts: from the stored leak checks, made once per version."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qcode import services
from qcode.services import anonymize
from qcode.tui.app import QcodeApp
from qcode.tui.screens.home import HomeScreen
from tests.tui.conftest import run, settle

AppFor = Callable[..., QcodeApp]


def test_leak_counts_come_from_stored_checks(demo_project: Path, app_for: AppFor,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store = services.open_project(demo_project)
    try:
        with store.transaction():  # as in a project made before the checks were stored
            store.conn.execute("DELETE FROM leak_checks")
        v4 = store.document("V4").id
    finally:
        store.close()
    checked: list[str] = []
    real = anonymize.find_all_leaks

    def counted(text: str, **kwargs: Any) -> Any:
        checked.append(text[:20])
        return real(text, **kwargs)

    monkeypatch.setattr(anonymize, "find_all_leaks", counted)

    async def journey() -> dict[str, int | None]:
        app = app_for(demo_project, coder="coder-a")
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            home = app.screen
            assert isinstance(home, HomeScreen)
            return dict(home.leaks)

    first = run(journey())
    assert len(checked) == len(first) == 18  # every document checked once, and stored
    assert first["V4"] is not None and first["V4"] >= 3
    store = services.open_project(demo_project)
    try:
        assert store.leak_checks()[v4].high == first["V4"]
    finally:
        store.close()
    second = run(journey())
    assert second == first and len(checked) == 18  # read back, nothing checked again
