"""Stored language annotations: sentences, tokens and entities per document version."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qcode.store.base import StoreBase
from qcode.store.db import utc_now

# compact JSON of the token arrays; one encoder for all (json.dumps makes one a call)
_TOKENS_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class TurnAnnotation:
    """What the pipeline found in one turn; offsets are into the document text."""

    turn_id: int
    tokens: dict[str, list[Any]]  # start, end, lemma, pos, stop: parallel lists
    sentences: list[tuple[int, int]]
    entities: list[tuple[int, int, str]]


class NlpRepo(StoreBase):
    """SQL for the annotation tables."""

    def annotated(self) -> dict[int, tuple[str, int]]:
        """document id -> (pipeline id, tier) for every annotated document."""
        return {r[0]: (r[1], r[2]) for r in self.conn.execute(
            "SELECT document_id, pipeline, tier FROM nlp_documents")}

    def save_annotation(self, document_id: int, pipeline: str, tier: int,
                        turns: Sequence[TurnAnnotation]) -> None:
        """Replace a document's annotations (inside a transaction)."""
        self._require_transaction()
        for table in ("nlp_tokens", "nlp_sentences", "nlp_entities", "nlp_documents"):
            self.conn.execute(f"DELETE FROM {table} WHERE document_id = ?", (document_id,))
        n_tokens = n_sents = 0
        sent_rows = []
        for t in turns:
            n_tokens += len(t.tokens.get("start", []))
            for start, end in t.sentences:
                sent_rows.append((document_id, t.turn_id, n_sents, start, end))
                n_sents += 1
        self.conn.executemany(
            "INSERT INTO nlp_tokens (turn_id, document_id, data) VALUES (?, ?, ?)",
            [(t.turn_id, document_id, _TOKENS_JSON.encode(t.tokens)) for t in turns])
        self.conn.executemany(
            'INSERT INTO nlp_sentences (document_id, turn_id, idx, start, "end") '
            "VALUES (?, ?, ?, ?, ?)", sent_rows)
        self.conn.executemany(
            'INSERT INTO nlp_entities (document_id, turn_id, start, "end", label) '
            "VALUES (?, ?, ?, ?, ?)",
            [(document_id, t.turn_id, s, e, label) for t in turns for s, e, label in t.entities])
        self.conn.execute(
            "INSERT INTO nlp_documents (document_id, pipeline, tier, annotated_at, tokens, "
            "sentences) VALUES (?, ?, ?, ?, ?, ?)",
            (document_id, pipeline, tier, utc_now(), n_tokens, n_sents))

    def turn_tokens(self, document_id: int) -> dict[int, dict[str, list[Any]]]:
        """turn id -> token arrays for one document."""
        return {r[0]: json.loads(r[1]) for r in self.conn.execute(
            "SELECT turn_id, data FROM nlp_tokens WHERE document_id = ?", (document_id,))}

    def sentences(self, document_id: int) -> list[tuple[int, int, int]]:
        """(turn id, start, end) of every sentence of a document, in order."""
        return [(r[0], r[1], r[2]) for r in self.conn.execute(
            'SELECT turn_id, start, "end" FROM nlp_sentences WHERE document_id = ? '
            "ORDER BY idx", (document_id,))]

    def entities(self, document_id: int) -> list[tuple[int, int, int, str]]:
        """(turn id, start, end, label) of the named entities of a document."""
        return [(r[0], r[1], r[2], r[3]) for r in self.conn.execute(
            'SELECT turn_id, start, "end", label FROM nlp_entities WHERE document_id = ? '
            "ORDER BY start", (document_id,))]

    def annotation_summary(self) -> list[tuple[str, str, int, int, int, str]]:
        """(document, pipeline, tier, tokens, sentences, annotated at) of current documents."""
        return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in self.conn.execute(
            "SELECT d.name, n.pipeline, n.tier, n.tokens, n.sentences, n.annotated_at "
            "FROM nlp_documents n JOIN documents d ON d.id = n.document_id "
            "WHERE d.superseded_by IS NULL ORDER BY d.name")]


class SuggestionRepo(StoreBase):
    """SQL for stored suggestions (proposals, never codings until accepted)."""

    _COLUMNS = ('s.id, s.document_id, d.name, s.start, s."end", s.code_id, s.score, s.reason, '
                "s.method, s.pipeline, s.status, s.created_at, s.decided_by, s.decided_at, "
                "s.coding_id")

    def replace_pending(self, document_id: int, rows: Sequence[tuple[Any, ...]]) -> list[int]:
        """Drop a document's pending suggestions and store new ones; returns their ids."""
        self._require_transaction()
        self.conn.execute("DELETE FROM suggestions WHERE document_id = ? AND status = "
                          "'pending'", (document_id,))
        ids = []
        for start, end, code, score, reason, method, pipeline in rows:
            cur = self.conn.execute(
                'INSERT INTO suggestions (document_id, start, "end", code_id, score, reason, '
                "method, pipeline, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                "'pending', ?)",
                (document_id, start, end, code, score, reason, method, pipeline, utc_now()))
            ids.append(int(cur.lastrowid or 0))
        return ids

    def decided(self, document_id: int) -> set[tuple[int, int, str]]:
        """(start, end, code) of suggestions already accepted or rejected in a document."""
        return {(r[0], r[1], r[2]) for r in self.conn.execute(
            'SELECT start, "end", code_id FROM suggestions WHERE document_id = ? '
            "AND status <> 'pending'", (document_id,))}

    def suggestions(self, *, document_id: int | None = None, status: str | None = None,
                    ids: Sequence[int] | None = None) -> list[tuple[Any, ...]]:
        """Stored suggestions (see ``_COLUMNS``), best first within each document."""
        where: list[str] = []
        params: list[Any] = []
        if document_id is not None:
            where.append("s.document_id = ?")
            params.append(document_id)
        if status is not None:
            where.append("s.status = ?")
            params.append(status)
        if ids is not None:
            where.append(f"s.id IN ({', '.join('?' for _ in ids)})")
            params.extend(ids)
        sql = (f"SELECT {self._COLUMNS} FROM suggestions s JOIN documents d ON "
               "d.id = s.document_id" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY d.name, s.start, s.score DESC")
        return self.conn.execute(sql, params).fetchall()

    def decide_suggestion(self, suggestion_id: int, status: str, coder: str,
                          coding_id: int | None) -> None:
        """Mark a suggestion accepted or rejected (inside a transaction)."""
        self._require_transaction()
        self.conn.execute(
            "UPDATE suggestions SET status = ?, decided_by = ?, decided_at = ?, coding_id = ? "
            "WHERE id = ?", (status, coder, utc_now(), coding_id, suggestion_id))
