"""The base of the repository: connection, transactions, events, settings, undo.

Undoable changes are captured as row images: ``_insert``, ``_update`` and
``_delete`` run the statement and remember the row before and after. The
event that records the change carries these images, so ``undo`` and ``redo``
work across sessions from the event log alone, and refuse when a row has been
changed by something else since.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qcode.errors import InputError, ProjectError
from qcode.store.db import storage_error, utc_now

if TYPE_CHECKING:
    import sqlite_utils

# Tables whose rows undo and redo may restore, with their primary key column.
UNDOABLE_TABLES = {"coders": "id", "codebooks": "id", "codes": "id", "codings": "id",
                   "memos": "id"}
UNDO_KINDS = ("undo", "redo")


def _in_transaction(conn: sqlite3.Connection) -> bool:
    return conn.in_transaction


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is open; a failing rollback (disk gone) is not raised
    over the error that caused it: SQLite rolls back a broken transaction itself."""
    if _in_transaction(conn):
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class UndoStep:
    """An event that undo or redo would act on."""

    event_id: int
    kind: str
    summary: str
    at: str


class StoreBase:
    """Connection, transactions, events, settings and undo of one open project file."""

    def __init__(self, db: sqlite3.Connection | sqlite_utils.Database, path: Path) -> None:
        if isinstance(db, sqlite3.Connection):
            self._conn, self._db = db, None
        else:
            self._conn, self._db = db.conn, db
        self.path = path
        self._capture_stack: list[list[dict[str, Any]]] = []

    # -- connection and transactions -------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """The underlying sqlite3 connection."""
        return self._conn

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils' view of the connection (imports sqlite-utils, and with it numpy)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self._conn)
        return self._db

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction (``BEGIN IMMEDIATE``); nested use becomes a savepoint."""
        conn = self.conn
        if conn.in_transaction:
            name = f"sp_{uuid.uuid4().hex}"
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException as exc:
                if conn.in_transaction:
                    try:
                        conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                        conn.execute(f"RELEASE SAVEPOINT {name}")
                    except sqlite3.Error:
                        _rollback(conn)
                failure = storage_error(self.path, exc)
                if failure is not None:
                    raise failure from exc
                raise
            else:
                conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise (storage_error(self.path, exc, "cannot write") or ProjectError(
                f"{self.path}: cannot write: {exc}",
                "another program holds the project; try again")) from exc
        try:
            yield
        except BaseException as exc:
            _rollback(conn)
            failure = storage_error(self.path, exc)  # disk full, read-only, I/O error
            if failure is not None:
                raise failure from exc
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise (storage_error(self.path, exc) or ProjectError(
                f"{self.path}: the change could not be saved: {exc}",
                "check free disk space and permissions")) from exc

    def _require_transaction(self) -> None:
        if not self.conn.in_transaction:
            raise RuntimeError("a write outside Store.transaction()")

    def record_event(self, actor: str, kind: str, payload: Mapping[str, Any],
                     changes: Sequence[Mapping[str, Any]] | None = None) -> int:
        """Append an event; must run inside the transaction of the change it records.

        With ``changes`` (captured row images) the event can be undone.
        """
        self._require_transaction()
        data = dict(payload)
        if changes:
            data["changes"] = list(changes)
        cur = self.conn.execute(
            "INSERT INTO events (at, actor, kind, payload) VALUES (?, ?, ?, ?)",
            (utc_now(), actor, kind, json.dumps(data, ensure_ascii=False, sort_keys=True)),
        )
        return int(cur.lastrowid or 0)

    def events(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Events, newest first."""
        sql = "SELECT id, at, actor, kind, payload FROM events ORDER BY id DESC"
        params: list[Any] = []
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            {"id": r[0], "at": r[1], "actor": r[2], "kind": r[3], "payload": json.loads(r[4])}
            for r in self.conn.execute(sql, params)
        ]

    # -- settings --------------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        """A JSON setting, or ``default``."""
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value: Any) -> None:
        """Set a JSON setting (inside a transaction)."""
        self._require_transaction()
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, ensure_ascii=False)),
        )

    # -- captured row changes (the basis of undo) --------------------------------------

    def _begin_capture(self) -> list[dict[str, Any]]:
        self._require_transaction()
        changes: list[dict[str, Any]] = []
        self._capture_stack.append(changes)
        return changes

    @contextmanager
    def capture(self) -> Iterator[list[dict[str, Any]]]:
        """Collect row changes made by ``_insert``/``_update``/``_delete`` inside the block."""
        changes = self._begin_capture()
        try:
            yield changes
        finally:
            self._capture_stack.pop()

    def _record(self, change: dict[str, Any]) -> None:
        if self._capture_stack:
            self._capture_stack[-1].append(change)

    def _row(self, table: str, key: Any) -> dict[str, Any] | None:
        pk = UNDOABLE_TABLES[table]
        cur = self.conn.execute(f"SELECT * FROM {_q(table)} WHERE {_q(pk)} = ?", (key,))
        row = cur.fetchone()
        if row is None:
            return None
        return {d[0]: v for d, v in zip(cur.description, row, strict=True)}

    def _insert(self, table: str, values: Mapping[str, Any]) -> Any:
        """Insert a row of an undoable table; returns its primary key."""
        self._require_transaction()
        cols = list(values)
        cur = self.conn.execute(
            f"INSERT INTO {_q(table)} ({', '.join(_q(c) for c in cols)}) "
            f"VALUES ({', '.join('?' for _ in cols)})", [values[c] for c in cols])
        pk = UNDOABLE_TABLES[table]
        key = values.get(pk, cur.lastrowid)
        self._record({"op": "insert", "table": table, "key": key,
                      "after": self._row(table, key)})
        return key

    def _update(self, table: str, key: Any, values: Mapping[str, Any]) -> None:
        """Update columns of one row of an undoable table."""
        self._require_transaction()
        before = self._row(table, key)
        if before is None:
            raise RuntimeError(f"no {table} row {key!r} to update")
        changed = {c: v for c, v in values.items() if before.get(c) != v}
        if not changed:
            return
        pk = UNDOABLE_TABLES[table]
        self.conn.execute(
            f"UPDATE {_q(table)} SET {', '.join(f'{_q(c)} = ?' for c in changed)} "
            f"WHERE {_q(pk)} = ?", [*changed.values(), key])
        self._record({"op": "update", "table": table, "key": key,
                      "before": {c: before[c] for c in changed}, "after": dict(changed)})

    def _delete(self, table: str, key: Any) -> None:
        """Delete one row of an undoable table."""
        self._require_transaction()
        before = self._row(table, key)
        if before is None:
            return
        pk = UNDOABLE_TABLES[table]
        self.conn.execute(f"DELETE FROM {_q(table)} WHERE {_q(pk)} = ?", (key,))
        self._record({"op": "delete", "table": table, "key": key, "before": before})

    # -- undo and redo -----------------------------------------------------------------

    def _stacks(self, actor: str) -> tuple[list[int], list[int]]:
        """(done, undone) event ids of an actor's undoable events, oldest first."""
        done: list[int] = []
        undone: list[int] = []
        for eid, kind, payload in self.conn.execute(
                "SELECT id, kind, payload FROM events WHERE actor = ? ORDER BY id", (actor,)):
            data = json.loads(payload)
            if kind == "undo":
                target = data.get("target")
                if target in done:
                    done.remove(target)
                    undone.append(target)
            elif kind == "redo":
                target = data.get("target")
                if target in undone:
                    undone.remove(target)
                    done.append(target)
            elif data.get("changes"):
                done.append(eid)
                undone.clear()
        return done, undone

    def _event(self, event_id: int) -> dict[str, Any]:
        row = self.conn.execute("SELECT id, at, actor, kind, payload FROM events WHERE id = ?",
                                (event_id,)).fetchone()
        return {"id": row[0], "at": row[1], "actor": row[2], "kind": row[3],
                "payload": json.loads(row[4])}

    def undo_steps(self, actor: str) -> tuple[UndoStep | None, UndoStep | None]:
        """What ``undo`` and ``redo`` would act on for this actor (None if nothing)."""
        done, undone = self._stacks(actor)

        def step(ids: list[int]) -> UndoStep | None:
            if not ids:
                return None
            e = self._event(ids[-1])
            return UndoStep(e["id"], e["kind"], e["payload"].get("summary", e["kind"]), e["at"])

        return step(done), step(undone)

    def _apply(self, changes: Sequence[dict[str, Any]], *, backwards: bool) -> None:
        ordered = list(reversed(changes)) if backwards else list(changes)
        for ch in ordered:
            table, key, op = ch["table"], ch["key"], ch["op"]
            pk = UNDOABLE_TABLES[table]
            current = self._row(table, key)
            if (op == "insert") == backwards and op != "update":  # the row must go
                if current is None:
                    raise InputError(f"cannot {'undo' if backwards else 'redo'}: {table} "
                                     f"{key!r} is gone already", "see 'qcode history'")
                expected = ch["after"] if backwards else ch["before"]
                if expected is not None and current != expected:
                    raise InputError(f"cannot {'undo' if backwards else 'redo'}: {table} "
                                     f"{key!r} was changed since", "see 'qcode history'")
                self.conn.execute(f"DELETE FROM {_q(table)} WHERE {_q(pk)} = ?", (key,))
            elif op != "update":  # the row must come back
                image = ch["before"] if backwards else ch["after"]
                if current is not None:
                    raise InputError(f"cannot {'undo' if backwards else 'redo'}: {table} "
                                     f"{key!r} exists again", "see 'qcode history'")
                cols = list(image)
                self.conn.execute(
                    f"INSERT INTO {_q(table)} ({', '.join(_q(c) for c in cols)}) "
                    f"VALUES ({', '.join('?' for _ in cols)})", [image[c] for c in cols])
            else:
                want, put = (ch["after"], ch["before"]) if backwards else (ch["before"],
                                                                            ch["after"])
                if current is None or any(current.get(c) != v for c, v in want.items()):
                    raise InputError(f"cannot {'undo' if backwards else 'redo'}: {table} "
                                     f"{key!r} was changed since", "see 'qcode history'")
                self.conn.execute(
                    f"UPDATE {_q(table)} SET {', '.join(f'{_q(c)} = ?' for c in put)} "
                    f"WHERE {_q(pk)} = ?", [*put.values(), key])

    def undo(self, actor: str) -> UndoStep:
        """Undo the actor's newest undoable change; recorded as an ``undo`` event."""
        return self._undo_redo(actor, backwards=True)

    def redo(self, actor: str) -> UndoStep:
        """Redo the actor's newest undone change; recorded as a ``redo`` event."""
        return self._undo_redo(actor, backwards=False)

    def _undo_redo(self, actor: str, *, backwards: bool) -> UndoStep:
        with self.transaction():
            done, undone = self._stacks(actor)
            ids = done if backwards else undone
            verb = "undo" if backwards else "redo"
            if not ids:
                raise InputError(f"nothing to {verb} for {actor}",
                                 "see what happened with 'qcode history'")
            target = self._event(ids[-1])
            self._apply(target["payload"]["changes"], backwards=backwards)
            summary = target["payload"].get("summary", target["kind"])
            self.after_undo_redo(target, backwards, actor)
            self.record_event(actor, verb, {"target": target["id"], "summary": summary})
        return UndoStep(target["id"], target["kind"], summary, target["at"])

    def after_undo_redo(self, target: dict[str, Any], backwards: bool, actor: str) -> None:
        """Hook for bookkeeping after an undo or redo (codebook revisions)."""
