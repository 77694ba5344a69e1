"""Retention: a project's deletion date, warnings as it approaches, and purging.

Data-protection offices set a date by which the data must be deleted. qcode
keeps that date in the project, warns from 30 days before it, and ``purge``
deletes the project, its backups and any key files named, on request.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from qcode.errors import InputError, ProjectError
from qcode.store import Store, backup_dir

RETENTION_SETTING = "delete_by"
WARN_DAYS = 30


def set_retention(store: Store, when: date | None, actor: str | None = None) -> None:
    """Set (or with None clear) the date by which the project must be deleted."""
    from qcode.services.projects import default_actor

    with store.transaction():
        store.set_setting(RETENTION_SETTING, when.isoformat() if when else None)
        store.record_event(actor or default_actor(), "project.retention",
                           {"delete_by": when.isoformat() if when else None})


def retention_date(store: Store) -> date | None:
    """The deletion date, or None."""
    value = store.get_setting(RETENTION_SETTING)
    return date.fromisoformat(value) if value else None


def retention_warning(store: Store, today: date | None = None) -> str | None:
    """A warning when the deletion date is near (30 days) or past, else None."""
    when = retention_date(store)
    if when is None:
        return None
    left = (when - (today or date.today())).days
    if left < 0:
        return (f"this project was due for deletion on {when.isoformat()} ({-left} days ago); "
                "delete it with 'qcode purge'")
    if left <= WARN_DAYS:
        return (f"this project must be deleted by {when.isoformat()} ({left} days left); "
                "export what you need, then 'qcode purge'")
    return None


def purge(project_path: Path, *, keys: Sequence[Path] = ()) -> list[Path]:
    """Delete the project file, its WAL files, its backups and the named key files."""
    from qcode.store.db import PROJECT_SUFFIX

    project_path = Path(project_path)
    if project_path.suffix != PROJECT_SUFFIX or not project_path.is_file():
        raise ProjectError(f"{project_path}: not a project file", "name the .qcode file")
    for key in keys:
        if not Path(key).is_file():
            raise InputError(f"{key}: no such key file", "check the path; nothing was deleted")
    deleted: list[Path] = []
    for extra in ("-wal", "-shm", "-journal"):
        side = project_path.with_name(project_path.name + extra)
        if side.exists():
            side.unlink()
            deleted.append(side)
    project_path.unlink()
    deleted.append(project_path)
    folder = backup_dir(project_path)
    if folder.exists():
        shutil.rmtree(folder)
        deleted.append(folder)
    for key in keys:
        Path(key).unlink()
        deleted.append(Path(key))
    return deleted
