"""Stored language annotations: sentences, tokens and entities per document version."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qcode.store.base import StoreBase
from qcode.store.db import utc_now


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
            [(t.turn_id, document_id, json.dumps(t.tokens, ensure_ascii=False,
                                                 separators=(",", ":"))) for t in turns])
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
