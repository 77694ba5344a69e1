"""Backups: automatic and manual copies of a project, rotation, listing and restoring.

Every backup is a complete project file written with SQLite's online backup
API into ``<name>.qcode-backups/``, named
``<name>-<UTC time>-e<newest event id>-<reason>.qcode``. Reasons:

- ``manual`` (``qcode backup``): never deleted by qcode;
- ``daily``: made when a project is opened and the newest backup is older than
  a day and the project changed since (its newest event id differs);
- ``before-<operation>`` (merge, delete, bundle-import, qdpx-import ...): made by
  ``backup_before`` before a destructive operation; the operation does not run
  if the backup cannot be written;
- ``before-<migration>``: made before a schema migration; never deleted;
- ``before-restore``: the state a restore replaced (restoring it undoes the
  restore); never deleted.

Daily and before-operation backups are rotated: the newest ``KEEP_LAST`` are
kept, plus the newest of each of the last ``KEEP_DAYS`` days.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from qcode.errors import InputError, NotFound, ProjectCorrupt, ProjectError, QcodeError
from qcode.store import Store
from qcode.store.db import (
    PROJECT_SUFFIX,
    backup_dir,
    backup_name,
    check_copy,
    copy_database,
    copy_into,
    exclusive_project,
    first_event_time,
    max_event_id,
    parse_backup_name,
    project_state,
    put_in_place,
    read_facts,
    save_raw_copy,
    stamp_restore,
    timestamped_backup,
)

__all__ = [
    "DAILY_AFTER",
    "KEEP_DAYS",
    "KEEP_LAST",
    "BackupInfo",
    "RestoreReport",
    "backup_before",
    "daily_backup",
    "list_backups",
    "resolve_backup",
    "restore",
    "rotate_backups",
]

KEEP_LAST = 10  # newest rotated backups always kept
KEEP_DAYS = 14  # plus the newest of each of this many days
DAILY_AFTER = timedelta(hours=24)
LOCK_WAIT_S = 2.0  # how long a restore waits for others to close the project
_STALE_PART = timedelta(hours=12)  # a .part file this old belongs to a killed backup
_MIGRATION = re.compile(r"^before-\d{4}_")


def _kind(reason: str) -> str:
    if reason == "daily":
        return "daily"
    if reason.startswith("before-restore"):
        return "restore"
    if _MIGRATION.match(reason):
        return "migration"
    if reason.startswith("before-"):
        return "operation"
    return "manual"


@dataclass(frozen=True)
class BackupInfo:
    """One backup of a project, as ``qcode backups`` lists it."""

    path: Path
    created: datetime  # UTC
    reason: str  # manual, daily, before-merge, before-0003_turn_fts, before-restore ...
    kind: str  # manual, daily, operation, migration, restore
    size_bytes: int
    events: int | None  # the newest event id in the backup
    schema: str | None = None
    documents: int | None = None
    codings: int | None = None
    problem: str | None = None  # why the backup could not be read, if it could not

    @property
    def rotated(self) -> bool:
        """True if rotation may delete this backup (daily and before-operation ones)."""
        return self.kind in ("daily", "operation")

    @property
    def name(self) -> str:
        """The backup's file name."""
        return self.path.name

    def as_dict(self) -> dict[str, object]:
        """Plain data for ``--json``."""
        return {"name": self.name, "path": str(self.path), "created": self.created.isoformat(),
                "reason": self.reason, "kind": self.kind, "size_bytes": self.size_bytes,
                "events": self.events, "schema": self.schema, "documents": self.documents,
                "codings": self.codings, "problem": self.problem}


def _entries(project_path: Path) -> list[BackupInfo]:
    """Backups in the folder from their names and sizes only (newest first); fast."""
    folder = backup_dir(Path(project_path))
    if not folder.is_dir():
        return []
    out = []
    for path in folder.glob(f"*{PROJECT_SUFFIX}"):
        try:
            st = path.stat()
        except OSError:
            continue
        if not path.is_file():
            continue
        parsed = parse_backup_name(path.name)
        if parsed is None:  # a copy put here by hand: keep it, never rotate it
            created, events, reason = datetime.fromtimestamp(st.st_mtime, UTC), None, "manual"
        else:
            created, events, reason = parsed.created, parsed.events, parsed.reason
        out.append(BackupInfo(path, created, reason, _kind(reason), st.st_size, events))
    out.sort(key=lambda b: (b.created, b.name), reverse=True)
    return out


def list_backups(project_path: Path) -> list[BackupInfo]:
    """The project's backups, newest first, with schema and counts read from each."""
    out = []
    for entry in _entries(project_path):
        try:
            facts = read_facts(entry.path)
        except QcodeError as exc:
            out.append(_with(entry, problem=exc.message))
            continue
        out.append(_with(entry, events=facts.events, schema=facts.schema,
                         documents=facts.documents, codings=facts.codings))
    return out


def _with(entry: BackupInfo, **changes: object) -> BackupInfo:
    from dataclasses import replace

    return replace(entry, **changes)  # type: ignore[arg-type]


def resolve_backup(project_path: Path, ref: str | Path) -> Path:
    """A backup by number in ``list_backups`` (1 = newest), file name, or path."""
    text = str(ref).strip()
    folder = backup_dir(Path(project_path))
    if text.isdigit() and not Path(text).exists():
        entries = _entries(project_path)
        number = int(text)
        if 1 <= number <= len(entries):
            return entries[number - 1].path
        raise NotFound(f"no backup number {number} ({len(entries)} in {folder})",
                       "list them with 'qcode backups'")
    candidates = [Path(text)]
    if not Path(text).is_absolute() and os.sep not in text:
        name = text if text.endswith(PROJECT_SUFFIX) else text + PROJECT_SUFFIX
        candidates.insert(0, folder / name)
    for path in candidates:
        if path.is_file():
            return path
    raise NotFound(f"no backup {text!r} (looked in {folder})", "list them with 'qcode backups'")


# -- making backups -------------------------------------------------------------------------


def _reason_slug(reason: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", reason.strip().lower()).strip("-._")
    if not slug:
        raise ValueError(f"backup reason {reason!r} has no letters or digits")
    return slug[:40]


def backup_before(store: Store, reason: str) -> Path:
    """Back up the project before a destructive operation (call it before the transaction).

    ``reason`` names the operation (``merge``, ``delete``, ``bundle-import``,
    ``qdpx-import``); the file is named ``...-before-<reason>.qcode``. Raises
    ProjectError if the backup cannot be written (disk full, read-only folder):
    the operation must then not run. Old automatic backups are rotated afterwards.
    """
    if store.conn.in_transaction:
        raise RuntimeError("backup_before() inside a transaction: call it before the change")
    path = timestamped_backup(store.conn, store.path, f"before-{_reason_slug(reason)}")
    with contextlib.suppress(OSError):
        rotate_backups(store.path)
    return path


def daily_backup(store: Store, *, now: datetime | None = None,
                 after: timedelta = DAILY_AFTER) -> Path | None:
    """Back up a project being opened if its newest backup is older than ``after``
    and it changed since (its newest event id differs); returns the backup or None.

    A project without backups is first backed up once it is older than ``after``.
    Best effort: a failure (disk full, read-only folder) never stops the opening.
    """
    now = now or datetime.now(UTC)
    try:
        if store.conn.in_transaction:
            return None
        current = max_event_id(store.conn)
        entries = [e for e in _entries(store.path) if parse_backup_name(e.name) is not None]
        newest = entries[0] if entries else None
        if newest is None:
            created = first_event_time(store.conn)
            if created is None or now - created < after:
                return None
        else:
            if now - newest.created < after:
                return None
            seen = newest.events
            if seen is None:  # named before qcode recorded event ids: read it
                try:
                    seen = read_facts(newest.path).events
                except QcodeError:
                    seen = None  # an unreadable newest backup: make a good one
            if seen == current:
                return None
        path = timestamped_backup(store.conn, store.path, "daily")
        with contextlib.suppress(OSError):
            rotate_backups(store.path, now=now)
        return path
    except (QcodeError, OSError):
        return None


def rotate_backups(project_path: Path, *, keep_last: int = KEEP_LAST, keep_days: int = KEEP_DAYS,
                   now: datetime | None = None) -> list[Path]:
    """Delete daily and before-operation backups beyond the policy; returns what went.

    Kept: the newest ``keep_last``, and the newest of each of the last ``keep_days``
    UTC calendar days (today included). Manual, migration and before-restore backups are never
    deleted. Leftover ``.part`` files of killed backups are removed too.
    """
    now = now or datetime.now(UTC)
    rotated = [e for e in _entries(project_path) if e.rotated]
    keep = {e.path for e in rotated[:keep_last]}
    days: set[object] = set()
    for e in rotated:  # newest first: the first seen of a day is its newest
        day = e.created.date()
        if (now.date() - day).days < keep_days and day not in days:
            days.add(day)
            keep.add(e.path)
    deleted = []
    for e in rotated:
        if e.path not in keep:
            e.path.unlink(missing_ok=True)
            deleted.append(e.path)
    folder = backup_dir(Path(project_path))
    for part in folder.glob(f"*{PROJECT_SUFFIX}.part") if folder.is_dir() else []:
        with contextlib.suppress(OSError):
            if now - datetime.fromtimestamp(part.stat().st_mtime, UTC) > _STALE_PART:
                part.unlink()
                deleted.append(part)
    return deleted


# -- restoring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreReport:
    """What a restore did."""

    project: Path
    restored: Path  # the backup restored
    saved_as: Path | None  # the replaced state (restore it to undo); None if there was none
    schema: str
    documents: int
    codings: int
    replaced_damaged: bool  # the replaced file could not be opened as a project
    event_id: int  # the project.restore event in the restored project


def restore(project_path: Path, backup: str | Path, *, actor: str | None = None,
            other_project: bool = False) -> RestoreReport:
    """Replace the project by a backup; the current state is backed up first (undoable).

    ``backup`` is a number from ``list_backups`` (1 = newest), a file name in the
    backup folder, or a path. The backup is copied and fully checked (integrity,
    foreign keys, a qcode schema this version can open) before anything is
    touched. The project must not be open anywhere else (ProjectError says so).

    A healthy project is taken for this process alone, backed up
    (``before-restore``), and its content replaced by the checked copy through
    SQLite's backup API in one transaction: a crash leaves the old or the new
    content. A damaged project file (one SQLite cannot open) is saved byte for
    byte with its -wal/-journal, and the copy renamed into its place.
    Refuses a backup of another project unless ``other_project``.
    """
    from qcode.services.projects import default_actor
    from qcode.store import schema

    project_path = Path(project_path)
    source = resolve_backup(project_path, backup)
    if project_path.exists() and source.resolve() == project_path.resolve():
        raise InputError(f"{source}: is the project itself", "choose a backup")
    if project_path.is_dir():
        raise ProjectError(f"{project_path}: is a folder, not a project file",
                           "name the .qcode file")
    if not project_path.parent.is_dir():
        raise ProjectError(f"{project_path}: folder {project_path.parent} does not exist",
                           "create it first")
    known = {m.name for m in schema.migrations._migrations}
    tmp = project_path.with_name(f".{project_path.name}.restore-{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        copy_database(source, tmp, shown=project_path)
        facts = check_copy(tmp, known, shown=source)
        current = project_state(project_path) if project_path.exists() else None
        if (current is not None and not other_project and current.project_uid
                and facts.project_uid and current.project_uid != facts.project_uid):
            raise InputError(f"{source}: is a backup of another project",
                             "check the backup, or pass --other-project to restore it anyway")
        who = actor or default_actor()
        payload: dict[str, object] = {"summary": f"restore {source.name}",
                                      "backup": source.name, "backup_events": facts.events}
        if current is not None:
            with exclusive_project(project_path, LOCK_WAIT_S) as conn:
                saved: Path | None = timestamped_backup(conn, project_path, "before-restore")
                replaced = max_event_id(conn) or 0
                payload.update(saved_as=saved.name if saved else None, replaced_events=replaced)
                event_id = stamp_restore(tmp, after_event=replaced, actor=who, payload=payload,
                                         shown=project_path)
                copy_into(tmp, conn, project_path)
            damaged = False
        else:
            damaged = project_path.exists()
            saved = None
            if damaged:  # SQLite cannot use it: keep its bytes (and -wal, -journal) aside
                name = backup_name(project_path, "before-restore-damaged", None)
                saved = save_raw_copy(project_path, backup_dir(project_path) / name)[0]
            payload.update(saved_as=saved.name if saved else None, replaced_events=None)
            event_id = stamp_restore(tmp, after_event=0, actor=who, payload=payload,
                                     shown=project_path)
            with contextlib.ExitStack() as stack:
                if damaged:  # hold it if SQLite can lock it at all; refuse if others do
                    try:
                        stack.enter_context(exclusive_project(project_path, wait_s=0.5))
                    except ProjectCorrupt:
                        pass
                    except ProjectError as exc:
                        if "is open in another program" in exc.message:
                            raise
                put_in_place(tmp, project_path)
    except OSError as exc:
        raise ProjectError(f"{project_path}: cannot restore: {exc.strerror or exc}",
                           "check free disk space and that the folder is writable") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
            for side in ("-journal", "-wal", "-shm"):
                Path(str(tmp) + side).unlink(missing_ok=True)
    return RestoreReport(project_path, source, saved, facts.schema, facts.documents,
                         facts.codings, damaged, event_id)
