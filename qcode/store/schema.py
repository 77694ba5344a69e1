"""The project schema, changed only through migrations (sqlite-utils ``Migrations``).

Every migration runs in a transaction together with its record in
``_sqlite_migrations``; an existing project is backed up with SQLite's online
backup API before any pending migration runs. Never edit a released migration:
add a new one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qcode.errors import ProjectError
from qcode.store.db import Migrations

if TYPE_CHECKING:
    import sqlite_utils

migrations = Migrations("qcode")

DEFAULT_ROLE_RULES: tuple[tuple[str, str], ...] = (
    ("I", "interviewer"),
    ("Intervjuer", "interviewer"),
    ("Interviewer", "interviewer"),
    ("Moderator", "interviewer"),
    ("JS*", "jobbspesialist"),
    ("V*", "veileder"),
)


@migrations(name="0001_initial")
def m0001_initial(db: sqlite_utils.Database) -> None:
    """Documents, turns, speakers, attributes, coders, codebooks, codings, memos, events."""
    db.executescript(
        """
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL              -- JSON
        );

        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL,               -- stable id shared by all versions
            version INTEGER NOT NULL DEFAULT 1,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN
                ('interview', 'focus_group', 'document', 'survey')),
            source_name TEXT NOT NULL,
            source_format TEXT NOT NULL,
            source_sha256 TEXT NOT NULL,     -- of the raw bytes
            sha256 TEXT NOT NULL,            -- of the stored text
            text TEXT NOT NULL,
            char_count INTEGER NOT NULL,
            word_count INTEGER NOT NULL,
            imported_at TEXT NOT NULL,
            imported_by TEXT NOT NULL,
            superseded_by INTEGER REFERENCES documents(id) DEFERRABLE INITIALLY DEFERRED,
            UNIQUE (uid, version),
            CHECK (char_count = length(text))
        );
        CREATE UNIQUE INDEX documents_current_name ON documents(name)
            WHERE superseded_by IS NULL;
        CREATE UNIQUE INDEX documents_current_uid ON documents(uid)
            WHERE superseded_by IS NULL;
        CREATE INDEX documents_sha256 ON documents(sha256);
        CREATE TRIGGER documents_text_immutable BEFORE UPDATE OF text, sha256 ON documents
        BEGIN
            SELECT RAISE(ABORT, 'the text of a document never changes after import');
        END;

        CREATE VIEW document_versions AS
            SELECT uid, version, id AS document_id, name, sha256, source_name,
                   imported_at, superseded_by IS NULL AS is_current
            FROM documents;

        CREATE TABLE speakers (
            id TEXT PRIMARY KEY,             -- JS3, V5, I, R017
            role TEXT,
            role_source TEXT NOT NULL DEFAULT 'rule'
                CHECK (role_source IN ('rule', 'attributes', 'user', 'none'))
        );

        CREATE TABLE role_rules (
            id INTEGER PRIMARY KEY,
            pattern TEXT NOT NULL UNIQUE,    -- glob over speaker ids: JS*, V*, I
            role TEXT NOT NULL,
            position INTEGER NOT NULL
        );

        CREATE TABLE turns (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id),
            idx INTEGER NOT NULL,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            speaker TEXT REFERENCES speakers(id),
            time_start REAL,
            time_end REAL,
            label TEXT,
            UNIQUE (document_id, idx),
            CHECK (start >= 0 AND start <= "end")
        );
        CREATE INDEX turns_speaker ON turns(speaker);

        CREATE TABLE attribute_defs (
            scope TEXT NOT NULL CHECK (scope IN ('document', 'speaker')),
            name TEXT NOT NULL,
            type TEXT NOT NULL CHECK (type IN ('text', 'number', 'date')),
            PRIMARY KEY (scope, name)
        );
        CREATE TABLE document_attributes (
            document_uid TEXT NOT NULL,
            scope TEXT NOT NULL DEFAULT 'document' CHECK (scope = 'document'),
            name TEXT NOT NULL,
            value ANY,
            PRIMARY KEY (document_uid, name),
            FOREIGN KEY (scope, name) REFERENCES attribute_defs(scope, name)
        );
        CREATE TABLE speaker_attributes (
            speaker TEXT NOT NULL REFERENCES speakers(id),
            scope TEXT NOT NULL DEFAULT 'speaker' CHECK (scope = 'speaker'),
            name TEXT NOT NULL,
            value ANY,
            PRIMARY KEY (speaker, name),
            FOREIGN KEY (scope, name) REFERENCES attribute_defs(scope, name)
        );

        CREATE TABLE coders (
            id TEXT PRIMARY KEY,             -- stable slug: coder-a
            name TEXT NOT NULL,
            created_at TEXT NOT NULL
        );

        CREATE TABLE codebooks (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            version TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT 'nb',
            authors TEXT NOT NULL DEFAULT '[]',      -- JSON list
            description TEXT NOT NULL DEFAULT '',
            source_name TEXT,
            loaded_at TEXT NOT NULL
        );
        CREATE TABLE codebook_revisions (
            id INTEGER PRIMARY KEY,
            codebook_id INTEGER NOT NULL REFERENCES codebooks(id),
            revision INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            actor TEXT NOT NULL,
            summary TEXT NOT NULL,
            UNIQUE (codebook_id, revision)
        );
        CREATE TABLE codes (
            id TEXT PRIMARY KEY,             -- stable slug, unique across the project
            codebook_id INTEGER NOT NULL REFERENCES codebooks(id),
            parent_id TEXT REFERENCES codes(id),
            position INTEGER NOT NULL DEFAULT 0,
            name TEXT NOT NULL,
            definition TEXT NOT NULL DEFAULT '',
            when_to_use TEXT NOT NULL DEFAULT '',
            when_not_to_use TEXT NOT NULL DEFAULT '',
            example TEXT NOT NULL DEFAULT '',
            color TEXT NOT NULL DEFAULT '#888888',
            indicators TEXT NOT NULL DEFAULT '[]',   -- JSON list
            memo TEXT NOT NULL DEFAULT '',
            CHECK (parent_id IS NULL OR parent_id <> id)
        );
        CREATE INDEX codes_parent ON codes(parent_id);

        CREATE TABLE codings (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            document_id INTEGER NOT NULL REFERENCES documents(id),
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            code_id TEXT NOT NULL REFERENCES codes(id),
            coder_id TEXT NOT NULL REFERENCES coders(id),
            memo TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            CHECK (start >= 0 AND start < "end")
        );
        CREATE INDEX codings_document ON codings(document_id, start);
        CREATE INDEX codings_code ON codings(code_id);
        CREATE TRIGGER codings_inside_document BEFORE INSERT ON codings
        WHEN NEW."end" > (SELECT char_count FROM documents WHERE id = NEW.document_id)
        BEGIN
            SELECT RAISE(ABORT, 'coding ends past the end of its document');
        END;

        CREATE TABLE memos (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL CHECK (scope IN ('project', 'document', 'code', 'coding')),
            target TEXT,                     -- document uid, code id or coding uid
            author TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX memos_target ON memos(scope, target);

        CREATE TABLE suggestions (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id),
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            code_id TEXT NOT NULL REFERENCES codes(id),
            score REAL NOT NULL,
            reason TEXT NOT NULL,
            method TEXT NOT NULL,
            pipeline TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'rejected')),
            created_at TEXT NOT NULL,
            decided_by TEXT REFERENCES coders(id),
            decided_at TEXT,
            coding_id INTEGER REFERENCES codings(id),
            CHECK (start >= 0 AND start < "end")
        );
        CREATE INDEX suggestions_document ON suggestions(document_id, status);

        CREATE TABLE saved_queries (
            name TEXT PRIMARY KEY,
            query TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE TABLE reports (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            query TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',       -- JSON
            result TEXT NOT NULL DEFAULT '{}',       -- JSON
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );

        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL DEFAULT '{}'       -- JSON
        );
        CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN
            SELECT RAISE(ABORT, 'the event log is append-only');
        END;
        CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN
            SELECT RAISE(ABORT, 'the event log is append-only');
        END;
        """
    )
    db.execute(
        "INSERT INTO role_rules (pattern, role, position) VALUES "
        + ", ".join("(?, ?, ?)" for _ in DEFAULT_ROLE_RULES),
        [v for i, (p, r) in enumerate(DEFAULT_ROLE_RULES) for v in (p, r, i)],
    )


@migrations(name="0002_nlp_annotations")
def m0002_nlp_annotations(db: sqlite_utils.Database) -> None:
    """Sentences, tokens and entities from the language pipeline, per document version."""
    db.executescript(
        """
        CREATE TABLE nlp_documents (
            document_id INTEGER PRIMARY KEY REFERENCES documents(id),
            pipeline TEXT NOT NULL,          -- name-version of the pipeline that annotated
            tier INTEGER NOT NULL CHECK (tier IN (1, 2, 3)),
            annotated_at TEXT NOT NULL,
            tokens INTEGER NOT NULL,
            sentences INTEGER NOT NULL
        );
        CREATE TABLE nlp_tokens (
            turn_id INTEGER PRIMARY KEY REFERENCES turns(id),
            document_id INTEGER NOT NULL REFERENCES documents(id),
            data TEXT NOT NULL               -- JSON arrays: start, end, lemma, pos, stop
        );
        CREATE INDEX nlp_tokens_document ON nlp_tokens(document_id);
        CREATE TABLE nlp_sentences (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id),
            turn_id INTEGER NOT NULL REFERENCES turns(id),
            idx INTEGER NOT NULL,            -- order within the document
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            CHECK (start >= 0 AND start < "end")
        );
        CREATE INDEX nlp_sentences_document ON nlp_sentences(document_id, start);
        CREATE TABLE nlp_entities (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id),
            turn_id INTEGER NOT NULL REFERENCES turns(id),
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            label TEXT NOT NULL,
            CHECK (start >= 0 AND start < "end")
        );
        CREATE INDEX nlp_entities_document ON nlp_entities(document_id, start);
        """
    )


@migrations(name="0003_turn_fts")
def m0003_turn_fts(db: sqlite_utils.Database) -> None:
    """Full-text index over turn text (FTS5; diacritics kept: ø is not o)."""
    db.execute(
        "CREATE VIRTUAL TABLE turns_fts USING fts5(text, content='', "
        "tokenize = 'unicode61 remove_diacritics 0')"
    )
    db.execute(
        "INSERT INTO turns_fts (rowid, text) SELECT t.id, "
        'substr(d.text, t.start + 1, t."end" - t.start) FROM turns t '
        "JOIN documents d ON d.id = t.document_id"
    )


@migrations(name="0004_suggestion_release")
def m0004_suggestion_release(db: sqlite_utils.Database) -> None:
    """An accepted suggestion is open again when its coding is removed (undo, remove)."""
    db.execute(
        """
        CREATE TRIGGER suggestions_release_coding BEFORE DELETE ON codings
        BEGIN
            UPDATE suggestions SET status = 'pending', coding_id = NULL, decided_by = NULL,
                decided_at = NULL WHERE coding_id = OLD.id;
        END
        """
    )


@migrations(name="0005_leak_findings")
def m0005_leak_findings(db: sqlite_utils.Database) -> None:
    """The leak check's findings per document version, kept until what the check read changes.

    Derived data: ``inputs`` fingerprints everything the check depends on (detector rules
    and word lists, the stored annotation, the speaker ids); a check whose fingerprint no
    longer matches is made again. Rows go with their document version.
    """
    db.executescript(
        """
        CREATE TABLE leak_checks (
            document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
            inputs TEXT NOT NULL,            -- fingerprint of the check's inputs
            checked_at TEXT NOT NULL,
            high INTEGER NOT NULL,
            medium INTEGER NOT NULL,
            low INTEGER NOT NULL
        );
        CREATE TABLE leak_findings (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL
                REFERENCES leak_checks(document_id) ON DELETE CASCADE,
            start INTEGER NOT NULL,
            "end" INTEGER NOT NULL,
            text TEXT NOT NULL,
            kind TEXT NOT NULL,
            confidence TEXT NOT NULL CHECK (confidence IN ('high', 'medium', 'low')),
            detail TEXT NOT NULL,
            CHECK (start >= 0 AND start < "end")
        );
        CREATE INDEX leak_findings_document ON leak_findings(document_id, confidence, start);
        """
    )


#: Tables whose rows the query engine's corpus is built from (qcode.query.engine.corpus_for).
DATA_VERSION_TABLES = ("documents", "turns", "speakers", "codings", "codes", "attribute_defs",
                       "document_attributes", "speaker_attributes", "nlp_sentences")


@migrations(name="0006_data_version")
def m0006_data_version(db: sqlite_utils.Database) -> None:
    """A version stamp renewed by every change to the rows queries read.

    The query engine caches a project's loaded corpus keyed by this stamp, so a
    second query on an unchanged project does not read every turn and coding again,
    and a change by another program (or another connection of the TUI) is never
    missed: unlike ``PRAGMA data_version`` it is comparable across connections. It
    is a fresh random 64-bit number, not a counter, so that a project restored from
    a backup and changed again cannot come back to a stamp seen before.
    """
    db.execute("CREATE TABLE data_version (id INTEGER PRIMARY KEY CHECK (id = 1), "
               "n INTEGER NOT NULL)")
    db.execute("INSERT INTO data_version (id, n) VALUES (1, random())")
    for table in DATA_VERSION_TABLES:
        for op in ("INSERT", "UPDATE", "DELETE"):
            db.execute(f"CREATE TRIGGER {table}_{op.lower()}_data_version AFTER {op} ON "
                       f"{table} BEGIN UPDATE data_version SET n = random() WHERE id = 1; END")


def migrate(db: sqlite_utils.Database, path: Path) -> list[str]:
    """Apply pending migrations, backing up an existing project first.

    All pending migrations run in one ``BEGIN IMMEDIATE`` transaction (each one
    nested as a savepoint by sqlite-utils): two programs opening an old project
    at once do not both migrate (the second waits, then finds nothing pending),
    and a failed migration leaves the file as it was. A future migration that
    cannot run in a transaction (VACUUM) needs its own path here.
    """
    from qcode.store.db import timestamped_backup

    known = {m.name for m in migrations._migrations}
    applied = migrations.applied(db)
    unknown = [m.name for m in applied if m.name not in known]
    if unknown:
        raise ProjectError(
            f"{path}: made by a newer qcode (schema {unknown[-1]})",
            "upgrade qcode to open this project",
        )
    if not migrations.pending(db):
        return []
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        applied = migrations.applied(db)  # again, under the lock
        pending = migrations.pending(db)
        if not pending:
            conn.execute("ROLLBACK")
            return []
        backup = None
        if applied:  # copied through a second connection: SQLite's backup API cannot
            import sqlite3  # read from a connection inside a write transaction

            reader = sqlite3.connect(str(path))
            try:
                backup = timestamped_backup(reader, path, f"before-{pending[0].name}")
            finally:
                reader.close()
        migrations.apply(db)
        names = [m.name for m in pending]
        if backup is not None:  # a new project records its creation instead
            import json

            from qcode.store.db import utc_now

            db.execute("INSERT INTO events (at, actor, kind, payload) VALUES (?, ?, ?, ?)",
                       [utc_now(), "qcode", "project.migrate",
                        json.dumps({"from": applied[-1].name, "to": names[-1],
                                    "backup": backup.name})])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return names


def schema_version(db: sqlite_utils.Database) -> str:
    """The name of the newest applied migration."""
    applied = migrations.applied(db)
    return applied[-1].name if applied else "none"
