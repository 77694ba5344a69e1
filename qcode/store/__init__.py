"""The storage layer: the only package that contains SQL."""

from qcode.store.db import backup_dir, connect_project, open_database
from qcode.store.repo import Store, open_store

__all__ = ["Store", "backup_dir", "connect_project", "open_database", "open_store"]
