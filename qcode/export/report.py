"""Query reports: quote tables with coverage, in six formats, and simple count tables.

A report (``ReportData``) is a query result grouped by code: each ``CodeSection``
holds the hits of one code and that code's coverage per role or attribute
("7 av 9 jobbspesialister"); hits without codes (text searches) come last. The
writers only format what they are given:

- ``md``: GitHub-flavoured Markdown, one quote table per code;
- ``html``: one self-contained, printable page (inline CSS, no scripts, no links);
- ``csv``: one row per hit and code, for R or Excel (optionally with a BOM);
- ``xlsx``: a sheet per code after an overview, or one flat table with a column
  per code-path level (``level1``, ``level2`` ...);
- ``docx``: a Word document with a quote table per code (header row repeating);
- ``presence``: a 0/1 table (CSV) of which codes occur per document or speaker.

Quotes follow Norwegian conventions: «…» around them, inner «» as ‹›, ``(...)``
where text is left out. Labels are Norwegian for nb/nn/no and English otherwise.
Same input, same bytes: the only time written is ``created_at``.
"""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qcode.codebook import COLOR_PATTERN, DEFAULT_COLOR
from qcode.errors import InputError
from qcode.export.codebook import _fill, _set_repeat_header, _shade, labels_for, md_cell

if TYPE_CHECKING:
    from qcode.query.aggregate import FrequencyRow, Matrix
    from qcode.query.engine import Coverage, Hit

FORMATS = ("md", "html", "csv", "xlsx", "docx", "presence")
TABLE_FORMATS = ("md", "csv", "xlsx", "html")
XLSX_LAYOUTS = ("per-code", "one-table")
PRESENCE_BY = ("document", "speaker")
CSV_COLUMNS = ("code", "code_path", "document", "speaker", "role", "turn", "line", "time",
               "start", "end", "coders", "text")
DEFAULT_MAX_WORDS = 80
# Quote table of the DOCX report, millimetres (portrait A4 with 20 mm margins: 170 mm).
DOCX_WIDTHS_MM = (98, 18, 26, 28)
DOCX_FONT_PT = 9
_SUFFIXES = {"md": "md", "markdown": "md", "html": "html", "htm": "html", "csv": "csv",
             "xlsx": "xlsx", "docx": "docx"}


@dataclass(frozen=True)
class CodeSection:
    """The hits of one code, with the coverage of those hits per role (or attribute)."""

    code: str
    path: str
    name: str
    color: str
    hits: list[Hit]
    coverage: list[Coverage]


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows; built by the services layer from a query result.

    ``documents`` and ``speakers`` (speaker id -> role) list the rows of the
    presence table that have no hits; without them only rows with hits appear.
    """

    title: str
    query: str
    unit: str
    created_at: str
    coders: list[str]
    codebook_revisions: dict[str, int]
    sections: list[CodeSection]
    ungrouped: list[Hit]
    coverage: list[Coverage]
    full_text: bool = False
    language: str = "nb"
    documents: list[str] = field(default_factory=list)
    speakers: dict[str, str | None] = field(default_factory=dict)


# -- words ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLabels:
    """The words of a report in one language."""

    query: str
    unit: str
    created: str
    coders: str
    codebooks: str
    revision: str
    coverage: str
    hits: str
    shortened: str
    quote: str
    informant: str
    role: str
    source: str
    ungrouped: str
    no_hits: str
    overview: str
    code: str
    name: str
    turn: str
    line: str
    of: str
    informant_one: str
    informant_many: str
    no_role: str
    no_value: str
    total: str
    measure: str
    units: dict[str, str]
    roles: dict[str, tuple[str, str]]
    frequency: tuple[str, ...]
    frequency_title: str
    matrix_title: str


NB = ReportLabels(
    query="Spørring", unit="Enhet", created="Laget", coders="Kodere", codebooks="Kodebøker",
    revision="revisjon", coverage="Dekning", hits="Treff",
    shortened="Lange sitater er forkortet; (...) markerer utelatt tekst.",
    quote="Sitat", informant="Informant", role="Rolle", source="Kilde",
    ungrouped="Treff uten kode", no_hits="Ingen treff.", overview="Oversikt", code="Kode",
    name="Navn", turn="tur", line="linje", of="av", informant_one="informant",
    informant_many="informanter", no_role="uten rolle", no_value="uten verdi", total="Totalt",
    measure="Mål",
    units={"excerpt": "utdrag", "turn": "taletur", "document": "dokument"},
    roles={"jobbspesialist": ("jobbspesialist", "jobbspesialister"),
           "veileder": ("veileder", "veiledere"),
           "respondent": ("respondent", "respondenter"),
           "deltaker": ("deltaker", "deltakere")},
    frequency=("Kode (sti)", "Navn", "Kodinger", "Dokumenter", "Informanter", "Ord",
               "Egne kodinger"),
    frequency_title="Kodefrekvenser", matrix_title="Matrise",
)
EN = ReportLabels(
    query="Query", unit="Unit", created="Created", coders="Coders", codebooks="Codebooks",
    revision="revision", coverage="Coverage", hits="Hits",
    shortened="Long quotes are shortened; (...) marks left-out text.",
    quote="Quote", informant="Informant", role="Role", source="Source",
    ungrouped="Hits without codes", no_hits="No hits.", overview="Overview", code="Code",
    name="Name", turn="turn", line="line", of="of", informant_one="informant",
    informant_many="informants", no_role="no role", no_value="no value", total="Total",
    measure="Measure",
    units={"excerpt": "excerpt", "turn": "turn", "document": "document"},
    roles={},
    frequency=("Code (path)", "Name", "Codings", "Documents", "Informants", "Words",
               "Own codings"),
    frequency_title="Code frequencies", matrix_title="Matrix",
)


def report_labels(language: str) -> ReportLabels:
    """Norwegian labels for nb/nn/no (and regional variants), English otherwise."""
    return NB if labels_for(language).title == "Kodebok" else EN


# -- quotes, places, coverage -----------------------------------------------------------

_TERMINATOR = re.compile(r"[.!?…][»›”\"')\]]*\s+")
_OPENERS = "«‹\"'([“–—-"
_GAP = "(...)"
_DOUBLE_GAP = re.compile(r"\(\.\.\.\)(?:\s+\(\.\.\.\))+")


def _sentences(text: str) -> list[str]:
    """Sentences of whitespace-collapsed text: a terminator, space, then a capital or digit."""
    out, start = [], 0
    for m in _TERMINATOR.finditer(text):
        nxt = text[m.end():].lstrip(_OPENERS)[:1]
        if nxt and (nxt.isupper() or nxt.isdigit()):
            out.append(text[start:m.end()].strip())
            start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def _shorten(text: str, max_words: int) -> str:
    sentences = _sentences(text)
    counts = [len(s.split()) for s in sentences]
    if len(sentences) < 2 or counts[0] > max_words:
        return " ".join(text.split()[:max_words]) + " " + _GAP
    head: list[int] = [0]
    tail: list[int] = []
    used, i, j, tail_next = counts[0], 1, len(sentences) - 1, True
    while i <= j:
        sides = ("tail", "head") if tail_next else ("head", "tail")
        fits = [side for side in sides if used + counts[j if side == "tail" else i] <= max_words]
        if not fits:
            break
        side = fits[0]
        if side == "tail":
            used += counts[j]
            tail.insert(0, j)
            j -= 1
        else:
            used += counts[i]
            head.append(i)
            i += 1
        tail_next = side == "head"
    left = " ".join(sentences[k] for k in head)
    right = " ".join(sentences[k] for k in tail)
    joined = f"{left} {_GAP} {right}".strip()
    return _DOUBLE_GAP.sub(_GAP, joined)


def format_quote(text: str, *, max_words: int = DEFAULT_MAX_WORDS, full: bool = False) -> str:
    """An excerpt as a Norwegian quote: «…», inner «» as ‹›, long text cut with (...)."""
    body = " ".join(text.split()).replace("«", "‹").replace("»", "›")
    if not body:
        return ""
    if not full and len(body.split()) > max(max_words, 1):
        body = _shorten(body, max(max_words, 1))
    return f"«{body}»"


def clock(seconds: float | None) -> str:
    """Seconds as HH:MM:SS ('' for None)."""
    if seconds is None:
        return ""
    whole = max(int(seconds), 0)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def location(hit: Hit, *, language: str = "nb", document: bool = False,
             speaker: bool = True) -> str:
    """Where a hit stands: "JS3, tur 14, linje 52, 00:12:31" (document first if asked)."""
    labels = report_labels(language)
    parts = []
    if document and hit.document:
        parts.append(hit.document)
    if speaker and hit.speaker:
        parts.append(hit.speaker)
    if hit.turn is not None:
        parts.append(f"{labels.turn} {hit.turn}")
    parts.append(f"{labels.line} {hit.line}")
    if hit.time is not None:
        parts.append(clock(hit.time))
    return ", ".join(parts)


def _source(hit: Hit, language: str) -> str:
    return location(hit, language=language, document=True, speaker=False)


def coverage_phrase(coverage: Coverage, language: str = "nb") -> str:
    """"7 av 9 jobbspesialister"; unknown groups as "2 av 4 informanter (leder)"."""
    labels = report_labels(language)
    total = coverage.total
    forms = labels.roles.get(coverage.group.strip().casefold())
    if forms is not None:
        noun = forms[0] if total == 1 else forms[1]
    else:
        noun = labels.informant_one if total == 1 else labels.informant_many
        group = {"(no role)": labels.no_role, "(none)": labels.no_value}.get(
            coverage.group, coverage.group.strip())
        if group:
            noun += f" ({group})"
    return f"{len(coverage.informants)} {labels.of} {total} {noun}"


def coverage_line(coverage: Sequence[Coverage], language: str = "nb") -> str:
    """"7 av 9 jobbspesialister, 3 av 9 veiledere" ('' without coverage)."""
    return ", ".join(coverage_phrase(c, language) for c in coverage)


def _hit_count(data: ReportData) -> int:
    seen = {(h.document, h.start, h.end) for s in data.sections for h in s.hits}
    seen |= {(h.document, h.start, h.end) for h in data.ungrouped}
    return len(seen)


def _meta(data: ReportData, labels: ReportLabels) -> list[tuple[str, str]]:
    """(label, value) lines under the title; the query comes first."""
    out = [(labels.query, data.query),
           (labels.unit, labels.units.get(data.unit, data.unit)),
           (labels.created, data.created_at)]
    if data.coders:
        out.append((labels.coders, ", ".join(data.coders)))
    if data.codebook_revisions:
        out.append((labels.codebooks, ", ".join(
            f"{name} ({labels.revision} {rev})"
            for name, rev in sorted(data.codebook_revisions.items(),
                                    key=lambda kv: kv[0].casefold()))))
    line = coverage_line(data.coverage, data.language)
    if line:
        out.append((labels.coverage, line))
    out.append((labels.hits, str(_hit_count(data))))
    return out


def _color(color: str) -> str:
    return color.upper() if COLOR_PATTERN.match(color) else DEFAULT_COLOR


def _quote(data: ReportData, hit: Hit) -> str:
    return format_quote(hit.text, full=data.full_text)


def _quote_cells(data: ReportData, hit: Hit) -> tuple[str, str, str, str]:
    """Quote, informant, role and source of a hit, as the quote tables show them."""
    return (_quote(data, hit), hit.speaker or "", hit.role or "", _source(hit, data.language))


# -- Markdown ---------------------------------------------------------------------------


def _code_span(text: str) -> str:
    runs = [len(r) for r in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(md_cell(c) for c in cells) + " |"


def _md_quotes(data: ReportData, hits: Sequence[Hit], labels: ReportLabels) -> list[str]:
    if not hits:
        return [f"*{labels.no_hits}*", ""]
    lines = [_md_row((labels.quote, labels.informant, labels.role, labels.source)),
             "|---|---|---|---|"]
    lines += [_md_row(_quote_cells(data, hit)) for hit in hits]
    return [*lines, ""]


def report_markdown(data: ReportData) -> str:
    """The report as GitHub-flavoured Markdown."""
    labels = report_labels(data.language)
    lines = [f"# {md_cell(data.title)}", ""]
    for key, value in _meta(data, labels):
        shown = _code_span(" ".join(value.split())) if key == labels.query else md_cell(value)
        lines.append(f"- **{key}:** {shown}")
    lines.append("")
    if not data.full_text:
        lines += [f"*{labels.shortened}*", ""]
    for section in data.sections:
        lines += [f"## {md_cell(section.name)} ({_code_span(section.path)})", ""]
        line = coverage_line(section.coverage, data.language)
        if line:
            lines += [f"*{md_cell(line)}*", ""]
        lines += _md_quotes(data, section.hits, labels)
    if data.ungrouped:
        lines += [f"## {labels.ungrouped}", ""]
        lines += _md_quotes(data, data.ungrouped, labels)
    return "\n".join(lines)


# -- HTML -------------------------------------------------------------------------------

_CSS = """
body { font-family: Georgia, "Times New Roman", serif; color: #222; line-height: 1.45;
       max-width: 62rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .6rem; }
h2 { font-size: 1.2rem; margin: 0 0 .3rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem;
          font-size: .9rem; margin: 0 0 1rem; }
dl.meta dt { font-weight: bold; }
dl.meta dd { margin: 0; }
p.note { font-size: .85rem; font-style: italic; color: #555; }
section.code { border-left: .45rem solid #888888; padding-left: 1rem; margin: 2rem 0; }
.swatch { display: inline-block; width: .9em; height: .9em; border-radius: .15em;
          margin-right: .45em; vertical-align: -.08em; border: 1px solid rgba(0,0,0,.25); }
.path { font-family: Menlo, Consolas, monospace; font-size: .8em; font-weight: normal;
        color: #555; }
p.coverage { font-style: italic; margin: 0 0 .6rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { border: 1px solid #c8c8c8; padding: .3rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #eeeeee; }
td.quote { width: 58%; }
td.num, th.num { text-align: right; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; page-break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
}
""".strip()


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _html_page(title: str, language: str, body: list[str]) -> str:
    lang = language.split("-")[0].split("_")[0].lower() if report_labels(language) is NB \
        else "en"
    head = ["<!DOCTYPE html>", f'<html lang="{lang}">', "<head>", '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_esc(title)}</title>", "<style>", _CSS, "</style>", "</head>", "<body>"]
    return "\n".join([*head, *body, "</body>", "</html>", ""])


def _html_quotes(data: ReportData, hits: Sequence[Hit], labels: ReportLabels) -> list[str]:
    if not hits:
        return [f'<p class="note">{_esc(labels.no_hits)}</p>']
    out = ["<table>", "<thead><tr>" + "".join(
        f"<th>{_esc(t)}</th>" for t in (labels.quote, labels.informant, labels.role,
                                        labels.source)) + "</tr></thead>", "<tbody>"]
    for hit in hits:
        quote, who, role, source = _quote_cells(data, hit)
        out.append(f'<tr><td class="quote">{_esc(quote)}</td><td>{_esc(who)}</td>'
                   f"<td>{_esc(role)}</td><td>{_esc(source)}</td></tr>")
    return [*out, "</tbody>", "</table>"]


def report_html(data: ReportData) -> str:
    """The report as one self-contained, printable HTML5 page."""
    labels = report_labels(data.language)
    body = ["<header>", f"<h1>{_esc(data.title)}</h1>", '<dl class="meta">']
    for key, value in _meta(data, labels):
        shown = f"<code>{_esc(value)}</code>" if key == labels.query else _esc(value)
        body.append(f"<dt>{_esc(key)}</dt><dd>{shown}</dd>")
    body.append("</dl>")
    if not data.full_text:
        body.append(f'<p class="note">{_esc(labels.shortened)}</p>')
    body.append("</header>")
    for section in data.sections:
        color = _color(section.color)
        body += [f'<section class="code" style="border-left-color: {color}">',
                 f'<h2><span class="swatch" style="background: {color}"></span>'
                 f'{_esc(section.name)} <span class="path">{_esc(section.path)}</span></h2>']
        line = coverage_line(section.coverage, data.language)
        if line:
            body.append(f'<p class="coverage">{_esc(line)}</p>')
        body += [*_html_quotes(data, section.hits, labels), "</section>"]
    if data.ungrouped:
        body += ['<section class="code">', f"<h2>{_esc(labels.ungrouped)}</h2>",
                 *_html_quotes(data, data.ungrouped, labels), "</section>"]
    return _html_page(data.title, data.language, body)


# -- CSV --------------------------------------------------------------------------------


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")


def _csv_row(code: str, path: str, hit: Hit) -> list[Any]:
    return [code, path, hit.document, hit.speaker or "", hit.role or "",
            "" if hit.turn is None else hit.turn, hit.line, clock(hit.time), hit.start,
            hit.end, "; ".join(hit.coders), hit.text]


def report_csv(data: ReportData, *, excel_bom: bool = False) -> bytes:
    """One row per hit and code (a hit with two codes twice), then hits without codes."""
    rows = [_csv_row(s.code, s.path, hit) for s in data.sections for hit in s.hits]
    rows += [_csv_row("", "", hit) for hit in data.ungrouped]
    return _csv_bytes(CSV_COLUMNS, rows, bom=excel_bom)


# -- presence table ---------------------------------------------------------------------


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(p)) if p.isdigit() else (1, p.casefold())
                 for p in re.split(r"(\d+)", text) if p)


def presence_rows(data: ReportData, by: str = "document") -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the 0/1 table: one row per document or speaker, a column per code."""
    codes = list(dict.fromkeys(s.code for s in data.sections))
    present: dict[str, set[str]] = {}
    roles: dict[str, str | None] = {}
    all_hits = [h for s in data.sections for h in s.hits] + list(data.ungrouped)
    if by == "speaker":
        for speaker, role in data.speakers.items():
            present.setdefault(speaker, set())
            roles[speaker] = role
        for hit in all_hits:
            if hit.speaker:
                present.setdefault(hit.speaker, set())
                roles[hit.speaker] = roles.get(hit.speaker) or hit.role
        for section in data.sections:
            for hit in section.hits:
                if hit.speaker:
                    present[hit.speaker].add(section.code)
        header = ["speaker", "role", *codes]
    else:
        for name in data.documents:
            present.setdefault(name, set())
        for hit in all_hits:
            present.setdefault(hit.document, set())
        for section in data.sections:
            for hit in section.hits:
                present[hit.document].add(section.code)
        header = ["document", *codes]
    rows = []
    for key in sorted(present, key=_natural):
        first: list[Any] = [key, roles.get(key) or ""] if by == "speaker" else [key]
        rows.append(first + [1 if code in present[key] else 0 for code in codes])
    return header, rows


# -- XLSX -------------------------------------------------------------------------------

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def sheet_name(wanted: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name (≤ 31 characters, none of []:*?/\\); adds it to taken."""
    base = _SHEET_BAD.sub("-", _XML_BAD.sub("", wanted)).strip().strip("'").strip() or "ark"
    if base.casefold() == "history":
        base += "_"
    name, n = base[:31], 1
    while name.casefold() in taken:
        n += 1
        suffix = f"~{n}"
        name = base[:31 - len(suffix)] + suffix
    taken.add(name.casefold())
    return name


def _timestamp(created_at: str) -> datetime:
    """``created_at`` as naive UTC (1980-01-01 if it is not an ISO date)."""
    try:
        when = datetime.fromisoformat(created_at.strip().replace("Z", "+00:00"))
    except ValueError:
        return datetime(1980, 1, 1)
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return max(when.replace(microsecond=0), datetime(1980, 1, 1))


def _stable_zip(data: bytes, when: datetime) -> bytes:
    """The same archive with every member stamped ``when`` (byte-identical output)."""
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()


class _XlStyles:
    """The cell styles of one workbook: each kind is built once, then its style array is
    copied to every cell of that kind (openpyxl would otherwise hash new ``Font`` and
    ``Alignment`` objects for every cell to find them in the workbook's style tables)."""

    def __init__(self) -> None:
        self._arrays: dict[tuple[bool, bool], Any] = {}

    def apply(self, cell: Any, *, bold: bool, wrap: bool) -> None:
        """Bold or not, wrapped or not, aligned to the top."""
        from copy import copy

        array = self._arrays.get((bold, wrap))
        if array is not None:
            cell._style = copy(array)
            return
        from openpyxl.styles import Alignment, Font

        if bold:
            cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=wrap, vertical="top")
        self._arrays[bold, wrap] = copy(cell._style)


def _xl_set(ws: Any, styles: _XlStyles, row: int, column: int, value: Any, *,
            bold: bool = False, wrap: bool = False) -> None:
    cell = ws.cell(row=row, column=column)
    styles.apply(cell, bold=bold, wrap=wrap)  # first: a value may set a number format
    if isinstance(value, str):
        cell.value = _XML_BAD.sub("", value)
        cell.data_type = "s"  # text starting with "=" stays text, not a formula
    else:
        cell.value = value


def _xl_table(ws: Any, styles: _XlStyles, header: Sequence[str],
              rows: Iterable[Sequence[Any]], widths: Sequence[float],
              wrap: Sequence[bool] | None = None) -> None:
    """A header row (bold, frozen, with a filter) and rows, with column widths."""
    from openpyxl.utils import get_column_letter

    for c, title in enumerate(header, start=1):
        _xl_set(ws, styles, 1, c, title, bold=True, wrap=True)
    count = 1
    for r, values in enumerate(rows, start=2):
        count = r
        for c, value in enumerate(values, start=1):
            _xl_set(ws, styles, r, c, value, wrap=bool(wrap and wrap[c - 1]))
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = "A2"
    if header:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{count}"


def _workbook(title: str, created_at: str, creator: str) -> Any:
    import openpyxl

    wb = openpyxl.Workbook()
    when = _timestamp(created_at)
    props = wb.properties
    props.title = title
    props.creator = creator
    props.lastModifiedBy = "qcode"
    props.created = when
    props.modified = when
    return wb


def _workbook_bytes(wb: Any, created_at: str) -> bytes:
    from openpyxl.writer.excel import ExcelWriter

    buffer = io.BytesIO()  # stored, not compressed: _stable_zip compresses the members
    archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True)
    ExcelWriter(wb, archive).save()  # unlike Workbook.save, keeps properties.modified
    return _stable_zip(buffer.getvalue(), _timestamp(created_at))


def _xlsx_overview(ws: Any, styles: _XlStyles, data: ReportData,
                   labels: ReportLabels) -> None:
    from openpyxl.styles import Font

    _xl_set(ws, styles, 1, 1, data.title)
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    r = 2
    for key, value in _meta(data, labels):
        _xl_set(ws, styles, r, 1, key, bold=True)
        _xl_set(ws, styles, r, 2, value, wrap=True)
        r += 1
    if not data.full_text:
        _xl_set(ws, styles, r, 1, labels.shortened)
        r += 1
    r += 1
    header = (labels.code, labels.name, labels.hits, labels.coverage)
    for c, title in enumerate(header, start=1):
        _xl_set(ws, styles, r, c, title, bold=True)
    for section in data.sections:
        r += 1
        cells = (section.path, section.name, len(section.hits),
                 coverage_line(section.coverage, data.language))
        for c, cell in enumerate(cells, start=1):
            _xl_set(ws, styles, r, c, cell, wrap=c in (2, 4))
    if data.ungrouped:
        r += 1
        for c, cell in enumerate((labels.ungrouped, "", len(data.ungrouped), ""), start=1):
            _xl_set(ws, styles, r, c, cell)
    for letter, width in zip("ABCD", (34, 40, 8, 60), strict=True):
        ws.column_dimensions[letter].width = width


def _xlsx_quote_rows(data: ReportData, hits: Sequence[Hit]) -> list[list[Any]]:
    return [[*_quote_cells(data, hit), ", ".join(hit.coders)] for hit in hits]


def report_xlsx(data: ReportData, layout: str = "per-code") -> bytes:
    """An overview and a sheet per code, or one flat table with code-path level columns."""
    labels = report_labels(data.language)
    wb = _workbook(data.title, data.created_at, ", ".join(data.coders) or "qcode")
    ws = wb.active
    styles = _XlStyles()
    taken: set[str] = set()
    if layout == "one-table":
        ws.title = sheet_name(labels.hits, taken)
        depth = max((len(s.path.split("/")) for s in data.sections), default=1)
        levels = [f"level{n}" for n in range(1, depth + 1)]
        header = [*levels, "code", "document", "speaker", "role", "turn", "line", "time",
                  "coders", "quote"]
        rows: list[list[Any]] = []
        for section in data.sections:
            parts = section.path.split("/")
            padded = parts + [""] * (depth - len(parts))
            rows += [[*padded, section.code, *_flat_hit(data, hit)] for hit in section.hits]
        rows += [[*([""] * depth), "", *_flat_hit(data, hit)] for hit in data.ungrouped]
        widths = [18.0] * depth + [18, 22, 10, 16, 6, 7, 10, 16, 80]
        _xl_table(ws, styles, header, rows, widths, [False] * (len(header) - 1) + [True])
        return _workbook_bytes(wb, data.created_at)
    ws.title = sheet_name(labels.overview, taken)
    _xlsx_overview(ws, styles, data, labels)
    header = [labels.quote, labels.informant, labels.role, labels.source, labels.coders]
    widths = [80.0, 12, 16, 36, 16]
    wrap = [True, False, False, True, False]
    for section in data.sections:
        sheet = wb.create_sheet(sheet_name(section.code, taken))
        _xl_table(sheet, styles, header, _xlsx_quote_rows(data, section.hits), widths, wrap)
    if data.ungrouped:
        sheet = wb.create_sheet(sheet_name(labels.ungrouped, taken))
        _xl_table(sheet, styles, header, _xlsx_quote_rows(data, data.ungrouped), widths,
                  wrap)
    return _workbook_bytes(wb, data.created_at)


def _flat_hit(data: ReportData, hit: Hit) -> list[Any]:
    return [hit.document, hit.speaker or "", hit.role or "", hit.turn, hit.line,
            clock(hit.time), ", ".join(hit.coders), _quote(data, hit)]


# -- DOCX -------------------------------------------------------------------------------


def _docx_text(text: str) -> str:
    return _XML_BAD.sub("", text)


def _docx_quotes(document: Any, data: ReportData, hits: Sequence[Hit],
                 labels: ReportLabels) -> None:
    from docx.shared import Mm

    if not hits:
        document.add_paragraph(labels.no_hits).runs[0].italic = True
        return
    header_titles = (labels.quote, labels.informant, labels.role, labels.source)
    table = document.add_table(rows=1, cols=len(header_titles))
    table.style = "Table Grid"
    table.autofit = False
    widths = [Mm(w) for w in DOCX_WIDTHS_MM]
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    header = table.rows[0]
    _set_repeat_header(header)
    for cell, title, width in zip(header.cells, header_titles, widths, strict=True):
        cell.width = width
        _fill(cell, title, bold=True)
        _shade(cell, "D9D9D9")
    _docx_add_rows(table, widths, [_quote_cells(data, hit) for hit in hits])


_DOCX_MARK = "qcode-cell-{}"


def _docx_row_template(table: Any, widths: Sequence[Any]) -> list[str]:
    """A body row as python-docx makes it (``add_row``, then ``_fill`` each cell), as XML
    text split where each cell's run content goes: n + 1 pieces for n cells."""
    from lxml import etree  # type: ignore[import-untyped]  # python-docx depends on it

    cells = table.add_row().cells
    for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        cell.width = width
        _fill(cell, _DOCX_MARK.format(i))
    tr = cells[0]._tc.getparent()
    table._tbl.remove(tr)
    xml = etree.tostring(tr, encoding="unicode")
    xml = re.sub(r" xmlns:\w+=\"[^\"]*\"", "", xml, count=0)  # declared on the wrapper
    pieces = []
    for i in range(len(widths)):
        before, _, xml = xml.partition(f"<w:t>{_DOCX_MARK.format(i)}</w:t>")
        pieces.append(before)
    return [*pieces, xml]


def _docx_run_content(text: str) -> str:
    """What python-docx puts in a run for ``text``: ``w:t`` pieces (``xml:space`` kept
    where the piece has outer white space), ``w:tab`` for tabs, ``w:br`` for line ends."""
    out = []
    for piece in re.split(r"([\t\r\n])", text):
        if piece == "\t":
            out.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            out.append("<w:br/>")
        elif piece:
            space = ' xml:space="preserve"' if len(piece.strip()) < len(piece) else ""
            out.append(f"<w:t{space}>{html.escape(piece, quote=False)}</w:t>")
    return "".join(out)


def _docx_add_rows(table: Any, widths: Sequence[Any], rows: Sequence[Sequence[str]]) -> None:
    """Append body rows to a quote table: the rows' XML is written from one template row
    and parsed at once (python-docx builds each element through Python: slow for
    thousands of rows), with the same elements and attributes as ``add_row`` + ``_fill``."""
    from docx.oxml.ns import nsdecls
    from docx.oxml.parser import parse_xml

    pieces = _docx_row_template(table, widths)
    parts = [f"<w:tbl {nsdecls('w')}>"]
    for cells in rows:
        parts.append(pieces[0])
        for text, after in zip(cells, pieces[1:], strict=True):
            parts.append(_docx_run_content(_docx_text(text)))
            parts.append(after)
    parts.append("</w:tbl>")
    tbl = table._tbl
    for tr in list(parse_xml("".join(parts))):
        tbl.append(tr)


def report_document(data: ReportData) -> Any:
    """The report as a python-docx Document (portrait A4, a quote table per code)."""
    import docx
    from docx.shared import Mm, Pt, RGBColor

    labels = report_labels(data.language)
    document = docx.Document()
    when = _timestamp(data.created_at)
    props = document.core_properties
    props.title = _docx_text(data.title)
    props.subject = _docx_text(data.query)
    props.author = ", ".join(data.coders) or "qcode"
    props.last_modified_by = "qcode"
    props.language = data.language
    props.revision = 1
    props.created = when
    props.modified = when
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))

    document.add_heading(_docx_text(data.title), level=1)
    meta = document.add_paragraph()
    for i, (key, value) in enumerate(_meta(data, labels)):
        if i:
            meta.add_run().add_break()
        meta.add_run(f"{key}: ").bold = True
        meta.add_run(_docx_text(value))
    if not data.full_text:
        note = document.add_paragraph().add_run(labels.shortened)
        note.italic = True
        note.font.size = Pt(DOCX_FONT_PT)
    for code in data.sections:
        heading = document.add_heading(level=2)
        swatch = heading.add_run("■ ")
        swatch.font.color.rgb = RGBColor.from_string(_color(code.color).lstrip("#"))
        heading.add_run(_docx_text(f"{code.name} ({code.path})"))
        line = coverage_line(code.coverage, data.language)
        if line:
            document.add_paragraph().add_run(line).italic = True
        _docx_quotes(document, data, code.hits, labels)
    if data.ungrouped:
        document.add_heading(labels.ungrouped, level=2)
        _docx_quotes(document, data, data.ungrouped, labels)
    return document


def report_docx(data: ReportData) -> bytes:
    """The Word report as bytes."""
    buffer = io.BytesIO()
    report_document(data).save(buffer)
    return _stable_zip(buffer.getvalue(), _timestamp(data.created_at))


# -- writing ----------------------------------------------------------------------------


def resolve_format(out: Path, fmt: str | None, allowed: Sequence[str]) -> str:
    """The format asked for, or the one the file name implies; InputError otherwise."""
    if fmt is None:
        guessed = _SUFFIXES.get(out.suffix.lower().lstrip("."))
        if guessed is None or guessed not in allowed:
            raise InputError(f"cannot tell the format of {out.name}",
                             f"give a format: one of {', '.join(allowed)}")
        return guessed
    name = fmt.strip().lower()
    name = "md" if name == "markdown" else name
    if name not in allowed:
        raise InputError(f"unknown format {fmt!r}", f"use one of {', '.join(allowed)}")
    return name


def report_bytes(data: ReportData, fmt: str, *, excel_bom: bool = False,
                 xlsx_layout: str = "per-code", presence_by: str = "document") -> bytes:
    """The report in one of FORMATS, as the bytes of a file."""
    if xlsx_layout not in XLSX_LAYOUTS:
        raise InputError(f"unknown spreadsheet layout {xlsx_layout!r}",
                         f"use one of {', '.join(XLSX_LAYOUTS)}")
    if presence_by not in PRESENCE_BY:
        raise InputError(f"cannot tabulate presence by {presence_by!r}",
                         f"use one of {', '.join(PRESENCE_BY)}")
    if fmt == "md":
        return report_markdown(data).encode("utf-8")
    if fmt == "html":
        return report_html(data).encode("utf-8")
    if fmt == "csv":
        return report_csv(data, excel_bom=excel_bom)
    if fmt == "xlsx":
        return report_xlsx(data, xlsx_layout)
    if fmt == "docx":
        return report_docx(data)
    if fmt == "presence":
        header, rows = presence_rows(data, presence_by)
        return _csv_bytes(header, rows, bom=excel_bom)
    raise InputError(f"unknown format {fmt!r}", f"use one of {', '.join(FORMATS)}")


def write_report(data: ReportData, out: Path, fmt: str | None = None, *,
                 excel_bom: bool = False,
                 xlsx_layout: Literal["per-code", "one-table"] = "per-code",
                 presence_by: Literal["document", "speaker"] = "document") -> Path:
    """Write a report (format from ``fmt`` or the file suffix) atomically; return the path."""
    from qcode.refi import write_bytes_atomic

    out = Path(out)
    name = resolve_format(out, fmt, FORMATS)
    payload = report_bytes(data, name, excel_bom=excel_bom, xlsx_layout=xlsx_layout,
                           presence_by=presence_by)
    write_bytes_atomic(out, payload)
    return out


# -- count tables -----------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A plain table: a title, column titles, rows; ``numeric`` columns align right."""

    title: str
    header: list[str]
    rows: list[list[Any]]
    numeric: set[int]
    note: str = ""


def _table_bytes(table: Table, fmt: str, csv_header: Sequence[str], csv_rows: list[list[Any]],
                 language: str) -> bytes:
    if fmt == "csv":
        return _csv_bytes(csv_header, csv_rows, bom=False)
    if fmt == "md":
        lines = [f"# {md_cell(table.title)}", ""]
        if table.note:
            lines += [f"*{md_cell(table.note)}*", ""]
        lines.append(_md_row(table.header))
        lines.append("|" + "".join("---:|" if i in table.numeric else "---|"
                                   for i in range(len(table.header))))
        lines += [_md_row(str(v) for v in row) for row in table.rows]
        return "\n".join([*lines, ""]).encode("utf-8")
    if fmt == "html":
        def cls(i: int) -> str:
            return ' class="num"' if i in table.numeric else ""

        body = [f"<h1>{_esc(table.title)}</h1>"]
        if table.note:
            body.append(f'<p class="note">{_esc(table.note)}</p>')
        body += ["<table>", "<thead><tr>" + "".join(
            f"<th{cls(i)}>{_esc(t)}</th>" for i, t in enumerate(table.header)) +
            "</tr></thead>", "<tbody>"]
        body += ["<tr>" + "".join(f"<td{cls(i)}>{_esc(str(v))}</td>" for i, v in enumerate(row))
                 + "</tr>" for row in table.rows]
        body += ["</tbody>", "</table>"]
        return _html_page(table.title, language, body).encode("utf-8")
    if fmt == "xlsx":
        wb = _workbook(table.title, "", "qcode")
        ws = wb.active
        ws.title = sheet_name(table.title, set())
        widths = [12.0 if i in table.numeric else 34.0 for i in range(len(table.header))]
        _xl_table(ws, _XlStyles(), table.header, table.rows, widths)
        return _workbook_bytes(wb, "")
    raise InputError(f"unknown format {fmt!r}", f"use one of {', '.join(TABLE_FORMATS)}")


def write_frequency(rows: list[FrequencyRow], out: Path, fmt: str | None = None, *,
                    language: str = "nb") -> Path:
    """Write the frequency table (md, csv, xlsx or html); CSV keeps the field names."""
    from qcode.refi import write_bytes_atomic

    name = resolve_format(out, fmt, TABLE_FORMATS)
    labels = report_labels(language)
    table = Table(labels.frequency_title, list(labels.frequency),
                  [[r.path, r.name, r.codings, r.documents, r.informants, r.words,
                    r.own_codings] for r in rows], {2, 3, 4, 5, 6})
    csv_header = ["code", "path", "name", "depth", "codings", "documents", "informants",
                  "words", "own_codings"]
    csv_rows = [[r.code, r.path, r.name, r.depth, r.codings, r.documents, r.informants,
                 r.words, r.own_codings] for r in rows]
    write_bytes_atomic(out, _table_bytes(table, name, csv_header, csv_rows, language))
    return out


def write_matrix(matrix: Matrix, out: Path, fmt: str | None = None, *,
                 language: str = "nb") -> Path:
    """Write a code matrix (md, csv, xlsx or html) with its column totals."""
    from qcode.refi import write_bytes_atomic

    name = resolve_format(out, fmt, TABLE_FORMATS)
    labels = report_labels(language)
    cols = list(matrix.columns)
    body = [[matrix.row_labels.get(r, r), *(matrix.cells.get(r, {}).get(c, 0) for c in cols)]
            for r in matrix.rows]
    totals = [labels.total, *(matrix.column_totals.get(c, 0) for c in cols)]
    table = Table(labels.matrix_title, [labels.code, *cols],
                  [*body, totals], set(range(1, len(cols) + 1)),
                  note=f"{labels.measure}: {matrix.measure}")
    csv_rows = [[r, matrix.row_labels.get(r, r),
                 *(matrix.cells.get(r, {}).get(c, 0) for c in cols)] for r in matrix.rows]
    write_bytes_atomic(out, _table_bytes(table, name, ["code", "path", *cols], csv_rows,
                                         language))
    return out
