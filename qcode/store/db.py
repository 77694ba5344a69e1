"""Opening project files: connection settings, integrity check, migrations, backups."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from qcode.errors import ProjectCorrupt, ProjectError

SQLITE_HEADER = b"SQLite format 3\x00"
APPLICATION_ID = 0x51434F44  # "QCOD"
BUSY_TIMEOUT_MS = 10_000
PROJECT_SUFFIX = ".qcode"


def backup_dir(project_path: Path) -> Path:
    """The folder that holds a project's automatic and manual backups."""
    return project_path.with_name(project_path.name + "-backups")


def utc_now() -> str:
    """The current time as an ISO 8601 UTC timestamp with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _configure(conn: sqlite3.Connection) -> None:
    conn.isolation_level = None  # every write goes through Store.transaction()
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")


def _looks_like_sqlite(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(16) == SQLITE_HEADER


def open_database(path: Path, *, create: bool = False) -> sqlite_utils.Database:
    """Open (or with ``create`` make) a project file, check it and migrate it."""
    from qcode.store import schema

    path = Path(path)
    exists = path.exists()
    if create and exists:
        raise ProjectError(f"{path}: a file with this name exists already", "choose another name")
    if not create:
        if not exists:
            raise ProjectError(f"{path}: no such project file", "create one with 'qcode init PATH'")
        if path.is_dir():
            raise ProjectError(f"{path}: is a folder, not a project file", "name the .qcode file")
        if not _looks_like_sqlite(path):
            raise ProjectError(
                f"{path}: not a qcode project (not an SQLite database)",
                "check the path; qcode projects are .qcode files made by 'qcode init'",
            )
    elif not path.parent.exists():
        raise ProjectError(f"{path}: folder {path.parent} does not exist", "create it first")

    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        _configure(conn)
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        has_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    except sqlite3.DatabaseError as exc:
        raise ProjectCorrupt(f"{path}: cannot be opened: {exc}", "restore a backup") from exc
    if has_tables and app_id != APPLICATION_ID:
        conn.close()
        raise ProjectError(
            f"{path}: an SQLite file, but not a qcode project",
            "open a .qcode file made by 'qcode init'",
        )
    try:
        if not create:
            row = conn.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                detail = row[0] if row else "no answer"
                raise ProjectCorrupt(
                    f"{path}: integrity check failed: {detail}",
                    f"copy the newest backup from {backup_dir(path)} in its place",
                )
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal" and not create:
            raise ProjectError(f"{path}: cannot switch to WAL mode", "is the folder read-only?")
        if app_id != APPLICATION_ID:  # a new or empty database becomes a qcode project
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    except sqlite3.OperationalError as exc:
        conn.close()
        raise ProjectError(f"{path}: cannot be opened: {exc}", "check file permissions") from exc
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ProjectCorrupt(
            f"{path}: integrity check failed: {exc}",
            f"copy the newest backup from {backup_dir(path)} in its place",
        ) from exc
    except ProjectError:
        conn.close()
        raise

    db = sqlite_utils.Database(conn)
    schema.migrate(db, path)
    return db


def backup_to(conn: sqlite3.Connection, dest: Path) -> Path:
    """Copy the open database to ``dest`` with SQLite's online backup API."""
    dest = Path(dest)
    if dest.exists():
        raise ProjectError(f"{dest}: exists already", "choose another file name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    target = sqlite3.connect(str(tmp))
    try:
        conn.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")
    finally:
        target.close()
    tmp.replace(dest)
    return dest


def timestamped_backup(conn: sqlite3.Connection, project_path: Path, reason: str) -> Path:
    """Write a backup into the project's backup folder, named by time and reason."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dest = backup_dir(project_path) / f"{project_path.stem}-{stamp}-{reason}{PROJECT_SUFFIX}"
    return backup_to(conn, dest)
