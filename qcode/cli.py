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
    try:
        yield store
    finally:
        store.close()


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def echo_json(data: object) -> None:
    """Print data as indented UTF-8 JSON."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))


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
    click.echo(f"History   {c['events']} events; {data['backups']} backups in "
               f"{data['backup_folder']}")


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
    """Import files or folders (.txt .md .docx .odt .pdf .vtt .srt .csv .xlsx).

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
    parts = [f"{report.count(s)} {label}" for s, label in
             (("new", "new"), ("new_version", "new versions"), ("unchanged", "unchanged"),
              ("duplicate", "duplicates skipped"), ("failed", "failed")) if report.count(s)]
    prefix = "Dry run (nothing written): " if report.dry_run else ""
    click.echo(prefix + (", ".join(parts) or "nothing imported"))


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


# -- demo --------------------------------------------------------------------------------


@cli.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path),
              help="Build the demo project here (default: a new temporary folder).")
@click.option("--force", is_flag=True, help="Replace an existing demo project in --dir.")
def demo(directory: Path | None, force: bool) -> None:
    """Build a demo project from the shipped sample corpus and summarise it."""
    from qcode import services
    from qcode.demo import build_demo

    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="qcode-demo-"))
    result = build_demo(directory, force=force,
                        progress=lambda step: click.echo(f"  {step}", err=True))
    print_import_report(result.import_report)
    click.echo("")
    with opened(result.path) as store:
        print_info(services.project_info(store))
    click.echo("")
    click.echo(f"Demo project: {result.path}")
    click.echo(f"Try: qcode docs -p {result.path}    qcode show JS1 -p {result.path}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="qcode")
