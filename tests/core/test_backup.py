"""Backups: names, automatic daily and before-operation backups, rotation, listing, restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qcode import services
from qcode.errors import InputError, NotFound, ProjectCorrupt, ProjectError, QcodeError
from qcode.services import SpanRequest
from qcode.services import backup as backups
from qcode.store import Store, backup_dir, open_store, schema
from qcode.store.db import backup_name, parse_backup_name

from .crashkit import codebook, fingerprint, write_transcripts

NEWEST = schema.migrations._migrations[-1].name
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "schemas"


@pytest.fixture
def filled(store: Store, tmp_path: Path) -> Store:
    """A project with three interviews, a codebook and two codings."""
    folder = write_transcripts(tmp_path / "kilder", 3, 10)
    services.import_paths(store, [folder], services.import_options(store), actor="tester")
    services.load_codebook(store, codebook(3), actor="tester")
    services.apply_codings(store, [SpanRequest("V0", "k0", start=0, end=5),
                                   SpanRequest("V1", "k1", start=3, end=9)], "koder-a")
    return store


def _one_line(exc: QcodeError) -> None:
    assert "\n" not in exc.one_line()


# -- names and making backups ------------------------------------------------------------


def test_backup_before_names_time_event_and_reason(filled: Store) -> None:
    path = services.backup_before(filled, "merge")
    parsed = parse_backup_name(path.name)
    assert parsed is not None and parsed.reason == "before-merge"
    assert parsed.events == filled.events(limit=1)[0]["id"]
    assert datetime.now(UTC) - parsed.created < timedelta(minutes=1)
    assert path.parent == backup_dir(filled.path)
    assert path.stat().st_mode & 0o777 == 0o600  # transcripts: owner only
    assert not list(path.parent.glob("*.part"))
    (info,) = services.list_backups(filled.path)
    assert (info.path, info.kind, info.rotated) == (path, "operation", True)
    assert (info.schema, info.documents, info.codings, info.problem) == (NEWEST, 3, 2, None)
    assert info.size_bytes == path.stat().st_size
    copy = open_store(path)
    try:
        assert copy.counts()["codings"] == 2 and copy.check() == []
    finally:
        copy.close()


def test_manual_backup_and_reason_names(filled: Store) -> None:
    manual = services.backup_project(filled)
    assert parse_backup_name(manual.name).reason == "manual"  # type: ignore[union-attr]
    assert services.list_backups(filled.path)[0].kind == "manual"
    assert services.backup_before(filled, "Import bundle!").name.endswith(
        "-before-import-bundle.qcode")
    with pytest.raises(ValueError):
        services.backup_before(filled, "!!")
    with pytest.raises(ValueError):
        backup_name(filled.path, "Bad Reason", 1)


def test_old_style_names_are_still_backups(tmp_path: Path) -> None:
    parsed = parse_backup_name("studie-20261122T070601070663Z-before-0002_nlp.qcode")
    assert parsed is not None and parsed.events is None and parsed.reason == "before-0002_nlp"
    assert parse_backup_name("studie-20261122T070601070663Z.qcode").reason == "manual"  # type: ignore[union-attr]
    assert parse_backup_name("notes.qcode") is None


def test_backup_before_refuses_inside_a_transaction(filled: Store) -> None:
    with pytest.raises(RuntimeError, match="inside a transaction"), filled.transaction():
        services.backup_before(filled, "merge")


def test_failed_backup_is_a_one_line_error_and_leaves_nothing(filled: Store) -> None:
    backup_dir(filled.path).write_text("a file where the folder should be")
    before = fingerprint(filled.path)
    with pytest.raises(ProjectError, match="the backup could not be written") as info:
        services.backup_before(filled, "merge")
    _one_line(info.value)
    assert fingerprint(filled.path) == before


# -- daily backups -----------------------------------------------------------------------


def test_daily_backup_after_a_day_with_changes(filled: Store) -> None:
    now = datetime.now(UTC)
    assert services.daily_backup(filled) is None  # created today: nothing yet
    first = services.daily_backup(filled, now=now + timedelta(hours=25))
    assert first is not None and first.name.endswith("-daily.qcode")
    assert services.daily_backup(filled, now=now + timedelta(hours=26)) is None  # fresh one
    # a day later but nothing changed: the newest backup holds this state already
    assert services.daily_backup(filled, now=now + timedelta(hours=60)) is None
    services.add_memo(filled, "project", None, "Et notat.", author="tester")
    second = services.daily_backup(filled, now=now + timedelta(hours=60))
    assert second is not None and second != first


def test_opening_after_a_day_of_work_backs_up(filled: Store, project_path: Path) -> None:
    old = services.backup_before(filled, "merge")
    stamp = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y%m%dT%H%M%S%fZ")
    aged = old.with_name(old.name.replace(old.name.split("-")[1], stamp))
    old.rename(aged)
    services.add_memo(filled, "project", None, "Arbeid i dag.", author="tester")
    filled.close()
    store = services.open_project(project_path)
    store.close()
    reasons = [b.reason for b in services.list_backups(project_path)]
    assert reasons == ["daily", "before-merge"]
    store = services.open_project(project_path)  # the same day again: no second one
    store.close()
    assert len(services.list_backups(project_path)) == 2


def test_a_failing_daily_backup_never_stops_the_opening(filled: Store,
                                                        project_path: Path) -> None:
    backup_dir(project_path).write_text("not a folder")
    assert services.daily_backup(filled, now=datetime.now(UTC) + timedelta(days=3)) is None
    filled.close()
    services.open_project(project_path).close()


# -- rotation ----------------------------------------------------------------------------


def test_rotation_keeps_newest_ten_and_one_per_day(filled: Store) -> None:
    made_now = services.backup_before(filled, "merge")
    folder = made_now.parent
    real = made_now.rename(folder.parent / "kopi.sqlite")
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    made: dict[str, Path] = {}

    def put(reason: str, when: datetime) -> Path:
        path = folder / backup_name(filled.path, reason, 7, when)
        shutil.copyfile(real, path)
        made[f"{reason}@{when:%d %H}"] = path
        return path

    for hour in range(12):  # twelve merges this morning
        put("before-merge", now - timedelta(hours=hour))
    for day in range(1, 20):  # two dailies a day for 19 days
        put("daily", now - timedelta(days=day, hours=1))
        put("daily", now - timedelta(days=day, hours=5))
    protected = [put("manual", now - timedelta(days=40)),
                 put("before-0003_turn_fts", now - timedelta(days=30)),
                 put("before-restore", now - timedelta(days=25))]
    part = folder / "killed.qcode.part"
    part.write_bytes(b"half")
    os.utime(part, (0, 0))
    deleted = services.rotate_backups(filled.path, now=now)
    left = {b.path for b in services.list_backups(filled.path)}
    assert all(p in left for p in protected)
    rotated = sorted((b for b in services.list_backups(filled.path) if b.rotated),
                     key=lambda b: b.created, reverse=True)
    # the ten newest (all from today) plus the newest of each of the 13 days before
    assert len(rotated) == 10 + 13
    assert {b.created.date() for b in rotated[10:]} == {
        (now - timedelta(days=d)).date() for d in range(1, 14)}
    assert all(b.created.hour == 11 for b in rotated[10:])  # the later one of each day
    assert part in deleted and not part.exists()
    assert len(deleted) == 12 + 38 + 1 - 23


# -- listing and choosing ----------------------------------------------------------------


def test_listing_reports_unreadable_backups(filled: Store) -> None:
    good = services.backup_before(filled, "merge")
    bad = good.with_name(backup_name(filled.path, "manual", 3,
                                     datetime.now(UTC) + timedelta(seconds=1)))
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    listed = services.list_backups(filled.path)
    assert [b.path for b in listed] == [bad, good]
    assert listed[0].problem and listed[0].documents is None
    _one_line(ProjectError(listed[0].problem))
    assert listed[1].problem is None
    assert listed[0].as_dict()["name"] == bad.name


def test_resolve_by_number_name_or_path(filled: Store) -> None:
    older = services.backup_before(filled, "merge")
    newer = services.backup_before(filled, "delete")
    assert services.resolve_backup(filled.path, "1") == newer
    assert services.resolve_backup(filled.path, 2) == older
    assert services.resolve_backup(filled.path, older.name) == older
    assert services.resolve_backup(filled.path, older.stem) == older
    assert services.resolve_backup(filled.path, str(older)) == older
    for ref in ("3", "nope"):
        with pytest.raises(NotFound, match=r"qcode backups|no backup") as info:
            services.resolve_backup(filled.path, ref)
        _one_line(info.value)


# -- restore -----------------------------------------------------------------------------


def test_restore_replaces_the_project_and_is_undoable(filled: Store, tmp_path: Path) -> None:
    path = filled.path
    old = services.backup_before(filled, "merge")
    old_state = fingerprint(old)
    services.merge_codes(filled, "k1", "k0", actor="tester")
    newest_event = filled.events(limit=1)[0]["id"]
    filled.close()
    new_state = fingerprint(path)
    report = services.restore(path, old.name, actor="tester")
    assert fingerprint(path) == old_state
    assert (report.restored, report.documents, report.codings) == (old, 3, 2)
    assert report.saved_as is not None and report.saved_as.name.endswith("-before-restore.qcode")
    assert fingerprint(report.saved_as) == new_state
    store = services.open_project(path)
    try:
        assert services.check_project(store) == []
        last = store.events(limit=1)[0]
        assert last["kind"] == "project.restore" and last["id"] > newest_event  # ids go on
        assert last["payload"]["saved_as"] == report.saved_as.name
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()
    assert not list(path.parent.glob(".*.tmp"))
    undo = services.restore(path, report.saved_as, actor="tester")  # restoring is undoable
    assert fingerprint(path) == new_state
    assert undo.event_id > report.event_id
    kinds = {b.kind for b in services.list_backups(path)}
    assert kinds == {"operation", "restore"}


def test_restore_is_refused_while_the_project_is_open(filled: Store,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backups, "LOCK_WAIT_S", 0.2)
    old = services.backup_before(filled, "merge")
    services.add_memo(filled, "project", None, "Mer arbeid.", author="tester")
    before = fingerprint(filled.path)
    with pytest.raises(ProjectError, match="is open in another program") as info:
        services.restore(filled.path, old)
    _one_line(info.value)
    assert fingerprint(filled.path) == before
    assert [b.kind for b in services.list_backups(filled.path)] == ["operation"]
    services.add_memo(filled, "project", None, "Still writable.", author="tester")


@pytest.mark.parametrize("damage", ["garbage", "page", "text", "foreign", "newer"])
def test_restore_refuses_a_bad_backup(damage: str, filled: Store, tmp_path: Path) -> None:
    path = filled.path
    bad = services.backup_before(filled, "merge")
    if damage == "garbage":
        bad.write_bytes(os.urandom(9000))
    elif damage == "page":
        data = bytearray(bad.read_bytes())
        data[4096:8192] = b"\xff" * 4096
        bad.write_bytes(bytes(data))
    elif damage == "text":
        bad.write_text("ikke et prosjekt")
    elif damage == "foreign":
        bad.unlink()
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
    else:
        conn = sqlite3.connect(bad)
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                     "VALUES ('qcode', '9999_future', '2030-01-01')")
        conn.commit()
        conn.close()
    filled.close()
    before = fingerprint(path)
    with pytest.raises(ProjectError) as info:
        services.restore(path, bad)
    _one_line(info.value)
    assert str(bad) in info.value.message
    assert fingerprint(path) == before
    assert len(services.list_backups(path)) == 1  # nothing saved: nothing was touched
    assert not list(path.parent.glob(".*.tmp"))


def test_restore_refuses_a_backup_of_another_project(filled: Store, tmp_path: Path) -> None:
    other = services.init_project(tmp_path / "annen.qcode", actor="tester")
    filled.close()
    before = fingerprint(filled.path)
    with pytest.raises(InputError, match="another project"):
        services.restore(filled.path, other)
    assert fingerprint(filled.path) == before
    services.restore(filled.path, other, other_project=True)
    assert fingerprint(filled.path) == fingerprint(other)


def test_restore_over_a_damaged_project(filled: Store) -> None:
    path = filled.path
    good = services.backup_before(filled, "merge")
    filled.close()
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xff" * 4096
    path.write_bytes(bytes(data))
    Path(str(path) + "-wal").write_bytes(b"stale frames of the damaged file")
    with pytest.raises(ProjectCorrupt):
        open_store(path)
    report = services.restore(path, good)
    assert report.replaced_damaged and report.saved_as is not None
    assert report.saved_as.read_bytes() == bytes(data)  # the damaged bytes are kept
    assert Path(str(report.saved_as) + "-wal").exists()
    assert not Path(str(path) + "-wal").exists() or \
        Path(str(path) + "-wal").stat().st_size == 0
    store = services.open_project(path)
    try:
        assert services.check_project(store) == [] and store.counts()["codings"] == 2
    finally:
        store.close()


def test_restore_when_the_project_file_is_gone(filled: Store) -> None:
    path = filled.path
    good = services.backup_before(filled, "merge")
    filled.close()
    path.unlink()
    Path(str(path) + "-journal").write_bytes(b"a stale journal")
    report = services.restore(path, good)
    assert report.saved_as is None and not report.replaced_damaged
    assert not Path(str(path) + "-journal").exists()
    assert path.stat().st_mode & 0o777 == 0o600
    store = services.open_project(path)
    try:
        assert store.counts()["documents"] == 3 and services.check_project(store) == []
    finally:
        store.close()


def test_restore_of_an_older_schema_migrates_on_opening(tmp_path: Path) -> None:
    fixture = FIXTURES / "schema-0001_initial.qcode"
    path = tmp_path / "gjenopprettet.qcode"
    report = services.restore(path, fixture)
    assert report.schema == "0001_initial"
    store = services.open_project(path)
    try:
        assert store.schema_version() == NEWEST and services.check_project(store) == []
        kinds = [e["kind"] for e in store.events(limit=2)]
        assert kinds == ["project.migrate", "project.restore"]
    finally:
        store.close()


def test_restore_refuses_the_project_itself(filled: Store) -> None:
    filled.close()
    with pytest.raises(InputError, match="the project itself"):
        services.restore(filled.path, filled.path)
