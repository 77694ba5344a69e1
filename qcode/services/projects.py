"""Projects, import, documents, speakers and attributes."""

from __future__ import annotations

import getpass
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qcode.errors import IngestError, InputError, ProjectError, QcodeError
from qcode.ingest.attributes import AttributeTable, filename_attributes, read_attribute_table
from qcode.ingest.options import DEFAULT_MAX_BYTES, ImportOptions, SurveyMode
from qcode.ingest.turns import TurnDetector
from qcode.models import (
    INTERVIEWER_ROLE,
    AttributeType,
    AttributeValue,
    Document,
    ParsedDocument,
    Speaker,
    Turn,
)
from qcode.store import Store, open_store
from qcode.store.db import PROJECT_SUFFIX

PROJECT_ENV = "QCODE_PROJECT"
CODER_ENV = "QCODE_CODER"
SPEAKER_PATTERNS_SETTING = "speaker_patterns"
Progress = Callable[[int, int, str], None]
# An import reads files for about this long, then stores them in one transaction: other
# writers (a coder in the TUI) wait only while a batch is stored, never while files are read.
IMPORT_BATCH_SECONDS = 0.5


# -- projects ------------------------------------------------------------------------


def default_actor() -> str:
    """Who is acting: the configured coder ($QCODE_CODER, config file) or the OS user name."""
    from qcode.config import configured_coder

    coder = configured_coder()
    if coder:
        return coder
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def find_project(explicit: str | Path | None = None, cwd: Path | None = None) -> Path:
    """The project to use: ``--project``, else ``$QCODE_PROJECT``, else the one .qcode file here."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(PROJECT_ENV)
    if env:
        return Path(env)
    here = cwd or Path.cwd()
    found = sorted(p for p in here.glob(f"*{PROJECT_SUFFIX}") if p.is_file())
    if len(found) == 1:
        return found[0]
    if not found:
        raise ProjectError(
            f"no project: no {PROJECT_SUFFIX} file in {here}",
            "pass --project PATH, set QCODE_PROJECT, or create one with 'qcode init NAME'",
        )
    names = ", ".join(p.name for p in found)
    raise ProjectError(f"several projects in {here}: {names}", "choose one with --project")


def init_project(path: Path, actor: str | None = None) -> Path:
    """Create a new, empty project file."""
    path = Path(path)
    if path.suffix != PROJECT_SUFFIX:
        path = path.with_name(path.name + PROJECT_SUFFIX)
    store = open_store(path, create=True)
    try:
        with store.transaction():
            import uuid

            from qcode import __version__

            store.set_setting("project_uid", uuid.uuid4().hex)
            store.set_setting("created_with", __version__)
            store.record_event(actor or default_actor(), "project.init", {"path": path.name})
    finally:
        store.close()
    return path


def open_project(path: Path) -> Store:
    """Open an existing project (integrity-checked and migrated; backed up once a day)."""
    from qcode.services.backup import daily_backup

    store = open_store(Path(path))
    daily_backup(store)  # best effort: never raises
    return store


# -- import --------------------------------------------------------------------------


@dataclass
class ImportedDocument:
    """What happened to one document of one source file."""

    source: str
    name: str
    status: str  # new, new_version, unchanged, duplicate, failed, would_import ...
    kind: str = ""
    version: int = 0
    turns: int = 0
    words: int = 0
    speakers: list[tuple[str, str | None, int]] = field(default_factory=list)
    detail: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """The summary of an import: one row per document (or failed file)."""

    rows: list[ImportedDocument] = field(default_factory=list)
    attributes: str = ""
    dry_run: bool = False
    skipped: list[str] = field(default_factory=list)  # files of types qcode does not read

    @property
    def failed(self) -> list[ImportedDocument]:
        """Rows of files that could not be imported."""
        return [r for r in self.rows if r.status == "failed"]

    def count(self, status: str) -> int:
        """How many rows have this status."""
        return sum(1 for r in self.rows if r.status == status)


def import_options(
    store: Store | None,
    *,
    speaker_patterns: Sequence[str] = (),
    survey_mode: SurveyMode = "question",
    id_column: str | None = None,
    text_columns: Sequence[str] = (),
    sheet: str | None = None,
    max_mb: float | None = None,
    kind: str | None = None,
) -> ImportOptions:
    """Build import options; patterns default to the project's saved ones, then built-ins."""
    patterns = list(speaker_patterns)
    if not patterns and store is not None:
        patterns = list(store.get_setting(SPEAKER_PATTERNS_SETTING, []))
    return ImportOptions(
        detector=TurnDetector.from_patterns(patterns),
        survey_mode=survey_mode,
        id_column=id_column,
        text_columns=tuple(text_columns),
        sheet=sheet,
        max_bytes=int(max_mb * 2**20) if max_mb else DEFAULT_MAX_BYTES,
        kind=kind,
    )


def _final_kind(parsed: ParsedDocument, roles: Mapping[str, str | None],
                forced: str | None) -> str:
    if forced:
        return forced
    if parsed.kind != "interview":
        return parsed.kind
    informants = {s.speaker for s in parsed.segments
                  if s.speaker and roles.get(s.speaker) != INTERVIEWER_ROLE}
    return "focus_group" if len(informants) >= 3 else "interview"


def _anchor(old_text: str, new_text: str, start: int, end: int) -> tuple[int, int] | None:
    """Where the span ``old_text[start:end]`` stands in ``new_text``, nearest to its old place."""
    needle = old_text[start:end]
    hits = [m.start() for m in re.finditer(re.escape(needle), new_text)]
    if not hits:
        return None
    expected = start * len(new_text) / max(len(old_text), 1)
    best = min(hits, key=lambda h: abs(h - expected))
    return best, best + len(needle)


def _collect_sources(paths: Sequence[Path], skip: set[Path]) -> tuple[list[Path], list[Path]]:
    from qcode.ingest import scan_folder

    files: list[Path] = []
    ignored: list[Path] = []
    for p in paths:
        if p.is_dir():
            found, other = scan_folder(p)
            files.extend(f for f in found if f.resolve() not in skip)
            ignored.extend(other)
        else:
            files.append(p)
    return files, ignored


def _role_preview(store: Store, table: AttributeTable | None) -> Callable[[str], str | None]:
    rules = store.role_rules()
    known = {s.id: s.role for s in store.speakers()}
    sidecar = dict(table.roles) if table is not None and table.scope == "speaker" else {}

    def role(speaker: str) -> str | None:
        return sidecar.get(speaker) or known.get(speaker) or store.role_for(speaker, rules)

    return role


def _apply_attribute_table(store: Store, table: AttributeTable, actor: str,
                           source: str) -> list[str]:
    """Store a sidecar's attributes; returns the document names it could not match."""
    unmatched: list[str] = []
    with store.transaction():
        if table.scope == "speaker":
            store.set_attributes_many("speaker", [(speaker, values, table.types)
                                                  for speaker, values in table.values.items()])
            store.set_speaker_roles(table.roles.items(), "attributes")
        else:
            for name, values in table.values.items():
                doc = store.current_by_name(name)
                if doc is None:
                    unmatched.append(name)
                    continue
                store.set_attributes("document", doc.uid, values, table.types)
        store.record_event(actor, "attributes.import",
                           {"source": source, "scope": table.scope,
                            "keys": len(table.values) - len(unmatched),
                            "unmatched": unmatched})
    return unmatched


def import_paths(
    store: Store,
    paths: Sequence[Path],
    options: ImportOptions,
    *,
    attributes: Path | None = None,
    attribute_types: Mapping[str, AttributeType] | None = None,
    filename_pattern: str | None = None,
    dry_run: bool = False,
    actor: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import files and folders; each file is all-or-nothing, the report says what happened."""
    from qcode.ingest import read_source
    from qcode.ingest.hygiene import count_words

    actor = actor or default_actor()
    report = ImportReport(dry_run=dry_run)
    table = read_attribute_table(attributes, attribute_types) if attributes else None
    if table is not None and attributes is not None:
        report.attributes = f"{attributes.name}: {len(table.values)} {table.scope}s"
        if not dry_run and table.scope == "speaker":
            _apply_attribute_table(store, table, actor, attributes.name)
    if filename_pattern:
        filename_attributes(filename_pattern, "")  # validate before touching anything
    skip = {attributes.resolve()} if attributes else set()
    files, ignored = _collect_sources([Path(p) for p in paths], skip)
    report.skipped = [str(p) for p in ignored]
    if not files:
        raise InputError("nothing to import: no supported files found",
                         "supported: .txt .md .docx .odt .pdf .vtt .srt .csv .xlsx")
    role_of = _role_preview(store, table)

    def read(number: int, path: Path) -> _Source:
        if progress:
            progress(number, len(files), path.name)
        try:
            return _Source(path, read_source(path, options))
        except IngestError as exc:
            return _Source(path, [], exc)

    def store_one(source: _Source, in_batch: bool) -> None:
        if source.error is not None:
            report.rows.append(ImportedDocument(str(source.path), source.path.stem, "failed",
                                                detail=source.error.one_line()))
            return
        try:
            rows = _store_source(store, source.path, source.documents, options, role_of,
                                 filename_pattern, dry_run, actor, count_words)
        except QcodeError as exc:
            if in_batch and not store.conn.in_transaction:
                raise _BatchLost from exc
            report.rows.append(ImportedDocument(str(source.path), source.path.stem, "failed",
                                                detail=exc.one_line()))
            return
        report.rows.extend(rows)

    sources = (read(number, path) for number, path in enumerate(files, start=1))
    if dry_run:
        for source in sources:
            store_one(source, False)
    else:
        _store_in_batches(store, sources, store_one, report)
    if not dry_run:
        _check_new_documents(store, report, actor)
    if table is not None and attributes is not None and table.scope == "document" \
            and not dry_run:
        unmatched = _apply_attribute_table(store, table, actor, attributes.name)
        if unmatched:
            report.attributes += (f"; no document named {', '.join(map(repr, unmatched[:5]))}"
                                  + (f" and {len(unmatched) - 5} more" if len(unmatched) > 5
                                     else "") + " (not applied)")
    return report


@dataclass
class _Source:
    """A source file read for import: its documents, or why it could not be read."""

    path: Path
    documents: list[ParsedDocument]
    error: IngestError | None = None


class _BatchLost(Exception):
    """SQLite rolled back a batch's whole transaction (disk full, I/O error)."""


def _store_in_batches(store: Store, sources: Iterator[_Source],
                      store_one: Callable[[_Source, bool], None],
                      report: ImportReport) -> None:
    """Store sources in batches: read for about ``IMPORT_BATCH_SECONDS``, then store.

    Files are read outside any transaction; each batch is stored in one
    transaction, a savepoint per file, so a file that fails rolls back alone.
    If a batch's transaction cannot begin or commit, or SQLite rolls it back as
    a whole (a full disk), the files of that batch are stored again one
    transaction each: each file is still imported whole or reported failed.
    """
    while batch := _next_batch(sources):
        first_row = len(report.rows)
        try:
            with store.transaction():
                for source in batch:
                    store_one(source, True)
        except (QcodeError, _BatchLost):
            del report.rows[first_row:]
            for source in batch:  # again, one transaction each
                store_one(source, False)


def _next_batch(sources: Iterator[_Source]) -> list[_Source]:
    """The next sources read in about ``IMPORT_BATCH_SECONDS`` (at least one, if any)."""
    batch: list[_Source] = []
    started = time.monotonic()
    for source in sources:
        batch.append(source)
        if time.monotonic() - started >= IMPORT_BATCH_SECONDS:
            break
    return batch


def _check_new_documents(store: Store, report: ImportReport, actor: str) -> None:
    """The leak check's rules on what was just imported: warn, and record counts only."""
    from qcode.services.anonymize import record_import_findings

    rows = {r.name: r for r in report.rows if r.status in ("new", "new_version")}
    if not rows:
        return
    ids = [store.document(name).id for name in rows]
    for name, n in record_import_findings(store, ids, actor).items():
        rows[name].warnings.append(
            f"{n} possible anonymisation leaks (names, numbers, addresses): see "
            f"'qcode anonymize check --document {name}'")


def _store_source(
    store: Store,
    path: Path,
    parsed_docs: list[ParsedDocument],
    options: ImportOptions,
    role_of: Callable[[str], str | None],
    filename_pattern: str | None,
    dry_run: bool,
    actor: str,
    count_words: Callable[[str], int],
) -> list[ImportedDocument]:
    import contextlib

    from qcode.ingest.attributes import infer_type
    from qcode.ingest.common import sha256_text

    rows: list[ImportedDocument] = []
    with contextlib.nullcontext() if dry_run else store.transaction():
        for parsed in parsed_docs:
            sha = sha256_text(parsed.text)
            speaker_roles = {s.speaker: role_of(s.speaker) for s in parsed.segments
                             if s.speaker}
            for sid, attrs in parsed.speaker_attributes.items():
                if "role" in attrs:
                    speaker_roles[sid] = str(attrs["role"])
            kind = _final_kind(parsed, speaker_roles, options.kind)
            words = sum(count_words(parsed.text[s.start:s.end]) for s in parsed.segments)
            counts: dict[str, int] = {}
            for s in parsed.segments:
                if s.speaker:
                    counts[s.speaker] = counts.get(s.speaker, 0) + 1
            row = ImportedDocument(
                source=str(path), name=parsed.name, status="new", kind=kind,
                turns=sum(counts.values()), words=words,
                speakers=[(sp, speaker_roles.get(sp), n) for sp, n in counts.items()],
                warnings=list(parsed.warnings),
            )
            rows.append(row)
            existing = store.current_by_name(parsed.name)
            if existing is not None and existing.sha256 == sha:
                row.status, row.version = "unchanged", existing.version
                row.detail = "already imported; nothing to do"
                continue
            twin = store.current_by_sha(sha)
            if twin is not None and twin.name != parsed.name:
                row.status = "duplicate"
                row.detail = f"same text as document {twin.name!r}; skipped"
                continue
            row.status = "new_version" if existing else "new"
            row.version = existing.version + 1 if existing else 1
            if dry_run:
                continue
            store.ensure_speakers(counts)
            doc_id = store.insert_document(parsed, kind=kind, sha256=sha, word_count=words,
                                           actor=actor, previous=existing)
            speaker_values: list[tuple[str, dict[str, AttributeValue],
                                       dict[str, AttributeType]]] = []
            given_roles: list[tuple[str, str | None]] = []
            for sid, attrs in parsed.speaker_attributes.items():
                plain = {k: v for k, v in attrs.items() if k != "role"}
                speaker_values.append((sid, plain, {k: infer_type([v]) for k, v in plain.items()}))
                if "role" in attrs:
                    given_roles.append((sid, str(attrs["role"])))
            if speaker_values:  # a survey: one statement each for all respondents
                store.set_attributes_many("speaker", speaker_values)
                store.set_speaker_roles(given_roles, "attributes")
            doc_attrs: dict[str, AttributeValue] = dict(parsed.attributes)
            if filename_pattern:
                doc_attrs.update(filename_attributes(filename_pattern, path.name))
            if doc_attrs:
                store.set_attributes("document", store.document_uid(doc_id), doc_attrs,
                                     {k: infer_type([v]) for k, v in doc_attrs.items()})
            moved = kept = 0
            if existing is not None:
                for coding_id, start, end in store.codings_on(existing.id):
                    place = _anchor(existing.text, parsed.text, start, end)
                    if place is None:
                        kept += 1
                    else:
                        store.move_coding(coding_id, doc_id, *place)
                        moved += 1
                row.detail = f"version {row.version}; codings moved: {moved}"
                if kept:
                    row.detail += (f"; {kept} codings stay on version {existing.version} "
                                   "(their text changed): see 'qcode show "
                                   f"{parsed.name} --version {existing.version}'")
            store.record_event(actor, "document.import", {
                "document_id": doc_id, "name": parsed.name, "version": row.version,
                "source": path.name, "sha256": sha, "previous_id":
                existing.id if existing else None, "codings_moved": moved,
                "codings_kept": kept})
    return rows


# -- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentSummary:
    """A document as ``qcode docs`` lists it."""

    document: Document
    informants: list[str]
    attributes: dict[str, AttributeValue]


def list_documents(store: Store, *, include_old: bool = False) -> list[DocumentSummary]:
    """Documents with their informants and attributes."""
    doc_attrs = store.attributes("document")
    out = []
    for doc in store.documents(include_old=include_old):
        speakers = store.document_speakers(doc.id)
        informants = [s for s, role, _ in speakers if role != INTERVIEWER_ROLE]
        out.append(DocumentSummary(doc, informants, doc_attrs.get(doc.uid, {})))
    return out


def get_document(store: Store, ref: str, version: int | None = None) -> tuple[Document,
                                                                               list[Turn]]:
    """A document with its text and turns."""
    doc = store.document(ref, version=version)
    return doc, store.turns(doc.id)


def list_speakers(store: Store) -> list[tuple[Speaker, dict[str, AttributeValue]]]:
    """Speakers with roles, counts and attributes."""
    attrs = store.attributes("speaker")
    return [(s, attrs.get(s.id, {})) for s in store.speakers()]


def set_speaker_role(store: Store, speaker: str, role: str | None,
                     actor: str | None = None) -> None:
    """Set a speaker's role by hand (kept over rules and attribute files)."""
    store.speaker(speaker)
    with store.transaction():
        store.set_speaker_role(speaker, role, "user")
        store.record_event(actor or default_actor(), "speaker.role",
                           {"speaker": speaker, "role": role})


def set_speaker_patterns(store: Store, patterns: Sequence[str],
                         actor: str | None = None) -> None:
    """Save the project's speaker patterns (empty: use the built-in ones)."""
    TurnDetector.from_patterns(list(patterns))  # validate
    with store.transaction():
        store.set_setting(SPEAKER_PATTERNS_SETTING, list(patterns))
        store.record_event(actor or default_actor(), "settings.speaker_patterns",
                           {"patterns": list(patterns)})


def project_info(store: Store) -> dict[str, Any]:
    """A summary of the project for ``qcode info`` and ``qcode demo``."""
    from qcode.store import backup_dir

    backups = backup_dir(store.path)
    return {
        "path": str(store.path.resolve()),
        "schema": store.schema_version(),
        "size_bytes": store.file_size(),
        "counts": store.counts(),
        "documents_by_kind": store.documents_by_kind(),
        "speakers_by_role": store.speakers_by_role(),
        "backups": len(list(backups.glob(f"*{PROJECT_SUFFIX}"))) if backups.exists() else 0,
        "backup_folder": str(backups),
    }


def check_project(store: Store) -> list[str]:
    """Full integrity check, foreign keys, offsets and text hashes; empty list if all is well."""
    problems = store.check(full=True) + store.verify_text_hashes()
    return [f"{p.kind}: {p.detail}" for p in problems]


def backup_project(store: Store, dest: Path | None = None) -> Path:
    """Back up the project to ``dest`` (a file or folder) or its backup folder."""
    if dest is not None and dest.is_dir():
        from datetime import UTC, datetime

        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        dest = dest / f"{store.path.stem}-{stamp}{PROJECT_SUFFIX}"
    return store.backup(dest)


def import_attributes(store: Store, path: Path, *, types: Mapping[str, AttributeType] | None =
                      None, actor: str | None = None) -> str:
    """Import a sidecar attribute file on its own (speakers, or documents by name)."""
    table = read_attribute_table(Path(path), types)
    unmatched = _apply_attribute_table(store, table, actor or default_actor(), Path(path).name)
    summary = f"{Path(path).name}: {len(table.values) - len(unmatched)} {table.scope}s"
    if unmatched:
        summary += f"; no document named {', '.join(map(repr, unmatched[:5]))}"
    return summary
