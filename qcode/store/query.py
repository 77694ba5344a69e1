"""What the query engine reads: current documents, turns, codings, FTS look-ups."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from qcode.store.base import StoreBase

_CURRENT = "SELECT id FROM documents WHERE superseded_by IS NULL"


class QueryRepo(StoreBase):
    """Bulk reads for queries and reports (current document versions only)."""

    def query_documents(self) -> list[tuple[int, str, str, str, int]]:
        """(id, name, kind, uid, word_count) of current documents."""
        return [(r[0], r[1], r[2], r[3], r[4]) for r in self.conn.execute(
            "SELECT id, name, kind, uid, word_count FROM documents "
            "WHERE superseded_by IS NULL ORDER BY name")]

    def query_turns(self) -> list[tuple[Any, ...]]:
        """(id, document, idx, start, end, speaker, role, time_start, label) of current turns."""
        return self.conn.execute(
            'SELECT t.id, t.document_id, t.idx, t.start, t."end", t.speaker, s.role, '
            "t.time_start, t.label FROM turns t LEFT JOIN speakers s ON s.id = t.speaker "
            f"WHERE t.document_id IN ({_CURRENT}) ORDER BY t.document_id, t.start").fetchall()

    def query_codings(self) -> list[tuple[Any, ...]]:
        """(id, document, start, end, code, coder, memo) of codings on current documents."""
        return self.conn.execute(
            'SELECT id, document_id, start, "end", code_id, coder_id, memo FROM codings '
            f"WHERE document_id IN ({_CURRENT}) ORDER BY document_id, start").fetchall()

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Reads inside the block see one consistent state of the project (a deferred
        read transaction), even while another program commits; inside a transaction
        they already do."""
        conn = self.conn
        outer = not conn.in_transaction
        if outer:
            conn.execute("BEGIN")
        try:
            yield
        finally:
            if outer and conn.in_transaction:
                conn.execute("COMMIT")  # nothing was written: ends the read snapshot

    def data_version(self) -> int:
        """A stamp renewed whenever documents, turns, speakers, codings, codes,
        attributes or sentences change, in this or any other connection (migration
        0006_data_version); what the query engine's corpus cache is keyed on."""
        row = self.conn.execute("SELECT n FROM data_version WHERE id = 1").fetchone()
        return int(row[0]) if row else -1

    def document_texts(self, ids: Sequence[int]) -> dict[int, str]:
        """Texts of the given documents."""
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        return {r[0]: r[1] for r in self.conn.execute(
            f"SELECT id, text FROM documents WHERE id IN ({marks})", list(ids))}

    def fts_turns(self, match: str) -> list[int]:
        """Ids of turns whose text matches an FTS5 expression."""
        return [r[0] for r in self.conn.execute(
            "SELECT rowid FROM turns_fts WHERE turns_fts MATCH ?", (match,))]

    def all_sentences(self) -> list[tuple[int, int, int]]:
        """(document, start, end) of every stored sentence of current documents."""
        return [(r[0], r[1], r[2]) for r in self.conn.execute(
            'SELECT document_id, start, "end" FROM nlp_sentences '
            f"WHERE document_id IN ({_CURRENT}) ORDER BY document_id, idx")]

    def all_tokens(self) -> list[tuple[int, str]]:
        """(document, JSON token arrays) per annotated turn of current documents."""
        return [(r[0], r[1]) for r in self.conn.execute(
            f"SELECT document_id, data FROM nlp_tokens WHERE document_id IN ({_CURRENT})")]

    def saved_query(self, name: str) -> str | None:
        """The text of a saved query, or None."""
        row = self.conn.execute("SELECT query FROM saved_queries WHERE name = ?", (name,))
        found = row.fetchone()
        return str(found[0]) if found else None

    def saved_queries(self) -> list[tuple[str, str, str, str]]:
        """(name, query, created_at, created_by) of saved queries."""
        return [(r[0], r[1], r[2], r[3]) for r in self.conn.execute(
            "SELECT name, query, created_at, created_by FROM saved_queries ORDER BY name")]

    def save_query(self, name: str, query: str, actor: str, created_at: str) -> None:
        """Save (or replace) a named query (inside a transaction)."""
        self._require_transaction()
        self.conn.execute(
            "INSERT INTO saved_queries (name, query, created_at, created_by) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET query = excluded.query, "
            "created_at = excluded.created_at, created_by = excluded.created_by",
            (name, query, created_at, actor))

    def delete_saved_query(self, name: str) -> bool:
        """Delete a saved query; False if it did not exist."""
        self._require_transaction()
        return self.conn.execute("DELETE FROM saved_queries WHERE name = ?",
                                 (name,)).rowcount > 0

    def insert_report(self, name: str, query: str, params: str, result: str, actor: str,
                      created_at: str) -> int:
        """Store a report snapshot (inside a transaction)."""
        self._require_transaction()
        cur = self.conn.execute(
            "INSERT INTO reports (name, query, params, result, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?)", (name, query, params, result, created_at, actor))
        return int(cur.lastrowid or 0)

    def reports(self) -> list[tuple[int, str, str, str, str]]:
        """(id, name, query, created_at, created_by) of stored reports, newest first."""
        return [(r[0], r[1], r[2], r[3], r[4]) for r in self.conn.execute(
            "SELECT id, name, query, created_at, created_by FROM reports ORDER BY id DESC")]

    def report(self, report_id: int) -> tuple[int, str, str, str, str, str, str] | None:
        """(id, name, query, params, result, created_at, created_by) of one report."""
        row = self.conn.execute(
            "SELECT id, name, query, params, result, created_at, created_by FROM reports "
            "WHERE id = ?", (report_id,)).fetchone()
        return (row[0], row[1], row[2], row[3], row[4], row[5], row[6]) if row else None
