"""Prototypes of the proposed performance fixes, monkeypatched in for "what if" measurements.

These are NOT the fixes: they patch qcode at run time inside a benchmark worker
(``benchmarks.run <bench> --patch NAME[,NAME]``) so the gain of a proposed change
can be measured on the same project, in the same run, before anyone edits
``qcode/``. Each patch checks itself against the code it replaces where it can
(``--verify``: same results). Delete this file once the fixes have landed.

- ``codings-no-substr``: ``Store.codings`` reads each document's text once and slices
  it, instead of ``substr(d.text, ...)`` per coding (SQLite re-reads the whole text
  for every row).
- ``import-batched``: one transaction per ``import_paths`` call (each file a
  savepoint, still all-or-nothing) and the FTS rows inserted from Python slices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

PATCHES: dict[str, Callable[[bool], None]] = {}


def patch(name: str) -> Callable[[Callable[[bool], None]], Callable[[bool], None]]:
    def register(fn: Callable[[bool], None]) -> Callable[[bool], None]:
        PATCHES[name] = fn
        return fn
    return register


def apply(names: Sequence[str], verify: bool = False) -> None:
    """Apply the named patches (in this process only)."""
    for name in names:
        PATCHES[name](verify)


# -- codings-no-substr -------------------------------------------------------------------------


@patch("codings-no-substr")
def _codings_no_substr(verify: bool) -> None:
    from qcode.models import Coding
    from qcode.store.coding import CodingRepo

    original = CodingRepo.codings
    columns = ('SELECT k.id, k.uid, k.document_id, d.name, k.start, k."end", k.code_id, '
               "k.coder_id, k.memo, k.created_at FROM codings k "
               "JOIN documents d ON d.id = k.document_id")

    def codings(self: Any, *, document_id: int | None = None,
                code_ids: Sequence[str] | None = None, coder_id: str | None = None,
                current_only: bool = True) -> list[Any]:
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
        sql = columns + (" WHERE " + " AND ".join(where) if where else "")
        sql += ' ORDER BY d.name, k.start, k."end", k.code_id, k.coder_id'
        rows = self.conn.execute(sql, params).fetchall()
        texts: dict[int, str] = {}
        ids = sorted({r[2] for r in rows})
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            texts.update(self.conn.execute(
                f"SELECT id, text FROM documents WHERE id IN ({', '.join('?' for _ in chunk)})",
                chunk).fetchall())
        out = [Coding(*r, texts[r[2]][r[4]:r[5]]) for r in rows]
        if verify:
            assert out == original(self, document_id=document_id, code_ids=code_ids,
                                   coder_id=coder_id, current_only=current_only)
        return out

    CodingRepo.codings = codings  # type: ignore[method-assign]




# -- import-batched ----------------------------------------------------------------------------


@patch("import-batched")
def _import_batched(verify: bool) -> None:
    from qcode.services import projects
    from qcode.store.repo import Store

    original = projects.import_paths

    def import_paths(store: Any, paths: Any, options: Any, **kwargs: Any) -> Any:
        if kwargs.get("dry_run"):
            return original(store, paths, options, **kwargs)
        with store.transaction():  # every file's own transaction becomes a savepoint
            return original(store, paths, options, **kwargs)

    def insert_segments(self: Any, document_id: int, segments: Sequence[Any]) -> None:
        self._require_transaction()
        self.conn.executemany(
            'INSERT INTO turns (document_id, idx, start, "end", speaker, time_start, time_end, '
            "label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(document_id, i, s.start, s.end, s.speaker, s.time_start, s.time_end, s.label)
             for i, s in enumerate(segments, start=1)])
        text = self.conn.execute("SELECT text FROM documents WHERE id = ?",
                                 (document_id,)).fetchone()[0]
        self.conn.executemany(
            "INSERT INTO turns_fts (rowid, text) VALUES (?, ?)",
            [(tid, text[s:e]) for tid, s, e in self.conn.execute(
                'SELECT id, start, "end" FROM turns WHERE document_id = ?', (document_id,))])

    projects.import_paths = import_paths
    import qcode.services as services

    services.import_paths = import_paths  # type: ignore[attr-defined]
    Store.insert_segments = insert_segments  # type: ignore[method-assign]
