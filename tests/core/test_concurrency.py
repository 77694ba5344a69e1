"""Two programs on one project: parallel writers, a waiting loser, a reader, backups, restore.

The project is in WAL mode with a busy timeout: readers never wait, a writer
waits for the other writer's transaction (``BEGIN IMMEDIATE`` with the busy
timeout) and, if that takes too long, fails with one line and changes nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from qcode import services
from qcode.errors import ProjectError, QcodeError
from qcode.services import SpanRequest
from qcode.store import db, open_store

from .crashkit import Log, fingerprint, project_with, run_forked, verify_project, write_transcripts

REPO = Path(__file__).resolve().parents[2]


def _wait_for(flag: Path, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not flag.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(flag)
        time.sleep(0.002)


def _spans(names: list[str], batch: int, size: int = 20) -> list[SpanRequest]:
    out = []
    for j in range(size):
        g = batch * size + j
        start = (g // len(names)) * 4
        out.append(SpanRequest(document=names[g % len(names)], code=f"k{g % 4}", start=start,
                               end=start + 3))
    return out


def _parallel(*targets: object) -> list[int | None]:
    """Start forked children at once (they wait for the go flag); their exit codes."""
    import threading

    codes: list[int | None] = [None] * len(targets)

    def run(i: int, target: object) -> None:
        codes[i] = run_forked(target).exit_code  # type: ignore[arg-type]

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_two_writers_and_a_reader_lose_nothing(tmp_path: Path) -> None:
    path = project_with(tmp_path, docs=4, turns=40, codes=4)
    names = [f"V{i}" for i in range(4)]
    folder = write_transcripts(tmp_path / "nye", 12, 30, prefix="JS")
    go = tmp_path / "go"
    coded, reads = Log(tmp_path / "coded.log"), Log(tmp_path / "reads.log")
    spans = Log(tmp_path / "times.log")
    batches = 25

    def importer() -> None:
        _wait_for(go)
        started = time.monotonic()
        store = services.open_project(path)
        report = services.import_paths(store, [folder], services.import_options(store),
                                       actor="importer")
        assert not report.failed, [r.detail for r in report.failed]
        store.close()
        spans.write({"who": "importer", "from": started, "to": time.monotonic()})

    def coder() -> None:
        _wait_for(go)
        started = time.monotonic()
        store = services.open_project(path)
        for b in range(batches):
            done = services.apply_codings(store, _spans(names, b), "koder-a")
            coded.write({"ids": [c.id for c in done]})
        store.close()
        spans.write({"who": "coder", "from": started, "to": time.monotonic()})

    def reader() -> None:  # like the TUI: one connection, reading while others write
        _wait_for(go)
        store = services.open_project(path)
        for _ in range(60):
            counts = store.counts()
            services.list_documents(store)
            reads.write({"documents": counts["documents"], "codings": counts["codings"]})
        store.close()

    import threading

    threading.Timer(0.05, go.touch).start()
    assert _parallel(importer, coder, reader) == [0, 0, 0]
    found = verify_project(path)
    assert len(found.documents) == 4 + 12
    assert len(found.codings) == batches * 20
    assert {i for r in coded.records() for i in r["ids"]} == found.codings
    seen = reads.records()
    assert len(seen) == 60
    assert [r["codings"] for r in seen] == sorted(r["codings"] for r in seen)  # never back
    a, b = sorted(spans.records(), key=lambda r: r["who"])
    assert a["from"] < b["to"] and b["from"] < a["to"], "the writers did not overlap"


def test_a_waiting_writer_gets_its_turn(tmp_path: Path) -> None:
    path = project_with(tmp_path, docs=2, turns=10, codes=4)
    locked, log = tmp_path / "locked", Log(tmp_path / "waited.log")

    def holder() -> None:
        store = open_store(path)
        with store.transaction():
            store.record_event("holder", "test.hold", {})
            locked.touch()
            time.sleep(1.0)
        store.close()

    def waiter() -> None:
        _wait_for(locked)
        store = open_store(path)
        started = time.monotonic()
        services.apply_codings(store, _spans(["V0", "V1"], 0), "koder-a")
        log.write({"waited": time.monotonic() - started})
        store.close()

    assert _parallel(holder, waiter) == [0, 0]
    (record,) = log.records()
    assert 0.5 < record["waited"] < db.BUSY_TIMEOUT_MS / 1000
    assert len(verify_project(path).codings) == 20


def test_a_writer_that_waits_too_long_fails_with_one_line(tmp_path: Path) -> None:
    path = project_with(tmp_path, docs=2, turns=10, codes=4)
    locked, done, log = tmp_path / "locked", tmp_path / "done", Log(tmp_path / "loser.log")

    def holder() -> None:
        store = open_store(path)
        with store.transaction():
            store.record_event("holder", "test.hold", {})
            locked.touch()
            _wait_for(done)
        store.close()

    def loser() -> None:
        db.BUSY_TIMEOUT_MS = 200  # this child only
        _wait_for(locked)
        store = open_store(path)
        try:
            services.apply_codings(store, _spans(["V0", "V1"], 0), "koder-a")
        except QcodeError as exc:
            log.write({"type": type(exc).__name__, "line": exc.one_line()})
        finally:
            done.touch()
            store.close()

    assert _parallel(holder, loser) == [0, 0]
    (record,) = log.records()
    assert record["type"] == "ProjectError"
    assert "another program is writing to the project" in record["line"]
    assert "\n" not in record["line"]
    found = verify_project(path)
    assert not found.codings and found.kinds("test.hold")


def test_simultaneous_first_opening_of_an_old_project_migrates_once(tmp_path: Path) -> None:
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "schemas" / \
        "schema-0001_initial.qcode"
    path = tmp_path / "gammel.qcode"
    shutil.copyfile(fixture, path)
    go, log = tmp_path / "go", Log(tmp_path / "open.log")

    def opener() -> None:
        _wait_for(go)
        try:
            store = services.open_project(path)
            log.write({"schema": store.schema_version()})
            store.close()
        except QcodeError as exc:
            log.write({"error": exc.one_line()})

    import threading

    threading.Timer(0.05, go.touch).start()
    assert _parallel(opener, opener, opener) == [0, 0, 0]
    records = log.records()
    assert len(records) == 3
    assert all("error" not in r for r in records), records
    store = open_store(path)
    try:
        assert [e["kind"] for e in store.events()].count("project.migrate") == 1
        assert services.check_project(store) == []
    finally:
        store.close()


def test_backups_while_another_program_writes(tmp_path: Path) -> None:
    path = project_with(tmp_path, docs=4, turns=40, codes=4)
    names = [f"V{i}" for i in range(4)]
    go, made = tmp_path / "go", Log(tmp_path / "backups.log")

    def coder() -> None:
        _wait_for(go)
        store = open_store(path)
        for b in range(20):
            services.apply_codings(store, _spans(names, b), "koder-a")
        store.close()

    def backer() -> None:
        _wait_for(go)
        store = open_store(path)
        for i in range(8):
            made.write({"path": str(services.backup_before(store, f"run-{i}"))})
        store.close()

    import threading

    threading.Timer(0.05, go.touch).start()
    assert _parallel(coder, backer) == [0, 0]
    verify_project(path)  # also opens and checks every backup
    for record in made.records():
        copy = open_store(Path(record["path"]))
        try:
            assert copy.check() == []
            n = copy.counts()["codings"]
            assert n % 20 == 0  # a backup holds whole transactions only
        finally:
            copy.close()


def test_restore_is_refused_while_another_process_has_the_project_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qcode.services import backup as backups

    monkeypatch.setattr(backups, "LOCK_WAIT_S", 0.3)
    path = project_with(tmp_path, docs=2, turns=10, codes=4)
    store = open_store(path)
    old = services.backup_before(store, "test")
    services.add_memo(store, "project", None, "Etter backup.", author="tester")
    store.close()
    opened, done = tmp_path / "opened", tmp_path / "done"

    def idle_window() -> None:  # an idle TUI: the file is open, no lock is held
        s = services.open_project(path)
        s.counts()
        opened.touch()
        _wait_for(done)
        s.close()

    import threading

    codes: list[int | None] = []
    child = threading.Thread(target=lambda: codes.append(run_forked(idle_window).exit_code))
    child.start()
    try:
        _wait_for(opened)
        before = fingerprint(path)
        with pytest.raises(ProjectError, match="is open in another program"):
            services.restore(path, old)
        assert fingerprint(path) == before
    finally:
        done.touch()
        child.join()
    assert codes == [0]
    services.restore(path, old)  # closed now: the restore goes through
    assert fingerprint(path) == fingerprint(old)


@pytest.mark.slow
def test_cli_import_and_cli_coding_at_the_same_time(tmp_path: Path) -> None:
    path = project_with(tmp_path, docs=3, turns=30, codes=4)
    folder = write_transcripts(tmp_path / "nye", 10, 30, prefix="JS")
    batches = []
    for b in range(3):
        spec = tmp_path / f"batch{b}.yaml"
        spec.write_text(yaml.safe_dump([
            {"document": r.document, "code": r.code, "start": r.start, "end": r.end}
            for r in _spans(["V0", "V1", "V2"], b)]), encoding="utf-8")
        batches.append(spec)
    env = {**os.environ, "QCODE_CODER": "koder-a", "QCODE_PROJECT": str(path)}
    cmd = [sys.executable, "-m", "qcode"]
    importer = subprocess.Popen([*cmd, "import", str(folder)], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for spec in batches:
        done = subprocess.run([*cmd, "code", "apply", "--from", str(spec)], env=env,
                              cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    _, err = importer.communicate(timeout=120)
    assert importer.returncode == 0, err
    found = verify_project(path)
    assert len(found.documents) == 13 and len(found.codings) == 60
