"""Stored leak-check findings per document version (derived data, see migration 0005).

A check is stored with ``inputs``, a fingerprint of everything it read; the services
layer compares that with the fingerprint of the current inputs and recomputes when they
differ. The rows are a cache of what the detectors find in text that is in the project
anyway: they record no event, and they go with their document version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qcode.store.base import StoreBase
from qcode.store.db import utc_now


@dataclass(frozen=True)
class StoredCheck:
    """The stored leak check of one document version: its fingerprint and counts."""

    document_id: int
    inputs: str
    high: int
    medium: int
    low: int


@dataclass(frozen=True)
class StoredFinding:
    """One stored finding (offsets into the document version's text)."""

    document_id: int
    start: int
    end: int
    text: str
    kind: str
    confidence: str
    detail: str


def _ids_clause(column: str, ids: Sequence[int] | None) -> tuple[str, list[int]]:
    if ids is None:
        return "", []
    return f" WHERE {column} IN ({', '.join('?' for _ in ids)})", list(ids)


class LeakRepo(StoreBase):
    """SQL for the leak-check tables and for the inputs the check's fingerprint covers."""

    def _chunks(self, ids: Sequence[int] | None) -> Iterable[Sequence[int] | None]:
        if ids is None:
            yield None
            return
        ids = list(dict.fromkeys(ids))
        for i in range(0, len(ids), 500):  # stay under SQLite's limit on parameters
            yield ids[i:i + 500]

    def annotation_stamps(self, document_ids: Sequence[int] | None = None
                          ) -> dict[int, tuple[str, int, str, int, int]]:
        """document id -> (pipeline, tier, annotated at, tokens, sentences) of annotations."""
        out: dict[int, tuple[str, int, str, int, int]] = {}
        for chunk in self._chunks(document_ids):
            where, params = _ids_clause("document_id", chunk)
            for r in self.conn.execute(
                    "SELECT document_id, pipeline, tier, annotated_at, tokens, sentences "
                    f"FROM nlp_documents{where}", params):
                out[r[0]] = (r[1], r[2], r[3], r[4], r[5])
        return out

    def speaker_ids_by_document(self, document_ids: Sequence[int] | None = None
                                ) -> dict[int, list[str]]:
        """document id -> the distinct speaker ids of its turns, sorted."""
        out: dict[int, list[str]] = defaultdict(list)
        for chunk in self._chunks(document_ids):
            where, params = _ids_clause("document_id", chunk)
            cond = " AND speaker IS NOT NULL" if where else " WHERE speaker IS NOT NULL"
            for doc, speaker in self.conn.execute(
                    f"SELECT DISTINCT document_id, speaker FROM turns{where}{cond} "
                    "ORDER BY document_id, speaker", params):
                out[doc].append(speaker)
        return dict(out)

    def leak_checks(self, document_ids: Sequence[int] | None = None) -> dict[int, StoredCheck]:
        """The stored checks (with their fingerprints), by document id."""
        out: dict[int, StoredCheck] = {}
        for chunk in self._chunks(document_ids):
            where, params = _ids_clause("document_id", chunk)
            for r in self.conn.execute(
                    f"SELECT document_id, inputs, high, medium, low FROM leak_checks{where}",
                    params):
                out[r[0]] = StoredCheck(r[0], r[1], r[2], r[3], r[4])
        return out

    def leak_findings(self, document_ids: Sequence[int],
                      confidence: str | None = None) -> list[StoredFinding]:
        """Stored findings of these document versions (one level if given), in the order
        the check gave them (by position)."""
        out: list[StoredFinding] = []
        ids = list(dict.fromkeys(document_ids))
        for i in range(0, len(ids), 500):
            where, params = _ids_clause("document_id", ids[i:i + 500])
            sql = ('SELECT document_id, start, "end", text, kind, confidence, detail '
                   f"FROM leak_findings{where}")
            args: list[object] = list(params)
            if confidence is not None:
                sql += " AND confidence = ?"
                args.append(confidence)
            out += [StoredFinding(*r) for r in self.conn.execute(
                sql + " ORDER BY document_id, id", args)]  # in the order the check gave
        return out

    def save_leak_check(self, document_id: int, inputs: str,
                        findings: Sequence[tuple[int, int, str, str, str, str]]) -> None:
        """Replace the stored check of a document version: (start, end, text, kind,
        confidence, detail) per finding (inside a transaction)."""
        self._require_transaction()
        counts = {"high": 0, "medium": 0, "low": 0}
        for f in findings:
            counts[f[4]] += 1
        self.conn.execute("DELETE FROM leak_findings WHERE document_id = ?", (document_id,))
        self.conn.execute(
            "INSERT INTO leak_checks (document_id, inputs, checked_at, high, medium, low) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (document_id) DO UPDATE SET "
            "inputs = excluded.inputs, checked_at = excluded.checked_at, "
            "high = excluded.high, medium = excluded.medium, low = excluded.low",
            (document_id, inputs, utc_now(), counts["high"], counts["medium"], counts["low"]))
        self.conn.executemany(
            'INSERT INTO leak_findings (document_id, start, "end", text, kind, confidence, '
            "detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(document_id, *f) for f in findings])
