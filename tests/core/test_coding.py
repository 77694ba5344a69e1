"""Codebooks in a project, coding, memos, and undo/redo of every mutation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qcode import services
from qcode.codebook import load_codebook_file
from qcode.errors import InputError, NotFound
from qcode.services import SpanRequest
from qcode.store import Store

from ..conftest import REPO

CODEBOOKS = REPO / "codebooks"


@pytest.fixture
def coded(store: Store, transcript_dir: Path) -> Store:
    services.import_paths(store, [transcript_dir], services.import_options(store),
                          actor="tester")
    for name in ("samarbeid", "prestisje"):
        services.load_codebook_file(store, CODEBOOKS / f"{name}.yaml", actor="tester")
    return store


def test_load_shipped_codebooks(store: Store) -> None:
    for path in sorted(CODEBOOKS.glob("*.yaml")):
        report = services.load_codebook_file(store, path, actor="tester")
        assert report.created and report.warnings == []
    codes = store.codes()
    roots = [c.id for c in codes if c.parent_id is None]
    assert sorted(roots) == ["praksislogikker", "prestisje", "samarbeid"]
    assert next(c for c in codes if c.id == "relasjoner").path == \
        "samarbeid/forutsetninger/relasjoner"
    assert [b["revisions"] for b in services.list_codebooks(store)] == [1, 1, 1]


def test_reload_unchanged_changes_nothing(coded: Store) -> None:
    events = coded.counts()["events"]
    report = services.load_codebook_file(coded, CODEBOOKS / "samarbeid.yaml", actor="tester")
    assert not report.changed and coded.counts()["events"] == events


def test_reload_edited_file_updates_and_keeps_coded_codes(coded: Store, tmp_path: Path) -> None:
    services.apply_coding(coded, SpanRequest("JS1", "ledelse", quote="Det går bra."),
                          "coder-a")
    text = (CODEBOOKS / "samarbeid.yaml").read_text(encoding="utf-8")
    book, _ = load_codebook_file(CODEBOOKS / "samarbeid.yaml")
    from dataclasses import replace

    from qcode.codebook import codebook_to_yaml

    root = book.codes[0]
    kept_groups = tuple(
        replace(g, children=tuple(c for c in g.children if c.id not in ("ledelse",
                                                                        "kontinuitet")))
        for g in root.children)
    kept_groups = tuple(replace(g, name="Forutsetningene") if g.id == "forutsetninger" else g
                        for g in kept_groups)
    edited = replace(book, codes=(replace(root, children=kept_groups),))
    path = tmp_path / "samarbeid.yaml"
    path.write_text(codebook_to_yaml(edited), encoding="utf-8")
    assert text != path.read_text(encoding="utf-8")
    report = services.load_codebook_file(coded, path, actor="tester")
    assert report.updated == ["forutsetninger"]
    assert report.removed == ["kontinuitet"] and report.kept == ["ledelse"]
    assert coded.code("ledelse").name  # still there, with its coding
    with pytest.raises(NotFound):
        coded.code("kontinuitet")
    assert services.list_codebooks(coded)[0]["revisions"] == 2


def test_code_ids_are_unique_across_codebooks(coded: Store, tmp_path: Path) -> None:
    clash = tmp_path / "annen.yaml"
    clash.write_text("name: Annen\ncodes:\n  - id: relasjoner\n    name: R\n"
                     "    definition: Noe annet.\n", encoding="utf-8")
    with pytest.raises(InputError, match="already used by codebook"):
        services.load_codebook_file(coded, clash, actor="tester")


def test_apply_by_quote_offsets_and_turn(coded: Store) -> None:
    doc = coded.document("JS1")
    quote = "«vi-følelsen» er sterk"
    c1 = services.apply_coding(coded, SpanRequest("JS1", "vi-folelse", quote=quote), "coder-a")
    assert c1.text == quote and doc.text[c1.start:c1.end] == quote
    start = doc.text.index("nærhet")
    c2 = services.apply_coding(coded, SpanRequest("JS1", "relasjoner", start=start,
                                                  end=start + 6), "coder-a")
    assert c2.text == "nærhet"
    c3 = services.apply_coding(coded, SpanRequest("JS1", "samarbeid", turn=2), "coder-b")
    turn = coded.turns(doc.id)[1]
    assert (c3.start, c3.end) == (turn.start, turn.end)
    # overlapping and nested codings coexist
    assert len(services.list_codings(coded, document="JS1")) == 3
    # an identical coding is not stored twice
    again = services.apply_coding(coded, SpanRequest("JS1", "vi-folelse", quote=quote),
                                  "coder-a")
    assert again.id == c1.id and len(services.list_codings(coded)) == 3
    # by code path, with descendants when listing
    assert len(services.list_codings(coded, code="samarbeid")) == 3
    assert len(services.list_codings(coded, code="samarbeid", descendants=False)) == 1
    assert [c.id for c in services.list_codings(coded, coder="coder-b")] == [c3.id]


@pytest.mark.parametrize("request_kwargs, message", [
    ({"start": 5, "end": 5}, "not inside"),
    ({"start": 0, "end": 10_000}, "not inside"),
    ({"quote": "finnes ikke"}, "quote not found"),
    ({"turn": 99}, "has no turn 99"),
    ({}, "needs --start and --end"),
])
def test_invalid_spans_are_refused(coded: Store, request_kwargs: dict[str, object],
                                   message: str) -> None:
    with pytest.raises(InputError, match=message):
        services.apply_coding(coded, SpanRequest("JS1", "relasjoner", **request_kwargs),  # type: ignore[arg-type]
                              "coder-a")
    assert coded.counts()["codings"] == 0


def test_unknown_code_suggests_close_ids(coded: Store) -> None:
    with pytest.raises(NotFound, match="no code 'relasjon'") as info:
        services.apply_coding(coded, SpanRequest("JS1", "relasjon", turn=2), "coder-a")
    assert "relasjoner" in (info.value.hint or "")


def test_ambiguous_quote_needs_occurrence(coded: Store) -> None:
    with pytest.raises(InputError, match="occurs 3 times"):
        services.apply_coding(coded, SpanRequest("JS1", "relasjoner", quote="JS1"), "coder-a")
    c = services.apply_coding(coded, SpanRequest("JS1", "relasjoner", quote="JS1",
                                                 occurrence=2), "coder-a")
    assert c.start > coded.document("JS1").text.index("JS1")


def test_snapping(coded: Store) -> None:
    doc = coded.document("JS1")
    inside = doc.text.index("samme gang") + 2  # "mm" of "samme"
    word = services.apply_coding(coded, SpanRequest("JS1", "relasjoner", start=inside,
                                                    end=inside + 2), "coder-a", snap="word")
    assert word.text == "samme"
    sentence = services.apply_coding(coded, SpanRequest("JS1", "arbeidsmengde", start=inside,
                                                        end=inside + 2), "coder-a",
                                     snap="sentence")
    assert sentence.text == "Vi sitter på samme gang, så vi snakker sammen hver dag."
    turn = services.apply_coding(coded, SpanRequest("JS1", "kontinuitet", start=inside,
                                                    end=inside + 2), "coder-a", snap="turn")
    assert turn.text.startswith("Det går bra.") and turn.text.endswith("synes jeg.")


def test_bulk_apply_is_one_undo_step(coded: Store) -> None:
    requests = [SpanRequest("JS1", "relasjoner", turn=2), SpanRequest("V1", "frustrasjon",
                                                                      turn=2),
                SpanRequest("V2", "goodwill-ressurser", quote="Jobbspesialistene får "
                            "ressursene")]
    services.apply_codings(coded, requests, "coder-a")
    assert coded.counts()["codings"] == 3
    assert services.undo(coded, "coder-a") == "apply 3 codings"
    assert coded.counts()["codings"] == 0
    assert services.redo(coded, "coder-a") == "apply 3 codings"
    assert coded.counts()["codings"] == 3


def test_undo_is_per_coder_and_survives_reopening(coded: Store, project_path: Path) -> None:
    a = services.apply_coding(coded, SpanRequest("JS1", "relasjoner", turn=2), "coder-a")
    services.apply_coding(coded, SpanRequest("V1", "frustrasjon", turn=2), "coder-b")
    coded.close()
    reopened = services.open_project(project_path)
    try:
        services.undo(reopened, "coder-a")
        remaining = services.list_codings(reopened)
        assert [c.coder_id for c in remaining] == ["coder-b"]
        with pytest.raises(InputError, match="nothing to redo for coder-b"):
            services.redo(reopened, "coder-b")
        services.redo(reopened, "coder-a")
        assert reopened.coding(a.id).code_id == "relasjoner"
        # a new change clears the redo stack
        services.undo(reopened, "coder-a")
        services.apply_coding(reopened, SpanRequest("V2", "frihet", turn=2), "coder-a")
        with pytest.raises(InputError, match="nothing to redo"):
            services.redo(reopened, "coder-a")
    finally:
        reopened.close()


def test_undo_refuses_when_someone_changed_the_row(coded: Store) -> None:
    services.apply_coding(coded, SpanRequest("JS1", "relasjoner", turn=2), "coder-a")
    c = services.list_codings(coded)[0]
    services.set_coding_memo(coded, str(c.id), "uenig i denne", actor="coder-b")
    with pytest.raises(InputError, match="changed since"):
        services.undo(coded, "coder-a")
    assert coded.counts()["codings"] == 1


def test_edit_rename_move_and_their_undo(coded: Store) -> None:
    services.edit_code(coded, "relasjoner", {"name": "Relasjoner og nærhet",
                                             "color": "#aa0000"}, actor="coder-a")
    assert coded.code("relasjoner").color == "#AA0000"
    services.move_code(coded, "relasjoner", "praksis" if False else "samarbeid",
                       actor="coder-a")
    assert coded.code("relasjoner").path == "samarbeid/relasjoner"
    services.undo(coded, "coder-a")
    assert coded.code("relasjoner").path == "samarbeid/forutsetninger/relasjoner"
    services.undo(coded, "coder-a")
    assert coded.code("relasjoner").name != "Relasjoner og nærhet"
    revisions = coded.revisions(coded.codebook_id("Samarbeid mellom jobbspesialister og "
                                                  "veiledere") or 0)
    assert [r[3] for r in revisions][-2:] == ["undo: move relasjoner under samarbeid",
                                              "undo: edit relasjoner: color, name"]


def test_move_into_own_subtree_is_refused(coded: Store) -> None:
    with pytest.raises(InputError, match="cycle"):
        services.move_code(coded, "forutsetninger", "relasjoner", actor="coder-a")
    with pytest.raises(InputError, match="another codebook"):
        services.move_code(coded, "relasjoner", "prestisje", actor="coder-a")


def test_invalid_edits(coded: Store) -> None:
    with pytest.raises(InputError, match="not a colour"):
        services.edit_code(coded, "relasjoner", {"color": "red"})
    with pytest.raises(InputError, match="not an editable"):
        services.edit_code(coded, "relasjoner", {"id": "x"})
    with pytest.raises(InputError, match="must not be empty"):
        services.edit_code(coded, "relasjoner", {"definition": "  "})


def test_add_code_and_undo(coded: Store) -> None:
    book = services.list_codebooks(coded)[0]["name"]
    code = services.add_code(coded, book, "tillit", "Tillit", "Utsagn om tillit.",
                             parent="relasjoner", indicators="tillit, stole på",
                             actor="coder-a")
    assert code.path.endswith("relasjoner/tillit") and code.indicators == ("tillit",
                                                                           "stole på")
    with pytest.raises(InputError, match="exists already"):
        services.add_code(coded, book, "tillit", "T", "D")
    services.undo(coded, "coder-a")
    with pytest.raises(NotFound):
        coded.code("tillit")


def test_merge_moves_codings_and_children_and_undoes(coded: Store) -> None:
    services.apply_coding(coded, SpanRequest("JS1", "relasjoner", turn=2), "coder-a")
    services.apply_coding(coded, SpanRequest("JS1", "vi-folelse", turn=2), "coder-a")
    services.apply_coding(coded, SpanRequest("V1", "relasjoner", turn=2), "coder-b")
    services.add_memo(coded, "code", "relasjoner", "Tenk på nærhet.", author="coder-a")
    report = services.merge_codes(coded, "relasjoner", "vi-folelse", actor="coder-a")
    assert (report.codings_moved, report.duplicates_removed) == (1, 1)
    assert {c.code_id for c in services.list_codings(coded)} == {"vi-folelse"}
    assert coded.memos("code", "vi-folelse")[0].body == "Tenk på nærhet."
    with pytest.raises(NotFound):
        coded.code("relasjoner")
    services.undo(coded, "coder-a")
    assert sorted(c.code_id for c in services.list_codings(coded)) == [
        "relasjoner", "relasjoner", "vi-folelse"]
    assert coded.memos("code", "relasjoner")


def test_delete_refused_with_codings_then_forced_and_undone(coded: Store) -> None:
    services.apply_coding(coded, SpanRequest("JS1", "innsoking", turn=2), "coder-a")
    services.add_memo(coded, "coding", str(services.list_codings(coded)[0].id),
                      "Viktig sitat.", author="coder-a")
    with pytest.raises(InputError, match="has 1 codings"):
        services.delete_code(coded, "innsoking", actor="coder-a")
    with pytest.raises(InputError, match="sub-codes"):
        services.delete_code(coded, "forutsetninger", actor="coder-a")
    codes, n = services.delete_code(coded, "innsoking", force=True, actor="coder-a")
    assert codes == ["innsoking"] and n == 1
    assert coded.counts()["codings"] == 0 and coded.counts()["memos"] == 0
    services.undo(coded, "coder-a")
    assert coded.code("innsoking").name
    assert coded.counts()["codings"] == 1 and coded.counts()["memos"] == 1
    assert services.check_project(coded) == []


def test_delete_subtree_with_force(coded: Store) -> None:
    before = len(coded.codes())
    codes, _ = services.delete_code(coded, "forutsetninger", force=True, actor="coder-a")
    assert len(codes) == 7 and len(coded.codes()) == before - 7
    services.undo(coded, "coder-a")
    assert len(coded.codes()) == before
    assert coded.code("relasjoner").path == "samarbeid/forutsetninger/relasjoner"


def test_memos_on_every_scope(coded: Store) -> None:
    services.apply_coding(coded, SpanRequest("JS1", "relasjoner", turn=2), "coder-a")
    coding = services.list_codings(coded)[0]
    services.add_memo(coded, "project", None, "Dag 1: startet kodingen.", author="coder-a")
    services.add_memo(coded, "document", "JS1", "Fornøyd informant.", author="coder-a")
    services.add_memo(coded, "code", "relasjoner", "Grense mot vi-følelse.", author="coder-a")
    services.add_memo(coded, "coding", str(coding.id), "Godt sitat.", author="coder-a")
    memos = services.list_memos(coded)
    assert [m.scope for m in memos] == ["project", "document", "code", "coding"]
    assert services.list_memos(coded, "document", "JS1")[0].body == "Fornøyd informant."
    services.edit_memo(coded, memos[0].id, "Dag 1: ferdig med JS1.", actor="coder-a")
    assert coded.memo(memos[0].id).body == "Dag 1: ferdig med JS1."
    services.undo(coded, "coder-a")
    assert coded.memo(memos[0].id).body == "Dag 1: startet kodingen."
    services.delete_memo(coded, memos[1].id, actor="coder-a")
    services.undo(coded, "coder-a")
    assert coded.memo(memos[1].id).body == "Fornøyd informant."
    with pytest.raises(InputError, match="empty"):
        services.add_memo(coded, "project", None, "  ")
    with pytest.raises(NotFound):
        services.add_memo(coded, "document", "JS99", "x")


def test_removing_codings_and_history(coded: Store) -> None:
    c = services.apply_coding(coded, SpanRequest("JS1", "relasjoner", turn=2), "coder-a")
    services.remove_codings(coded, [str(c.id)], actor="coder-a")
    assert coded.counts()["codings"] == 0
    services.undo(coded, "coder-a")
    assert coded.coding(c.id).uid == c.uid
    rows = services.history(coded, limit=3)
    assert [r["kind"] for r in rows] == ["undo", "coding.remove", "coding.apply"]
    assert rows[1]["undoable"] and not rows[0]["undoable"]


def test_coder_identity(coded: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QCODE_CODER", raising=False)
    monkeypatch.setenv("QCODE_CONFIG", "/nonexistent/config.toml")
    with pytest.raises(InputError, match="who is coding"):
        services.apply_coding(coded, SpanRequest("JS1", "relasjoner", turn=2), None)
    monkeypatch.setenv("QCODE_CODER", "anna")
    c = services.apply_coding(coded, SpanRequest("JS1", "relasjoner", turn=2), None)
    assert c.coder_id == "anna"
    services.add_coder(coded, "coder-c", "Kari Koder")
    with pytest.raises(InputError, match="exists already"):
        services.add_coder(coded, "coder-c", "Kari")
    with pytest.raises(InputError, match="not valid"):
        services.resolve_coder(coded, "Kari Koder")
    assert [c.id for c in coded.coders()] == ["anna", "coder-c"]


def test_coding_texts_are_the_stored_spans_on_every_version(coded: Store,
                                                            tmp_path: Path) -> None:
    """Excerpts sliced in Python equal SQLite's substr() of the stored text, emoji included."""
    folder = tmp_path / "emoji"
    folder.mkdir()
    source = folder / "E1.txt"
    source.write_text("I: Hvordan gikk det? 🙂\n\nE1: Blåbærsyltetøy 😀 på 𝔅ergen-møtet, "
                      "og så videre.\n", encoding="utf-8")
    services.import_paths(coded, [folder], services.import_options(coded), actor="tester")
    requests = [SpanRequest("E1", "relasjoner", quote="😀 på 𝔅ergen"),
                SpanRequest("E1", "samarbeid", turn=2),
                SpanRequest("JS1", "relasjoner", quote="nærhet"),
                SpanRequest("E1", "ledelse", quote="Blåbærsyltetøy")]
    applied = services.apply_codings(coded, requests, "coder-a")
    assert [c.text for c in applied[:1]] == ["😀 på 𝔅ergen"]
    source.write_text(source.read_text(encoding="utf-8").replace("og så videre", "og slik"),
                      encoding="utf-8")  # a new version: codings move, the old one stays
    services.import_paths(coded, [folder], services.import_options(coded), actor="tester")
    expected = dict(coded.conn.execute(
        'SELECT k.id, substr(d.text, k.start + 1, k."end" - k.start) FROM codings k '
        "JOIN documents d ON d.id = k.document_id").fetchall())
    for current_only in (True, False):
        found = coded.codings(current_only=current_only)
        assert found and all(c.text == expected[c.id] for c in found)
    assert len(coded.codings(current_only=False)) == len(expected) == 4
    assert [coded.coding(c.id).text for c in applied] == [expected[c.id] for c in applied]
    assert [c.text for c in coded.codings_by_id([c.id for c in reversed(applied)])] == \
        [expected[c.id] for c in reversed(applied)]
    assert [c.text for c in applied] == [r.quote or applied[1].text for r in requests]


def _statements_during(store: Store, action: Any) -> tuple[Any, list[str]]:
    statements: list[str] = []
    store.conn.set_trace_callback(statements.append)
    try:
        result = action()
    finally:
        store.conn.set_trace_callback(None)
    return result, statements


def _text_reads(statements: list[str]) -> int:
    return sum(1 for s in statements if "d.text" in s or "SELECT text FROM documents" in s)


def test_applying_reads_each_document_and_the_codes_once(coded: Store) -> None:
    doc = coded.document("JS1")
    start = doc.text.index("nærhet")
    single, statements = _statements_during(coded, lambda: services.apply_coding(
        coded, SpanRequest("JS1", "relasjoner", start=start, end=start + 6), "coder-a"))
    assert single.text == "nærhet" and single.document == "JS1"
    assert _text_reads(statements) == 1  # the TUI's apply: no second read for the result
    assert sum(1 for s in statements if "FROM codes c" in s) == 1
    requests = [SpanRequest("JS1" if i % 2 else "V1", "relasjoner" if i % 3 else "ledelse",
                            turn=2, memo=f"m{i}") for i in range(40)]
    found, statements = _statements_during(
        coded, lambda: services.apply_codings(coded, requests, "coder-b"))
    assert _text_reads(statements) == 2 and sum(1 for s in statements if "FROM codes c" in s) == 1
    assert [(c.document, c.code_id) for c in found] == \
        [(r.document, "relasjoner" if i % 3 else "ledelse") for i, r in enumerate(requests)]
    assert len({c.id for c in found}) == 4  # identical spans are stored once
    assert all(c == coded.coding(c.id) for c in found)  # text, memo, times as stored
    assert services.undo(coded, "coder-b") == "apply 4 codings"


def test_the_first_failing_request_is_reported(coded: Store) -> None:
    ok = SpanRequest("JS1", "relasjoner", turn=2)
    with pytest.raises(NotFound, match="no document 'nope'"):
        services.apply_codings(coded, [ok, SpanRequest("nope", "relasjoner", turn=1),
                                       SpanRequest("JS1", "relasjoner", turn=99)], "coder-a")
    with pytest.raises(InputError, match="has no turn 99"):
        services.apply_codings(coded, [ok, SpanRequest("JS1", "relasjoner", turn=99),
                                       SpanRequest("nope", "relasjoner", turn=1)], "coder-a")
    with pytest.raises(NotFound, match="no code 'ukjent'"):
        services.apply_codings(coded, [SpanRequest("V1", "relasjoner", turn=2),
                                       SpanRequest("JS1", "ukjent", turn=2),
                                       SpanRequest("V1", "relasjoner", turn=99)], "coder-a")
    assert coded.counts()["codings"] == 0
