"""A full disk and a read-only project: one-line errors, nothing half-written, nothing lost.

Tests run as root, so file permissions cannot make anything read-only. Two
simulations work as root:

- ``PRAGMA max_page_count`` caps the database file: SQLite fails with
  SQLITE_FULL exactly as on a full disk;
- ``RLIMIT_FSIZE`` (in a forked child) makes the kernel refuse every write
  beyond an offset, in the project, its -wal, a backup or a temporary copy:
  real write failures at whatever point they come;
- a connection opened with ``mode=ro`` refuses every write (SQLITE_READONLY).
"""

from __future__ import annotations

import resource
import shutil
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from qcode import services
from qcode.errors import ProjectError, QcodeError
from qcode.services import SpanRequest
from qcode.store import Store, backup_dir, open_store
from qcode.store.db import _configure

from .crashkit import (
    Log,
    codebook,
    fingerprint,
    project_with,
    run_forked,
    table_counts,
    verify_project,
    write_transcripts,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "schemas" / "schema-0001_initial.qcode"


def _snapshot(store: Store) -> tuple[object, ...]:
    return fingerprint(store.path), table_counts(store.conn)


def _cap(store: Store, spare_pages: int = 1) -> None:
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages + spare_pages}")


def _uncap(store: Store) -> None:
    store.conn.execute("PRAGMA max_page_count = 1073741823")


def _full_disk(exc: QcodeError) -> None:
    assert isinstance(exc, ProjectError)
    line = exc.one_line()
    assert "\n" not in line and "the disk is full" in line, line
    assert str(exc).startswith(str(exc.message))


@pytest.fixture
def coded(tmp_path: Path) -> Iterator[Store]:
    path = project_with(tmp_path, docs=3, turns=20, codes=4)
    store = open_store(path)
    yield store
    store.close()


def test_full_disk_during_an_import(coded: Store, tmp_path: Path) -> None:
    big = write_transcripts(tmp_path / "store", 1, 400, prefix="JS")
    before = _snapshot(coded)
    _cap(coded)
    report = services.import_paths(coded, [big], services.import_options(coded))
    (row,) = report.rows
    assert row.status == "failed"
    assert "the disk is full" in row.detail and "\n" not in row.detail
    assert _snapshot(coded) == before
    _uncap(coded)  # space again: the same import now works, the project is fine
    assert services.import_paths(coded, [big], services.import_options(coded)).rows[0].status \
        == "new"
    assert services.check_project(coded) == []


def test_full_disk_in_the_middle_of_a_batch_of_files(coded: Store, tmp_path: Path) -> None:
    """SQLite rolls back the whole batch transaction on some full-disk errors (and only
    the failing statement on others): either way the files stored before the failing
    one are in the project, and the report says exactly what the project holds. The
    disk fills at several points of the failing file; at least one of them loses the
    whole batch, whose files are then stored again, one transaction each."""
    small = write_transcripts(tmp_path / "små", 3, 10, prefix="JS")
    scratch = open_store(shutil.copy(coded.path, tmp_path / "scratch.qcode"))
    try:  # how many pages the small files take
        pages = scratch.conn.execute("PRAGMA page_count").fetchone()[0]
        assert services.import_paths(scratch, [small], services.import_options(scratch)
                                     ).count("new") == 3
        needed = scratch.conn.execute("PRAGMA page_count").fetchone()[0] - pages
    finally:
        scratch.close()
    write_transcripts(tmp_path / "store", 1, 400, prefix="V")
    shutil.copy(tmp_path / "store" / "V0.txt", small / "JS1-lang.txt")  # sorted second
    coded.close()
    redone = 0
    for margin in range(0, 34, 2):
        store = open_store(shutil.copy(coded.path,
                                       tmp_path / f"try-{margin}.qcode"))
        statements: list[str] = []
        _cap(store, needed + margin)
        store.conn.set_trace_callback(statements.append)
        try:
            report = services.import_paths(store, [small], services.import_options(store))
        finally:
            store.conn.set_trace_callback(None)
            _uncap(store)
        try:  # the project holds exactly what the report calls new, whatever failed
            status = {r.name: r.status for r in report.rows}
            assert set(status.values()) <= {"new", "failed"}, margin
            assert all("the disk is full" in r.detail for r in report.rows
                       if r.status == "failed"), margin
            assert {d.name for d in store.documents()} == {"V0", "V1", "V2"} | {
                name for name, st in status.items() if st == "new"}, margin
            assert services.check_project(store) == []
        finally:
            store.close()
        if (status == {"JS0": "new", "JS1-lang": "failed", "JS1": "new", "JS2": "new"}
                and sum(s.startswith("BEGIN") for s in statements) >= 1 + 4):
            redone += 1  # the batch was lost with the big file; the others stored again
    assert redone, "no fill point lost the whole batch: the redo path went untested"


def test_full_disk_during_bulk_coding_and_a_merge(coded: Store) -> None:
    spans = [SpanRequest(f"V{i % 3}", f"k{i % 4}", start=i, end=i + 4) for i in range(600)]
    before = _snapshot(coded)
    _cap(coded)
    with pytest.raises(ProjectError) as info:
        services.apply_codings(coded, spans, "koder-a")
    _full_disk(info.value)
    assert _snapshot(coded) == before
    _uncap(coded)
    services.apply_codings(coded, spans, "koder-a")
    before = _snapshot(coded)
    _cap(coded, 0)
    with pytest.raises(ProjectError) as info:
        services.merge_codes(coded, "k1", "k0", actor="tester")
    _full_disk(info.value)
    assert _snapshot(coded) == before
    _uncap(coded)
    assert services.check_project(coded) == []


def test_full_disk_while_loading_a_codebook(coded: Store) -> None:
    before = _snapshot(coded)
    _cap(coded, 0)
    with pytest.raises(ProjectError) as info:
        services.load_codebook(coded, codebook(300, name="stor", prefix="s"), actor="tester")
    _full_disk(info.value)
    assert _snapshot(coded) == before


# -- real write failures (RLIMIT_FSIZE) --------------------------------------------------


def _limited(limit: int, action: object, log: Log) -> object:
    """A child target: writes beyond ``limit`` bytes fail (EFBIG), then run ``action``."""

    def child() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        try:
            action()  # type: ignore[operator]
        except QcodeError as exc:
            log.write({"type": type(exc).__name__, "line": exc.one_line()})
        else:
            log.write({"type": None})

    return child


def _failed_cleanly(log: Log) -> str:
    (record,) = log.records()
    assert record["type"] in ("ProjectError", "ProjectCorrupt"), (log.path.name, record)
    assert "\n" not in record["line"]
    return str(record["line"])


def test_write_failures_during_import_backup_and_restore(tmp_path: Path) -> None:
    path = project_with(tmp_path, docs=3, turns=20, codes=4)
    big = write_transcripts(tmp_path / "store", 1, 600, prefix="JS")
    store = open_store(path)
    old = services.backup_before(store, "test")
    store.close()
    size = path.stat().st_size
    before = fingerprint(path)

    def importing() -> None:
        s = services.open_project(path)
        report = services.import_paths(s, [big], services.import_options(s))
        if report.failed:
            raise ProjectError(report.failed[0].detail)

    for name, limit, action in [
        ("import", 64 * 1024, importing),  # the -wal outgrows the limit
        ("backup", size // 2, lambda: services.backup_before(open_store(path), "merge")),
        ("restore", size // 2, lambda: services.restore(path, old)),
    ]:
        log = Log(tmp_path / f"{name}.log")
        assert run_forked(_limited(limit, action, log)).exit_code == 0
        line = _failed_cleanly(log)
        assert any(w in line for w in ("disk is full", "input/output error", "could not be"))
        assert fingerprint(path) == before, name
        verify_project(path)
    assert not list(backup_dir(path).glob("*.part"))
    assert not list(path.parent.glob(".*.tmp"))


@pytest.mark.parametrize("when", ["backup", "migration"])
def test_a_migration_that_cannot_write_leaves_the_file_as_it_was(when: str,
                                                                  tmp_path: Path) -> None:
    from qcode.store import schema

    path = tmp_path / "gammel.qcode"
    shutil.copyfile(FIXTURE, path)
    log = Log(tmp_path / "migrate.log")

    def opening() -> None:
        if when == "migration":  # the backup goes through; the migration's writes fail
            original = schema.migrations.apply

            def apply(db: object, **kwargs: object) -> None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (3 * 4120, 3 * 4120))
                original(db, **kwargs)  # type: ignore[arg-type]

            schema.migrations.apply = apply  # type: ignore[method-assign]
        services.open_project(path)

    limit = 64 * 1024 if when == "backup" else 2**40  # room for the -shm, not the copy
    assert run_forked(_limited(limit, opening, log)).exit_code == 0
    line = _failed_cleanly(log)
    assert ("backup could not be written" if when == "backup" else "cannot be migrated") \
        in line
    conn = sqlite3.connect(path)  # the -wal (if any) holds nothing committed
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")]
        assert names == ["0001_initial"]
    finally:
        conn.close()
    backups = list(backup_dir(path).glob("*.qcode")) if backup_dir(path).exists() else []
    assert len(backups) == (1 if when == "migration" else 0)
    store = services.open_project(path)  # with space, it migrates
    try:
        assert services.check_project(store) == []
    finally:
        store.close()


# -- read-only ---------------------------------------------------------------------------


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Store]:
    path = project_with(tmp_path, docs=2, turns=20, codes=4)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    _configure(conn)
    import sqlite_utils

    store = Store(sqlite_utils.Database(conn), path)
    yield store
    store.close()


def test_read_only_project_refuses_changes_with_one_line(read_only: Store,
                                                         tmp_path: Path) -> None:
    before = fingerprint(read_only.path)
    for action in (
        lambda: services.apply_codings(read_only, [SpanRequest("V0", "k0", start=0, end=4)],
                                       "koder-a"),
        lambda: services.add_memo(read_only, "project", None, "Notat.", author="tester"),
        lambda: services.merge_codes(read_only, "k1", "k0", actor="tester"),
    ):
        with pytest.raises(ProjectError) as info:
            action()
        assert "read-only" in info.value.one_line() and "\n" not in info.value.one_line()
    source = write_transcripts(tmp_path / "ny", 1, 4, prefix="JS")
    report = services.import_paths(read_only, [source], services.import_options(read_only))
    assert report.rows[0].status == "failed" and "read-only" in report.rows[0].detail
    assert fingerprint(read_only.path) == before
    # reading and backing up still work
    assert len(services.list_documents(read_only)) == 2
    copy = services.backup_project(read_only)
    assert fingerprint(copy)[0] == before[0]
