"""Importing into a project: storage, versions, duplicates, attributes, all-or-nothing."""

from __future__ import annotations

import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from qcode import services
from qcode.errors import InputError
from qcode.store import Store

from ..conftest import CORPUS


def _import(store: Store, *paths: Path, **kw: object) -> services.ImportReport:
    return services.import_paths(store, list(paths), services.import_options(store),
                                 actor="tester", **kw)  # type: ignore[arg-type]


def _add_coding(store: Store, doc_id: int, start: int, end: int) -> int:
    with store.transaction():
        store.conn.execute("INSERT OR IGNORE INTO coders (id, name, created_at) "
                           "VALUES ('coder-a', 'A', 'now')")
        store.conn.execute("INSERT OR IGNORE INTO codebooks (id, name, loaded_at) "
                           "VALUES (1, 'cb', 'now')")
        store.conn.execute("INSERT OR IGNORE INTO codes (id, codebook_id, name) "
                           "VALUES ('k', 1, 'K')")
        cur = store.conn.execute(
            'INSERT INTO codings (uid, document_id, start, "end", code_id, coder_id, created_at)'
            " VALUES (hex(randomblob(8)), ?, ?, ?, 'k', 'coder-a', 'now')", (doc_id, start, end))
    return int(cur.lastrowid or 0)


def test_import_folder_stores_documents_turns_and_roles(store: Store,
                                                        transcript_dir: Path) -> None:
    report = _import(store, transcript_dir)
    assert [(r.name, r.status, r.kind) for r in report.rows] == [
        ("JS1", "new", "interview"), ("V1", "new", "interview"), ("V2", "new", "interview")]
    doc = store.document("JS1")
    turns = store.turns(doc.id)
    labelled = [t for t in turns if t.speaker]
    assert [t.speaker for t in labelled] == ["I", "JS1", "I", "JS1"]
    assert [t.role for t in labelled] == ["interviewer", "jobbspesialist", "interviewer",
                                          "jobbspesialist"]
    assert labelled[0].is_interviewer and not labelled[1].is_interviewer
    assert doc.text[labelled[1].start:labelled[1].end].startswith("Det går bra.")
    assert doc.text[labelled[1].start:labelled[1].end].endswith("(...) synes jeg.")
    assert turns[0].speaker is None and doc.text[turns[0].start:turns[0].end] == "Intervju 1 – JS1"
    v2 = store.turns(store.document("V2").id)
    assert [t.time_start for t in v2] == [5.0, 9.0]
    kinds = [e["kind"] for e in store.events()]
    assert kinds.count("document.import") == 3


def test_reimport_unchanged_is_a_no_op(store: Store, transcript_dir: Path) -> None:
    _import(store, transcript_dir)
    counts = store.counts()
    report = _import(store, transcript_dir)
    assert {r.status for r in report.rows} == {"unchanged"}
    assert store.counts() == counts


def test_changed_file_becomes_new_version_and_codings_move(store: Store,
                                                           transcript_dir: Path) -> None:
    _import(store, transcript_dir)
    old = store.document("JS1")
    quote = "«vi-følelsen» er sterk"
    start = old.text.index(quote)
    moved_id = _add_coding(store, old.id, start, start + len(quote))
    gone = "Det er nærhet som gjør det."
    gstart = old.text.index(gone)
    kept_id = _add_coding(store, old.id, gstart, gstart + len(gone))
    path = transcript_dir / "JS1.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Intervju 1 – JS1\n\n", "Intervju 1 – JS1 (revidert)\n\n")
                    .replace(gone, "Det er avstand som gjør det vanskelig."), encoding="utf-8")
    report = _import(store, transcript_dir)
    row = next(r for r in report.rows if r.name == "JS1")
    assert row.status == "new_version" and row.version == 2
    assert "codings moved: 1" in row.detail and "1 codings stay on version 1" in row.detail
    new = store.document("JS1")
    assert new.version == 2 and new.uid == old.uid and new.id != old.id
    assert not store.document("JS1", version=1).is_current
    moved = store.conn.execute('SELECT document_id, start, "end" FROM codings WHERE id = ?',
                               (moved_id,)).fetchone()
    assert moved[0] == new.id and new.text[moved[1]:moved[2]] == quote
    kept = store.conn.execute("SELECT document_id FROM codings WHERE id = ?",
                              (kept_id,)).fetchone()
    assert kept[0] == old.id
    assert services.check_project(store) == []
    assert [d.version for d in store.documents(include_old=True) if d.name == "JS1"] == [1, 2]


def test_same_text_under_another_name_is_a_duplicate(store: Store, transcript_dir: Path,
                                                     tmp_path: Path) -> None:
    _import(store, transcript_dir)
    copy = tmp_path / "kopi_av_V1.txt"
    copy.write_bytes((transcript_dir / "V1.txt").read_bytes())
    report = _import(store, copy)
    assert report.rows[0].status == "duplicate" and "'V1'" in report.rows[0].detail
    assert store.counts()["documents"] == 3


def test_failed_file_leaves_others_and_project_consistent(store: Store,
                                                          transcript_dir: Path) -> None:
    (transcript_dir / "tom.txt").write_bytes(b"")
    (transcript_dir / "binær.txt").write_bytes(b"\x00\x01\x02binary\x00")
    report = _import(store, transcript_dir)
    failed = {r.name: r.detail for r in report.failed}
    assert set(failed) == {"tom", "binær"}
    assert "tom.txt" in failed["tom"] and "empty" in failed["tom"]
    assert "binary" in failed["binær"]
    assert report.count("new") == 3
    assert [d.name for d in store.documents()] == ["JS1", "V1", "V2"]


def test_failure_inside_a_multi_document_source_writes_nothing(store: Store,
                                                               tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    survey = tmp_path / "svar.csv"
    survey.write_text(
        "id,rolle,svar_en,svar_to\n"
        "1,veileder,Samarbeidet fungerer godt hos oss nå,Vi burde ha flere felles møter\n"
        "2,jobbspesialist,Det er for lite tid til å snakke sammen,Mer tid til hver bruker\n",
        encoding="utf-8")
    original = store.insert_document
    calls = {"n": 0}

    def failing_insert(*args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise InputError("simulated failure on the second document")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "insert_document", failing_insert)
    before = store.counts()
    report = _import(store, survey)
    assert report.failed and "simulated" in report.failed[0].detail
    assert store.counts() == before


def test_dry_run_writes_nothing_but_reports_speakers(store: Store, transcript_dir: Path,
                                                     informants_csv: Path) -> None:
    before = store.counts()
    report = _import(store, transcript_dir, attributes=informants_csv, dry_run=True)
    assert report.dry_run and report.count("new") == 3
    js1 = next(r for r in report.rows if r.name == "JS1")
    assert js1.speakers == [("I", "interviewer", 2), ("JS1", "jobbspesialist", 2)]
    assert js1.turns == 4 and js1.words > 20
    assert store.counts() == before


def test_attribute_sidecar_sets_typed_speaker_attributes_and_roles(
        store: Store, transcript_dir: Path, informants_csv: Path) -> None:
    report = _import(store, transcript_dir, attributes=informants_csv)
    assert report.attributes == "informants.csv: 3 speakers"
    attrs = store.attributes("speaker")
    assert attrs["JS1"] == {"office": "Nord", "age": 34, "interview_date": date(2026, 2, 10)}
    assert attrs["V2"]["interview_date"] == date(2026, 3, 12)
    assert store.attribute_types("speaker") == {"age": "number", "interview_date": "date",
                                                "office": "text"}
    assert store.speaker("V1").role == "veileder"
    # A role set by hand survives a later attributes import.
    services.set_speaker_role(store, "V1", "leder", actor="tester")
    _import(store, transcript_dir, attributes=informants_csv)
    assert store.speaker("V1").role == "leder"


def test_filename_pattern_gives_document_attributes(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "Nord_2026_JS9.txt"
    f.write_text("I: Hei.\n\nJS9: Hei, jeg heter (jobbspesialist).\n", encoding="utf-8")
    _import(store, f, filename_pattern=r"(?P<office>[^_]+)_(?P<year>\d{4})_")
    doc = store.document("Nord_2026_JS9")
    assert store.attributes("document")[doc.uid] == {"office": "Nord", "year": 2026}


def test_focus_group_detected_from_speakers(store: Store) -> None:
    _import(store, CORPUS / "fokusgruppe")
    [summary] = services.list_documents(store)
    assert summary.document.kind == "focus_group"
    assert set(summary.informants) == {"JS7", "JS8", "V7", "V8", "V9"}


def test_survey_question_mode(store: Store) -> None:
    report = _import(store, CORPUS / "survey" / "personalundersokelse.csv")
    names = [r.name for r in report.rows]
    assert names == ["personalundersokelse-samarbeid_fungerer",
                     "personalundersokelse-forbedringer"]
    doc = store.document(names[0])
    turns = store.turns(doc.id)
    assert len(turns) >= 55 and all(t.label == "samarbeid_fungerer" for t in turns)
    assert all(t.speaker and t.speaker.startswith("R") for t in turns)
    assert {t.role for t in turns} == {"veileder", "jobbspesialist"}
    attrs = store.attributes("speaker")[turns[0].speaker or ""]
    assert set(attrs) == {"kontor", "ansiennitet_ar"}
    assert isinstance(attrs["ansiennitet_ar"], int)


def test_encoding_variants_keep_coded_characters(store: Store, tmp_path: Path) -> None:
    """A span with æøå and «» stays on the same characters whatever the file's encoding."""
    body = ("I: Hva betyr «vi-følelsen» for deg?\r\n\r\n"
            "JS4: Den betyr nærhet og åpenhet (...) og at vi «står sammen».\r\n")
    quote = "nærhet og åpenhet (...) og at vi «står sammen»"
    variants = {
        "bom_crlf.txt": b"\xef\xbb\xbf" + body.encode("utf-8"),
        "nfd.txt": unicodedata.normalize("NFD", body).replace("\r\n", "\n").encode("utf-8"),
        "utf16.txt": body.encode("utf-16"),
        "cr.txt": body.replace("\r\n", "\r").encode("utf-8"),
    }
    for name, raw in variants.items():
        (tmp_path / name).write_bytes(raw)
    report = _import(store, *[tmp_path / n for n in variants])
    assert report.count("new") == 1 and report.count("duplicate") == 3
    doc = store.document("bom_crlf")
    assert "\r" not in doc.text and not doc.text.startswith("\ufeff")
    assert unicodedata.is_normalized("NFC", doc.text)
    start = doc.text.index(quote)
    turn = store.turns(doc.id)[1]
    assert turn.start <= start and start + len(quote) <= turn.end
    assert doc.text[start:start + len(quote)] == quote


def test_cp1252_file_imports_with_a_warning(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "gammel.txt"
    f.write_bytes("I: Hei.\n\nV3: Vi må få på plass rutinene først, «så får vi se».\n"
                  .encode("cp1252"))
    report = _import(store, f)
    assert report.rows[0].status == "new"
    assert any("Windows-1252" in w for w in report.rows[0].warnings)
    assert "«så får vi se»" in store.document("gammel").text


def test_nothing_to_import_is_an_error(store: Store, tmp_path: Path) -> None:
    (tmp_path / "empty_folder").mkdir()
    with pytest.raises(InputError, match="nothing to import"):
        _import(store, tmp_path / "empty_folder")


def test_demo_builds_a_consistent_project(tmp_path: Path) -> None:
    from qcode.demo import build_demo

    result = build_demo(tmp_path)
    assert not result.import_report.failed
    store = services.open_project(result.path)
    try:
        kinds = store.documents_by_kind()
        assert kinds["interview"] == 13 and kinds["focus_group"] == 1
        assert kinds["document"] == 2 and kinds["survey"] == 2
        assert services.check_project(store) == []
        assert store.speaker("JS3").document_count == 2  # interview and follow-up recording
        assert len(store.codes()) == 44 and len(services.list_codebooks(store)) == 3
        for coder in ("coder-a", "coder-b"):
            assert result.codings[coder] >= 150
            assert len(store.codings(coder_id=coder)) == result.codings[coder]
        # the demo's codings come from two independent coders: they overlap but differ
        spans = {c: {(k.document, k.start, k.end, k.code_id) for k in
                     store.codings(coder_id=c)} for c in ("coder-a", "coder-b")}
        same = spans["coder-a"] & spans["coder-b"]
        assert same and len(same) < min(len(v) for v in spans.values())
    finally:
        store.close()


def test_full_text_index_holds_each_turn_text(store: Store, transcript_dir: Path) -> None:
    """The FTS rows, filled from the text in memory, are those SQL's substr() would give."""
    (transcript_dir / "E1.txt").write_text(
        "I: Og så? 🙂\n\nE1: Blåbærsyltetøy 😀 på 𝔅ergen-møtet, ærlig talt.\n",
        encoding="utf-8")
    _import(store, transcript_dir)
    q = store.conn.execute
    q("CREATE VIRTUAL TABLE temp.ref_fts USING fts5(text, content='', "
      "tokenize = 'unicode61 remove_diacritics 0')")
    try:
        q("INSERT INTO temp.ref_fts (rowid, text) SELECT t.id, "
          'substr(d.text, t.start + 1, t."end" - t.start) FROM turns t '
          "JOIN documents d ON d.id = t.document_id")
        q("CREATE VIRTUAL TABLE temp.ref_vocab USING fts5vocab(temp, ref_fts, instance)")
        q("CREATE VIRTUAL TABLE temp.our_vocab USING fts5vocab(main, turns_fts, instance)")
        ours = q("SELECT term, doc, offset FROM temp.our_vocab ORDER BY 1, 2, 3").fetchall()
        reference = q("SELECT term, doc, offset FROM temp.ref_vocab ORDER BY 1, 2, 3").fetchall()
    finally:
        for table in ("our_vocab", "ref_vocab", "ref_fts"):
            q(f"DROP TABLE IF EXISTS temp.{table}")
    assert ours == reference and len(ours) > 50
    e1 = store.document("E1")
    turn = store.turns(e1.id)[1]
    assert store.fts_turns('"blåbærsyltetøy"') == [turn.id]


def test_files_are_imported_in_one_transaction_each_file_alone(
        tmp_path: Path, transcript_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One transaction for many files (a savepoint each); a file that fails rolls back alone."""
    from qcode.services import projects

    original = Store.insert_document

    def insert_document(self: Store, parsed: Any, **kwargs: Any) -> int:
        doc_id = original(self, parsed, **kwargs)
        if parsed.name == "V1":  # fails after its document and turns are written
            raise InputError("simulated failure half-way through V1")
        return doc_id

    monkeypatch.setattr(Store, "insert_document", insert_document)
    begins = {}
    default = projects.IMPORT_BATCH_SECONDS
    for seconds in (default, 0.0):
        monkeypatch.setattr(projects, "IMPORT_BATCH_SECONDS", seconds)
        path = services.init_project(tmp_path / f"batch-{seconds}.qcode", actor="tester")
        store = services.open_project(path)
        try:
            statements: list[str] = []
            store.conn.set_trace_callback(statements.append)
            try:
                report = _import(store, transcript_dir)
            finally:
                store.conn.set_trace_callback(None)
            begins[seconds] = sum(1 for s in statements if s.startswith("BEGIN"))
            assert [(r.name, r.status) for r in report.rows] == [
                ("JS1", "new"), ("V1", "failed"), ("V2", "new")]
            assert "half-way" in report.rows[1].detail
            assert [d.name for d in store.documents()] == ["JS1", "V2"]
            assert store.conn.execute(
                "SELECT count(*) FROM turns WHERE document_id NOT IN "
                "(SELECT id FROM documents)").fetchone()[0] == 0
            assert len(store.events()) == 1 + 2 + (1 if any(  # init, imports, findings
                e["kind"] == "anonymize.findings" for e in store.events()) else 0)
            assert services.check_project(store) == []
        finally:
            store.close()
    assert begins[0.0] == begins[default] + 2  # 3 files: 3 transactions, or 1


def test_survey_speaker_attributes_are_set_in_bulk(store: Store, tmp_path: Path) -> None:
    """A survey's respondent attributes and roles take a few statements, not a few per
    respondent, with the same result as setting them one by one."""
    rows = ["id,rolle,kontor,ansiennitet_ar,svar"]
    rows += [f"{i},{'veileder' if i % 2 else 'jobbspesialist'},Kontor {i % 3},{i % 17},"
             f"Samarbeidet fungerer godt i svar nummer {i}." for i in range(1, 301)]
    survey = tmp_path / "stor.csv"
    survey.write_text("\n".join(rows) + "\n", encoding="utf-8")
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        report = _import(store, survey)
    finally:
        store.conn.set_trace_callback(None)
    assert report.count("new") == 1, [r.detail for r in report.rows]
    reads = [s for s in statements if s.startswith("SELECT")]  # one by one: > 5 a respondent
    assert len(reads) < 60, len(reads)
    attrs = store.attributes("speaker")
    speakers = {s.id: s for s in store.speakers()}
    respondents = sorted((k for k in attrs if k.startswith("R")), key=lambda k: int(k[1:]))
    assert len(respondents) == 300
    first = respondents[0]
    assert attrs[first] == {"kontor": "Kontor 1", "ansiennitet_ar": 1}
    assert speakers[first].role == "veileder" and speakers[respondents[1]].role == \
        "jobbspesialist"
    assert store.attribute_types("speaker") == {"ansiennitet_ar": "number", "kontor": "text"}


def test_bulk_attributes_keep_the_first_type_of_a_name(store: Store) -> None:
    with store.transaction():
        store.set_attributes_many("speaker", [
            ("A1", {"alder": 40, "kontor": "Nord"}, {"alder": "number", "kontor": "text"}),
            ("A2", {"alder": "ukjent"}, {"alder": "text"}),  # text never clashes
        ])
    assert store.attributes("speaker") == {"A1": {"alder": 40, "kontor": "Nord"},
                                           "A2": {"alder": "ukjent"}}
    before = store.counts()
    with pytest.raises(InputError, match="'kontor' is a text attribute, not number"), \
            store.transaction():
        store.set_attributes_many("speaker", [
            ("A3", {"alder": 50}, {"alder": "number"}),
            ("A4", {"kontor": 7}, {"kontor": "number"})])
    assert store.counts() == before and "A3" not in store.attributes("speaker")
