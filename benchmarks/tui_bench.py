"""TUI measurements in Textual's Pilot (headless), used by ``benchmarks.run tui``.

- **first screen**: a fresh interpreter imports ``qcode.tui``, builds the app with
  ``make_app``, runs it headless and waits until the home screen has mounted and its
  workers are done; the first screen counts as shown when the refresh that drew the
  filled document table is over (the screen's after-refresh callback). Measured inside
  the process from before the first qcode import (``in-process``) and from outside
  (``process wall``, interpreter start and exit included).
- **open the 20,000-word transcript**: ``app.open_document(name)`` (what the document
  picker calls) until the coding view has loaded it and the app is idle again; between
  samples a short document is opened, so every sample is a real switch.
- **apply a code**: on that transcript, ``n`` moves to the next uncoded informant turn
  (not timed), then the key ``1`` applies the most recent code to it; timed from the key
  press until the app is idle again with the coding stored.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZE = (160, 50)


async def _settle(app: Any, pilot: Any) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def first_screen(project: str, coder: str) -> dict[str, float]:
    """Seconds from before importing qcode.tui to the first screen, and to its settling.

    ``painted``: the home screen with its documents has been drawn (what the user sees):
    the moment the screen's after-refresh callback starts the background counts.
    ``first``: Pilot sees the filled table; later than ``painted`` on a large project,
    because Pilot's loop then shares the interpreter with the counting thread.
    ``settled``: the background work (coding progress and the leak counts of every
    document) has finished too.
    """
    t0 = time.perf_counter()
    c0 = time.process_time()
    from qcode.tui import TuiSettings, make_app
    from qcode.tui.screens.home import HomeScreen

    app = make_app(Path(project), TuiSettings(coder=coder))
    out: dict[str, float] = {}
    start_counts = HomeScreen._count_in_background

    def painted(screen: Any) -> None:  # called after the refresh that drew the table
        if "painted" not in out:
            out["painted"] = time.perf_counter() - t0
            out["painted_cpu"] = time.process_time() - c0
        start_counts(screen)

    HomeScreen._count_in_background = painted  # type: ignore[method-assign]

    async def journey() -> None:
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(2000):
                await pilot.pause()
                screen = app.screen
                table = next(iter(screen.query("#docs")), None) if screen else None
                if type(screen).__name__ == "HomeScreen" and table is not None \
                        and getattr(table, "row_count", 0) > 0:
                    break
            else:
                raise RuntimeError("the home screen never showed its documents")
            out["first"] = time.perf_counter() - t0
            out["first_cpu"] = time.process_time() - c0
            await _settle(app, pilot)
            out["settled"] = time.perf_counter() - t0
            out["settled_cpu"] = time.process_time() - c0
            from benchmarks.run import _peak_mib

            out["peak_mib"] = _peak_mib()

    asyncio.run(journey())
    return out


def run(args: dict[str, Any]) -> dict[str, Any]:
    """The three TUI measurements on a generated project."""
    from benchmarks.generate import DEFAULT_OUT, load_manifest
    from benchmarks.run import Op, measured, pct

    manifest = load_manifest(DEFAULT_OUT, args["scale"])
    if manifest is None:
        raise SystemExit("generate the project first")
    coder, long_name, repeat = manifest["coders"][0], manifest["long_document"], args["repeat"]
    from qcode import services

    # work on a copy: the journey adds codings to the project (and a newer qcode would
    # migrate the cached file if it were opened as a project)
    from qcode.store.db import copy_database

    tmp = Path(tempfile.mkdtemp(prefix="qcode-bench-tui-"))
    project = str(tmp / "tui.qcode")
    copy_database(Path(manifest["project"]), Path(project))
    services.open_project(Path(project)).close()  # migrated before anything is measured

    paint = Op("app start to first screen drawn (in-process)")
    first = Op("app start to first screen seen by Pilot (in-process)")
    settled = Op("... until its background counts are done (leak check of every document)")
    wall = Op("app start to first screen, settled (process wall)")
    cmd = [sys.executable, "-m", "benchmarks.tui_bench", "first-screen", project, coder]
    subprocess.run(cmd, capture_output=True, check=True)  # warm the page cache
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        wall.seconds.append(time.perf_counter() - t0)
        times = json.loads(proc.stdout.strip().splitlines()[-1])
        first.seconds.append(times["first"])
        first.cpu.append(times["first_cpu"])
        paint.seconds.append(times["painted"])
        paint.cpu.append(times["painted_cpu"])
        settled.seconds.append(times["settled"])
        settled.cpu.append(times["settled_cpu"])
        settled.peak_mib = max(settled.peak_mib, times.get("peak_mib", 0.0))

    from qcode.tui import TuiSettings, make_app

    store = services.open_project(Path(project))
    try:
        doc = store.document(long_name)
        words = doc.word_count
        turns = doc.turn_count
        short = next(d.name for d in store.documents() if d.name != long_name
                     and d.kind == "interview")
        code = store.codes()[-1].id
        before = len(store.codings(document_id=doc.id))
    finally:
        store.close()
    app = make_app(Path(project), TuiSettings(coder=coder))
    open_op = Op(f"open the {words:,}-word transcript ({turns} turns)")
    apply_op = Op("apply a code (key 1 on a turn)")
    idle_op = Op("Pilot overhead: an unbound key (F12) until idle")
    query_op = Op("query screen: run `prestisje` and list its first page (worker)")
    stalls: list[float] = []  # how late a 5 ms timer on the UI's event loop fires
    phase = ["start"]  # what the journey is doing: the longest stall of each is reported
    worst: dict[str, float] = {}

    async def watch(stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            t0 = loop.time()
            await asyncio.sleep(0.005)
            late = loop.time() - t0 - 0.005
            stalls.append(late)
            worst[phase[0]] = max(worst.get(phase[0], 0.0), late)

    async def journey() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await _settle(app, pilot)
            stop = asyncio.Event()
            watcher = asyncio.create_task(watch(stop))
            for i in range(repeat + 1):  # the first is a warm-up (a screen is made)
                phase[0] = "open" if i else "open-first"
                app.open_document(short)
                await _settle(app, pilot)
                with measured(open_op):
                    app.open_document(long_name)
                    await _settle(app, pilot)
                screen = app.screen
                if getattr(getattr(screen, "document", None), "name", None) != long_name:
                    raise RuntimeError(f"the coding view shows {screen!r}, not {long_name}")
            del open_op.seconds[0], open_op.cpu[0]
            app.use_code(code)
            phase[0] = "apply"
            for _ in range(repeat + 1):
                await pilot.press("n")
                await _settle(app, pilot)
                with measured(apply_op):
                    await pilot.press("1")
                    await _settle(app, pilot)
            del apply_op.seconds[0], apply_op.cpu[0]
            phase[0] = "keys"
            for _ in range(repeat + 1):
                with measured(idle_op):
                    await pilot.press("f12")
                    await _settle(app, pilot)
            del idle_op.seconds[0], idle_op.cpu[0]
            for i in range(repeat + 1):  # the first makes the query screen
                phase[0] = "query" if i else "query-first"
                with measured(query_op):
                    await app.on_screen("query", lambda q: q.run_query("prestisje"))
                    while str(app.screen.query_one("#coverage").render()).startswith(
                            "running"):
                        await asyncio.sleep(0.01)
                    await _settle(app, pilot)
            del query_op.seconds[0], query_op.cpu[0]
            stop.set()
            await watcher

    asyncio.run(journey())
    store = services.open_project(Path(project))
    try:
        applied = len(store.codings(document_id=store.document(long_name).id)) - before
    finally:
        store.close()
    shutil.rmtree(tmp, ignore_errors=True)
    if applied != repeat + 1:
        raise RuntimeError(f"expected {repeat + 1} new codings, found {applied}")
    stalls.sort()
    stall = Op("longest event-loop stall during the journey (open, apply, keys, query)",
               seconds=[stalls[-1]], cpu=[stalls[-1]],
               extra={"p99_ms": round(1000 * pct(stalls, 99), 1), "ticks": len(stalls),
                      "over_100ms": sum(1 for x in stalls if x > 0.1),
                      **{f"{k}_ms": round(1000 * v) for k, v in worst.items()}})
    ops = [paint.as_dict(), first.as_dict(), settled.as_dict(), wall.as_dict(), open_op.as_dict(),
           apply_op.as_dict(), idle_op.as_dict(), query_op.as_dict(), stall.as_dict()]
    for o in ops[3:7]:
        o["p95_s"] = pct(o["seconds"], 95)
    return {"project": manifest["project"], "document": long_name, "words": words, "ops": ops}


if __name__ == "__main__":
    if sys.argv[1] == "first-screen":
        print(json.dumps(first_screen(sys.argv[2], sys.argv[3])))
