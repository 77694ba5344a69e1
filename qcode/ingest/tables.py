"""Reading tabular sources (CSV, XLSX) into a header and rows of cell values."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from qcode.errors import IngestError
from qcode.ingest.hygiene import clean_text, decode_bytes
from qcode.ingest.zipsafe import open_zip

MAX_COLUMNS = 1_000
MAX_ROWS = 1_000_000
DELIMITERS = (",", ";", "\t")
SNIFF_CHARS = 20_000
Cell = str | int | float | date | None


@dataclass(frozen=True)
class Table:
    """A header and rows; cells are text (CSV) or typed values (XLSX)."""

    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    warnings: tuple[str, ...] = ()


def _check_header(header: list[str], path: str) -> tuple[str, ...]:
    if not header or not any(h.strip() for h in header):
        raise IngestError(path, "has no header row", "put column names in the first row")
    if len(header) > MAX_COLUMNS:
        raise IngestError(path, f"refused: {len(header)} columns (the limit is {MAX_COLUMNS})",
                          "keep only the id, attribute and answer columns")
    # names become document names, labels and attributes: one line, single spaces
    names = [" ".join(clean_text(h).split()) for h in header]
    for i, name in enumerate(names):
        if not name:
            names[i] = f"column_{i + 1}"
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise IngestError(path, f"duplicate column names: {', '.join(dupes)}",
                          "give every column a unique name")
    return tuple(names)


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits the first rows into the same number of
    fields (at least two) most consistently, the most fields on a tie; else a comma.

    (csv.Sniffer gives up on, or misreads, common exports such as semicolon-separated
    files with decimal commas and quoted multi-line answers.)
    """
    sample = text[:SNIFF_CHARS]
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if len(sample) < len(text):
            rows = rows[:-1]  # the sample may end inside a row
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        score = (sum(len(r) == width for r in rows) / len(rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_csv(raw: bytes, path: str) -> Table:
    """Read a CSV (comma, semicolon or tab separated; RFC 4180 quoting, checked strictly)."""
    decoded = decode_bytes(raw, path)
    text = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"',
                        doublequote=True, strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise IngestError(path, f"malformed CSV at line {reader.line_num}: {exc}",
                          "check the quoting around that line, or export the file again") from exc
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise IngestError(path, "contains no rows", "check that the export is not empty")
    header = _check_header(rows[0], path)
    body: list[tuple[Cell, ...]] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) > len(header) and any(c.strip() for c in row[len(header):]):
            raise IngestError(path, f"row {number} has {len(row)} fields but the header has "
                              f"{len(header)}", "check the quoting or delimiters in that row")
        cells = [clean_text(c) for c in row[: len(header)]]
        cells += [""] * (len(header) - len(cells))
        body.append(tuple(cells))
    if len(body) > MAX_ROWS:
        raise IngestError(path, f"refused: {len(body)} rows", f"the limit is {MAX_ROWS}")
    return Table(header, tuple(body), decoded.warnings)


def _xlsx_cell(value: object) -> Cell:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return value
    return clean_text(str(value))


def read_xlsx(raw: bytes, path: str, sheet: str | None = None) -> Table:
    """Read the first (or the named) worksheet of an .xlsx workbook."""
    zf = open_zip(raw, path, "xlsx", "xl/workbook.xml")
    zf.close()
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise IngestError(path, f"not a readable .xlsx file ({type(exc).__name__})",
                          "open it in a spreadsheet program and save it again as .xlsx") from exc
    try:
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise IngestError(path, f"has no sheet named {sheet!r}",
                                  f"choose one of: {', '.join(wb.sheetnames)}")
            ws = wb[sheet]
        elif wb.worksheets:
            ws = wb.worksheets[0]
        else:  # a damaged workbook.xml can list no sheets at all
            raise IngestError(path, "has no worksheet",
                              "open it in a spreadsheet program and save it again as .xlsx")
        if ws.max_column is not None and ws.max_column > MAX_COLUMNS:
            raise IngestError(path, f"refused: {ws.max_column} columns", "keep fewer columns")
        rows = []
        for row in ws.iter_rows(values_only=True):
            cells = tuple(_xlsx_cell(v) for v in row[:MAX_COLUMNS + 1])
            if any(c not in (None, "") for c in cells):
                rows.append(cells)
            if len(rows) > MAX_ROWS:
                raise IngestError(path, f"refused: more than {MAX_ROWS} rows", "split the file")
    finally:
        wb.close()
    if not rows:
        raise IngestError(path, "the sheet is empty", "check the sheet name")
    header = _check_header(["" if c is None else str(c) for c in rows[0]], path)
    width = len(header)
    body = tuple(tuple(r[:width]) + (None,) * (width - len(r[:width])) for r in rows[1:])
    return Table(header, body)


def read_table(path: Path, raw: bytes, sheet: str | None = None) -> Table:
    """Read a .csv or .xlsx file by its extension."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(raw, str(path))
    if suffix == ".xlsx":
        return read_xlsx(raw, str(path), sheet)
    raise IngestError(str(path), f"not a table ({suffix or 'no extension'})",
                      "use a .csv or .xlsx file")
