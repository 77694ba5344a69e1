"""The qcode command line: thin click commands over ``qcode.services``.

Heavy modules are imported inside the commands so that ``qcode --help``
answers at once. A ``QcodeError`` becomes one line on stderr and its exit code.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from qcode import __version__
from qcode.errors import QcodeError

if TYPE_CHECKING:
    from qcode.store import Store

F = TypeVar("F", bound=Callable[..., Any])


class QcodeGroup(click.Group):
    """A click group that renders QcodeError as one line on stderr with its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QcodeError as exc:
            click.echo(f"Error: {exc.one_line()}", err=True)
            ctx.exit(exc.exit_code)


def project_option(func: F) -> F:
    """The ``--project`` option every project command takes."""
    return click.option(
        "--project", "-p", "project", type=click.Path(path_type=Path), default=None,
        help="Project file (default: $QCODE_PROJECT, else the only *.qcode file here).",
    )(func)


def coder_option(func: F) -> F:
    """The ``--coder`` option (default: $QCODE_CODER, then the user config)."""
    return click.option("--coder", "coder", default=None,
                        help="Coder id (default: $QCODE_CODER, then 'qcode config coder').")(func)


def json_option(func: F) -> F:
    """The ``--json`` option of listing commands."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


@contextmanager
def opened(project: Path | None) -> Iterator[Store]:
    """Open the project named by ``--project`` (or found by the discovery rule)."""
    from qcode import services

    store = services.open_project(services.find_project(project))
    warning = services.retention_warning(store)
    if warning:
        click.echo(f"Warning: {warning}", err=True)
    try:
        yield store
    finally:
        store.close()


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _no_nan(data: object) -> object:
    """JSON has no NaN: undefined statistics become null."""
    if isinstance(data, float) and data != data:
        return None
    if isinstance(data, dict):
        return {k: _no_nan(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_no_nan(v) for v in data]
    return data


def echo_json(data: object) -> None:
    """Print data as indented UTF-8 JSON (NaN as null)."""
    click.echo(json.dumps(_no_nan(data), ensure_ascii=False, indent=2, default=_json_default,
                          allow_nan=False))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a plain aligned table (numbers right-aligned)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows if row[i] is not None)
               and bool(rows) for i in range(len(headers))]

    def fmt(values: Sequence[str]) -> str:
        out = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric,
                                                                        strict=True)]
        return "  ".join(out).rstrip()

    click.echo(fmt(list(headers)))
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo(fmt(row))


def _attrs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_cell(v.isoformat() if isinstance(v, date) else v)}"
                     for k, v in values.items())


@click.group(cls=QcodeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qcode")
def cli() -> None:
    """qcode: qualitative coding of interviews, focus groups, documents and survey answers.

    A project is one .qcode file. Commands find it with --project, else
    $QCODE_PROJECT, else the only *.qcode file in the current folder.
    """


# -- project ----------------------------------------------------------------------------


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
def init(path: Path) -> None:
    """Create a new project file at PATH (.qcode is added if missing)."""
    from qcode import services

    created = services.init_project(path)
    click.echo(f"Created {created}")
    click.echo(f"Next: qcode import FILES... --project {created}")


@cli.command()
@project_option
@json_option
def info(project: Path | None, as_json: bool) -> None:
    """Summarise the project: documents, turns, speakers, codings, backups."""
    from qcode import services

    with opened(project) as store:
        data = services.project_info(store)
    if as_json:
        echo_json(data)
        return
    print_info(data)


def print_info(data: dict[str, Any]) -> None:
    """Print a project summary as ``qcode info`` shows it."""
    c = data["counts"]
    click.echo(f"Project   {data['path']}")
    click.echo(f"Schema    {data['schema']}   size {data['size_bytes'] / 1024:.0f} KiB")
    kinds = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in data["documents_by_kind"].items())
    click.echo(f"Documents {c['documents']} ({kinds or 'none'}); "
               f"{c['document_versions'] - c['documents']} older versions")
    click.echo(f"Text      {c['words']} words in {c['turns']} speaker turns")
    roles = ", ".join(f"{n} {r}" for r, n in data["speakers_by_role"].items())
    click.echo(f"Speakers  {roles or 'none'}")
    click.echo(f"Coding    {c['codebooks']} codebooks, {c['codes']} codes, {c['codings']} codings "
               f"by {c['coders']} coders, {c['memos']} memos")
    click.echo(f"History   {_plural(c['events'], 'event', 'events')}; "
               f"{_plural(data['backups'], 'backup', 'backups')} in {data['backup_folder']}")


@cli.command()
@project_option
def check(project: Path | None) -> None:
    """Check integrity, foreign keys, offsets and text hashes (exit 3 on problems)."""
    from qcode import services

    with opened(project) as store:
        problems = services.check_project(store)
    if problems:
        for p in problems:
            click.echo(p, err=True)
        click.echo(f"{len(problems)} problems found", err=True)
        sys.exit(3)
    click.echo("ok: integrity, foreign keys, offsets and text hashes")


@cli.command()
@click.argument("dest", required=False, type=click.Path(path_type=Path))
@project_option
def backup(dest: Path | None, project: Path | None) -> None:
    """Back up the project to DEST (a file or folder; default: the project's backup folder)."""
    from qcode import services

    with opened(project) as store:
        written = services.backup_project(store, dest)
    click.echo(f"Backed up to {written}")


@cli.command()
@project_option
@json_option
def backups(project: Path | None, as_json: bool) -> None:
    """List the project's backups (automatic, before operations, manual), newest first."""
    from qcode import services
    from qcode.store import backup_dir

    path = services.find_project(project)
    found = services.list_backups(path)
    if as_json:
        echo_json([b.as_dict() for b in found])
        return
    rows = []
    for i, b in enumerate(found, start=1):
        rows.append([i, b.created.astimezone().strftime("%Y-%m-%d %H:%M:%S"), b.reason,
                     f"{b.size_bytes / 1024:.0f} KiB", b.schema, b.documents, b.codings,
                     b.problem or Path(b.path).name])
    echo_table(["#", "time", "reason", "size", "schema", "documents", "codings", "file"], rows)
    click.echo(f"{len(found)} backups in {backup_dir(path)}; daily and before-operation ones: "
               "the newest 10 plus one per day for 14 days are kept; manual, migration and "
               "before-restore ones are never deleted")


@cli.command()
@click.argument("backup")
@project_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--other-project", is_flag=True,
              help="Allow restoring a backup made from another project.")
@coder_option
def restore(backup: str, project: Path | None, yes: bool, other_project: bool,
            coder: str | None) -> None:
    """Restore BACKUP (its number in 'qcode backups', its name or a path); undoable."""
    from qcode import services

    path = services.find_project(project)
    chosen = services.resolve_backup(path, backup)
    if not yes:
        click.confirm(f"Replace {path} with {Path(str(chosen)).name}? (the current state is "
                      "saved first)", abort=True)
    r = services.restore(path, chosen, actor=coder, other_project=other_project)
    click.echo(f"Restored {r.restored.name} ({r.schema}, {r.documents} documents, "
               f"{r.codings} codings) into {r.project}.")
    if r.saved_as is not None:
        click.echo(f"The previous state is saved as {r.saved_as.name}; undo with: "
                   f"qcode restore {r.saved_as.name}")
    if r.replaced_damaged:
        click.echo("The damaged file was kept beside it as ...before-restore-damaged.qcode",
                   err=True)


@cli.command()
@click.argument("when", required=False)
@click.option("--clear", is_flag=True, help="Remove the deletion date.")
@project_option
@coder_option
def retention(when: str | None, clear: bool, project: Path | None, coder: str | None) -> None:
    """Show or set the date by which the project must be deleted (YYYY-MM-DD)."""
    from datetime import date

    from qcode import services
    from qcode.errors import InputError

    with opened(project) as store:
        if clear:
            services.set_retention(store, None, actor=coder)
        elif when:
            try:
                day = date.fromisoformat(when)
            except ValueError as exc:
                raise InputError(f"{when!r} is not a date", "write it as YYYY-MM-DD") from exc
            services.set_retention(store, day, actor=coder)
        current = services.retention_date(store)
    click.echo(f"delete by {current.isoformat()}" if current else "no deletion date set")


@cli.command()
@click.option("--key", "keys", multiple=True, type=click.Path(path_type=Path),
              help="Also delete this pseudonymisation key file (repeatable).")
@click.option("--yes", is_flag=True, help="Do not ask (for scripts).")
@project_option
def purge(keys: tuple[Path, ...], yes: bool, project: Path | None) -> None:
    """Delete the project, its backups and the named key files, for good."""
    from qcode import services

    path = services.find_project(project)
    if not yes:
        answer = click.prompt(f"This deletes {path}, its backups and {len(keys)} key files "
                              f"for good. Type the file name ({path.name}) to go on",
                              default="", show_default=False)
        if answer.strip() != path.name:
            click.echo("Nothing was deleted.")
            sys.exit(1)
    for p in services.purge(path, keys=list(keys)):
        click.echo(f"deleted {p}")


# -- import ------------------------------------------------------------------------------


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@project_option
@click.option("--attributes", "attributes", type=click.Path(path_type=Path),
              help="Sidecar CSV/XLSX of attributes (first column: informant id or document).")
@click.option("--attribute-type", "attribute_types", multiple=True, metavar="NAME=TYPE",
              help="Force an attribute's type (text, number, date). Repeatable.")
@click.option("--filename-pattern", metavar="REGEX",
              help="Document attributes from file names, e.g. '(?P<office>[^_]+)_'.")
@click.option("--speaker-pattern", "speaker_patterns", multiple=True, metavar="REGEX",
              help="Speaker-turn regex with (?P<speaker>...); repeatable. "
                   "Default: the project's saved patterns, else the built-in ones.")
@click.option("--kind", type=click.Choice(["interview", "focus_group", "document", "survey"]),
              help="Set the document kind instead of detecting it.")
@click.option("--survey-mode", type=click.Choice(["question", "respondent"]),
              default="question", show_default=True,
              help="Surveys: one document per question or per respondent.")
@click.option("--id-column", help="Surveys: the respondent id column.")
@click.option("--text-column", "text_columns", multiple=True,
              help="Surveys: a free-text answer column (repeatable; default: detected).")
@click.option("--sheet", help="XLSX surveys: the worksheet (default: the first).")
@click.option("--max-mb", type=float, help="Refuse files larger than this (default 200 MiB).")
@click.option("--dry-run", is_flag=True,
              help="Show detected kinds, speakers and turn counts; write nothing.")
@click.option("--coder", help="Who imports (default: $QCODE_CODER or your user name).")
@json_option
def import_(paths: tuple[Path, ...], project: Path | None, attributes: Path | None,
            attribute_types: tuple[str, ...], filename_pattern: str | None,
            speaker_patterns: tuple[str, ...], kind: str | None, survey_mode: str,
            id_column: str | None, text_columns: tuple[str, ...], sheet: str | None,
            max_mb: float | None, dry_run: bool, coder: str | None, as_json: bool) -> None:
    """Import files or folders (.txt .md .docx .odt .pdf .vtt .srt .csv .xlsx), or a .qdpx.

    Each file is imported whole or not at all. Re-importing an unchanged file
    does nothing; a changed file becomes a new version. Exit code 1 if any
    file failed.
    """
    from qcode import services
    from qcode.errors import InputError

    types: dict[str, Any] = {}
    for item in attribute_types:
        name, _, kind_name = item.partition("=")
        if kind_name not in ("text", "number", "date"):
            raise InputError(f"--attribute-type {item!r}: expected NAME=text|number|date",
                             "for example --attribute-type age=number")
        types[name] = kind_name
    refi = [p for p in paths if p.suffix.lower() == ".qdpx"]
    if refi:
        if len(refi) != len(paths):
            raise InputError("import a .qdpx project on its own",
                             "run 'qcode import FILE.qdpx' separately from other files")
        from qcode.refi_project import import_qdpx

        with opened(project) as store:
            for path in refi:
                if not dry_run:
                    services.backup_before(store, "qdpx-import")
                for line in import_qdpx(store, path, actor=coder, dry_run=dry_run).lines():
                    click.echo(line)
        return
    with opened(project) as store:
        options = services.import_options(
            store, speaker_patterns=speaker_patterns, survey_mode=survey_mode,  # type: ignore[arg-type]
            id_column=id_column, text_columns=text_columns, sheet=sheet, max_mb=max_mb,
            kind=kind)
        report = services.import_paths(
            store, list(paths), options, attributes=attributes, attribute_types=types,
            filename_pattern=filename_pattern, dry_run=dry_run, actor=coder)
    print_import_report(report, as_json)
    if report.failed:
        sys.exit(1)


def print_import_report(report: Any, as_json: bool = False) -> None:
    """Print an ImportReport as a table and a summary line."""
    if as_json:
        from dataclasses import asdict

        echo_json({"dry_run": report.dry_run, "attributes": report.attributes,
                   "documents": [asdict(r) for r in report.rows]})
        return
    rows = []
    for r in report.rows:
        speakers = " ".join(f"{s}({role or '?'}):{n}" for s, role, n in r.speakers[:6])
        if len(r.speakers) > 6:
            speakers += f" +{len(r.speakers) - 6}"
        status = ("would import" if report.dry_run and r.status in ("new", "new_version")
                  else r.status.replace("_", " "))
        rows.append([r.name, status, r.kind, r.turns, r.words, speakers])
    echo_table(["document", "status", "kind", "turns", "words", "speakers"], rows)
    for r in report.rows:
        if r.detail and r.status != "unchanged":
            click.echo(f"  {r.name}: {r.detail}", err=r.status == "failed")
        for w in r.warnings:
            click.echo(f"  warning: {r.name}: {w}", err=True)
    if report.attributes:
        click.echo(f"Attributes: {report.attributes}")
    if report.skipped:
        shown = ", ".join(Path(p).name for p in report.skipped[:5])
        more = f" and {len(report.skipped) - 5} more" if len(report.skipped) > 5 else ""
        click.echo(f"Skipped (not a supported type): {shown}{more}", err=True)
    new_label = "would be imported" if report.dry_run else "new"
    parts = [_plural(report.count(s), one, many) for s, one, many in
             (("new", new_label, new_label), ("new_version", "new version", "new versions"),
              ("unchanged", "unchanged", "unchanged"),
              ("duplicate", "duplicate skipped", "duplicates skipped"),
              ("failed", "failed", "failed")) if report.count(s)]
    prefix = "Dry run (nothing written): " if report.dry_run else ""
    click.echo(prefix + (", ".join(parts) or "nothing imported"))


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# -- reading -----------------------------------------------------------------------------


@cli.command()
@project_option
@click.option("--all-versions", is_flag=True, help="Include older versions of documents.")
@json_option
def docs(project: Path | None, all_versions: bool, as_json: bool) -> None:
    """List documents with kind, words, turns, informants and attributes."""
    from qcode import services

    with opened(project) as store:
        summaries = services.list_documents(store, include_old=all_versions)
    if as_json:
        echo_json([{
            "id": s.document.id, "uid": s.document.uid, "name": s.document.name,
            "version": s.document.version, "current": s.document.is_current,
            "kind": s.document.kind, "source": s.document.source_name,
            "format": s.document.source_format, "words": s.document.word_count,
            "turns": s.document.turn_count, "informants": s.informants,
            "attributes": s.attributes, "sha256": s.document.sha256,
            "imported_at": s.document.imported_at} for s in summaries])
        return
    if not summaries:
        click.echo("No documents yet. Import some: qcode import FILES...")
        return
    rows = []
    for s in summaries:
        d = s.document
        informants = " ".join(s.informants[:5]) + (f" +{len(s.informants) - 5}"
                                                    if len(s.informants) > 5 else "")
        name = d.name if d.is_current else f"{d.name} (old)"
        rows.append([name, d.version, d.kind.replace("_", " "), d.word_count, d.turn_count,
                     informants, _attrs(s.attributes)])
    echo_table(["document", "v", "kind", "words", "turns", "informants", "attributes"], rows)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@cli.command()
@click.argument("document")
@project_option
@click.option("--version", "version", type=int, help="Show an older version.")
@json_option
def show(document: str, project: Path | None, version: int | None, as_json: bool) -> None:
    """Show a document's text with turn numbers, speakers and roles."""
    import textwrap

    from qcode import services

    with opened(project) as store:
        doc, turns = services.get_document(store, document, version)
    if as_json:
        echo_json({"id": doc.id, "name": doc.name, "version": doc.version, "kind": doc.kind,
                   "text": doc.text, "turns": [{
                       "index": t.index, "start": t.start, "end": t.end, "speaker": t.speaker,
                       "role": t.role, "time_start": t.time_start, "time_end": t.time_end,
                       "label": t.label, "text": doc.text[t.start:t.end]} for t in turns]})
        return
    state = "" if doc.is_current else "  (older version)"
    click.echo(f"{doc.name}  version {doc.version}  {doc.kind.replace('_', ' ')}  "
               f"{doc.word_count} words  from {doc.source_name}{state}")
    click.echo("")
    width = 100
    for t in turns:
        who = t.speaker or ""
        if t.role:
            who += f" ({t.role})"
        head = f"{t.index:>4}  {who}"
        if t.time_start is not None:
            head += f"  [{_clock(t.time_start)}]"
        if t.label:
            head += f"  [{t.label}]"
        click.echo(head)
        for para in doc.text[t.start:t.end].split("\n"):
            wrapped = textwrap.wrap(para, width=width - 6) or [""]
            for line in wrapped:
                click.echo(f"      {line}")
        click.echo("")


@cli.command()
@project_option
@json_option
def attributes(project: Path | None, as_json: bool) -> None:
    """List attributes of speakers and documents, with their types."""
    from qcode import services

    with opened(project) as store:
        speakers = services.list_speakers(store)
        doc_attrs = store.attributes("document")
        types = {"speaker": store.attribute_types("speaker"),
                 "document": store.attribute_types("document")}
        doc_names = {d.uid: d.name for d in store.documents()}
    if as_json:
        echo_json({"types": types,
                   "speakers": {s.id: {"role": s.role, **a} for s, a in speakers},
                   "documents": {doc_names.get(u, u): a for u, a in doc_attrs.items()}})
        return
    names = list(types["speaker"])
    click.echo("Speaker attributes (" + ", ".join(f"{n}: {t}" for n, t in
                                                  types["speaker"].items()) + ")")
    echo_table(["speaker", "role", *names],
               [[s.id, s.role, *[a.get(n) for n in names]] for s, a in speakers if
                a or s.turn_count])
    if doc_attrs:
        dnames = list(types["document"])
        click.echo("")
        click.echo("Document attributes")
        echo_table(["document", *dnames], [[doc_names.get(u, u), *[a.get(n) for n in dnames]]
                                           for u, a in doc_attrs.items()])


@cli.group(cls=QcodeGroup)
def speakers() -> None:
    """List speakers and set their roles."""


@speakers.command("list")
@project_option
@json_option
def speakers_list(project: Path | None, as_json: bool) -> None:
    """List speakers with roles, turns and documents."""
    from qcode import services

    with opened(project) as store:
        rows = services.list_speakers(store)
    if as_json:
        echo_json([{"id": s.id, "role": s.role, "turns": s.turn_count,
                    "documents": s.document_count, "attributes": a} for s, a in rows])
        return
    echo_table(["speaker", "role", "turns", "documents"],
               [[s.id, s.role, s.turn_count, s.document_count] for s, _ in rows])


@speakers.command("set-role")
@click.argument("speaker")
@click.argument("role")
@project_option
def speakers_set_role(speaker: str, role: str, project: Path | None) -> None:
    """Set SPEAKER's ROLE by hand ('-' clears it); kept over rules and attribute files."""
    from qcode import services

    with opened(project) as store:
        services.set_speaker_role(store, speaker, None if role == "-" else role)
    click.echo(f"{speaker}: role {role}")


@cli.group(cls=QcodeGroup)
def roles() -> None:
    """Rules that give speakers a role from their id (JS* -> jobbspesialist)."""


@roles.command("list")
@project_option
@json_option
def roles_list(project: Path | None, as_json: bool) -> None:
    """List the role rules in the order they are tried."""
    with opened(project) as store:
        rules = store.role_rules()
    if as_json:
        echo_json([{"pattern": r.pattern, "role": r.role} for r in rules])
        return
    echo_table(["pattern", "role"], [[r.pattern, r.role] for r in rules])


@roles.command("add")
@click.argument("pattern")
@click.argument("role")
@project_option
def roles_add(pattern: str, role: str, project: Path | None) -> None:
    """Add a rule: speaker ids matching the glob PATTERN get ROLE ('interviewer' marks them)."""
    from qcode import services

    with opened(project) as store:
        store.add_role_rule(pattern, role, services.default_actor())
    click.echo(f"{pattern} -> {role}")


@roles.command("remove")
@click.argument("pattern")
@project_option
def roles_remove(pattern: str, project: Path | None) -> None:
    """Remove the rule with this PATTERN."""
    from qcode import services

    with opened(project) as store:
        store.remove_role_rule(pattern, services.default_actor())
    click.echo(f"removed {pattern}")


@cli.command()
@click.argument("patterns", nargs=-1)
@project_option
@click.option("--reset", is_flag=True, help="Go back to the built-in patterns.")
def patterns(patterns: tuple[str, ...], project: Path | None, reset: bool) -> None:
    """Show or set the project's speaker-turn patterns (regex with (?P<speaker>...))."""
    from qcode import services
    from qcode.ingest.turns import DEFAULT_PATTERN

    with opened(project) as store:
        if patterns or reset:
            services.set_speaker_patterns(store, [] if reset else list(patterns))
        saved = store.get_setting(services.SPEAKER_PATTERNS_SETTING, [])
    if saved:
        for p in saved:
            click.echo(p)
    else:
        click.echo(f"built-in: {DEFAULT_PATTERN}")


# -- codebooks ---------------------------------------------------------------------------


@cli.group(cls=QcodeGroup)
def codebook() -> None:
    """Load, inspect, edit and export codebooks."""


@codebook.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def codebook_check(files: tuple[Path, ...]) -> None:
    """Validate codebook YAML files: every problem with file, line and field."""
    from qcode.codebook import read_codebook_file

    errors = 0
    for path in files:
        book, problems = read_codebook_file(path)
        for p in problems:
            click.echo(str(p), err=p.severity == "error")
        errors += sum(1 for p in problems if p.severity == "error")
        if book is not None and not any(p.severity == "error" for p in problems):
            warn = sum(1 for p in problems if p.severity == "warning")
            click.echo(f"{path}: ok, {len(book.ids())} codes" +
                       (f", {warn} warnings" if warn else ""))
    if errors:
        click.echo(f"{errors} errors", err=True)
        sys.exit(1)


@codebook.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@project_option
@coder_option
def codebook_load(files: tuple[Path, ...], project: Path | None, coder: str | None) -> None:
    """Load codebooks (.yaml, or REFI-QDA .qdc/.qdpx); loading again updates in place."""
    from qcode import services

    with opened(project) as store:
        for path in files:
            report = services.load_codebook_file(store, path, actor=coder)
            print_load_report(report)


def print_load_report(report: Any) -> None:
    """Print what loading a codebook changed."""
    if report.created:
        click.echo(f"{report.codebook}: loaded {len(report.added)} codes")
    elif report.changed:
        parts = [f"{len(v)} {k}" for k, v in (("added", report.added), ("updated",
                 report.updated), ("moved", report.moved), ("removed", report.removed)) if v]
        click.echo(f"{report.codebook}: " + ", ".join(parts))
    else:
        click.echo(f"{report.codebook}: unchanged")
    if report.kept:
        click.echo(f"  kept (not in the file, but coded): {', '.join(report.kept)}")
    for w in report.warnings:
        click.echo(f"  {w}", err=True)


@codebook.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@project_option
@coder_option
def codebook_import(file: Path, project: Path | None, coder: str | None) -> None:
    """Import a REFI-QDA codebook (.qdc, or the codebook inside a .qdpx), leniently."""
    from qcode import services
    from qcode.errors import InputError

    if file.suffix.lower() not in (".qdc", ".qdpx"):
        raise InputError(f"{file}: not a REFI-QDA file", "use 'qcode codebook load' for YAML")
    with opened(project) as store:
        print_load_report(services.load_codebook_file(store, file, actor=coder))


@codebook.command("list")
@project_option
@json_option
def codebook_list(project: Path | None, as_json: bool) -> None:
    """List the project's codebooks."""
    from qcode import services

    with opened(project) as store:
        books = services.list_codebooks(store)
    if as_json:
        echo_json(books)
        return
    echo_table(["codebook", "version", "codes", "revisions", "last change"],
               [[b["name"], b["version"], b["codes"], b["revisions"], b["last_change"]]
                for b in books])


@codebook.command("show")
@click.argument("name", required=False)
@project_option
@click.option("--code", "code_ref", help="Show one code in full (definition, when to use ...).")
@json_option
def codebook_show(name: str | None, project: Path | None, code_ref: str | None,
                  as_json: bool) -> None:
    """Show the code tree (all codebooks or NAME), or one code in full with --code."""
    from dataclasses import asdict

    from qcode import services

    with opened(project) as store:
        if code_ref:
            code = services.resolve_code(store, code_ref)
            stats = store.code_stats().get(code.id, (0, 0))
            if as_json:
                echo_json({**asdict(code), "codings": stats[0], "informants": stats[1]})
                return
            click.echo(f"{code.name}  [{code.id}]  {code.path}  {code.color}")
            for label, value in (("Definition", code.definition),
                                 ("When to use", code.when_to_use),
                                 ("When not to use", code.when_not_to_use),
                                 ("Example", code.example),
                                 ("Indicators", ", ".join(code.indicators)),
                                 ("Memo", code.memo)):
                if value:
                    click.echo(f"{label}: {value}")
            click.echo(f"Codings: {stats[0]}, informants: {stats[1]}")
            return
        codes = services.list_codes(store, name)
        stats_all = store.code_stats()
    if as_json:
        echo_json([{**asdict(c), "codings": stats_all.get(c.id, (0, 0))[0]} for c in codes])
        return
    if not codes:
        click.echo("No codebooks yet. Load one: qcode codebook load codebooks/samarbeid.yaml")
        return
    echo_table(["code", "id", "codings", "informants"],
               [["  " * c.depth + c.name, c.id, stats_all.get(c.id, (0, 0))[0],
                 stats_all.get(c.id, (0, 0))[1]] for c in codes])


@codebook.command("export")
@click.argument("name")
@click.argument("out", type=click.Path(path_type=Path))
@project_option
@click.option("--format", "fmt", type=click.Choice(["yaml", "md", "docx", "qdc"]),
              help="Output format (default: from OUT's extension).")
def codebook_export(name: str, out: Path, project: Path | None, fmt: str | None) -> None:
    """Export codebook NAME to OUT as YAML, Markdown or DOCX appendix, or REFI-QDA .qdc."""
    from qcode import services

    with opened(project) as store:
        written = services.export_codebook(store, name, out, fmt)
    click.echo(f"Wrote {written}")


@codebook.command("add")
@click.argument("codebook_name")
@click.argument("code_id")
@click.option("--name", required=True, help="Display name.")
@click.option("--definition", required=True, help="What the code means.")
@click.option("--parent", help="Parent code (id or path); default: top level.")
@click.option("--when-to-use", help="When coders should apply it.")
@click.option("--when-not-to-use", help="When not, and which code to use instead.")
@click.option("--example", help="A short paraphrased example.")
@click.option("--color", help="#RRGGBB")
@click.option("--indicators", help="Comma-separated words and phrases.")
@project_option
@coder_option
def codebook_add(codebook_name: str, code_id: str, name: str, definition: str,
                 parent: str | None, when_to_use: str | None, when_not_to_use: str | None,
                 example: str | None, color: str | None, indicators: str | None,
                 project: Path | None, coder: str | None) -> None:
    """Add code CODE_ID to codebook CODEBOOK_NAME."""
    from qcode import services

    with opened(project) as store:
        code = services.add_code(store, codebook_name, code_id, name, definition,
                                 parent=parent, actor=coder, when_to_use=when_to_use,
                                 when_not_to_use=when_not_to_use, example=example, color=color,
                                 indicators=indicators)
    click.echo(f"added {code.path}")


@codebook.command("edit")
@click.argument("code")
@click.option("--set", "pairs", multiple=True, metavar="FIELD=VALUE",
              help="Field to change: name, definition, when_to_use, when_not_to_use, "
                   "example, color, indicators (comma-separated), memo. Repeatable.")
@project_option
@coder_option
def codebook_edit(code: str, pairs: tuple[str, ...], project: Path | None,
                  coder: str | None) -> None:
    """Edit fields of CODE (id or path)."""
    from qcode import services
    from qcode.errors import InputError

    values: dict[str, Any] = {}
    for pair in pairs:
        fld, sep, value = pair.partition("=")
        if not sep:
            raise InputError(f"--set {pair!r}: expected FIELD=VALUE", "e.g. --set color=#FF8800")
        values[fld.strip()] = value
    with opened(project) as store:
        changed = services.edit_code(store, code, values, actor=coder)
    click.echo(f"edited {changed.path}")


@codebook.command("rename")
@click.argument("code")
@click.argument("new_name")
@project_option
@coder_option
def codebook_rename(code: str, new_name: str, project: Path | None, coder: str | None) -> None:
    """Rename CODE (its id stays the same, so codings are unaffected)."""
    from qcode import services

    with opened(project) as store:
        changed = services.edit_code(store, code, {"name": new_name}, actor=coder)
    click.echo(f"renamed {changed.id} to {changed.name!r}")


@codebook.command("move")
@click.argument("code")
@click.argument("parent", required=False)
@project_option
@coder_option
def codebook_move(code: str, parent: str | None, project: Path | None,
                  coder: str | None) -> None:
    """Move CODE under PARENT (omit PARENT for the top level)."""
    from qcode import services

    with opened(project) as store:
        moved = services.move_code(store, code, parent, actor=coder)
    click.echo(f"moved to {moved.path}")


@codebook.command("merge")
@click.argument("source")
@click.argument("target")
@project_option
@coder_option
def codebook_merge(source: str, target: str, project: Path | None, coder: str | None) -> None:
    """Merge code SOURCE into TARGET: its codings and sub-codes move, SOURCE is deleted."""
    from qcode import services

    with opened(project) as store:
        r = services.merge_codes(store, source, target, actor=coder)
    click.echo(f"merged {r.source} into {r.target}: {r.codings_moved} codings moved, "
               f"{r.duplicates_removed} duplicates removed, {r.children_moved} sub-codes moved")


@codebook.command("delete")
@click.argument("code")
@click.option("--force", is_flag=True, help="Also delete its sub-codes and codings.")
@project_option
@coder_option
def codebook_delete(code: str, force: bool, project: Path | None, coder: str | None) -> None:
    """Delete CODE; refused while it has codings or sub-codes unless --force (undo restores)."""
    from qcode import services

    with opened(project) as store:
        codes, n = services.delete_code(store, code, force=force, actor=coder)
    click.echo(f"deleted {', '.join(codes)}" + (f" and {n} codings" if n else "") +
               " (qcode undo brings them back)")


# -- coding ------------------------------------------------------------------------------


@cli.group("code", cls=QcodeGroup)
def code_group() -> None:
    """Apply, remove and list codings."""


@code_group.command("apply")
@click.argument("document", required=False)
@click.argument("code", required=False)
@click.option("--start", type=int, help="Start offset (code points, from 'qcode show --json').")
@click.option("--end", type=int, help="End offset (exclusive).")
@click.option("--quote", help="Text to code; must occur once (or give --occurrence).")
@click.option("--occurrence", type=int, help="Which occurrence of --quote (1 = first).")
@click.option("--turn", type=int, help="Code a whole turn by its number.")
@click.option("--snap", type=click.Choice(["none", "word", "sentence", "turn"]),
              default="none", show_default=True, help="Widen the span to whole units.")
@click.option("--memo", default="", help="A short memo on the coding.")
@click.option("--from", "from_file", type=click.Path(path_type=Path),
              help="Bulk: a YAML/JSON list of {document, code, quote|start+end|turn, memo}.")
@project_option
@coder_option
@json_option
def code_apply(document: str | None, code: str | None, start: int | None, end: int | None,
               quote: str | None, occurrence: int | None, turn: int | None, snap: str,
               memo: str, from_file: Path | None, project: Path | None, coder: str | None,
               as_json: bool) -> None:
    """Apply CODE to a span of DOCUMENT (by offsets, quote or turn), or many with --from."""
    from qcode import services
    from qcode.errors import InputError

    if from_file is not None:
        requests = _span_requests(from_file)
    else:
        if not document or not code:
            raise InputError("name a DOCUMENT and a CODE, or use --from FILE",
                             "e.g. qcode code apply JS1 relasjoner --turn 4")
        requests = [services.SpanRequest(document=document, code=code, start=start, end=end,
                                          quote=quote, occurrence=occurrence, turn=turn,
                                          memo=memo)]
    with opened(project) as store:
        codings = services.apply_codings(store, requests, coder, snap=snap)
    if as_json:
        echo_json([_coding_json(c) for c in codings])
        return
    for c in codings:
        click.echo(f"coding {c.id}: {c.document} {c.start}-{c.end} {c.code_id} "
                   f"({c.coder_id}) «{_excerpt(c.text)}»")


def _span_requests(path: Path) -> list[Any]:
    import yaml

    from qcode import services
    from qcode.errors import InputError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the span list: {exc}".splitlines()[0],
                         "a YAML or JSON list of mappings") from exc
    items = data.get("codings") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InputError(f"{path}: expected a list of spans", "see 'qcode code apply --help'")
    allowed = {"document", "code", "start", "end", "quote", "occurrence", "turn", "memo"}
    out = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not {"document", "code"} <= set(item):
            raise InputError(f"{path}: item {number} needs document and code",
                             "each item: {document, code, quote|start+end|turn}")
        extra = set(item) - allowed
        if extra:
            raise InputError(f"{path}: item {number} has unknown keys {sorted(extra)}",
                             f"allowed: {', '.join(sorted(allowed))}")
        out.append(services.SpanRequest(**{k: v for k, v in item.items() if v is not None}))
    return out


def _excerpt(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _coding_json(c: Any) -> dict[str, Any]:
    return {"id": c.id, "uid": c.uid, "document": c.document, "start": c.start, "end": c.end,
            "code": c.code_id, "coder": c.coder_id, "memo": c.memo, "created": c.created_at,
            "text": c.text}


@code_group.command("remove")
@click.argument("codings", nargs=-1, required=True)
@project_option
@coder_option
def code_remove(codings: tuple[str, ...], project: Path | None, coder: str | None) -> None:
    """Remove codings by id (undoable)."""
    from qcode import services

    with opened(project) as store:
        n = services.remove_codings(store, list(codings), actor=coder)
    click.echo(f"removed {n} codings (qcode undo brings them back)")


@code_group.command("edit")
@click.argument("coding")
@click.option("--start", type=int, help="New start offset (code points).")
@click.option("--end", type=int, help="New end offset (exclusive).")
@click.option("--code", "code_ref", help="New code (id or path).")
@click.option("--json", "as_json", is_flag=True, help="Print the coding as JSON.")
@project_option
@coder_option
def code_edit(coding: str, start: int | None, end: int | None, code_ref: str | None,
              as_json: bool, project: Path | None, coder: str | None) -> None:
    """Move a coding to another span and/or give it another code (one undoable step).

    The coding keeps its id, coder and memos. Example: qcode code edit 12 --end 480
    --code samarbeid/relasjoner
    """
    from qcode import services
    from qcode.errors import InputError

    if start is None and end is None and code_ref is None:
        raise InputError("nothing to change", "give --start, --end and/or --code")
    with opened(project) as store:
        changed = services.edit_coding(store, coding, start=start, end=end, code=code_ref,
                                       actor=coder)
    if as_json:
        click.echo(json.dumps(_coding_json(changed), ensure_ascii=False))
    else:
        click.echo(f"coding {changed.id}: {changed.code_id} in {changed.document} "
                   f"{changed.start}-{changed.end} «{_excerpt(changed.text)}» "
                   "(qcode undo reverts it)")


@code_group.command("list")
@click.option("--document", help="Only this document.")
@click.option("--code", "code_ref", help="Only this code and its sub-codes.")
@click.option("--coder", "coder_id", help="Only this coder.")
@project_option
@json_option
def code_list(document: str | None, code_ref: str | None, coder_id: str | None,
              project: Path | None, as_json: bool) -> None:
    """List codings with their text."""
    from qcode import services

    with opened(project) as store:
        from qcode.config import configured_coder

        codings = services.list_codings(store, document=document, code=code_ref,
                                        coder=coder_id, blind_for=configured_coder() or "")
    if as_json:
        echo_json([_coding_json(c) for c in codings])
        return
    echo_table(["id", "document", "span", "code", "coder", "text"],
               [[c.id, c.document, f"{c.start}-{c.end}", c.code_id, c.coder_id,
                 _excerpt(c.text, 60)] for c in codings])
    click.echo(f"{len(codings)} codings")


# -- coders, memos, history ----------------------------------------------------------------


@cli.group(cls=QcodeGroup)
def coders() -> None:
    """Coders: stable ids with display names."""


@coders.command("list")
@project_option
@json_option
def coders_list(project: Path | None, as_json: bool) -> None:
    """List coders and how many codings each has."""
    with opened(project) as store:
        rows = [(c, len(store.codings(coder_id=c.id))) for c in store.coders()]
    if as_json:
        echo_json([{"id": c.id, "name": c.name, "codings": n} for c, n in rows])
        return
    echo_table(["coder", "name", "codings"], [[c.id, c.name, n] for c, n in rows])


@coders.command("add")
@click.argument("coder_id")
@click.option("--name", required=True, help="Display name.")
@project_option
def coders_add(coder_id: str, name: str, project: Path | None) -> None:
    """Add a coder with a stable CODER_ID (lowercase, e.g. coder-a)."""
    from qcode import services

    with opened(project) as store:
        services.add_coder(store, coder_id, name)
    click.echo(f"added coder {coder_id} ({name})")


@cli.command("config")
@click.argument("key", type=click.Choice(["coder"]))
@click.argument("value", required=False)
def config_cmd(key: str, value: str | None) -> None:
    """Show or set your user configuration (KEY: coder). Never stored in a project."""
    from qcode import config
    from qcode.codebook import ID_PATTERN
    from qcode.errors import InputError

    if value is None:
        click.echo(config.configured_coder() or "(not set)")
        return
    if not ID_PATTERN.match(value):
        raise InputError(f"coder id {value!r} is not valid", "lowercase, digits, - and _")
    path = config.write_coder(value)
    click.echo(f"coder = {value} (saved in {path})")


@cli.group(cls=QcodeGroup)
def memo() -> None:
    """Memos on the project (research diary), documents, codes and codings."""


def _memo_scope(document: str | None, code: str | None, coding: str | None) -> tuple[str,
                                                                                     str | None]:
    given = [(s, t) for s, t in (("document", document), ("code", code), ("coding", coding))
             if t]
    if len(given) > 1:
        from qcode.errors import InputError

        raise InputError("a memo belongs to one thing", "give one of --document/--code/--coding")
    return given[0] if given else ("project", None)


@memo.command("add")
@click.argument("text")
@click.option("--document", help="On this document (e.g. the summary after an interview).")
@click.option("--code", "code_ref", help="On this code.")
@click.option("--coding", help="On this coding (id).")
@click.option("--title", default="", help="A short title.")
@project_option
@coder_option
def memo_add(text: str, document: str | None, code_ref: str | None, coding: str | None,
             title: str, project: Path | None, coder: str | None) -> None:
    """Write a memo (without a target: a project memo)."""
    from qcode import services

    scope, target = _memo_scope(document, code_ref, coding)
    with opened(project) as store:
        m = services.add_memo(store, scope, target, text, title=title, author=coder)
    click.echo(f"memo {m.id} ({scope}) saved")


@memo.command("list")
@click.option("--document", help="Only memos on this document.")
@click.option("--code", "code_ref", help="Only memos on this code.")
@click.option("--coding", help="Only memos on this coding (id).")
@project_option
@json_option
def memo_list(document: str | None, code_ref: str | None, coding: str | None,
              project: Path | None, as_json: bool) -> None:
    """List memos, oldest first."""
    from dataclasses import asdict

    from qcode import services

    scope, target = _memo_scope(document, code_ref, coding)
    with opened(project) as store:
        memos = services.list_memos(store, scope if target else None, target)
    if as_json:
        echo_json([asdict(m) for m in memos])
        return
    for m in memos:
        head = f"[{m.id}] {m.scope}" + (f" {m.target}" if m.target else "")
        click.echo(f"{head}  {m.author}  {m.updated_at}" + (f"  {m.title}" if m.title else ""))
        click.echo(f"    {m.body}")


@memo.command("edit")
@click.argument("memo_id", type=int)
@click.argument("text")
@project_option
@coder_option
def memo_edit(memo_id: int, text: str, project: Path | None, coder: str | None) -> None:
    """Replace the text of memo MEMO_ID."""
    from qcode import services

    with opened(project) as store:
        services.edit_memo(store, memo_id, text, actor=coder)
    click.echo(f"memo {memo_id} updated")


@memo.command("delete")
@click.argument("memo_id", type=int)
@project_option
@coder_option
def memo_delete(memo_id: int, project: Path | None, coder: str | None) -> None:
    """Delete memo MEMO_ID (undoable)."""
    from qcode import services

    with opened(project) as store:
        services.delete_memo(store, memo_id, actor=coder)
    click.echo(f"memo {memo_id} deleted")


@cli.command()
@project_option
@coder_option
def undo(project: Path | None, coder: str | None) -> None:
    """Undo your newest change (codings, memos, codebook edits), even from an earlier session."""
    from qcode import services

    with opened(project) as store:
        what = services.undo(store, coder)
    click.echo(f"undone: {what}")


@cli.command()
@project_option
@coder_option
def redo(project: Path | None, coder: str | None) -> None:
    """Redo the change you undid last."""
    from qcode import services

    with opened(project) as store:
        what = services.redo(store, coder)
    click.echo(f"redone: {what}")


@cli.command()
@project_option
@click.option("--limit", default=30, show_default=True, help="How many events.")
@click.option("--coder", "coder_id", help="Only events by this coder.")
@json_option
def history(project: Path | None, limit: int, coder_id: str | None, as_json: bool) -> None:
    """Show recent changes (the project's event log), newest first."""
    from qcode import services

    with opened(project) as store:
        rows = services.history(store, limit=limit, actor=coder_id)
    if as_json:
        echo_json(rows)
        return
    echo_table(["event", "when", "who", "what", "undo"],
               [[r["id"], r["at"].replace("T", " ")[:19], r["actor"], r["summary"],
                 "yes" if r["undoable"] else ""] for r in rows])


# -- language pipeline -------------------------------------------------------------------


@cli.group(cls=QcodeGroup)
def nlp() -> None:
    """The Norwegian language pipeline: status, annotation, evaluation."""


@nlp.command("status")
@click.option("--pipeline", "setting", help="A pipeline name or folder, or 'blank' "
              "(default: $QCODE_NLP_PIPELINE, the config, then the tiers).")
@project_option
@json_option
def nlp_status(setting: str | None, project: Path | None, as_json: bool) -> None:
    """Show which pipeline tier is used, what it can do and what quality is lost."""
    from dataclasses import asdict

    from qcode import services

    status = services.nlp_status(setting)
    annotated: list[Any] = []
    try:
        with opened(project) as store:
            annotated = store.annotation_summary()
    except QcodeError:
        pass  # status works without a project
    if as_json:
        echo_json({**asdict(status), "annotated": [
            {"document": a[0], "pipeline": a[1], "tier": a[2], "tokens": a[3],
             "sentences": a[4], "annotated_at": a[5]} for a in annotated]})
        return
    click.echo(f"Tier {status.tier}: {status.tier_name}")
    click.echo(f"Pipeline   {status.pipeline}  ({status.location})")
    click.echo(f"Why        {status.reason}")
    click.echo(f"Components {', '.join(status.components)}")
    click.echo(f"Entities   {'yes' if status.has_entities else 'no'}   "
               f"part of speech {'yes' if status.has_pos else 'no'}")
    for w in status.warnings:
        click.echo(f"Warning: {w}", err=True)
    if annotated:
        stale = sum(1 for a in annotated if a[1] != status.pipeline)
        click.echo(f"Project    {len(annotated)} documents annotated"
                   + (f", {stale} by another pipeline (re-annotate with "
                      "'qcode nlp annotate')" if stale else ""))


@nlp.command("annotate")
@click.option("--document", "documents", multiple=True, help="Only this document (repeatable).")
@click.option("--force", is_flag=True, help="Annotate again even if up to date.")
@click.option("--processes", default=1, show_default=True, help="Worker processes for spaCy.")
@click.option("--pipeline", "setting", help="A pipeline name or folder, or 'blank'.")
@project_option
def nlp_annotate(documents: tuple[str, ...], force: bool, processes: int, setting: str | None,
                 project: Path | None) -> None:
    """Annotate turns with sentences, lemmas, part of speech and names (stored once)."""
    from qcode import services

    with opened(project) as store, click.progressbar(
            length=max(sum(d.word_count for d in store.documents()), 1), label="Annotating",
            file=sys.stderr, show_pos=True) as bar:
        last = {"done": 0}

        def progress(done: int, total: int, name: str) -> None:
            bar.update(done - last["done"])
            last["done"] = done

        report = services.annotate_documents(
            store, list(documents) or None, force=force, setting=setting,
            progress=progress, n_process=processes)
    for w in report.warnings:
        click.echo(f"Warning: {w}", err=True)
    rate = report.words / report.seconds if report.seconds else 0
    click.echo(f"{report.pipeline} (tier {report.tier}): annotated {len(report.annotated)} "
               f"documents, {report.words} words, {report.tokens} tokens"
               + (f" in {report.seconds:.1f} s ({rate:,.0f} words/s)" if report.annotated
                  else "") + (f"; {len(report.up_to_date)} already up to date"
                              if report.up_to_date else ""))


@nlp.command("evaluate")
@click.option("--split", type=click.Choice(["dev", "test"]), default="dev", show_default=True,
              help="Which UD/NorNE file to evaluate on.")
@click.option("--norne", type=click.Path(path_type=Path), default=Path("../shared/data/norne"),
              show_default=True, help="The NorNE data folder.")
@click.option("--pipeline", "setting", help="A pipeline name or folder, or 'blank'.")
@json_option
def nlp_evaluate(split: str, norne: Path, setting: str | None, as_json: bool) -> None:
    """Score the pipeline on NorNE (POS, morphology, lemma, sentences, names per type)."""
    from qcode.errors import InputError
    from qcode.nlp.evaluate import PUBLISHED_SM_DEV, evaluate
    from qcode.nlp.pipeline import choose_pipeline, load_pipeline

    path = norne / "ud-nob" / f"no_bokmaal-ud-{split}.conllu"
    if not path.is_file():
        raise InputError(f"{path}: NorNE {split} file not found",
                         "point --norne at a NorNE checkout (see docs/nlp.md)")
    nlp_obj = load_pipeline(choose_pipeline(setting))
    scores = evaluate(nlp_obj, path)
    if as_json:
        echo_json(scores)
        return
    rows = []
    for key, label in (("pos", "POS"), ("morph", "MORPH"), ("lemma", "LEMMA"),
                       ("sents_f", "SENTS F"), ("ents_p", "NER P"), ("ents_r", "NER R"),
                       ("ents_f", "NER F")):
        value = scores.get(key)
        ref = PUBLISHED_SM_DEV.get(key)
        rows.append([label, f"{value:.1f}" if isinstance(value, float) else "n/a",
                     f"{ref:.1f}" if ref is not None else ""])
    for label, per in sorted(scores.get("ents_per_type", {}).items()):
        ref = PUBLISHED_SM_DEV.get(f"{label}_f")
        rows.append([f"{label} F", f"{per['f']:.1f}", f"{ref:.1f}" if ref is not None else ""])
    echo_table(["metric", f"ours ({split})", "nb_core_news_sm (dev, published)"], rows)


# -- queries and reports -----------------------------------------------------------------


def _clock_or_blank(seconds: float | None) -> str:
    return _clock(seconds) if seconds is not None else ""


def _hit_json(h: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(h)


@cli.command()
@click.argument("expression")
@click.option("--unit", type=click.Choice(["excerpt", "turn", "document"]), default="excerpt",
              show_default=True, help="What one hit is.")
@click.option("--context", default=0, show_default=True,
              help="Turns of context before and after each hit.")
@click.option("--with-interviewer", is_flag=True, help="Keep interviewer turns.")
@click.option("--coverage-by", default="role", show_default=True,
              help="Count informants per role or per an attribute (office, age ...).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "md", "csv"]),
              default="table", show_default=True, help="Output format.")
@click.option("--save", "save_as", help="Also save the query under this name (@name runs it).")
@project_option
def query(expression: str, unit: str, context: int, with_interviewer: bool, coverage_by: str,
          fmt: str, save_as: str | None, project: Path | None) -> None:
    """Find coded excerpts, turns or documents; see docs/query-language.md.

    Examples: 'prestisje AND role = veileder', 'innsoking within 1 turn of frustrasjon',
    '"felles møter"', 'lemma:samarbeid', '~teamfølelse', '@my-saved-query'.
    """
    import csv
    import io

    from qcode import services
    from qcode.errors import QueryError

    with opened(project) as store:
        try:
            result = services.run_query(store, expression, unit=unit, context=context,
                                        include_interviewer=with_interviewer,
                                        coverage_by=coverage_by)
        except QueryError as exc:
            click.echo(exc.caret(), err=True)
            raise
        if save_as:
            services.save_query(store, save_as, expression)
    coverage = "; ".join(c.sentence() for c in result.coverage)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if fmt == "json":
        echo_json({"query": result.query, "unit": result.unit,
                   "hits": [_hit_json(h) for h in result.hits],
                   "coverage": [{"group": c.group, "informants": c.informants,
                                 "covered": c.count, "total": c.total}
                                for c in result.coverage]})
        return
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["document", "turn", "line", "time", "speaker", "role", "codes", "coders",
                    "start", "end", "text"])
        for h in result.hits:
            w.writerow([h.document, h.turn, h.line, _clock_or_blank(h.time), h.speaker,
                        h.role, " ".join(h.codes), " ".join(h.coders), h.start, h.end, h.text])
        click.echo(buf.getvalue(), nl=False)
        return
    if fmt == "md":
        click.echo(f"## `{result.query}`\n\n{len(result.hits)} hits. Coverage: {coverage}\n")
        for h in result.hits:
            where = f"{h.document}, turn {h.turn}, line {h.line}"
            who = f"{h.speaker} ({h.role})" if h.speaker else ""
            click.echo(f"- «{' '.join(h.text.split())}» — {who}, {where}"
                       + (f" [{', '.join(h.codes)}]" if h.codes else ""))
        return
    for h in result.hits:
        head = f"{h.document} #{h.turn} line {h.line}"
        if h.time is not None:
            head += f" [{_clock(h.time)}]"
        if h.speaker:
            head += f"  {h.speaker} ({h.role or '?'})"
        if h.codes:
            head += f"  [{', '.join(h.codes)}; {', '.join(h.coders)}]"
        click.echo(head)
        if h.context_before:
            click.echo("    … " + _excerpt(h.context_before, 90))
        if h.text:
            click.echo("    «" + _excerpt(h.text, 300) + "»")
        if h.context_after:
            click.echo("    … " + _excerpt(h.context_after, 90))
    click.echo(f"{len(result.hits)} hits ({result.unit}). Coverage: {coverage or 'none'}")


@cli.group(cls=QcodeGroup)
def queries() -> None:
    """Saved queries: run one with qcode query @NAME."""


@queries.command("list")
@project_option
@json_option
def queries_list(project: Path | None, as_json: bool) -> None:
    """List saved queries."""
    with opened(project) as store:
        rows = store.saved_queries()
    if as_json:
        echo_json([{"name": r[0], "query": r[1], "created_at": r[2], "created_by": r[3]}
                   for r in rows])
        return
    echo_table(["name", "query", "by"], [[r[0], r[1], r[3]] for r in rows])


@queries.command("save")
@click.argument("name")
@click.argument("expression")
@project_option
def queries_save(name: str, expression: str, project: Path | None) -> None:
    """Save EXPRESSION as NAME."""
    from qcode import services

    with opened(project) as store:
        services.save_query(store, name, expression)
    click.echo(f"saved @{name}")


@queries.command("delete")
@click.argument("name")
@project_option
def queries_delete(name: str, project: Path | None) -> None:
    """Delete the saved query NAME."""
    from qcode import services

    with opened(project) as store:
        services.delete_saved_query(store, name)
    click.echo(f"deleted @{name}")


def _coders_option(func: F) -> F:
    return click.option("--coders", help="Only these coders (comma-separated ids).")(func)


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@cli.command()
@_coders_option
@click.option("--with-interviewer", is_flag=True, help="Count interviewer turns too.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Write to a file (.md, .csv, .xlsx, .html) instead of printing.")
@project_option
@json_option
def freq(coders: str | None, with_interviewer: bool, out: Path | None, project: Path | None,
         as_json: bool) -> None:
    """Code frequencies: codings, documents, informants and words coded, rolled up."""
    from dataclasses import asdict

    from qcode import services

    with opened(project) as store:
        rows = services.frequencies(store, coders=_split(coders),
                                    include_interviewer=with_interviewer)
    if out is not None:
        from qcode.export.report import write_frequency

        click.echo(f"Wrote {write_frequency(rows, out)}")
        return
    if as_json:
        echo_json([asdict(r) for r in rows])
        return
    echo_table(["code", "codings", "documents", "informants", "words", "own"],
               [["  " * r.depth + r.name, r.codings, r.documents, r.informants, r.words,
                 r.own_codings] for r in rows])


@cli.command()
@click.argument("rows", default="codes")
@click.argument("columns", default="role")
@click.option("--codes", "codes", help="Rows: these codes (comma-separated; default: two "
              "top levels).")
@click.option("--depth", type=int, help="Rows: codes down to this depth (0 = roots).")
@click.option("--measure", type=click.Choice(["codings", "informants", "documents", "turns"]),
              default="codings", show_default=True, help="What a cell counts.")
@_coders_option
@click.option("--with-interviewer", is_flag=True, help="Count interviewer turns too.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Write to a file (.md, .csv, .xlsx, .html) instead of printing.")
@project_option
@json_option
def matrix(rows: str, columns: str, codes: str | None, depth: int | None, measure: str,
           coders: str | None, with_interviewer: bool, out: Path | None,
           project: Path | None, as_json: bool) -> None:
    """A matrix: 'codes role', 'codes office' (any attribute), or 'codes codes' (co-occurrence)."""
    from qcode import services

    with opened(project) as store:
        m = services.matrix(store, rows, columns, codes=_split(codes), depth=depth,
                            measure=measure, coders=_split(coders),
                            include_interviewer=with_interviewer)
    if out is not None:
        from qcode.export.report import write_matrix

        click.echo(f"Wrote {write_matrix(m, out)}")
        return
    if as_json:
        echo_json({"rows": m.rows, "columns": m.columns, "cells": m.cells,
                   "measure": m.measure, "column_totals": m.column_totals})
        return
    echo_table(["code", *m.columns],
               [[m.row_labels.get(r, r), *[m.cells[r][c] for c in m.columns]] for r in m.rows])
    click.echo(f"({m.measure})")


@cli.group(cls=QcodeGroup)
def report() -> None:
    """Stored reports: a query, its parameters and a snapshot of its rows."""


@report.command("create")
@click.argument("name")
@click.argument("expression")
@click.option("--unit", type=click.Choice(["excerpt", "turn", "document"]), default="excerpt",
              show_default=True, help="What one hit is.")
@click.option("--context", default=0, show_default=True, help="Turns of context.")
@click.option("--with-interviewer", is_flag=True, help="Keep interviewer turns.")
@click.option("--coverage-by", default="role", show_default=True,
              help="Count informants per role or per an attribute.")
@project_option
@coder_option
def report_create(name: str, expression: str, unit: str, context: int, with_interviewer: bool,
                  coverage_by: str, project: Path | None, coder: str | None) -> None:
    """Run EXPRESSION and store the result as report NAME."""
    from qcode import services

    with opened(project) as store:
        rid = services.create_report(store, name, expression, unit=unit, context=context,
                                     include_interviewer=with_interviewer,
                                     coverage_by=coverage_by, actor=coder)
        hits = len(services.get_report(store, rid)["result"]["hits"])
    click.echo(f"report {rid} ({name}): {hits} hits")


@report.command("list")
@project_option
@json_option
def report_list(project: Path | None, as_json: bool) -> None:
    """List stored reports."""
    from qcode import services

    with opened(project) as store:
        rows = services.list_reports(store)
    if as_json:
        echo_json(rows)
        return
    echo_table(["id", "name", "query", "created", "by"],
               [[r["id"], r["name"], r["query"], r["created_at"], r["created_by"]]
                for r in rows])


@report.command("show")
@click.argument("report_id", type=int)
@project_option
@json_option
def report_show(report_id: int, project: Path | None, as_json: bool) -> None:
    """Show a stored report's parameters, coverage and hits."""
    from qcode import services

    with opened(project) as store:
        rep = services.get_report(store, report_id)
    if as_json:
        echo_json(rep)
        return
    click.echo(f"Report {rep['id']}: {rep['name']}  ({rep['created_at']}, {rep['created_by']})")
    click.echo(f"Query: {rep['query']}  unit: {rep['result']['unit']}")
    click.echo("Coverage: " + "; ".join(f"{c['group']}: {len(c['informants'])} of {c['total']}"
                                        for c in rep["result"]["coverage"]))
    for h in rep["result"]["hits"]:
        click.echo(f"  {h['document']} #{h['turn']} {h['speaker'] or ''} "
                   f"[{', '.join(h['codes'])}] «{_excerpt(h['text'], 90)}»")


@report.command("rerun")
@click.argument("report_id", type=int)
@project_option
@coder_option
def report_rerun(report_id: int, project: Path | None, coder: str | None) -> None:
    """Run a stored report again and show what changed since."""
    from qcode import services

    with opened(project) as store:
        new_id, diff = services.rerun_report(store, report_id, actor=coder)
    click.echo(f"report {new_id}: {len(diff['added'])} hits added, "
               f"{len(diff['removed'])} removed since report {report_id}")
    for label, items in (("+", diff["added"]), ("-", diff["removed"])):
        for h in items:
            click.echo(f"  {label} {h['document']} #{h['turn']} «{_excerpt(h['text'], 80)}»")


@report.command("diff")
@click.argument("old_id", type=int)
@click.argument("new_id", type=int)
@project_option
@json_option
def report_diff(old_id: int, new_id: int, project: Path | None, as_json: bool) -> None:
    """Hits added and removed between two stored reports."""
    from qcode import services

    with opened(project) as store:
        diff = services.diff_reports(services.get_report(store, old_id),
                                     services.get_report(store, new_id))
    if as_json:
        echo_json(diff)
        return
    click.echo(f"{len(diff['added'])} added, {len(diff['removed'])} removed")
    for label, items in (("+", diff["added"]), ("-", diff["removed"])):
        for h in items:
            click.echo(f"  {label} {h['document']} #{h['turn']} «{_excerpt(h['text'], 80)}»")


def _export_options(func: F) -> F:
    for option in reversed([
        click.option("--format", "fmt", type=click.Choice(
            ["md", "html", "csv", "xlsx", "docx", "presence"]),
            help="Output format (default: from OUT's extension; presence = 0/1 table CSV)."),
        click.option("--full-text", is_flag=True, help="Do not shorten long quotes."),
        click.option("--excel-bom", is_flag=True, help="CSV: write a BOM so Excel reads UTF-8."),
        click.option("--xlsx-layout", type=click.Choice(["per-code", "one-table"]),
                     default="per-code", show_default=True,
                     help="XLSX: one sheet per code, or one table with code-path levels."),
        click.option("--presence-by", type=click.Choice(["document", "speaker"]),
                     default="document", show_default=True,
                     help="Presence table rows: documents or speakers (respondents)."),
        click.option("--allow-leaks", is_flag=True,
                     help="Export even if the leak check flags text (you take responsibility)."),
    ]):
        func = option(func)
    return func


@report.command("export")
@click.argument("report_id", type=int)
@click.argument("out", type=click.Path(path_type=Path))
@_export_options
@project_option
def report_export(report_id: int, out: Path, fmt: str | None, full_text: bool, excel_bom: bool,
                  xlsx_layout: str, presence_by: str, allow_leaks: bool,
                  project: Path | None) -> None:
    """Export a stored report (quote table with coverage) to OUT."""
    from qcode import services

    with opened(project) as store:
        written = services.export_report(store, report_id, out, fmt, full_text=full_text,
                                         excel_bom=excel_bom, xlsx_layout=xlsx_layout,
                                         presence_by=presence_by, allow_leaks=allow_leaks)
    click.echo(f"Wrote {written}")


@cli.group("export", cls=QcodeGroup)
def export_group() -> None:
    """Export reports (and, with the team-work features, whole projects)."""


@export_group.command("report")
@click.argument("report_id", type=int)
@click.argument("out", type=click.Path(path_type=Path))
@_export_options
@project_option
@click.pass_context
def export_report_cmd(ctx: click.Context, report_id: int, out: Path, fmt: str | None,
                      full_text: bool, excel_bom: bool, xlsx_layout: str, presence_by: str,
                      allow_leaks: bool, project: Path | None) -> None:
    """Export stored report REPORT_ID to OUT (same as 'qcode report export')."""
    ctx.invoke(report_export, report_id=report_id, out=out, fmt=fmt, full_text=full_text,
               excel_bom=excel_bom, xlsx_layout=xlsx_layout, presence_by=presence_by,
               allow_leaks=allow_leaks, project=project)


# -- anonymisation -----------------------------------------------------------------------


@cli.group(cls=QcodeGroup)
def anonymize() -> None:
    """Find and replace anonymisation leaks (names, numbers, addresses ...)."""


def _finding_json(f: Any) -> dict[str, Any]:
    return {"start": f.start, "end": f.end, "text": f.text, "kind": f.kind,
            "confidence": f.confidence, "detail": f.detail,
            **({"document": f.document} if hasattr(f, "document") else {})}


@anonymize.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--document", "documents", multiple=True,
              help="Check a stored document (repeatable; default with no PATH: all).")
@click.option("--names", "names_file", type=click.Path(path_type=Path),
              help="A file (kept outside the project) with names to look for, one per line.")
@click.option("--min-confidence", type=click.Choice(["low", "medium", "high"]), default="low",
              show_default=True, help="Leave out weaker findings.")
@project_option
@json_option
def anonymize_check(path: Path | None, documents: tuple[str, ...], names_file: Path | None,
                    min_confidence: str, project: Path | None, as_json: bool) -> None:
    """Check a file before import, or stored documents; exit 1 if high-confidence leaks."""
    from qcode import services

    names = services.read_names(names_file)
    rank = {"low": 1, "medium": 2, "high": 3}
    findings: list[Any]
    if path is not None:
        _text, findings = services.check_file(path, names=names)
    else:
        with opened(project) as store:
            refs = list(documents) or [d.name for d in store.documents()]
            findings = [f for ref in refs for f in services.check_document(store, ref,
                                                                          names=names)]
    findings = [f for f in findings if rank[f.confidence] >= rank[min_confidence]]
    if as_json:
        echo_json([_finding_json(f) for f in findings])
    else:
        echo_table(["where", "span", "kind", "confidence", "text"],
                   [[getattr(f, "document", str(path)), f"{f.start}-{f.end}", f.kind,
                     f.confidence, f.text] for f in findings])
        high = sum(1 for f in findings if f.confidence == "high")
        click.echo(f"{len(findings)} findings, {high} high confidence")
    if any(f.confidence == "high" for f in findings):
        sys.exit(1)


@anonymize.command("apply")
@click.argument("document")
@click.option("--key", "key_file", type=click.Path(path_type=Path), required=True,
              help="The key file (original -> placeholder), kept OUTSIDE the project.")
@click.option("--confidence", "levels", multiple=True,
              type=click.Choice(["low", "medium", "high"]), default=("high",),
              show_default=True, help="Which findings to replace (repeatable).")
@click.option("--kind", "kinds", multiple=True, help="Only these kinds (repeatable).")
@click.option("--names", "names_file", type=click.Path(path_type=Path),
              help="A file with names to look for, one per line.")
@project_option
@coder_option
def anonymize_apply(document: str, key_file: Path, levels: tuple[str, ...],
                    kinds: tuple[str, ...], names_file: Path | None, project: Path | None,
                    coder: str | None) -> None:
    """Replace findings with consistent placeholders in a new version of DOCUMENT."""
    from qcode import services

    with opened(project) as store:
        r = services.apply_pseudonyms(store, document, key_file, confidence=levels,
                                      kinds=list(kinds) or None,
                                      names=services.read_names(names_file), actor=coder)
    click.echo(f"{r.document}: version {r.version} with {r.replaced} replacements "
               f"({', '.join(r.placeholders)}); {r.codings_moved} codings kept in place")
    click.echo(f"Key written to {r.key_file} (owner-only); keep it apart from the data.")
    if r.backups:
        click.echo(f"Warning: {len(r.backups)} older backups still hold the original text; "
                   "delete them when you no longer need them (qcode backups).", err=True)


@anonymize.command("evaluate")
@click.argument("gold", type=click.Path(path_type=Path))
@click.option("--allow-list", is_flag=True, help="Leave out names the check never flags "
              "(Norge, Nav ...), as on documents.")
@json_option
def anonymize_evaluate(gold: Path, allow_list: bool, as_json: bool) -> None:
    """Token-level precision and recall of name detection on a NorNE CoNLL-U file."""
    from qcode import services

    result = services.evaluate_names(gold, allow_list=allow_list)
    if as_json:
        echo_json(result)
        return
    click.echo(json.dumps(_no_nan(result), ensure_ascii=False, indent=2))


# -- suggestions -------------------------------------------------------------------------


def _suggestion_json(sg: Any) -> dict[str, Any]:
    return {"id": sg.id, "document": sg.document, "start": sg.start, "end": sg.end,
            "code": sg.code, "path": sg.path, "top": sg.top, "score": sg.score,
            "reason": sg.reason, "method": sg.method, "pipeline": sg.pipeline,
            "status": sg.status, "text": sg.text}


@cli.group(cls=QcodeGroup, invoke_without_command=True)
@click.option("--document", "documents", multiple=True,
              help="Only this document (repeatable; default: every document).")
@click.option("--unit", type=click.Choice(["sentence", "turn"]), default="sentence",
              show_default=True, help="What a suggestion covers.")
@click.option("--codes", help="Suggest these codes (comma-separated; a parent pools its "
              "sub-codes); default: every leaf code.")
@click.option("--min-score", type=float, default=0.35, show_default=True,
              help="Leave out weaker suggestions (0-1).")
@click.option("--with-interviewer", is_flag=True, help="Also suggest for interviewer turns.")
@project_option
@coder_option
@json_option
@click.pass_context
def suggest(ctx: click.Context, documents: tuple[str, ...], unit: str, codes: str | None,
            min_score: float, with_interviewer: bool, project: Path | None,
            coder: str | None, as_json: bool) -> None:
    """Propose codes for sentences or turns, with reasons; nothing is coded until accepted.

    With --json, prints one JSON object per line per suggestion. Subcommands:
    list, accept, reject, evaluate.
    """
    if ctx.invoked_subcommand is not None:
        return
    from qcode import services
    from qcode.config import configured_coder

    with opened(project) as store:
        found = services.suggest(store, documents=list(documents) or None, unit=unit,
                                 codes=_split(codes), min_score=min_score,
                                 coder=coder or configured_coder(),
                                 include_interviewer=with_interviewer)
    if as_json:
        for sg in found:
            click.echo(json.dumps(_suggestion_json(sg), ensure_ascii=False))
        return
    for sg in found:
        click.echo(f"[{sg.id}] {sg.document} {sg.start}-{sg.end} {sg.path} {sg.score:.2f}")
        click.echo(f"      «{_excerpt(sg.text, 100)}»")
        click.echo(f"      {sg.reason}")
    click.echo(f"{len(found)} suggestions; accept with 'qcode suggest accept ID...', "
               "reject with 'qcode suggest reject ID...'")


@suggest.command("list")
@click.option("--document", help="Only this document.")
@click.option("--status", type=click.Choice(["pending", "accepted", "rejected"]),
              default="pending", show_default=True, help="Which suggestions.")
@project_option
@json_option
def suggest_list(document: str | None, status: str, project: Path | None,
                 as_json: bool) -> None:
    """List stored suggestions."""
    from qcode import services

    with opened(project) as store:
        found = services.list_suggestions(store, document=document, status=status)
    if as_json:
        for sg in found:
            click.echo(json.dumps(_suggestion_json(sg), ensure_ascii=False))
        return
    echo_table(["id", "document", "span", "code", "score", "text"],
               [[sg.id, sg.document, f"{sg.start}-{sg.end}", sg.code, round(sg.score, 2),
                 _excerpt(sg.text, 50)] for sg in found])


@suggest.command("accept")
@click.argument("ids", nargs=-1, required=True, type=int)
@project_option
@coder_option
def suggest_accept(ids: tuple[int, ...], project: Path | None, coder: str | None) -> None:
    """Accept suggestions: they become codings of the active coder (undoable)."""
    from qcode import services

    with opened(project) as store:
        codings = services.accept_suggestions(store, list(ids), coder)
    click.echo(f"accepted {len(codings)} suggestions as codings {', '.join(map(str, codings))}")


@suggest.command("reject")
@click.argument("ids", nargs=-1, required=True, type=int)
@project_option
@coder_option
def suggest_reject(ids: tuple[int, ...], project: Path | None, coder: str | None) -> None:
    """Reject suggestions: never proposed again for the same span and code."""
    from qcode import services

    with opened(project) as store:
        n = services.reject_suggestions(store, list(ids), coder)
    click.echo(f"rejected {n} suggestions")


@suggest.command("evaluate")
@click.option("--gold", "gold", default="coder-a", show_default=True,
              help="The coder whose codings are the reference.")
@click.option("--unit", type=click.Choice(["sentence", "turn"]), default="turn",
              show_default=True, help="Unit of evaluation.")
@click.option("--codes", default="samarbeid,praksislogikker,prestisje", show_default=True,
              help="Codes to evaluate (each pools its sub-codes).")
@click.option("--warm", is_flag=True, help="Also learn from the gold coder's other documents "
              "(leave one document out).")
@click.option("--thresholds", default="0.35,0.5,0.65", show_default=True,
              help="Score thresholds to report.")
@click.option("--against", "reference", help="Score another coder's codings instead of "
              "suggestions (the human reference).")
@click.option("--rollup", is_flag=True, help="Suggest without --codes (most specific codes) "
              "and count each suggestion for its top-level code.")
@project_option
@json_option
def suggest_evaluate(gold: str, unit: str, codes: str, warm: bool, thresholds: str,
                     reference: str | None, rollup: bool, project: Path | None,
                     as_json: bool) -> None:
    """Precision, recall and F1 of suggestions against a coder's codings."""
    from qcode import services

    levels = tuple(float(t) for t in thresholds.split(","))
    with opened(project) as store:
        result = services.evaluate_suggestions(store, gold_coder=gold, unit=unit,
                                               codes=_split(codes), warm=warm,
                                               thresholds=levels, reference_coder=reference,
                                               rollup=rollup)
    if as_json:
        echo_json(result)
        return
    rows = []
    for code, by in result["codes"].items():
        for th, v in by.items():
            rows.append([code, th, v["precision"], v["recall"], v["f1"], v["gold_units"]])
    click.echo(f"{'warm' if warm else 'cold'} start, unit {unit}, {result['units']} units, "
               f"gold {gold}")
    echo_table(["code", "threshold", "precision", "recall", "F1", "gold units"], rows)


# -- agreement ---------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    import math

    if value is None:
        return ""
    return "n/a" if math.isnan(value) else f"{value:.3f}"


@cli.command()
@click.option("--coders", required=True, help="Coder ids, comma-separated (two or more).")
@click.option("--unit", type=click.Choice(["turn", "sentence", "paragraph", "document",
                                           "character", "unitized"]),
              default="turn", show_default=True, help="The unit of agreement.")
@click.option("--codes", help="Codes (comma-separated; default: the top two levels).")
@click.option("--no-rollup", is_flag=True, help="Do not count sub-codes as their parent.")
@click.option("--by", type=click.Choice(["document", "role"]), help="One row per document "
              "or role as well as per code.")
@click.option("--with-interviewer", is_flag=True, help="Include interviewer turns.")
@click.option("--bootstrap", default=1000, show_default=True,
              help="Bootstrap samples for the alpha interval (0 = none).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "md"]),
              default="table", show_default=True, help="Output format.")
@click.option("--save", "save_as", help="Store the result as a report with this name.")
@project_option
def agree(coders: str, unit: str, codes: str | None, no_rollup: bool, by: str | None,
          with_interviewer: bool, bootstrap: int, fmt: str, save_as: str | None,
          project: Path | None) -> None:
    """Intercoder agreement per code: Krippendorff's alpha (with interval), kappa, % agreement."""
    import csv
    import io
    from dataclasses import asdict

    from qcode import services

    with opened(project) as store:
        rep = services.compute_agreement(store, _split(coders) or [], unit=unit,
                                         codes=_split(codes), rollup=not no_rollup, by=by,
                                         include_interviewer=with_interviewer,
                                         bootstrap=bootstrap)
        if save_as:
            services.save_agreement_report(store, save_as, rep)
        services.mark_agreement_computed(store, rep.coders)
    header = ["code", "group", "units", *[f"coded {c}" for c in rep.coders], "alpha",
              "95% CI", "kappa", "% agree", "reading"]
    rows = [[r.path, r.group, r.n_units, *[r.coded_by.get(c, 0) for c in rep.coders],
             _fmt(r.alpha), f"{_fmt(r.ci_low)}-{_fmt(r.ci_high)}" if r.ci_low is not None
             else "", _fmt(r.kappa), _fmt(r.percent), r.reading.split(":")[0]]
            for r in rep.rows]
    if fmt == "json":
        echo_json({"coders": rep.coders, "unit": rep.unit, "documents": rep.documents,
                   "rollup": rep.rollup, "include_interviewer": rep.include_interviewer,
                   "notes": rep.notes, "rows": [asdict(r) for r in rep.rows]})
        return
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        w.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
        return
    intro = (f"Agreement between {', '.join(rep.coders)}; unit: {rep.unit}; "
             f"{len(rep.documents)} documents coded by all")
    if fmt == "md":
        click.echo(f"{intro}\n")
        click.echo("| " + " | ".join(header) + " |")
        click.echo("|" + "---|" * len(header))
        for row in rows:
            click.echo("| " + " | ".join(str(v) for v in row) + " |")
        return
    click.echo(intro)
    echo_table(header, rows)
    for note in rep.notes:
        click.echo(f"Note: {note}", err=True)
    click.echo("alpha >= 0.800: reliable; 0.667-0.800: tentative conclusions only; "
               "< 0.667: unreliable (Krippendorff)")


@cli.group(cls=QcodeGroup)
def review() -> None:
    """Review disagreements and write consensus codings."""


@review.command("list")
@click.option("--coders", required=True, help="Coder ids, comma-separated.")
@click.option("--code", "code_ref", required=True, help="The code to review.")
@click.option("--unit", type=click.Choice(["turn", "sentence", "paragraph", "document"]),
              default="turn", show_default=True, help="The unit of agreement.")
@click.option("--all", "show_all", is_flag=True, help="Also units decided already.")
@project_option
@json_option
def review_list(coders: str, code_ref: str, unit: str, show_all: bool, project: Path | None,
                as_json: bool) -> None:
    """Units where the coders disagree on CODE, side by side with context."""
    from dataclasses import asdict

    from qcode import services

    with opened(project) as store:
        items = services.disagreements(store, _split(coders) or [], code_ref, unit)
    if not show_all:
        items = [i for i in items if i.decided is None]
    if as_json:
        echo_json([asdict(i) for i in items])
        return
    for i in items:
        who = ", ".join(f"{c}: {'yes' if v else 'no'}" for c, v in i.values.items())
        click.echo(f"{i.document} {i.start}-{i.end}  {who}" +
                   (f"  [decided: {i.decided}]" if i.decided else ""))
        if i.context_before:
            click.echo(f"    … {_excerpt(i.context_before, 90)}")
        click.echo(f"    «{_excerpt(i.text, 240)}»")
    click.echo(f"{len(items)} disagreements on {code_ref}. Resolve one with 'qcode review "
               "resolve --coders ... --code ... --document D --start S --end E --decision a'")


@review.command("resolve")
@click.option("--coders", required=True,
              help="Coder ids, comma-separated (two: A first, then B; or more).")
@click.option("--code", "code_ref", required=True, help="The code reviewed.")
@click.option("--unit", type=click.Choice(["turn", "sentence", "paragraph", "document"]),
              default="turn", show_default=True, help="The unit of agreement.")
@click.option("--document", required=True, help="The document of the unit.")
@click.option("--start", type=int, required=True, help="The unit's start offset.")
@click.option("--end", type=int, required=True, help="The unit's end offset.")
@click.option("--decision", type=click.Choice(["a", "b", "both", "neither", "discuss"]),
              help="Keep coder A's, B's, both, neither, or discuss later (two coders).")
@click.option("--keep", help="Or: keep the codings of these coders (comma-separated; any "
              "number of the compared coders, 'none' for none).")
@click.option("--note", default="", help="A note on the decision (for discuss, the question).")
@project_option
@coder_option
def review_resolve(coders: str, code_ref: str, unit: str, document: str, start: int, end: int,
                   decision: str | None, keep: str | None, note: str, project: Path | None,
                   coder: str | None) -> None:
    """Resolve one disagreement; the result is written as the 'consensus' coder's codings.

    With two coders use --decision; with any number, --keep names whose codings stay.
    """
    from qcode import services
    from qcode.errors import InputError, NotFound

    if (decision is None) == (keep is None):
        raise InputError("give either --decision or --keep",
                         "e.g. --decision both, or --keep coder-a,coder-c")
    names = _split(coders) or []
    with opened(project) as store:
        items = services.disagreements(store, names, code_ref, unit)
        match = [i for i in items if i.document == document and i.start == start
                 and i.end == end]
        if not match:
            raise NotFound(f"no disagreement on {code_ref} at {document} {start}-{end}",
                           "list them with 'qcode review list'")
        if keep is not None:
            kept = [] if keep.strip().lower() == "none" else (_split(keep) or [])
            n = services.resolve_by_keeping(store, match[0], kept, note, coders=names,
                                            actor=coder)
            decided = f"keep {', '.join(kept) or 'none'}"
        else:
            assert decision is not None
            n = services.resolve_disagreement(store, match[0], decision, note, coders=names,
                                              actor=coder)
            decided = decision
    click.echo(f"decided {decided}: {n} consensus codings written")


# -- team work ---------------------------------------------------------------------------


@cli.group(cls=QcodeGroup)
def bundle() -> None:
    """Coder bundles: send your codings to the master project and merge them safely."""


@bundle.command("export")
@click.argument("out", type=click.Path(path_type=Path))
@project_option
@coder_option
def bundle_export(out: Path, project: Path | None, coder: str | None) -> None:
    """Write the active coder's codings, memos and codebook revisions to OUT (a .zip)."""
    from qcode import services

    with opened(project) as store:
        who = services.resolve_coder(store, coder, create=False)
        info = services.export_bundle(store, who.id, out)
    click.echo(f"Wrote {info.path}: {info.codings} codings, {info.memos} memos on "
               f"{info.documents} documents by {info.coder} (sha256 {info.sha256[:12]}…)")


@bundle.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report; write nothing.")
@project_option
@coder_option
@json_option
def bundle_import(files: tuple[Path, ...], dry_run: bool, project: Path | None,
                  coder: str | None, as_json: bool) -> None:
    """Merge coder bundles: documents matched by content hash, codes by id; all or nothing."""
    from dataclasses import asdict

    from qcode import services

    conflicts = False
    reports = []
    with opened(project) as store:
        for path in files:
            if not dry_run:
                services.backup_before(store, "bundle-import")
            report = services.import_bundle(store, path, actor=coder, dry_run=dry_run)
            conflicts = conflicts or bool(report.conflicts)
            reports.append(report)
    if as_json:
        echo_json([{**asdict(r), "applied": r.applied, "changed": r.changed} for r in reports])
    else:
        for r in reports:
            for line in r.lines():
                click.echo(line)
    if conflicts:
        sys.exit(1)


@cli.command()
@click.argument("state", required=False, type=click.Choice(["on", "off"]))
@project_option
@coder_option
def blind(state: str | None, project: Path | None, coder: str | None) -> None:
    """Blind coding: hide other coders' codings until agreement is computed."""
    from qcode import services
    from qcode.config import configured_coder

    with opened(project) as store:
        if state is not None:
            services.set_blind(store, state == "on", actor=coder)
        on = services.is_blind(store)
        visible = services.visible_coders(store, coder or configured_coder())
    click.echo(f"blind coding {'on' if on else 'off'}; visible coders: "
               f"{', '.join(visible) or '(none: set your coder id)'}")


@export_group.command("qdpx")
@click.argument("out", type=click.Path(path_type=Path))
@project_option
def export_qdpx_cmd(out: Path, project: Path | None) -> None:
    """Export the project as REFI-QDA (.qdpx) for NVivo, MAXQDA, ATLAS.ti, QualCoder."""
    from qcode.refi_project import export_qdpx

    with opened(project) as store:
        info = export_qdpx(store, out)
    click.echo(f"Wrote {out}")
    for note in getattr(info, "left_out", []) or []:
        click.echo(f"  left out: {note}", err=True)


@export_group.command("bundle")
@click.argument("out", type=click.Path(path_type=Path))
@project_option
@coder_option
@click.pass_context
def export_bundle_cmd(ctx: click.Context, out: Path, project: Path | None,
                      coder: str | None) -> None:
    """Same as 'qcode bundle export'."""
    ctx.invoke(bundle_export, out=out, project=project, coder=coder)


# -- demo --------------------------------------------------------------------------------


@cli.command()
@click.argument("project", required=False, type=click.Path(path_type=Path))
@click.option("--coder", help="Code as this coder (default: $QCODE_CODER, then "
              "'qcode config coder').")
@click.option("--document", help="Open this document in the coding view.")
@click.option("--key", "keys", multiple=True, metavar="ID=KEYS",
              help="Other keys for a binding, by its id in docs/tui.md, e.g. "
                   "coding.apply=enter,a.")
def tui(project: Path | None, coder: str | None, document: str | None,
        keys: tuple[str, ...]) -> None:
    """Open the project in the terminal UI: documents, coding, suggestions, codebook, queries,
    agreement."""
    from qcode import services
    from qcode.tui import TuiSettings, run

    keymap = dict(k.split("=", 1) for k in keys if "=" in k)
    run(services.find_project(project), TuiSettings(coder=coder, document=document,
                                                    keymap=keymap))


@cli.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path),
              help="Build the demo project here (default: a new temporary folder).")
@click.option("--force", is_flag=True, help="Replace an existing demo project in --dir.")
@click.option("--no-tui", is_flag=True,
              help="Only build and summarise the demo; do not open the terminal UI.")
def demo(directory: Path | None, force: bool, no_tui: bool) -> None:
    """Build a demo project from the shipped sample corpus, summarise it, and open it.

    On a terminal the demo opens in the terminal UI; otherwise (or with --no-tui)
    it prints the path of the project and how to open it.
    """
    from qcode import services
    from qcode.demo import build_demo

    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="qcode-demo-"))
    result = build_demo(directory, force=force,
                        progress=lambda step: click.echo(f"  {step}", err=True))
    print_import_report(result.import_report)
    for coder, n in result.codings.items():
        click.echo(f"Codings by {coder}: {n}")
    click.echo("")
    with opened(result.path) as store:
        print_info(services.project_info(store))
    click.echo("")
    click.echo(f"Demo project: {result.path}")
    if not no_tui and sys.stdin.isatty() and sys.stdout.isatty():
        from qcode.tui import run

        run(result.path)
        return
    click.echo(f"Open it: qcode tui {result.path}")
    click.echo(f"Or try:  qcode docs -p {result.path}    qcode show JS1 -p {result.path}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="qcode")
