"""Opening project files: connection settings, integrity check, migrations, backups.

Opening an up-to-date project needs only ``sqlite3``: sqlite-utils (which imports
numpy, ~0.3 s) is imported only when a migration is pending.

The backup half of this module is the storage side of ``qcode.services.backup``:
copies with SQLite's online backup API, backup file names (time, event id,
reason), reading facts from a backup, checking a copy before it is restored,
taking a project for oneself, and copying a backup back into a project.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from qcode.errors import ProjectCorrupt, ProjectError

if TYPE_CHECKING:
    import sqlite_utils
    from sqlite_utils.migrations import Migrations as _SqliteUtilsMigrations

SQLITE_HEADER = b"SQLite format 3\x00"
APPLICATION_ID = 0x51434F44  # "QCOD"
BUSY_TIMEOUT_MS = 10_000
PROJECT_SUFFIX = ".qcode"
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
# <stem>-<UTC time>-e<newest event id>-<reason>.qcode; the event part is absent in
# backups made before qcode recorded it, the reason in copies made into a folder.
BACKUP_NAME = re.compile(
    r"^(?P<stem>.+)-(?P<stamp>\d{8}T\d{12}Z)(?:-e(?P<events>\d+))?"
    r"(?:-(?P<reason>[A-Za-z0-9][A-Za-z0-9._-]*))?" + re.escape(PROJECT_SUFFIX) + "$")
REASON = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's files beside a database


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
    conn.execute("PRAGMA recursive_triggers = ON")  # as sqlite-utils' Database sets it


# -- migrations -------------------------------------------------------------------------

MIGRATIONS_TABLE = "_sqlite_migrations"  # sqlite-utils' record of applied migrations


@dataclass(frozen=True)
class Migration:
    """One registered migration: its name, function and whether it runs in a transaction."""

    name: str
    fn: Callable[[Any], None] = field(compare=False)
    transactional: bool = True


class Migrations:
    """A set of migrations with the interface of sqlite-utils' ``Migrations``.

    Registering and listing migrations needs nothing but this class; reading
    what is applied, and applying, go through sqlite-utils, imported on first use.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._migrations: list[Migration] = []

    def __call__(self, *, name: str | None = None, transactional: bool = True,
                 ) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
        """Register the decorated function as a migration (named ``name``)."""

        def register(fn: Callable[[Any], None]) -> Callable[[Any], None]:
            migration = Migration(name or fn.__name__, fn, transactional)
            if any(m.name == migration.name for m in self._migrations):
                raise ValueError(f"migration {migration.name!r} is registered twice in "
                                 f"set {self.name!r}")
            self._migrations.append(migration)
            return fn

        return register

    def names(self) -> list[str]:
        """Names of the registered migrations, in order."""
        return [m.name for m in self._migrations]

    def _sqlite_utils(self) -> _SqliteUtilsMigrations:
        from sqlite_utils.migrations import Migrations as SqliteUtilsMigrations

        real = SqliteUtilsMigrations(self.name)
        for m in self._migrations:
            real(name=m.name, transactional=m.transactional)(m.fn)
        return real

    def applied(self, db: sqlite_utils.Database) -> list[Any]:
        """Applied migrations of this set (sqlite-utils' records), in order."""
        return self._sqlite_utils().applied(db)

    def pending(self, db: sqlite_utils.Database) -> list[Any]:
        """Registered migrations not yet applied."""
        return self._sqlite_utils().pending(db)

    def apply(self, db: sqlite_utils.Database, **kwargs: Any) -> None:
        """Apply the pending migrations (see sqlite-utils' ``Migrations.apply``)."""
        self._sqlite_utils().apply(db, **kwargs)


def applied_migrations(conn: sqlite3.Connection, migration_set: str = "qcode") -> list[str]:
    """Names of the applied migrations of a set, in order (plain sqlite3; [] if none)."""
    try:
        return [r[0] for r in conn.execute(
            f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = ? ORDER BY rowid",
            (migration_set,))]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


def _up_to_date(conn: sqlite3.Connection, migrations: Any) -> bool:
    """True when exactly the known migrations are applied (nothing pending, nothing newer).

    Any doubt (an error reading the table) answers False: the full path decides.
    """
    try:
        applied = applied_migrations(conn, migrations.name)
    except sqlite3.Error:
        return False
    return bool(applied) and set(applied) == {m.name for m in migrations._migrations}


def _looks_like_sqlite(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(16) == SQLITE_HEADER


# -- storage failures -------------------------------------------------------------------

_STORAGE_FAILURES = {
    5: ("another program is writing to the project (database is locked)",
        "wait for it to finish, or close it, and try again"),
    6: ("another program is writing to the project (table is locked)",
        "wait for it to finish, or close it, and try again"),
    8: ("the project file or its folder is read-only",
        "check the permissions, or copy the project to a writable folder"),
    10: ("a disk input/output error",
         "check the disk and its free space, then run 'qcode check'"),
    13: ("the disk is full", "free some disk space and try again"),
    14: ("a file beside the project (-wal, -shm or -journal) cannot be opened",
         "check that the project's folder is writable"),
    15: ("the locking protocol failed", "close other programs using the project"),
}
_CORRUPT = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


def storage_error(path: Path, exc: BaseException,
                  doing: str = "the change could not be saved") -> ProjectError | None:
    """A one-line ProjectError for an SQLite failure of the disk or file, else None.

    Constraint violations and programming errors are not storage failures: they
    return None and should propagate as they are.
    """
    if not isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError) or \
            isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if code is None:  # no code: judge by SQLite's message
        text = detail.lower()
        code = (13 if "full" in text else 8 if "readonly" in text or "read-only" in text
                else 5 if "locked" in text or "busy" in text else 10 if "i/o" in text
                else 11 if "malformed" in text or "not a database" in text else None)
        if code is None:
            return None
    primary = code & 0xFF
    if primary in _CORRUPT:
        return ProjectCorrupt(f"{path}: {doing}: the project file is damaged ({detail})",
                              "run 'qcode check'; restore a backup with 'qcode restore'")
    if primary not in _STORAGE_FAILURES:
        return None
    what, hint = _STORAGE_FAILURES[primary]
    return ProjectError(f"{path}: {doing}: {what}", hint + "; nothing was changed"
                        if "saved" in doing else hint)


# -- opening ----------------------------------------------------------------------------


def open_database(path: Path, *, create: bool = False) -> sqlite_utils.Database:
    """Open (or with ``create`` make) a project file, check it and migrate it (sqlite-utils).

    ``connect_project`` does the same without importing sqlite-utils when nothing
    is pending.
    """
    import sqlite_utils

    return sqlite_utils.Database(connect_project(path, create=create))


#: Project files that passed ``PRAGMA quick_check`` in this process, as they were then
#: (device, inode, size, modification time): the TUI's workers open the project again and
#: again, and on a large project each check reads the whole file (L: 0.5 s).
_CHECKED: set[tuple[int, int, int, int]] = set()
#: A file modified this recently is always checked: file systems keep modification times
#: in coarse ticks, so a change right after a check could leave the same time (as git's
#: "racily clean" index entries).
_RACY_NS = 2_000_000_000


def _file_state(path: Path) -> tuple[int, int, int, int] | None:
    """What identifies this version of the file, or None when it cannot be trusted."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if time.time_ns() - st.st_mtime_ns < _RACY_NS:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _check_and_switch_to_wal(conn: sqlite3.Connection, path: Path, *, create: bool,
                             app_id: int) -> None:
    """``PRAGMA quick_check`` (unless this process checked the unchanged file before),
    the switch to WAL and the application id, tried again
    while another program holds the file (SQLite answers the switch to WAL with
    "database is locked" at once, without waiting, while a second program opens or
    migrates an old project), for up to the busy timeout."""

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    state = None if create else _file_state(path)  # taken before the check
    while True:
        try:
            if not create and (state is None or state not in _CHECKED):
                row = conn.execute("PRAGMA quick_check").fetchone()
                if row is None or row[0] != "ok":
                    detail = row[0] if row else "no answer"
                    raise ProjectCorrupt(
                        f"{path}: integrity check failed: {detail}",
                        f"copy the newest backup from {backup_dir(path)} in its place",
                    )
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal" and not create:
                raise ProjectError(f"{path}: cannot switch to WAL mode",
                                   "is the folder read-only?")
            if app_id != APPLICATION_ID:  # a new or empty database becomes a qcode project
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            if state is not None:
                _CHECKED.add(state)
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def connect_project(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """Open (or with ``create`` make) a project file, check it and migrate it.

    sqlite-utils is imported only if a migration is pending (or the schema is
    newer than this qcode, which ``schema.migrate`` refuses).
    """
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

    if create:  # owner-only from the first byte: transcripts are personal data
        import os

        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:
            raise ProjectError(f"{path}: cannot be created: {exc.strerror}",
                               "check the folder's permissions") from exc
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
        _check_and_switch_to_wal(conn, path, create=create, app_id=app_id)
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

    if _up_to_date(conn, schema.migrations):
        return conn
    try:
        import sqlite_utils

        schema.migrate(sqlite_utils.Database(conn), path)
    except BaseException as exc:
        conn.close()
        failure = storage_error(path, exc, "cannot be migrated to the new schema")
        if failure is not None:
            raise failure from exc
        raise
    return conn


# -- backups: copies --------------------------------------------------------------------


def max_event_id(conn: sqlite3.Connection) -> int | None:
    """The id of the newest event (None if the file has no event log)."""
    try:
        row = conn.execute("SELECT max(id) FROM events").fetchone()
    except sqlite3.OperationalError:
        return None
    return int(row[0]) if row and row[0] is not None else 0


def first_event_time(conn: sqlite3.Connection) -> datetime | None:
    """When the project was created (its first event), or None."""
    try:
        row = conn.execute("SELECT at FROM events ORDER BY id LIMIT 1").fetchone()
    except sqlite3.OperationalError:
        return None
    return _parse_time(row[0]) if row else None


def _parse_time(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _ro_uri(path: Path) -> str:
    return f"file:{quote(str(Path(path).resolve()))}?mode=ro"


def _bounded_wait(seconds: float) -> Callable[[int, int, int], None]:
    """A backup progress callback that gives up when the source stays busy too long.

    (Python retries a busy backup step for ever; a source connection inside its
    own write transaction is busy for good.)
    """
    deadline: list[float] = []

    def progress(status: int, remaining: int, total: int) -> None:
        if status in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
            if not deadline:
                deadline.append(time.monotonic() + seconds)
            elif time.monotonic() > deadline[0]:
                raise sqlite3.OperationalError("database is locked")
        else:
            deadline.clear()

    return progress


def backup_to(conn: sqlite3.Connection, dest: Path) -> Path:
    """Copy the open database to ``dest`` with SQLite's online backup API.

    The copy is written to ``dest.part`` (owner-only permissions, rollback
    journal, synced), then renamed: ``dest`` is either complete or absent.
    """
    dest = Path(dest)
    if dest.exists():
        raise ProjectError(f"{dest}: exists already", "choose another file name")
    tmp = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp.unlink(missing_ok=True)  # left by a backup that was killed
        for side in SIDE_FILES:
            Path(str(tmp) + side).unlink(missing_ok=True)
        tmp.touch(mode=0o600)
        os.chmod(tmp, 0o600)  # transcripts are personal data: owner only
        target = sqlite3.connect(str(tmp))
        try:
            conn.backup(target, progress=_bounded_wait(BUSY_TIMEOUT_MS / 1000))
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
        tmp.replace(dest)
        _fsync_dir(dest.parent)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        failure = storage_error(dest, exc, "the backup could not be written")
        if failure is not None:
            raise failure from exc
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ProjectError(f"{dest}: the backup could not be written: {reason}",
                           "check free disk space and that the folder is writable") from exc
    return dest


def backup_name(project_path: Path, reason: str, events: int | None,
                when: datetime | None = None) -> str:
    """The file name of a backup: ``<stem>-<UTC time>-e<event id>-<reason>.qcode``."""
    if not REASON.match(reason):
        raise ValueError(f"backup reason {reason!r}: lowercase letters, digits, . _ -")
    stamp = (when or datetime.now(UTC)).astimezone(UTC).strftime(STAMP_FORMAT)
    events_part = f"-e{events}" if events is not None else ""
    return f"{project_path.stem}-{stamp}{events_part}-{reason}{PROJECT_SUFFIX}"


@dataclass(frozen=True)
class BackupName:
    """What a backup's file name says."""

    created: datetime
    events: int | None  # the newest event id in the copy, if recorded
    reason: str


def parse_backup_name(name: str) -> BackupName | None:
    """Read time, event id and reason from a backup file name (None if not one)."""
    m = BACKUP_NAME.match(name)
    if m is None:
        return None
    created = datetime.strptime(m["stamp"], STAMP_FORMAT).replace(tzinfo=UTC)
    events = int(m["events"]) if m["events"] is not None else None
    return BackupName(created, events, m["reason"] or "manual")


def timestamped_backup(conn: sqlite3.Connection, project_path: Path, reason: str) -> Path:
    """Write a backup into the project's backup folder, named by time, event id and reason."""
    folder = backup_dir(project_path)
    for _ in range(5):  # two backups in the same microsecond: take the next one
        dest = folder / backup_name(project_path, reason, max_event_id(conn))
        if not dest.exists():
            return backup_to(conn, dest)
        time.sleep(0.001)
    return backup_to(conn, dest)


# -- backups: reading and checking copies -------------------------------------------------


@dataclass(frozen=True)
class ProjectFacts:
    """What a project file (or a backup) holds, read without changing it."""

    schema: str
    migrations: tuple[str, ...]
    documents: int
    codings: int
    events: int
    project_uid: str | None


def _facts(conn: sqlite3.Connection, path: Path) -> ProjectFacts:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if app_id != APPLICATION_ID or not {"documents", "codings", "events"} <= tables:
        raise ProjectError(f"{path}: not a qcode project", "choose a backup made by qcode")
    migrations: tuple[str, ...] = ()
    if MIGRATIONS_TABLE in tables:
        migrations = tuple(applied_migrations(conn))
    uid_row = conn.execute("SELECT value FROM settings WHERE key = 'project_uid'").fetchone() \
        if "settings" in tables else None
    uid = None
    if uid_row:
        with contextlib.suppress(ValueError, TypeError):
            uid = str(json.loads(uid_row[0]))
    return ProjectFacts(
        schema=migrations[-1] if migrations else "none",
        migrations=migrations,
        documents=conn.execute("SELECT count(*) FROM documents WHERE superseded_by IS NULL")
        .fetchone()[0],
        codings=conn.execute("SELECT count(*) FROM codings").fetchone()[0],
        events=max_event_id(conn) or 0,
        project_uid=uid,
    )


def _open_read_only(path: Path, hint: str) -> sqlite3.Connection:
    """A read-only connection to an SQLite file (a project or a backup), or a one-line
    ProjectError; ``hint`` is what to check when the file cannot be opened at all."""
    try:
        if not _looks_like_sqlite(path):
            raise ProjectError(f"{path}: not an SQLite database", "not a qcode backup")
        return sqlite3.connect(_ro_uri(path), uri=True)
    except OSError as exc:
        raise ProjectError(f"{path}: cannot be read ({exc.strerror or exc})", hint) from exc
    except sqlite3.Error as exc:
        raise ProjectError(f"{path}: cannot be read ({exc})", "not a qcode backup") from exc


def read_facts(path: Path) -> ProjectFacts:
    """Facts of a project file or backup, opened read-only (no integrity check)."""
    path = Path(path)
    conn = _open_read_only(path, "check the file's permissions")
    try:
        return _facts(conn, path)
    except sqlite3.DatabaseError as exc:
        raise ProjectCorrupt(f"{path}: cannot be read: {exc}", "use another backup") from exc
    finally:
        conn.close()


def copy_database(source: Path, dest: Path, shown: Path | None = None) -> None:
    """Copy an SQLite file (opened read-only) to a new file ``dest`` with the backup API.

    Write failures name ``shown`` (the project the copy is for) if given.
    """
    source, dest = Path(source), Path(dest)
    src = _open_read_only(source, "check the path and the file's permissions")
    try:
        dest.touch(mode=0o600, exist_ok=False)
        target = sqlite3.connect(str(dest))
        try:
            src.backup(target, progress=_bounded_wait(BUSY_TIMEOUT_MS / 1000))
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
    except OSError as exc:
        raise ProjectError(f"{shown or dest}: cannot copy the backup beside it: "
                           f"{exc.strerror or exc}", "check free disk space and that the "
                           "folder is writable") from exc
    except sqlite3.DatabaseError as exc:
        failure = storage_error(shown or dest, exc, "cannot copy the backup beside it")
        if failure is not None and not isinstance(failure, ProjectCorrupt):
            raise failure from exc
        raise ProjectCorrupt(f"{source}: the backup is damaged ({exc})",
                             "choose another backup ('qcode backups')") from exc
    finally:
        src.close()


def check_copy(path: Path, known_migrations: set[str], shown: Path | None = None,
               ) -> ProjectFacts:
    """Full check of a copy about to be restored: integrity, foreign keys, a qcode schema.

    Messages name ``shown`` (the backup the copy was made from) if given.
    """
    name = shown or path
    try:
        conn = sqlite3.connect(str(path), isolation_level=None)
    except sqlite3.Error as exc:
        raise ProjectCorrupt(f"{name}: cannot be opened ({exc})", "choose another backup") \
            from exc
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        if problems:
            raise ProjectCorrupt(f"{name}: integrity check failed: {problems[0]}",
                                 "choose another backup ('qcode backups')")
        facts = _facts(conn, name)
        broken = conn.execute("PRAGMA foreign_key_check").fetchone()
        if broken is not None:
            raise ProjectCorrupt(f"{name}: foreign key check failed: {broken[0]} row "
                                 f"{broken[1]} -> {broken[2]}", "choose another backup")
    except sqlite3.DatabaseError as exc:
        raise ProjectCorrupt(f"{name}: cannot be checked: {exc}", "choose another backup") \
            from exc
    finally:
        conn.close()
    unknown = [m for m in facts.migrations if m not in known_migrations]
    if unknown:
        raise ProjectError(f"{name}: made by a newer qcode (schema {unknown[-1]})",
                           "upgrade qcode to restore this backup")
    return facts


def stamp_restore(path: Path, *, after_event: int, actor: str, payload: dict[str, object],
                  shown: Path | None = None) -> int:
    """Record the restore in the copy about to be restored; returns the event id.

    Event ids stay increasing across the restore: the copy's sequence is moved
    past the newest event of the project it replaces.
    """
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'events'",
                     (after_event,))
        cur = conn.execute(
            "INSERT INTO events (at, actor, kind, payload) VALUES (?, ?, ?, ?)",
            (utc_now(), actor, "project.restore",
             json.dumps(payload, ensure_ascii=False, sort_keys=True)))
        conn.execute("COMMIT")
        return int(cur.lastrowid or 0)
    except sqlite3.Error as exc:
        failure = storage_error(shown or path, exc, "cannot prepare the restore")
        if failure is not None:
            raise failure from exc
        raise
    finally:
        conn.close()


# -- restoring ----------------------------------------------------------------------------


def in_use_error(path: Path) -> ProjectError:
    """The error for a project that another program has open."""
    return ProjectError(f"{path}: is open in another program (a qcode window, a qcode "
                        "command or an SQLite tool)", "close it there and try again; "
                        "nothing was changed")


@contextlib.contextmanager
def exclusive_project(path: Path, wait_s: float = 2.0) -> Iterator[sqlite3.Connection]:
    """The project for this connection alone, or ProjectError if others have it open.

    ``BEGIN IMMEDIATE`` only notices another writer; an idle qcode window holds
    no lock. Leaving WAL mode needs every other connection closed, so a
    successful switch to the rollback journal proves nobody else has the file
    open; exclusive locking mode then keeps it that way until this connection
    closes (others wait, then fail with "database is locked").
    """
    conn = sqlite3.connect(str(path), timeout=wait_s, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(wait_s * 1000)}")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        deadline = time.monotonic() + wait_s
        while True:
            try:
                mode = str(conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0])
                if mode.lower() == "delete":
                    conn.execute("BEGIN EXCLUSIVE")
                    conn.execute("COMMIT")
                    break
            except sqlite3.OperationalError as exc:
                if (getattr(exc, "sqlite_errorcode", 5) & 0xFF) not in (5, 6):
                    raise
            if time.monotonic() >= deadline:
                raise in_use_error(path)
            time.sleep(0.05)
    except sqlite3.Error as exc:
        conn.close()
        failure = storage_error(path, exc, "cannot be taken for the restore")
        if failure is not None:
            raise failure from exc
        raise
    except BaseException:
        conn.close()
        raise
    try:
        yield conn
    finally:
        conn.close()


def copy_into(source: Path, conn: sqlite3.Connection, path: Path) -> None:
    """Replace the content of the project open on ``conn`` by ``source``, in one transaction.

    The online backup API in reverse: the pages are written through SQLite's
    journal, so a crash leaves the old or the new content, never a mix.
    """
    src = sqlite3.connect(_ro_uri(source), uri=True)
    try:
        src.backup(conn, progress=_bounded_wait(BUSY_TIMEOUT_MS / 1000))
        row = conn.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            raise ProjectCorrupt(f"{path}: check after the restore failed: "
                                 f"{row[0] if row else 'no answer'}",
                                 f"copy a backup from {backup_dir(path)} in its place")
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.Error as exc:
        failure = storage_error(path, exc, "cannot be restored")
        if failure is not None:
            raise failure from exc
        raise
    finally:
        src.close()


def project_state(path: Path) -> ProjectFacts | None:
    """Facts of an existing project file, or None if SQLite cannot use it (damaged).

    Raises ProjectError if the file is a healthy SQLite database but not a qcode
    project, or if another program holds it locked.
    """
    try:
        if not _looks_like_sqlite(path):
            return None
        conn = sqlite3.connect(_ro_uri(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except (OSError, sqlite3.Error):
        return None
    try:
        row = conn.execute("PRAGMA quick_check").fetchone()
        if row is None or row[0] != "ok":
            return None
        return _facts(conn, path)
    except sqlite3.OperationalError as exc:
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (5, 6):
            raise in_use_error(path) from exc
        return None
    except sqlite3.Error:
        return None
    except ProjectError as exc:
        raise ProjectError(f"{path}: is an SQLite file, but not a qcode project",
                           "restore into another file name") from exc
    finally:
        conn.close()


def save_raw_copy(path: Path, dest: Path) -> list[Path]:
    """Copy a project file that SQLite cannot use, with its side files, to ``dest``.

    Byte copies (the file may be too damaged for the backup API); returns the
    files written.
    """
    import shutil

    written: list[Path] = []
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for suffix in ("", *SIDE_FILES):
        src = Path(str(path) + suffix)
        if src.exists():
            target = Path(str(dest) + suffix)
            shutil.copyfile(src, target)
            os.chmod(target, 0o600)
            with open(target, "rb+") as fh:
                os.fsync(fh.fileno())
            written.append(target)
    _fsync_dir(dest.parent)
    return written


def put_in_place(tmp: Path, path: Path) -> None:
    """Atomically rename a prepared copy to ``path``.

    Side files of the old file (-wal, -journal) are deleted first: SQLite would
    replay them into the new file.
    """
    for side in SIDE_FILES:
        Path(str(path) + side).unlink(missing_ok=True)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
