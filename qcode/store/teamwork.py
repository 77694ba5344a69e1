"""SQL for team work: coder bundles, REFI-QDA project exchange and blind coding.

Rows are written through ``_insert``/``_update`` so that a merge can be undone
like any other change; timestamps coming from another project (when a coding
or memo was made) are kept as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qcode.store.base import StoreBase


@dataclass(frozen=True)
class VersionRow:
    """A stored document version found by its text hash."""

    id: int
    uid: str
    name: str
    version: int
    is_current: bool
    text: str


@dataclass(frozen=True)
class CodingRow:
    """The stored columns of one coding (any document version)."""

    id: int
    uid: str
    document_id: int
    start: int
    end: int
    code_id: str
    coder_id: str
    memo: str
    created_at: str


_CODING_COLUMNS = 'id, uid, document_id, start, "end", code_id, coder_id, memo, created_at'


class TeamworkRepo(StoreBase):
    """Look-ups and captured inserts for merging bundles and REFI-QDA projects."""

    # -- documents by content ---------------------------------------------------------

    def versions_by_sha(self, sha256: str) -> list[VersionRow]:
        """Every document version whose stored text has this SHA-256, current ones first."""
        return [VersionRow(r[0], r[1], r[2], r[3], r[4] is None, r[5]) for r in self.conn.execute(
            "SELECT id, uid, name, version, superseded_by, text FROM documents "
            "WHERE sha256 = ? ORDER BY superseded_by IS NOT NULL, id DESC", (sha256,))]

    def current_version(self, uid: str) -> VersionRow | None:
        """The current version of the document with this uid."""
        row = self.conn.execute(
            "SELECT id, uid, name, version, superseded_by, text FROM documents "
            "WHERE uid = ? AND superseded_by IS NULL", (uid,)).fetchone()
        return VersionRow(row[0], row[1], row[2], row[3], True, row[5]) if row else None

    def document_heads(self) -> dict[str, tuple[str, str]]:
        """Per document uid: (SHA-256, name) of its current version."""
        return {r[0]: (r[1], r[2]) for r in self.conn.execute(
            "SELECT uid, sha256, name FROM documents WHERE superseded_by IS NULL")}

    def speaker_documents(self) -> dict[str, list[str]]:
        """Per speaker id: uids of the current documents they speak in, by name."""
        out: dict[str, list[str]] = {}
        for speaker, uid in self.conn.execute(
                "SELECT DISTINCT t.speaker, d.uid FROM turns t JOIN documents d "
                "ON d.id = t.document_id AND d.superseded_by IS NULL "
                "WHERE t.speaker IS NOT NULL ORDER BY t.speaker, d.name"):
            out.setdefault(speaker, []).append(uid)
        return out

    # -- codings ----------------------------------------------------------------------

    def coding_rows(self, *, coder_id: str | None = None,
                    document_ids: Sequence[int] | None = None) -> list[CodingRow]:
        """Stored codings (every document version), by id."""
        where: list[str] = []
        params: list[Any] = []
        if coder_id is not None:
            where.append("coder_id = ?")
            params.append(coder_id)
        if document_ids is not None:
            if not document_ids:
                return []
            where.append(f"document_id IN ({', '.join('?' for _ in document_ids)})")
            params.extend(document_ids)
        sql = f"SELECT {_CODING_COLUMNS} FROM codings"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [CodingRow(*r) for r in self.conn.execute(sql + " ORDER BY id", params)]

    def coding_row_by_uid(self, uid: str) -> CodingRow | None:
        """The coding with this uid, or None."""
        row = self.conn.execute(f"SELECT {_CODING_COLUMNS} FROM codings WHERE uid = ?",
                                (uid,)).fetchone()
        return CodingRow(*row) if row else None

    def coder_codings_for_export(self, coder_id: str) -> list[tuple[Any, ...]]:
        """(uid, document sha256, document name, start, end, code, memo, created_at, text)
        of a coder's codings on any document version, in document order."""
        return self.conn.execute(
            'SELECT k.uid, d.sha256, d.name, k.start, k."end", k.code_id, k.memo, '
            'k.created_at, substr(d.text, k.start + 1, k."end" - k.start) '
            "FROM codings k JOIN documents d ON d.id = k.document_id WHERE k.coder_id = ? "
            'ORDER BY d.name, d.version, k.start, k."end", k.code_id, k.uid',
            (coder_id,)).fetchall()

    def insert_coding_row(self, values: Mapping[str, Any]) -> int:
        """Insert a coding with all its columns given (captured for undo)."""
        return int(self._insert("codings", dict(values)))

    # -- memos ------------------------------------------------------------------------

    def memo_exists(self, scope: str, target: str | None, author: str, body: str) -> bool:
        """True if a memo with this scope, target, author and text exists."""
        return self.conn.execute(
            "SELECT 1 FROM memos WHERE scope = ? AND target IS ? AND author = ? AND body = ?",
            (scope, target, author, body)).fetchone() is not None

    def insert_memo_row(self, values: Mapping[str, Any]) -> int:
        """Insert a memo with all its columns given (captured for undo)."""
        return int(self._insert("memos", dict(values)))

    # -- codebooks --------------------------------------------------------------------

    def codebook_revision(self, codebook_id: int) -> int:
        """The newest revision number of a codebook (0 if it has none)."""
        row = self.conn.execute(
            "SELECT coalesce(max(revision), 0) FROM codebook_revisions WHERE codebook_id = ?",
            (codebook_id,)).fetchone()
        return int(row[0])

    def code_books(self) -> dict[str, str]:
        """Per code id: the name of its codebook."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT c.id, b.name FROM codes c JOIN codebooks b ON b.id = c.codebook_id")}

    # -- events -----------------------------------------------------------------------

    def last_event_id(self, kind: str) -> int | None:
        """The id of the newest event of this kind, or None."""
        row = self.conn.execute("SELECT max(id) FROM events WHERE kind = ?", (kind,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None
