"""Codebooks, codes, coders, codings and memos in the project file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from qcode.codebook import Code, Codebook
from qcode.errors import InputError, NotFound
from qcode.models import CodeInfo, Coder, Coding, Memo
from qcode.store.base import StoreBase
from qcode.store.db import utc_now

_CODE_FIELDS = ("name", "definition", "when_to_use", "when_not_to_use", "example", "color",
                "indicators", "memo")


class CodingRepo(StoreBase):
    """SQL for codebooks, codes, coders, codings and memos."""

    # -- coders ------------------------------------------------------------------------

    def coders(self) -> list[Coder]:
        """Every coder, by id."""
        return [Coder(*r) for r in self.conn.execute("SELECT id, name FROM coders ORDER BY id")]

    def coder(self, coder_id: str) -> Coder | None:
        """The coder with this id, or None."""
        row = self.conn.execute("SELECT id, name FROM coders WHERE id = ?", (coder_id,))
        found = row.fetchone()
        return Coder(*found) if found else None

    def add_coder(self, coder_id: str, name: str) -> None:
        """Create a coder (captured for undo)."""
        self._insert("coders", {"id": coder_id, "name": name, "created_at": utc_now()})

    # -- codebooks and codes -----------------------------------------------------------

    def codebook_names(self) -> list[tuple[int, str, str, int]]:
        """(id, name, version, number of codes) of every codebook."""
        return [(r[0], r[1], r[2], r[3]) for r in self.conn.execute(
            "SELECT b.id, b.name, b.version, count(c.id) FROM codebooks b "
            "LEFT JOIN codes c ON c.codebook_id = b.id GROUP BY b.id ORDER BY b.id")]

    def codebook_id(self, name: str) -> int | None:
        """The id of the codebook with this name, or None."""
        row = self.conn.execute("SELECT id FROM codebooks WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else None

    def codebook_row(self, codebook_id: int) -> dict[str, Any]:
        """The codebook row as a dict."""
        row = self._row("codebooks", codebook_id)
        if row is None:
            raise NotFound(f"no codebook {codebook_id}", "list them with 'qcode codebook list'")
        return row

    def insert_codebook(self, book: Codebook, source_name: str | None) -> int:
        """Create a codebook row (captured)."""
        key = self._insert("codebooks", {
            "name": book.name, "version": book.version, "language": book.language,
            "authors": json.dumps(list(book.authors), ensure_ascii=False),
            "description": book.description, "source_name": source_name,
            "loaded_at": utc_now()})
        return int(key)

    def update_codebook(self, codebook_id: int, book: Codebook) -> None:
        """Update the codebook's own fields (captured)."""
        self._update("codebooks", codebook_id, {
            "version": book.version, "language": book.language,
            "authors": json.dumps(list(book.authors), ensure_ascii=False),
            "description": book.description})

    def code_values(self, code: Code) -> dict[str, Any]:
        """The stored column values of a code's own fields."""
        return {"name": code.name, "definition": code.definition,
                "when_to_use": code.when_to_use, "when_not_to_use": code.when_not_to_use,
                "example": code.example, "color": code.color,
                "indicators": json.dumps(list(code.indicators), ensure_ascii=False),
                "memo": code.memo}

    def insert_code(self, codebook_id: int, code: Code, parent_id: str | None,
                    position: int) -> None:
        """Create a code row (captured)."""
        self._insert("codes", {"id": code.id, "codebook_id": codebook_id,
                               "parent_id": parent_id, "position": position,
                               **self.code_values(code)})

    def update_code(self, code_id: str, values: dict[str, Any]) -> None:
        """Update columns of a code (captured)."""
        if "indicators" in values and not isinstance(values["indicators"], str):
            values = {**values, "indicators": json.dumps(list(values["indicators"]),
                                                         ensure_ascii=False)}
        self._update("codes", code_id, values)

    def delete_code_row(self, code_id: str) -> None:
        """Delete one code row (captured); its codings must be gone."""
        self._delete("codes", code_id)

    def codes(self, codebook_id: int | None = None) -> list[CodeInfo]:
        """Codes in tree order (depth first, by position), with their paths."""
        where = "WHERE codebook_id = ?" if codebook_id is not None else ""
        params = (codebook_id,) if codebook_id is not None else ()
        rows = self.conn.execute(
            f"SELECT c.id, b.name, c.parent_id, c.position, c.name, c.definition, "
            f"c.when_to_use, c.when_not_to_use, c.example, c.color, c.indicators, c.memo, "
            f"c.codebook_id FROM codes c JOIN codebooks b ON b.id = c.codebook_id {where} "
            f"ORDER BY c.codebook_id, c.position, c.id", params).fetchall()
        children: dict[str | None, list[tuple[Any, ...]]] = {}
        for r in rows:
            children.setdefault(r[2], []).append(r)
        out: list[CodeInfo] = []

        def visit(parent: str | None, prefix: str, depth: int) -> None:
            for r in children.get(parent, []):
                path = f"{prefix}/{r[0]}" if prefix else r[0]
                out.append(CodeInfo(
                    id=r[0], codebook=r[1], parent_id=r[2], path=path, name=r[4],
                    definition=r[5], when_to_use=r[6], when_not_to_use=r[7], example=r[8],
                    color=r[9], indicators=tuple(json.loads(r[10])), memo=r[11], depth=depth))
                visit(r[0], path, depth + 1)

        visit(None, "", 0)
        return out

    def code(self, code_id: str) -> CodeInfo:
        """One code by id, or NotFound."""
        for c in self.codes():
            if c.id == code_id:
                return c
        raise NotFound(f"no code {code_id!r}", "list codes with 'qcode codebook show'")

    def next_position(self, codebook_id: int, parent_id: str | None) -> int:
        """The position after the last sibling under ``parent_id``."""
        row = self.conn.execute(
            "SELECT coalesce(max(position), -1) + 1 FROM codes WHERE codebook_id = ? AND "
            "parent_id IS ?", (codebook_id, parent_id)).fetchone()
        return int(row[0])

    def code_codebook(self, code_id: str) -> int:
        """The codebook id a code belongs to."""
        row = self.conn.execute("SELECT codebook_id FROM codes WHERE id = ?", (code_id,))
        found = row.fetchone()
        if found is None:
            raise NotFound(f"no code {code_id!r}", "list codes with 'qcode codebook show'")
        return int(found[0])

    def descendants(self, code_id: str) -> list[str]:
        """Ids of a code's descendants (not the code itself), depth first."""
        rows = self.conn.execute(
            "WITH RECURSIVE sub(id, depth) AS (SELECT id, 1 FROM codes WHERE parent_id = ? "
            "UNION ALL SELECT c.id, sub.depth + 1 FROM codes c JOIN sub ON c.parent_id = sub.id "
            "WHERE sub.depth < 64) SELECT id FROM sub", (code_id,))
        return [r[0] for r in rows]

    def add_revision(self, codebook_id: int, actor: str, summary: str) -> int:
        """Record a codebook revision (not undoable: history of what changed and who)."""
        self._require_transaction()
        row = self.conn.execute(
            "SELECT coalesce(max(revision), 0) + 1 FROM codebook_revisions "
            "WHERE codebook_id = ?", (codebook_id,)).fetchone()
        self.conn.execute(
            "INSERT INTO codebook_revisions (codebook_id, revision, created_at, actor, summary) "
            "VALUES (?, ?, ?, ?, ?)", (codebook_id, row[0], utc_now(), actor, summary))
        return int(row[0])

    def revisions(self, codebook_id: int) -> list[tuple[int, str, str, str]]:
        """(revision, created_at, actor, summary) of a codebook, oldest first."""
        return [(r[0], r[1], r[2], r[3]) for r in self.conn.execute(
            "SELECT revision, created_at, actor, summary FROM codebook_revisions "
            "WHERE codebook_id = ? ORDER BY revision", (codebook_id,))]

    def after_undo_redo(self, target: dict[str, Any], backwards: bool, actor: str) -> None:
        """Undoing or redoing a codebook change is itself a revision of that codebook."""
        book = target["payload"].get("codebook_id")
        if book is not None and self._row("codebooks", book) is not None:
            verb = "undo" if backwards else "redo"
            self.add_revision(int(book), actor,
                              f"{verb}: {target['payload'].get('summary', target['kind'])}")

    # -- codings -----------------------------------------------------------------------

    # Without the excerpt: ``substr(d.text, ...)`` per row makes SQLite read the whole
    # document text (overflow pages) for every coding; ``_with_texts`` reads each text once.
    _CODING_SQL = (
        'SELECT k.id, k.uid, k.document_id, d.name, k.start, k."end", k.code_id, k.coder_id, '
        "k.memo, k.created_at FROM codings k JOIN documents d ON d.id = k.document_id"
    )

    def _with_texts(self, rows: Sequence[Sequence[Any]]) -> list[Coding]:
        """Codings from ``_CODING_SQL`` rows, each with its excerpt sliced from its document.

        One document text is held at a time.
        """
        by_document: dict[int, list[int]] = {}
        for i, r in enumerate(rows):
            by_document.setdefault(r[2], []).append(i)
        excerpts = [""] * len(rows)
        for document_id, positions in by_document.items():
            found = self.conn.execute("SELECT text FROM documents WHERE id = ?",
                                      (document_id,)).fetchone()
            text: str = found[0] if found else ""
            for i in positions:
                excerpts[i] = text[rows[i][4]:rows[i][5]]
        return [Coding(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], t)
                for r, t in zip(rows, excerpts, strict=True)]

    def insert_coding(self, document_id: int, start: int, end: int, code_id: str,
                      coder_id: str, memo: str = "", uid: str | None = None) -> int:
        """Create a coding (captured)."""
        key = self._insert("codings", {
            "uid": uid or uuid.uuid4().hex, "document_id": document_id, "start": start,
            "end": end, "code_id": code_id, "coder_id": coder_id, "memo": memo,
            "created_at": utc_now()})
        return int(key)

    def find_coding(self, document_id: int, start: int, end: int, code_id: str,
                    coder_id: str) -> int | None:
        """The id of an identical coding, or None."""
        row = self.conn.execute(
            'SELECT id FROM codings WHERE document_id = ? AND start = ? AND "end" = ? '
            "AND code_id = ? AND coder_id = ?", (document_id, start, end, code_id, coder_id))
        found = row.fetchone()
        return int(found[0]) if found else None

    def codings(self, *, document_id: int | None = None, code_ids: Sequence[str] | None = None,
                coder_id: str | None = None, current_only: bool = True) -> list[Coding]:
        """Codings with their text, filtered, in document order."""
        where: list[str] = []
        params: list[Any] = []
        if current_only:
            where.append("d.superseded_by IS NULL")
        if document_id is not None:
            where.append("k.document_id = ?")
            params.append(document_id)
        if code_ids is not None:
            where.append(f"k.code_id IN ({', '.join('?' for _ in code_ids)})")
            params.extend(code_ids)
        if coder_id is not None:
            where.append("k.coder_id = ?")
            params.append(coder_id)
        sql = self._CODING_SQL + (" WHERE " + " AND ".join(where) if where else "")
        sql += ' ORDER BY d.name, k.start, k."end", k.code_id, k.coder_id'
        return self._with_texts(self.conn.execute(sql, params).fetchall())

    def document_coders(self, coder_ids: Sequence[str]) -> list[tuple[int, str]]:
        """(document id, coder id) for each of these coders with a coding on a current document."""
        if not coder_ids:
            return []
        marks = ", ".join("?" for _ in coder_ids)
        return [(r[0], r[1]) for r in self.conn.execute(
            f"SELECT d.id, c.id FROM documents d JOIN coders c ON c.id IN ({marks}) "
            "WHERE d.superseded_by IS NULL AND EXISTS (SELECT 1 FROM codings k "
            "WHERE k.document_id = d.id AND k.coder_id = c.id)", list(coder_ids))]

    def coding_spans(self, coder_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """(document id, start, end, code id, coder id) of these coders' codings on current
        documents: no text, no memo, in no particular order."""
        if not coder_ids:
            return []
        marks = ", ".join("?" for _ in coder_ids)
        return self.conn.execute(
            'SELECT k.document_id, k.start, k."end", k.code_id, k.coder_id FROM codings k '
            "JOIN documents d ON d.id = k.document_id WHERE d.superseded_by IS NULL "
            f"AND k.coder_id IN ({marks})", list(coder_ids)).fetchall()

    def coding(self, ref: str | int) -> Coding:
        """A coding by numeric id or uid."""
        if isinstance(ref, int) or ref.isdigit():
            row = self.conn.execute(self._CODING_SQL + " WHERE k.id = ?", (int(ref),)).fetchone()
        else:
            row = self.conn.execute(self._CODING_SQL + " WHERE k.uid = ?", (ref,)).fetchone()
        if row is None:
            raise NotFound(f"no coding {ref!r}", "list codings with 'qcode code list'")
        return self._with_texts([row])[0]

    def codings_by_id(self, ids: Sequence[int], *, with_text: bool = True) -> list[Coding]:
        """Codings by id, in the order given (``text`` empty unless ``with_text``)."""
        found: dict[int, tuple[Any, ...]] = {}
        unique = list(dict.fromkeys(ids))
        for i in range(0, len(unique), 500):
            chunk = unique[i:i + 500]
            for r in self.conn.execute(
                    f"{self._CODING_SQL} WHERE k.id IN ({', '.join('?' for _ in chunk)})",
                    chunk):
                found[r[0]] = r
        missing = [i for i in unique if i not in found]
        if missing:
            raise NotFound(f"no coding {missing[0]!r}", "list codings with 'qcode code list'")
        rows = [found[i] for i in ids]
        return self._with_texts(rows) if with_text else [Coding(*r) for r in rows]

    def update_coding(self, coding_id: int, values: dict[str, Any]) -> None:
        """Change a coding's memo, code or span (captured)."""
        self._update("codings", coding_id, values)

    def delete_coding(self, coding_id: int) -> None:
        """Delete a coding (captured)."""
        self._delete("codings", coding_id)

    def coding_ids_for_codes(self, code_ids: Sequence[str]) -> list[int]:
        """Ids of every coding (any version) with one of these codes."""
        if not code_ids:
            return []
        return [r[0] for r in self.conn.execute(
            f"SELECT id FROM codings WHERE code_id IN ({', '.join('?' for _ in code_ids)}) "
            "ORDER BY id", list(code_ids))]

    def suggestion_ids_for_codes(self, code_ids: Sequence[str]) -> list[int]:
        """Suggestions that name one of these codes."""
        if not code_ids:
            return []
        return [r[0] for r in self.conn.execute(
            f"SELECT id FROM suggestions WHERE code_id IN ({', '.join('?' for _ in code_ids)})",
            list(code_ids))]

    def code_stats(self) -> dict[str, tuple[int, int]]:
        """Per code id: (codings, informants covered) over current documents.

        Informants are distinct non-interviewer speakers of the turns a coding overlaps.
        """
        stats: dict[str, tuple[int, int]] = {}
        for code_id, n in self.conn.execute(
                "SELECT k.code_id, count(*) FROM codings k JOIN documents d ON "
                "d.id = k.document_id AND d.superseded_by IS NULL GROUP BY k.code_id"):
            stats[code_id] = (n, 0)
        for code_id, n in self.conn.execute(
                "SELECT k.code_id, count(DISTINCT t.speaker) FROM codings k "
                "JOIN documents d ON d.id = k.document_id AND d.superseded_by IS NULL "
                'JOIN turns t ON t.document_id = k.document_id AND t.start < k."end" '
                'AND t."end" > k.start JOIN speakers s ON s.id = t.speaker '
                "WHERE s.role IS NOT 'interviewer' GROUP BY k.code_id"):
            stats[code_id] = (stats.get(code_id, (0, 0))[0], n)
        return stats

    # -- memos -------------------------------------------------------------------------

    def insert_memo(self, scope: str, target: str | None, author: str, body: str,
                    title: str = "") -> int:
        """Create a memo (captured)."""
        now = utc_now()
        return int(self._insert("memos", {"scope": scope, "target": target, "author": author,
                                          "title": title, "body": body, "created_at": now,
                                          "updated_at": now}))

    def memos(self, scope: str | None = None, target: str | None = None) -> list[Memo]:
        """Memos, oldest first, optionally for one scope and target."""
        where: list[str] = []
        params: list[Any] = []
        if scope is not None:
            where.append("scope = ?")
            params.append(scope)
        if target is not None:
            where.append("target = ?")
            params.append(target)
        sql = ("SELECT id, scope, target, author, title, body, created_at, updated_at "
               "FROM memos" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id")
        return [Memo(*r) for r in self.conn.execute(sql, params)]

    def memo(self, memo_id: int) -> Memo:
        """One memo, or NotFound."""
        found = [m for m in self.memos() if m.id == memo_id]
        if not found:
            raise NotFound(f"no memo {memo_id}", "list memos with 'qcode memo list'")
        return found[0]

    def update_memo(self, memo_id: int, body: str, title: str | None = None) -> None:
        """Change a memo's text (captured)."""
        values: dict[str, Any] = {"body": body, "updated_at": utc_now()}
        if title is not None:
            values["title"] = title
        self._update("memos", memo_id, values)

    def delete_memo(self, memo_id: int) -> None:
        """Delete a memo (captured)."""
        self._delete("memos", memo_id)

    def memo_ids_for(self, scope: str, targets: Sequence[str]) -> list[int]:
        """Ids of memos attached to any of these targets."""
        if not targets:
            return []
        return [r[0] for r in self.conn.execute(
            f"SELECT id FROM memos WHERE scope = ? AND target IN "
            f"({', '.join('?' for _ in targets)})", [scope, *targets])]

    def check_code_parent(self, code_id: str, parent_id: str | None) -> None:
        """Refuse a parent that is the code itself or one of its descendants."""
        if parent_id is None:
            return
        if parent_id == code_id or parent_id in self.descendants(code_id):
            raise InputError(f"cannot move {code_id!r} under {parent_id!r}: that would make a "
                             "cycle", "choose a parent outside the code's own subtree")
