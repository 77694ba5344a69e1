"""Helpers for the crash, concurrency and disk-full tests (not a test module).

``run_forked`` runs an operation in a forked child (every module the parent
loaded is already there, so a child starts in a millisecond) and kills it
with SIGKILL after a delay. ``verify_project`` reopens the file and checks
everything a crash must not break: SQLite integrity and foreign keys, qcode's
own checks, whole documents, the event log against the data, and that every
backup in the backup folder is complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qcode import services
from qcode.codebook import Code, Codebook
from qcode.store import backup_dir, open_store

ITERATIONS = int(os.environ.get("QCODE_CRASH_ITERATIONS", "10"))
SEED = int(os.environ.get("QCODE_CRASH_SEED", "20261122"))


# -- running and killing -----------------------------------------------------------------


@dataclass
class Outcome:
    """How a forked child ended."""

    killed: bool
    exit_code: int | None
    seconds: float


def run_forked(target: Callable[[], object], kill_after: float | None = None) -> Outcome:
    """Run ``target`` in a forked child; SIGKILL it after ``kill_after`` seconds (if alive)."""
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 0
        try:
            target()
        except BaseException:
            traceback.print_exc()
            code = 70
        finally:
            os._exit(code)
    if kill_after is not None:
        deadline = started + kill_after
        while time.perf_counter() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return Outcome(False, os.waitstatus_to_exitcode(status),
                               time.perf_counter() - started)
            time.sleep(min(0.002, max(0.0, deadline - time.perf_counter())))
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return Outcome(code == -signal.SIGKILL, code, time.perf_counter() - started)


class Log:
    """Lines a child appends after each commit (O_APPEND writes survive SIGKILL)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, record: dict[str, Any]) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(record) + "\n").encode())
        finally:
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            with contextlib.suppress(ValueError):  # a line cut by the kill
                out.append(json.loads(line))
        return out


# -- building inputs ---------------------------------------------------------------------


def write_transcripts(folder: Path, count: int, turns: int, *, prefix: str = "V") -> Path:
    """``count`` interview files of ``turns`` speaker turns each (with æøå)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        lines = []
        for t in range(turns // 2):
            lines.append(f"I: Spørsmål {t} til {prefix}{i}: hvordan går samarbeidet?\n")
            lines.append(f"{prefix}{i}: Svar {t}. Vi møtes på kontoret, og det er nærhet "
                         f"og tillit mellom oss ({i}-{t}). Det går bra, synes jeg.\n")
        (folder / f"{prefix}{i}.txt").write_text("\n".join(lines), encoding="utf-8")
    return folder


def codebook(n_codes: int, name: str = "krasj", prefix: str = "k") -> Codebook:
    """A flat codebook of ``n_codes`` codes k0, k1, ..."""
    return Codebook(name=name, codes=tuple(
        Code(id=f"{prefix}{i}", name=f"Kode {i}", definition=f"Definisjon {i}.")
        for i in range(n_codes)))


def project_with(tmp: Path, *, docs: int = 0, turns: int = 20, codes: int = 0,
                 name: str = "mal") -> Path:
    """A closed project with imported transcripts and a codebook loaded."""
    path = services.init_project(tmp / f"{name}.qcode", actor="tester")
    store = open_store(path)
    try:
        if docs:
            folder = write_transcripts(tmp / f"{name}-kilder", docs, turns)
            services.import_paths(store, [folder], services.import_options(store),
                                  actor="tester")
        if codes:
            services.load_codebook(store, codebook(codes), actor="tester")
            services.add_coder(store, "koder-a", "Koder A")
    finally:
        store.close()
    return path


def copy_project(template: Path, dest: Path) -> Path:
    """A byte copy of a closed project (no -wal beside a closed file)."""
    import shutil

    wal = Path(str(template) + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "copy a closed project"
    shutil.copyfile(template, dest)
    return dest


# -- checking after a crash --------------------------------------------------------------


@dataclass
class Found:
    """What a verified project holds."""

    documents: dict[str, int]  # current document name -> turns
    codings: set[int]
    codes: set[str]
    events: list[tuple[int, str, dict[str, Any]]]
    annotated: set[int]
    notes: list[str] = field(default_factory=list)

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [p for _, k, p in self.events if k == kind]


def verify_project(path: Path) -> Found:
    """Reopen a project after a crash; assert every invariant; return what it holds."""
    raw = sqlite3.connect(str(path))  # replays or discards the -wal as SQLite does
    try:
        assert [r[0] for r in raw.execute("PRAGMA integrity_check")] == ["ok"]
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        raw.close()
    store = open_store(path)
    try:
        assert services.check_project(store) == []
        q = store.conn.execute
        docs = {name: n for name, n in q(
            "SELECT d.name, (SELECT count(*) FROM turns t WHERE t.document_id = d.id) "
            "FROM documents d WHERE d.superseded_by IS NULL")}
        # no half-imported document: every version has its turns and its index entries
        assert q("SELECT count(*) FROM documents d WHERE NOT EXISTS "
                 "(SELECT 1 FROM turns t WHERE t.document_id = d.id)").fetchone()[0] == 0
        turn_ids = {r[0] for r in q("SELECT id FROM turns")}
        assert {r[0] for r in q("SELECT rowid FROM turns_fts")} == turn_ids
        events = [(i, k, json.loads(p)) for i, k, p in
                  q("SELECT id, kind, payload FROM events ORDER BY id")]
        ids = [e[0] for e in events]
        assert ids == sorted(set(ids))
        # the event log matches the data
        imported = {p["document_id"] for _, k, p in events if k == "document.import"}
        made = {p["to_id"] for _, k, p in events if k == "anonymize.apply"}
        all_docs = {r[0] for r in q("SELECT id FROM documents")}
        assert imported | made >= all_docs, "a document without its import event"
        assert imported <= all_docs, "an import event whose document is missing"
        codings = {r[0] for r in q("SELECT id FROM codings")}
        logged: set[int] = set()
        for _, kind, payload in events:
            if kind in ("coding.apply",) and "codings" in payload:
                logged.update(payload["codings"])
        applied_rows = {ch["key"] for _, k, p in events if k == "coding.apply"
                        for ch in p.get("changes", []) if ch["table"] == "codings"}
        merged_away = {ch["key"] for _, k, p in events if k in ("code.merge", "code.delete")
                       for ch in p.get("changes", []) if ch["table"] == "codings"
                       and ch["op"] == "delete"}
        assert applied_rows - merged_away <= codings, "a committed coding is missing"
        codes = {r[0] for r in q("SELECT id FROM codes")}
        merges = [p for _, k, p in events if k == "code.merge"]
        assert not {m["source"] for m in merges} & codes, "a merged code is still there"
        annotated = {r[0] for r in q("SELECT document_id FROM nlp_documents")}
        for doc_id, tokens, sentences in q(
                "SELECT document_id, tokens, sentences FROM nlp_documents").fetchall():
            rows = q("SELECT data FROM nlp_tokens WHERE document_id = ?", (doc_id,)).fetchall()
            turns = q('SELECT count(*) FROM turns WHERE document_id = ? AND "end" > start',
                      (doc_id,)).fetchone()[0]
            assert len(rows) == turns, "a half-annotated document"
            assert sum(len(json.loads(r[0])["start"]) for r in rows) == tokens
            assert q("SELECT count(*) FROM nlp_sentences WHERE document_id = ?",
                     (doc_id,)).fetchone()[0] == sentences
        for table in ("nlp_tokens", "nlp_sentences", "nlp_entities"):
            orphans = q(f"SELECT count(*) FROM {table} WHERE document_id NOT IN "
                        "(SELECT document_id FROM nlp_documents)").fetchone()[0]
            assert orphans == 0, f"{table} rows of a document not recorded as annotated"
    finally:
        store.close()
    folder = backup_dir(path)
    if folder.is_dir():  # a killed backup leaves at most a .part file, never a bad backup
        for backup in folder.glob("*.qcode"):
            if "damaged" in backup.name:
                continue
            conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
            try:
                assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok", backup
            finally:
                conn.close()
    return Found(docs, codings, codes, events, annotated)


def fingerprint(path: Path) -> tuple[Any, ...]:
    """The content that matters, to compare two states of a project."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        q = conn.execute
        return (
            tuple(q("SELECT name, sha256 FROM documents ORDER BY id").fetchall()),
            tuple(q('SELECT document_id, start, "end", code_id, coder_id FROM codings '
                    "ORDER BY id").fetchall()),
            tuple(q("SELECT id, parent_id, name FROM codes ORDER BY id").fetchall()),
            tuple(q("SELECT key, value FROM settings WHERE key <> 'last_opened' "
                    "ORDER BY key").fetchall()),
        )
    finally:
        conn.close()


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Row counts of every table (the state a failed change must leave untouched)."""
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'turns_fts%' "
        "AND name NOT LIKE 'sqlite_%'")]
    return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
