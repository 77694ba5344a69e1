"""The project file: creation, opening, checks, migrations, transactions, the event log."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from sqlite_utils.migrations import Migrations

from qcode import services
from qcode.errors import ProjectCorrupt, ProjectError
from qcode.store import Store, open_store, schema
from qcode.store.db import APPLICATION_ID, backup_dir

NEWEST = schema.migrations._migrations[-1].name


def test_init_creates_configured_project(project_path: Path) -> None:
    store = open_store(project_path)
    try:
        q = store.conn.execute
        assert q("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert q("PRAGMA foreign_keys").fetchone()[0] == 1
        assert q("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert q("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert q("PRAGMA recursive_triggers").fetchone()[0] == 1
        assert store.schema_version() == NEWEST
        assert [e["kind"] for e in store.events()] == ["project.init"]
        assert store.get_setting("project_uid")
    finally:
        store.close()


_OPEN_AND_LIST_MODULES = """
import sys
from qcode.store import open_store
store = open_store(sys.argv[1])
print(store.schema_version(), len(store.documents()))
store.close()
if sys.argv[2] == "services":
    from qcode import services
    services.open_project(sys.argv[1]).close()
print(" ".join(sorted(m for m in ("numpy", "sqlite_utils") if m in sys.modules)) or "-")
"""


@pytest.mark.parametrize("how", ["store", "services"])
def test_opening_an_up_to_date_project_imports_neither_sqlite_utils_nor_numpy(
        project_path: Path, how: str) -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _OPEN_AND_LIST_MODULES, str(project_path), how],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == [f"{NEWEST} 0", "-"]


def test_opening_a_project_with_a_pending_migration_uses_sqlite_utils(
        tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    path = tmp_path / "old.qcode"
    shutil.copy(FIXTURES / "schema-0001_initial.qcode", path)
    out = subprocess.run([sys.executable, "-c", _OPEN_AND_LIST_MODULES, str(path), "store"],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0].startswith(f"{NEWEST} ") and out[1] == "numpy sqlite_utils"


def test_init_refuses_existing_file(project_path: Path) -> None:
    with pytest.raises(ProjectError, match="exists already"):
        services.init_project(project_path)


def test_init_adds_suffix(tmp_path: Path) -> None:
    assert services.init_project(tmp_path / "thesis").name == "thesis.qcode"


def test_open_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="no such project file") as info:
        open_store(tmp_path / "nope.qcode")
    assert "nope.qcode" in info.value.message
    assert "qcode init" in (info.value.hint or "")


def test_open_text_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.qcode"
    path.write_text("just notes", encoding="utf-8")
    with pytest.raises(ProjectError, match="not an SQLite database"):
        open_store(path)


def test_open_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.qcode"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(ProjectError, match="not a qcode project"):
        open_store(path)


def test_migration_from_empty_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.qcode"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE scratch (x)")
    conn.execute("DROP TABLE scratch")  # a valid SQLite file with no tables
    conn.commit()
    conn.close()
    store = open_store(path)
    try:
        assert "documents" in store.db.table_names()
        assert store.conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert store.check() == []
    finally:
        store.close()


def test_corrupt_file_is_reported(project_path: Path) -> None:
    data = bytearray(project_path.read_bytes())
    assert len(data) > 8192
    data[4096:8192] = b"\xff" * 4096  # destroy the second page
    project_path.write_bytes(bytes(data))
    with pytest.raises(ProjectCorrupt) as info:
        open_store(project_path)
    assert info.value.exit_code == 3


def test_quick_check_once_per_unchanged_file_and_again_after_a_change(
        project_path: Path) -> None:
    from qcode.store import db

    old = time.time() - 10
    os.utime(project_path, (old, old))  # not modified in the last seconds
    open_store(project_path).close()
    state = db._file_state(project_path)
    assert state is not None and state in db._CHECKED
    traced: list[str] = []
    real_connect = sqlite3.connect

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(traced.append)
        return conn

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(db.sqlite3, "connect", traced_connect)
        open_store(project_path).close()
        assert not any("quick_check" in s for s in traced)  # the same file: not again
        data = bytearray(project_path.read_bytes())
        data[4096:8192] = b"\xff" * 4096  # the same size, a new modification time
        project_path.write_bytes(bytes(data))
        os.utime(project_path, (old + 1, old + 1))  # even when it looks old
        with pytest.raises(ProjectCorrupt):
            open_store(project_path)
        assert any("quick_check" in s for s in traced)


def test_a_file_modified_just_now_is_always_checked(project_path: Path) -> None:
    from qcode.store import db

    open_store(project_path).close()
    assert db._file_state(project_path) is None  # within the racy window: no memo


def _migrations_plus(extra_fails: bool) -> Migrations:
    extended = Migrations("qcode")
    for m in schema.migrations._migrations:
        extended(name=m.name)(m.fn)

    @extended(name="0099_test")
    def m0099(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE test_extra (x INTEGER)")
        db.execute("INSERT INTO test_extra VALUES (1)")
        if extra_fails:
            raise RuntimeError("migration failed half-way")

    return extended


def test_pending_migration_backs_up_first(project_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "migrations", _migrations_plus(extra_fails=False))
    store = open_store(project_path)
    try:
        assert store.schema_version() == "0099_test"
    finally:
        store.close()
    backups = list(backup_dir(project_path).glob("*before-0099_test.qcode"))
    assert len(backups) == 1
    old = sqlite3.connect(backups[0])
    names = {r[0] for r in old.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    old.close()
    assert "documents" in names and "test_extra" not in names


def test_failed_migration_leaves_project_unchanged(project_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "migrations", _migrations_plus(extra_fails=True))
    with pytest.raises(RuntimeError, match="half-way"):
        open_store(project_path)
    monkeypatch.undo()
    store = open_store(project_path)
    try:
        assert "test_extra" not in store.db.table_names()
        assert store.schema_version() == NEWEST
    finally:
        store.close()


def test_newer_schema_is_refused(project_path: Path) -> None:
    db = sqlite_utils.Database(project_path)
    db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
               "VALUES ('qcode', '9999_future', '2030-01-01')")
    db.conn.commit()
    db.close()
    with pytest.raises(ProjectError, match="newer qcode"):
        open_store(project_path)


def test_event_log_is_append_only(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE events SET actor = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM events")


def test_writes_outside_a_transaction_are_refused(store: Store) -> None:
    with pytest.raises(RuntimeError, match="outside"):
        store.record_event("x", "y", {})


def test_transaction_rolls_back_everything(store: Store) -> None:
    before = store.counts()["events"]
    with pytest.raises(ValueError), store.transaction():
        store.record_event("tester", "first", {})
        with store.transaction():  # nested: a savepoint
            store.record_event("tester", "second", {})
        raise ValueError("boom")
    assert store.counts()["events"] == before


def test_nested_failure_rolls_back_only_the_savepoint(store: Store) -> None:
    before = store.counts()["events"]
    with store.transaction():
        store.record_event("tester", "kept", {})
        with pytest.raises(ValueError), store.transaction():
            store.record_event("tester", "dropped", {})
            raise ValueError("inner")
    kinds = [e["kind"] for e in store.events()]
    assert store.counts()["events"] == before + 1
    assert "kept" in kinds and "dropped" not in kinds


def test_document_text_is_immutable(store: Store, transcript_dir: Path) -> None:
    services.import_paths(store, [transcript_dir], services.import_options(store))
    with pytest.raises(sqlite3.IntegrityError, match="never changes"), store.transaction():
        store.conn.execute("UPDATE documents SET text = 'changed'")


def test_coding_past_document_end_is_refused(store: Store, transcript_dir: Path) -> None:
    services.import_paths(store, [transcript_dir], services.import_options(store))
    doc = store.document("V1")
    with pytest.raises(sqlite3.IntegrityError, match="past the end"), store.transaction():
        store.conn.execute("INSERT INTO coders (id, name, created_at) VALUES ('c', 'C', 'now')")
        store.conn.execute("INSERT INTO codebooks (name, loaded_at) VALUES ('cb', 'now')")
        store.conn.execute("INSERT INTO codes (id, codebook_id, name) VALUES ('k', 1, 'K')")
        store.conn.execute(
            'INSERT INTO codings (uid, document_id, start, "end", code_id, coder_id, created_at)'
            " VALUES ('u', ?, 0, ?, 'k', 'c', 'now')", (doc.id, len(doc.text) + 1))


def test_check_finds_offsets_outside_documents(store: Store, transcript_dir: Path) -> None:
    services.import_paths(store, [transcript_dir], services.import_options(store))
    assert services.check_project(store) == []
    doc = store.document("V1")
    with store.transaction():
        store.conn.execute('UPDATE turns SET "end" = ? WHERE document_id = ? AND idx = 1',
                           (len(doc.text) + 5, doc.id))
    problems = services.check_project(store)
    assert len(problems) == 1 and problems[0].startswith("offsets:")


def test_backup_is_a_consistent_copy(store: Store, transcript_dir: Path,
                                     tmp_path: Path) -> None:
    services.import_paths(store, [transcript_dir], services.import_options(store))
    written = services.backup_project(store, tmp_path)
    assert written.parent == tmp_path
    copy = open_store(written)
    try:
        assert [d.name for d in copy.documents()] == ["JS1", "V1", "V2"]
        assert copy.check() == []
    finally:
        copy.close()
    with pytest.raises(ProjectError, match="exists already"):
        services.backup_project(store, written)


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "schemas"


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.qcode")), ids=lambda p: p.stem)
def test_released_schema_versions_migrate_keeping_data(fixture: Path, tmp_path: Path) -> None:
    """Projects written by earlier qcode versions (the demo project) migrate to the newest."""
    import json
    import shutil

    expected = json.loads(fixture.with_suffix(".json").read_text(encoding="utf-8"))
    path = tmp_path / fixture.name
    shutil.copy(fixture, path)
    store = open_store(path)
    try:
        assert store.schema_version() == NEWEST
        counts = store.counts()
        for key, value in expected["counts"].items():
            assert counts[key] == (value + 1 if key == "events" else value), key
        assert sorted(d.sha256 for d in store.documents()) == expected["sha256"]
        assert services.check_project(store) == []
    finally:
        store.close()
    assert list(backup_dir(path).glob("*before-*.qcode"))


def test_leak_findings_of_a_migrated_project_are_made_on_first_use(tmp_path: Path) -> None:
    """0005: an older project has no stored leak checks; the first use makes and keeps
    them, and they go with their document version."""
    import shutil

    path = tmp_path / "old.qcode"
    shutil.copy(FIXTURES / "schema-0001_initial.qcode", path)
    store = open_store(path)
    try:
        assert store.leak_checks() == {}
        docs = store.documents()
        counts = services.leak_counts(store)
        assert set(counts) == {d.id for d in docs}
        checks = store.leak_checks()
        assert {i: c.high for i, c in checks.items()} == counts
        v4 = next(d for d in docs if d.name == "V4")
        assert counts[v4.id] >= 3
        assert len(store.leak_findings([v4.id], "high")) == counts[v4.id]
        assert services.check_project(store) == []
        with store.transaction():  # what removing a version does (anonymize apply)
            for table in ("codings", "suggestions", "nlp_tokens", "nlp_sentences",
                          "nlp_entities", "nlp_documents"):
                store.conn.execute(f"DELETE FROM {table} WHERE document_id = ?", (v4.id,))
            store.conn.execute("DELETE FROM turns WHERE document_id = ?", (v4.id,))
            store.conn.execute("DELETE FROM documents WHERE id = ?", (v4.id,))
        assert v4.id not in store.leak_checks() and store.leak_findings([v4.id]) == []
        assert len(store.leak_checks()) == len(docs) - 1
    finally:
        store.close()


def test_fixture_list_covers_every_released_schema() -> None:
    """Add a fixture (an old demo project) whenever a schema version is released."""
    assert (FIXTURES / "schema-0001_initial.qcode").exists()
