"""The repository: every SQL statement qcode runs lives here.

``Store`` wraps one connection (connections belong to their thread). Writes go
through ``Store.transaction()`` (``BEGIN IMMEDIATE``, nested calls become
savepoints), and every mutation records an event in the same transaction.
"""

from __future__ import annotations

import fnmatch
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from qcode.errors import InputError, NotFound
from qcode.models import (
    AttributeType,
    AttributeValue,
    Document,
    ParsedDocument,
    Segment,
    Speaker,
    Turn,
)
from qcode.store.base import StoreBase
from qcode.store.coding import CodingRepo
from qcode.store.db import (
    applied_migrations,
    backup_to,
    connect_project,
    timestamped_backup,
    utc_now,
)
from qcode.store.leaks import LeakRepo
from qcode.store.nlp import NlpRepo, SuggestionRepo
from qcode.store.query import QueryRepo
from qcode.store.teamwork import TeamworkRepo


@dataclass(frozen=True)
class CheckProblem:
    """One finding of ``Store.check``."""

    kind: str
    detail: str


@dataclass(frozen=True)
class RoleRule:
    """A glob over speaker ids and the role it gives."""

    pattern: str
    role: str
    position: int


def _doc(row: Mapping[str, Any], with_text: bool) -> Document:
    return Document(
        id=row["id"], uid=row["uid"], name=row["name"], version=row["version"],
        kind=row["kind"], source_name=row["source_name"], source_format=row["source_format"],
        sha256=row["sha256"], word_count=row["word_count"], turn_count=row["turn_count"],
        imported_at=row["imported_at"], is_current=row["superseded_by"] is None,
        text=row["text"] if with_text else "",
    )


def _to_sql(value: AttributeValue) -> str | int | float:
    return value.isoformat() if isinstance(value, date) else value


def _from_sql(value: Any, kind: str) -> AttributeValue:
    if kind == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value  # type: ignore[no-any-return]


class Store(CodingRepo, NlpRepo, SuggestionRepo, QueryRepo, TeamworkRepo, LeakRepo,
            StoreBase):
    """One open project file."""

    # -- documents -------------------------------------------------------------------

    _DOC_COLUMNS = (
        "d.id, d.uid, d.name, d.version, d.kind, d.source_name, d.source_format, d.sha256, "
        "d.word_count, d.imported_at, d.superseded_by, "
        "(SELECT count(*) FROM turns t WHERE t.document_id = d.id "
        " AND t.speaker IS NOT NULL) AS turn_count"
    )

    def documents(self, *, include_old: bool = False) -> list[Document]:
        """Current documents (or every version), ordered by name."""
        where = "" if include_old else "WHERE d.superseded_by IS NULL"
        self.conn.row_factory = sqlite3.Row
        try:
            rows = self.conn.execute(
                f"SELECT {self._DOC_COLUMNS} FROM documents d {where} "
                "ORDER BY d.name COLLATE NOCASE, d.version"
            ).fetchall()
        finally:
            self.conn.row_factory = None
        return [_doc(r, with_text=False) for r in rows]

    def document(self, ref: str | int, *, version: int | None = None) -> Document:
        """A document with its text, by id, name or uid (the current version by default)."""
        self.conn.row_factory = sqlite3.Row
        try:
            base = f"SELECT {self._DOC_COLUMNS}, d.text FROM documents d"
            if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()
                                        and version is None and not self._has_name(ref)):
                row = self.conn.execute(f"{base} WHERE d.id = ?", (int(ref),)).fetchone()
            elif version is None:
                row = self.conn.execute(
                    f"{base} WHERE (d.name = ? OR d.uid = ?) AND d.superseded_by IS NULL",
                    (ref, ref)).fetchone()
            else:
                row = self.conn.execute(
                    f"{base} WHERE d.uid = (SELECT uid FROM documents WHERE name = ? OR uid = ? "
                    "ORDER BY id DESC LIMIT 1) AND d.version = ?", (ref, ref, version)).fetchone()
        finally:
            self.conn.row_factory = None
        if row is None:
            what = f"{ref!r}" + (f" version {version}" if version else "")
            raise NotFound(f"no document {what} in {self.path.name}",
                           "list documents with 'qcode docs'")
        return _doc(row, with_text=True)

    def document_uid(self, document_id: int) -> str:
        """The uid of a document version (without reading its text)."""
        row = self.conn.execute("SELECT uid FROM documents WHERE id = ?",
                                (document_id,)).fetchone()
        if row is None:
            raise NotFound(f"no document {document_id} in {self.path.name}",
                           "list documents with 'qcode docs'")
        return str(row[0])

    def _has_name(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM documents WHERE name = ?", (name,)).fetchone() \
            is not None

    def current_by_name(self, name: str) -> Document | None:
        """The current document with this name, or None."""
        try:
            return self.document(name) if self._has_name(name) else None
        except NotFound:
            return None

    def current_by_sha(self, sha256: str) -> Document | None:
        """A current document whose stored text has this hash, or None."""
        row = self.conn.execute(
            "SELECT id FROM documents WHERE sha256 = ? AND superseded_by IS NULL", (sha256,)
        ).fetchone()
        return self.document(int(row[0])) if row else None

    def insert_document(self, parsed: ParsedDocument, *, kind: str, sha256: str,
                        word_count: int, actor: str, previous: Document | None) -> int:
        """Store a new document (or a new version of ``previous``) and its segments."""
        self._require_transaction()
        uid = previous.uid if previous else uuid.uuid4().hex
        version = previous.version + 1 if previous else 1
        if previous is not None:  # free the name; the (deferred) link is set below
            self.conn.execute("UPDATE documents SET superseded_by = -1 WHERE id = ?",
                              (previous.id,))
        cur = self.conn.execute(
            "INSERT INTO documents (uid, version, name, kind, source_name, source_format, "
            "source_sha256, sha256, text, char_count, word_count, imported_at, imported_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (uid, version, parsed.name, kind, parsed.source_name, parsed.source_format,
             parsed.source_sha256, sha256, parsed.text, len(parsed.text), word_count,
             utc_now(), actor),
        )
        doc_id = int(cur.lastrowid or 0)
        if previous is not None:
            self.conn.execute("UPDATE documents SET superseded_by = ? WHERE id = ?",
                              (doc_id, previous.id))
        self.insert_segments(doc_id, parsed.segments, text=parsed.text)
        return doc_id

    def insert_segments(self, document_id: int, segments: Sequence[Segment], *,
                        text: str | None = None) -> None:
        """Store the turns/segments of a document (speakers must exist) and index their text.

        ``text`` is the document's stored text, if the caller has it (else it is read).
        """
        self._require_transaction()
        self.conn.executemany(
            'INSERT INTO turns (document_id, idx, start, "end", speaker, time_start, time_end, '
            "label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(document_id, i, s.start, s.end, s.speaker, s.time_start, s.time_end, s.label)
             for i, s in enumerate(segments, start=1)],
        )
        if text is None:
            text = str(self.conn.execute("SELECT text FROM documents WHERE id = ?",
                                         (document_id,)).fetchone()[0])
        # sliced here: substr(d.text, ...) per turn would read the whole text for each turn
        self.conn.executemany(
            "INSERT INTO turns_fts (rowid, text) VALUES (?, ?)",
            [(tid, text[start:end]) for tid, start, end in self.conn.execute(
                'SELECT id, start, "end" FROM turns WHERE document_id = ? ORDER BY idx',
                (document_id,))])

    def turns(self, document_id: int) -> list[Turn]:
        """The segments of a document in order, with their speakers' roles."""
        rows = self.conn.execute(
            'SELECT t.id, t.document_id, t.idx, t.start, t."end", t.speaker, s.role, '
            "t.time_start, t.time_end, t.label FROM turns t "
            "LEFT JOIN speakers s ON s.id = t.speaker WHERE t.document_id = ? ORDER BY t.idx",
            (document_id,),
        ).fetchall()
        return [Turn(*r) for r in rows]

    def document_speakers(self, document_id: int) -> list[tuple[str, str | None, int]]:
        """(speaker, role, turns) for one document, in order of first appearance."""
        return [
            (r[0], r[1], r[2])
            for r in self.conn.execute(
                "SELECT t.speaker, s.role, count(*) FROM turns t JOIN speakers s "
                "ON s.id = t.speaker WHERE t.document_id = ? GROUP BY t.speaker "
                "ORDER BY min(t.idx)", (document_id,))
        ]

    # -- speakers and roles ----------------------------------------------------------

    def role_rules(self) -> list[RoleRule]:
        """Rules mapping speaker ids to roles, in the order they are tried."""
        return [RoleRule(*r) for r in self.conn.execute(
            "SELECT pattern, role, position FROM role_rules ORDER BY position")]

    def add_role_rule(self, pattern: str, role: str, actor: str, *, first: bool = False) -> None:
        """Add (or replace) a rule and re-apply rules to speakers whose role came from a rule.

        Rules are tried in order; ``first`` puts the new rule before all others.
        """
        with self.transaction():
            sql = ("SELECT coalesce(min(position), 1) - 1 FROM role_rules" if first else
                   "SELECT coalesce(max(position), -1) + 1 FROM role_rules")
            position = self.conn.execute(sql).fetchone()[0]
            self.conn.execute(
                "INSERT INTO role_rules (pattern, role, position) VALUES (?, ?, ?) "
                "ON CONFLICT(pattern) DO UPDATE SET role = excluded.role, "
                "position = excluded.position",
                (pattern, role, position))
            self._reapply_rules()
            self.record_event(actor, "role_rule.add", {"pattern": pattern, "role": role})

    def remove_role_rule(self, pattern: str, actor: str) -> None:
        """Remove a rule and re-apply the remaining rules."""
        with self.transaction():
            cur = self.conn.execute("DELETE FROM role_rules WHERE pattern = ?", (pattern,))
            if cur.rowcount == 0:
                raise NotFound(f"no role rule {pattern!r}", "list them with 'qcode roles list'")
            self._reapply_rules()
            self.record_event(actor, "role_rule.remove", {"pattern": pattern})

    def role_for(self, speaker: str, rules: Sequence[RoleRule] | None = None) -> str | None:
        """The role the rules give a speaker id, or None."""
        for rule in rules if rules is not None else self.role_rules():
            if fnmatch.fnmatchcase(speaker, rule.pattern):
                return rule.role
        return None

    def _reapply_rules(self) -> None:
        rules = self.role_rules()
        for (sid,) in self.conn.execute(
                "SELECT id FROM speakers WHERE role_source IN ('rule', 'none')").fetchall():
            role = self.role_for(sid, rules)
            self.conn.execute("UPDATE speakers SET role = ?, role_source = ? WHERE id = ?",
                              (role, "rule" if role else "none", sid))

    def ensure_speakers(self, ids: Iterable[str]) -> None:
        """Create missing speakers, with the role their id's rule gives."""
        self._require_transaction()
        rules = self.role_rules()
        rows = []
        for sid in dict.fromkeys(ids):
            role = self.role_for(sid, rules)
            rows.append((sid, role, "rule" if role else "none"))
        self.conn.executemany(
            "INSERT INTO speakers (id, role, role_source) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO NOTHING", rows)

    def set_speaker_role(self, speaker: str, role: str | None, source: str) -> None:
        """Set a speaker's role; a role set by the user is never overwritten by attributes."""
        self.set_speaker_roles([(speaker, role)], source)

    def set_speaker_roles(self, roles: Iterable[tuple[str, str | None]], source: str) -> None:
        """``set_speaker_role`` for many (speaker, role) pairs at once, in order."""
        self._require_transaction()
        pairs = list(roles)
        self.ensure_speakers(sid for sid, _ in pairs)
        if source == "attributes":
            self.conn.executemany(
                "UPDATE speakers SET role = ?, role_source = 'attributes' "
                "WHERE id = ? AND role_source <> 'user'", [(role, sid) for sid, role in pairs])
        else:
            self.conn.executemany("UPDATE speakers SET role = ?, role_source = ? WHERE id = ?",
                                  [(role, source, sid) for sid, role in pairs])

    def speakers(self) -> list[Speaker]:
        """Every speaker with its role and turn and document counts (current versions)."""
        rows = self.conn.execute(
            "SELECT s.id, s.role, count(t.id), count(DISTINCT t.document_id) FROM speakers s "
            "LEFT JOIN turns t ON t.speaker = s.id AND t.document_id IN "
            "(SELECT id FROM documents WHERE superseded_by IS NULL) "
            "GROUP BY s.id ORDER BY s.id").fetchall()
        return [Speaker(*r) for r in rows]

    def speaker(self, speaker_id: str) -> Speaker:
        """One speaker, or NotFound."""
        for s in self.speakers():
            if s.id == speaker_id:
                return s
        raise NotFound(f"no speaker {speaker_id!r}", "list speakers with 'qcode speakers list'")

    # -- attributes ------------------------------------------------------------------

    def attribute_types(self, scope: str) -> dict[str, AttributeType]:
        """Declared attribute names and types for a scope (document or speaker)."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT name, type FROM attribute_defs WHERE scope = ? ORDER BY name", (scope,))}

    def define_attribute(self, scope: str, name: str, kind: AttributeType) -> None:
        """Declare an attribute; a name keeps the type it was first given."""
        self._require_transaction()
        existing = self.conn.execute(
            "SELECT type FROM attribute_defs WHERE scope = ? AND name = ?", (scope, name)
        ).fetchone()
        if existing is None:
            self.conn.execute("INSERT INTO attribute_defs (scope, name, type) VALUES (?, ?, ?)",
                              (scope, name, kind))
        elif existing[0] != kind and kind != "text":
            raise InputError(
                f"{scope} attribute {name!r} is a {existing[0]} attribute, not {kind}",
                f"use the same type for {name!r} in every file")

    def set_attributes(self, scope: str, target: str,
                       values: Mapping[str, AttributeValue],
                       types: Mapping[str, AttributeType]) -> None:
        """Set typed attributes of a document (by uid) or a speaker (by id)."""
        self.set_attributes_many(scope, [(target, values, types)])

    def set_attributes_many(
        self, scope: str,
        items: Sequence[tuple[str, Mapping[str, AttributeValue], Mapping[str, AttributeType]]],
    ) -> None:
        """``set_attributes`` for many (target, values, types), in order, in a few statements.

        A name keeps the type it was first given (declared before, or by the first
        target that has it); a value of another non-text type is refused (InputError).
        """
        self._require_transaction()
        table, key = (("document_attributes", "document_uid") if scope == "document"
                      else ("speaker_attributes", "speaker"))
        if scope == "speaker":
            self.ensure_speakers(target for target, _, _ in items)
        declared = self.attribute_types(scope)
        new_defs: list[tuple[str, str, AttributeType]] = []
        rows: list[tuple[str, str, str | int | float]] = []
        for target, values, types in items:
            for name, value in values.items():
                kind = declared.get(name)
                if kind is None:
                    kind = declared[name] = types[name]
                    new_defs.append((scope, name, kind))
                elif kind != types[name] and types[name] != "text":
                    raise InputError(
                        f"{scope} attribute {name!r} is a {kind} attribute, not {types[name]}",
                        f"use the same type for {name!r} in every file")
                rows.append((target, name,
                             _to_sql(value) if kind != "text" else str(_to_sql(value))))
        self.conn.executemany("INSERT INTO attribute_defs (scope, name, type) VALUES (?, ?, ?)",
                              new_defs)
        self.conn.executemany(
            f"INSERT INTO {table} ({key}, name, value) VALUES (?, ?, ?) "
            f"ON CONFLICT({key}, name) DO UPDATE SET value = excluded.value", rows)

    def attributes(self, scope: str) -> dict[str, dict[str, AttributeValue]]:
        """All attributes of a scope: target -> name -> typed value."""
        types = self.attribute_types(scope)
        sql = ("SELECT document_uid, name, value FROM document_attributes" if scope == "document"
               else "SELECT speaker, name, value FROM speaker_attributes")
        out: dict[str, dict[str, AttributeValue]] = {}
        for target, name, value in self.conn.execute(sql + " ORDER BY 1, 2"):
            out.setdefault(target, {})[name] = _from_sql(value, types.get(name, "text"))
        return out

    # -- codings (what importing needs of them) --------------------------------------

    def codings_on(self, document_id: int) -> list[tuple[int, int, int]]:
        """(coding id, start, end) of every coding on a document version."""
        return [(r[0], r[1], r[2]) for r in self.conn.execute(
            'SELECT id, start, "end" FROM codings WHERE document_id = ? ORDER BY start',
            (document_id,))]

    def move_coding(self, coding_id: int, document_id: int, start: int, end: int) -> None:
        """Re-anchor a coding on another document version."""
        self._require_transaction()
        self.conn.execute('UPDATE codings SET document_id = ?, start = ?, "end" = ? WHERE id = ?',
                          (document_id, start, end, coding_id))

    # -- summaries and checks ---------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables (current document versions only)."""
        q = self.conn.execute
        current = "SELECT id FROM documents WHERE superseded_by IS NULL"
        return {
            "documents": q("SELECT count(*) FROM documents WHERE superseded_by IS NULL")
            .fetchone()[0],
            "document_versions": q("SELECT count(*) FROM documents").fetchone()[0],
            "turns": q(f"SELECT count(*) FROM turns WHERE speaker IS NOT NULL "
                       f"AND document_id IN ({current})").fetchone()[0],
            "words": q("SELECT coalesce(sum(word_count), 0) FROM documents "
                       "WHERE superseded_by IS NULL").fetchone()[0],
            "speakers": q("SELECT count(*) FROM speakers").fetchone()[0],
            "coders": q("SELECT count(*) FROM coders").fetchone()[0],
            "codebooks": q("SELECT count(*) FROM codebooks").fetchone()[0],
            "codes": q("SELECT count(*) FROM codes").fetchone()[0],
            "codings": q("SELECT count(*) FROM codings").fetchone()[0],
            "memos": q("SELECT count(*) FROM memos").fetchone()[0],
            "events": q("SELECT count(*) FROM events").fetchone()[0],
        }

    def documents_by_kind(self) -> dict[str, int]:
        """Current documents per kind."""
        return dict(self.conn.execute(
            "SELECT kind, count(*) FROM documents WHERE superseded_by IS NULL "
            "GROUP BY kind ORDER BY kind").fetchall())

    def speakers_by_role(self) -> dict[str, int]:
        """Speakers with turns in current documents, per role (None for unknown)."""
        return {r[0] or "(no role)": r[1] for r in self.conn.execute(
            "SELECT s.role, count(DISTINCT s.id) FROM speakers s JOIN turns t "
            "ON t.speaker = s.id JOIN documents d ON d.id = t.document_id "
            "AND d.superseded_by IS NULL GROUP BY s.role ORDER BY s.role")}

    def check(self, *, full: bool = True) -> list[CheckProblem]:
        """Integrity, foreign keys, offsets inside documents, version chains."""
        problems: list[CheckProblem] = []
        q = self.conn.execute
        pragma = "integrity_check" if full else "quick_check"
        for (msg,) in q(f"PRAGMA {pragma}"):
            if msg != "ok":
                problems.append(CheckProblem("integrity", msg))
        for table, rowid, parent, _ in q("PRAGMA foreign_key_check"):
            problems.append(CheckProblem("foreign_key", f"{table} row {rowid} -> {parent}"))
        for table in ("turns", "codings", "suggestions"):
            for rid, doc, start, end, length in q(
                f'SELECT x.id, x.document_id, x.start, x."end", d.char_count FROM {table} x '
                f'JOIN documents d ON d.id = x.document_id '
                f'WHERE x.start < 0 OR x."end" > d.char_count OR x.start > x."end"'):
                problems.append(CheckProblem(
                    "offsets", f"{table} {rid}: {start}-{end} outside document {doc} "
                    f"({length} characters)"))
        for rid, text_len, stored in q(
                "SELECT id, length(text), char_count FROM documents "
                "WHERE length(text) <> char_count"):
            problems.append(CheckProblem("documents", f"document {rid}: length {text_len} "
                                         f"but char_count {stored}"))
        for (rid,) in q("SELECT id FROM documents WHERE superseded_by IS NOT NULL AND "
                        "superseded_by NOT IN (SELECT id FROM documents)"):
            problems.append(CheckProblem("versions", f"document {rid}: broken version link"))
        for (uid,) in q("SELECT DISTINCT document_uid FROM document_attributes WHERE "
                        "document_uid NOT IN (SELECT uid FROM documents)"):
            problems.append(CheckProblem("attributes", f"attributes of unknown document {uid}"))
        return problems

    def verify_text_hashes(self) -> list[CheckProblem]:
        """Recompute each stored text's SHA-256 and compare with the stored hash."""
        import hashlib

        problems = []
        for rid, name, text, sha in self.conn.execute(
                "SELECT id, name, text, sha256 FROM documents"):
            if hashlib.sha256(text.encode("utf-8")).hexdigest() != sha:
                problems.append(CheckProblem("hash", f"document {name} ({rid}): text does not "
                                             "match its SHA-256"))
        return problems

    def backup(self, dest: Path | None = None, reason: str = "manual") -> Path:
        """Back up the project (online backup API) to ``dest`` or the backup folder."""
        if dest is not None:
            return backup_to(self.conn, dest)
        return timestamped_backup(self.conn, self.path, reason)

    def schema_version(self) -> str:
        """The newest applied migration."""
        from qcode.store.schema import migrations

        applied = applied_migrations(self.conn, migrations.name)
        return applied[-1] if applied else "none"

    def file_size(self) -> int:
        """Bytes used by the project file (pages times page size)."""
        count = self.conn.execute("PRAGMA page_count").fetchone()[0]
        size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        return int(count) * int(size)


def open_store(path: Path, *, create: bool = False) -> Store:
    """Open (or create) a project file as a Store."""
    return Store(connect_project(Path(path), create=create), Path(path))
