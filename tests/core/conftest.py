"""Shared fixtures for the importer tests: options, invariant checks and file builders.

The builders write real files of each format (python-docx, odfpy, openpyxl, a
hand-made PDF) so the readers are exercised end to end through ``read_source``.
They are session-scoped callables that take the target path, so hypothesis tests
can use them too.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from qcode.errors import IngestError
from qcode.ingest import read_source
from qcode.ingest.options import ImportOptions
from qcode.ingest.turns import TurnDetector
from qcode.models import ParsedDocument

CORPORA = Path(__file__).resolve().parents[2] / "corpora"

# A table in a .docx / .odt body: a list of rows of cell texts.
TableSpec = list[list[str]]
BodyItem = str | tuple[str, str] | TableSpec  # paragraph | ("h", heading) | table


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared sample corpus of the repository."""
    assert CORPORA.is_dir(), CORPORA
    return CORPORA


@pytest.fixture(scope="session")
def turn_detector() -> TurnDetector:
    return TurnDetector.from_patterns()


@pytest.fixture(scope="session")
def import_options(turn_detector: TurnDetector) -> ImportOptions:
    return ImportOptions(detector=turn_detector)


@pytest.fixture(scope="session")
def read_docs(import_options: ImportOptions) -> Callable[..., list[ParsedDocument]]:
    """``read_docs(path, **option_overrides)``: read_source with the default options."""

    def _read(path: Path, **overrides: Any) -> list[ParsedDocument]:
        return read_source(path, replace(import_options, **overrides))

    return _read


@pytest.fixture(scope="session")
def read_doc(read_docs: Callable[..., list[ParsedDocument]]) -> Callable[..., ParsedDocument]:
    """Read a source that must give exactly one document."""

    def _read_one(path: Path, **overrides: Any) -> ParsedDocument:
        docs = read_docs(path, **overrides)
        assert len(docs) == 1, [d.name for d in docs]
        return docs[0]

    return _read_one


def _is_label(detector: TurnDetector, line: str) -> bool:
    for rx in detector.patterns:
        m = rx.match(line)
        if m and m.group("speaker"):
            return True
    return False


@pytest.fixture(scope="session")
def check_document(turn_detector: TurnDetector) -> Callable[[ParsedDocument], None]:
    """Assert the invariants every importer promises for a ParsedDocument.

    NFC text with LF newlines; segments ordered, non-overlapping, inside the text,
    non-empty and not starting or ending on whitespace; no speaker label inside a
    speaker's segment; times ordered.
    """

    def _check(doc: ParsedDocument) -> None:
        text = doc.text
        assert text == unicodedata.normalize("NFC", text)
        assert "\r" not in text and "\ufeff" not in text
        assert text == text.strip("\n")
        previous_end = 0
        for seg in doc.segments:
            assert previous_end <= seg.start < seg.end <= len(text), (seg, previous_end)
            piece = text[seg.start : seg.end]
            assert piece == piece.strip(), (seg, piece)
            if seg.speaker:
                assert not piece.startswith(f"{seg.speaker}:"), (seg, piece)
                for line in piece.split("\n"):
                    assert not _is_label(turn_detector, line), (seg, line)
            if seg.time_start is not None and seg.time_end is not None:
                assert seg.time_start <= seg.time_end
            previous_end = seg.end

    return _check


@pytest.fixture(scope="session")
def ingest_refused(import_options: ImportOptions) -> Callable[..., IngestError]:
    """``ingest_refused(path, *fragments, **option_overrides)``: reading must raise an IngestError
    whose one-line message names the file and contains every fragment (case-insensitive)."""

    def _refused(path: Path, *fragments: str, **overrides: Any) -> IngestError:
        with pytest.raises(IngestError) as info:
            read_source(path, replace(import_options, **overrides))
        err = info.value
        line = err.one_line()
        assert str(path) in err.message, line
        assert err.path == str(path)
        assert "\n" not in line and "\r" not in line, line
        for fragment in fragments:
            assert fragment.lower() in line.lower(), (fragment, line)
        return err

    return _refused


# ---------------------------------------------------------------------------
# file builders
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def make_docx() -> Callable[[Path, Iterable[BodyItem]], Path]:
    """Write a .docx whose body holds paragraphs, ("h", heading) items and tables."""

    def _make(path: Path, body: Iterable[BodyItem]) -> Path:
        import docx

        document = docx.Document()
        for item in body:
            if isinstance(item, str):
                document.add_paragraph(item)
            elif isinstance(item, tuple):
                document.add_heading(item[1], level=1)
            else:
                table = document.add_table(rows=len(item), cols=len(item[0]))
                for r, row in enumerate(item):
                    for c, value in enumerate(row):
                        table.cell(r, c).text = value
        document.save(str(path))
        return path

    return _make


@pytest.fixture(scope="session")
def make_odt() -> Callable[[Path, Iterable[BodyItem]], Path]:
    """Write an .odt (odfpy) whose body holds text:p, text:h and table:table items."""

    def _make(path: Path, body: Iterable[BodyItem]) -> Path:
        from odf import table as odf_table
        from odf import text as odf_text
        from odf.opendocument import OpenDocumentText

        doc = OpenDocumentText()
        for n, item in enumerate(body):
            if isinstance(item, str):
                doc.text.addElement(odf_text.P(text=item))
            elif isinstance(item, tuple):
                doc.text.addElement(odf_text.H(outlinelevel=1, text=item[1]))
            else:
                t = odf_table.Table(name=f"Tabell{n}")
                t.addElement(odf_table.TableColumn(numbercolumnsrepeated=len(item[0])))
                for row in item:
                    tr = odf_table.TableRow()
                    for value in row:
                        cell = odf_table.TableCell()
                        cell.addElement(odf_text.P(text=value))
                        tr.addElement(cell)
                    t.addElement(tr)
                doc.text.addElement(t)
        buf = io.BytesIO()
        doc.write(buf)
        path.write_bytes(buf.getvalue())
        return path

    return _make


def _pdf_literal(line: str) -> bytes:
    raw = line.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def build_pdf(pages: Sequence[Sequence[str] | bytes], *, flate: bool = False) -> bytes:
    """A minimal valid PDF: each page is a list of text lines (Helvetica, WinAnsi, so
    æøå«» work) or raw content-stream bytes. With ``flate`` the streams are compressed."""
    import zlib

    n = len(pages)
    font_id = 3 + 2 * n
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(n))
        + b"] /Count %d >>" % n,
    ]
    for i, page in enumerate(pages):
        if isinstance(page, bytes):
            content = page
        else:
            content = b"\n".join(
                b"BT /F1 12 Tf 72 %d Td " % (760 - 16 * k) + _pdf_literal(line) + b" Tj ET"
                for k, line in enumerate(page)
            )
        if flate:
            content = zlib.compress(content)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (4 + 2 * i, font_id)
        )
        objects.append(
            b"<< " + (b"/Filter /FlateDecode " if flate else b"") + b"/Length %d >>\nstream\n"
            % len(content) + content + b"\nendstream"
        )
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                   b"/Encoding /WinAnsiEncoding >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture(scope="session")
def pdf_bytes() -> Callable[..., bytes]:
    """``pdf_bytes(pages, flate=False)``: see build_pdf."""
    return build_pdf


@pytest.fixture(scope="session")
def make_xlsx() -> Callable[..., Path]:
    """``make_xlsx(path, rows, sheets=None)``: rows of the first sheet (values as openpyxl
    takes them); ``sheets`` maps further sheet names to their rows."""

    def _make(path: Path, rows: Sequence[Sequence[Any]],
              sheets: Mapping[str, Sequence[Sequence[Any]]] | None = None) -> Path:
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Svar"
        for row in rows:
            ws.append(list(row))
        for name, more in (sheets or {}).items():
            extra = wb.create_sheet(name)
            for row in more:
                extra.append(list(row))
        wb.save(str(path))
        return path

    return _make


@pytest.fixture(scope="session")
def rezip() -> Callable[..., bytes]:
    """``rezip(raw, replace={name: bytes}, drop=(names), add={name: bytes})``: copy a zip
    archive, changing members."""

    def _rezip(raw: bytes, replace: Mapping[str, bytes] | None = None,
               drop: Iterable[str] = (), add: Mapping[str, bytes] | None = None) -> bytes:
        replace = dict(replace or {})
        dropped = set(drop)
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(raw)) as zin, \
                zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                if info.filename in dropped:
                    continue
                data = replace.pop(info.filename, None)
                zout.writestr(info.filename, zin.read(info) if data is None else data)
            for name, data in {**replace, **(add or {})}.items():
                zout.writestr(name, data)
        return out.getvalue()

    return _rezip


@pytest.fixture(scope="session")
def docx_raw(tmp_path_factory: pytest.TempPathFactory,
             make_docx: Callable[[Path, Iterable[BodyItem]], Path]) -> bytes:
    """The bytes of a small valid transcript .docx, for tampering."""
    path = tmp_path_factory.mktemp("docx") / "base.docx"
    make_docx(path, ["Intervju 1", "I: Hvordan går det?", "JS3: Det går «bra» (...) takk."])
    return path.read_bytes()
