"""Team work: coder bundles merged into a master project, conflicts, undo, blind coding."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qcode import services
from qcode.codebook import Code, Codebook
from qcode.errors import InputError, NotFound
from qcode.services import teamwork
from qcode.services.teamwork import (
    export_bundle,
    import_bundle,
    is_blind,
    mark_agreement_computed,
    set_blind,
    visible_coders,
)
from qcode.store import Store

BOOK = Codebook(name="samarbeid", codes=(
    Code(id="naerhet", name="Nærhet", definition="Fysisk og sosial nærhet.",
         children=(Code(id="samme-gang", name="Samme gang", definition="Sitter sammen."),)),
    Code(id="byrakrati", name="Byråkrati", definition="Skjema og dokumentasjon."),
    Code(id="ressurser", name="Ressurser", definition="Hvem får ressursene."),
))


TRANSCRIPTS = {
    "JS1": "Intervju 1 – JS1\n\n"
           "I: Hvordan er samarbeidet med veilederne?\n\n"
           "JS1: Det går bra. Vi sitter på samme gang, så vi snakker sammen hver dag.\n"
           "Og «vi-følelsen» er sterk (...) synes jeg.\n\n"
           "I: Kan du si mer?\n\n"
           "JS1: Ja, (veileder) og jeg løser ting sammen. Det er nærhet som gjør det.\n",
    "V1": "I: Hva tenker du om innsøkingen?\n\n"
          "V1: Den er tungvint, ærlig talt. Skjemaene tar tid, og jeg må dokumentere alt.\n\n"
          "I: Takk.\n",
    "V2": "[00:00:05] I: Fortell om kontoret.\n\n"
          "[00:00:09] V2: Vi har mange brukere. Jobbspesialistene får ressursene, føler jeg.\n",
}


def _project(folder: Path, name: str, transcripts: Path) -> Store:
    path = services.init_project(folder / f"{name}.qcode", actor="tester")
    store = services.open_project(path)
    services.import_paths(store, [transcripts], services.import_options(store), actor="tester")
    services.load_codebook(store, BOOK, actor="tester")
    return store


def _code(store: Store, coder: str, *items: tuple[str, str, str]) -> list[Any]:
    return services.apply_codings(
        store, [services.SpanRequest(document=d, code=c, quote=q) for d, c, q in items], coder)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Master and coder-b projects built once from the same transcripts (closed files)."""
    folder = tmp_path_factory.mktemp("template")
    transcripts = folder / "transcripts"
    transcripts.mkdir()
    for name, text in TRANSCRIPTS.items():
        (transcripts / f"{name}.txt").write_text(text, encoding="utf-8")
    master = _project(folder, "master", transcripts)
    other = _project(folder, "coder-b", transcripts)
    services.add_coder(master, "coder-a", "Koder A", actor="coder-a")
    _code(master, "coder-a", ("JS1", "naerhet", "Vi sitter på samme gang"))
    services.add_coder(other, "coder-b", "Koder B", actor="coder-b")
    master.close()
    other.close()
    return folder


@pytest.fixture
def pair(template: Path, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """A master project (coder-a has coded) and coder-b's copy built from the same files."""
    stores = []
    for name in ("master", "coder-b"):
        shutil.copy(template / f"{name}.qcode", tmp_path / f"{name}.qcode")
        stores.append(services.open_project(tmp_path / f"{name}.qcode"))
    yield stores[0], stores[1]
    for store in stores:
        store.close()


def _b_work(other: Store) -> list[Any]:
    """coder-b codes three spans and writes memos of every scope."""
    codings = _code(other, "coder-b",
                    ("JS1", "samme-gang", "Vi sitter på samme gang"),
                    ("JS1", "naerhet", "Det er nærhet som gjør det"),
                    ("V1", "byrakrati", "Skjemaene tar tid"))
    services.set_coding_memo(other, codings[1].uid, "nærhet som forklaring", actor="coder-b")
    services.add_memo(other, "document", "V1", "V1 er lei av skjema.", author="coder-b")
    services.add_memo(other, "code", "byrakrati", "Skille fra ressurser?", author="coder-b")
    services.add_memo(other, "coding", codings[0].uid, "Tydelig eksempel.", author="coder-b")
    services.add_memo(other, "project", None, "Første runde ferdig.", author="coder-b")
    services.add_memo(other, "project", None, "Ikke min memo.", author="someone-else")
    return codings


def _signature(store: Store, coder: str | None = None) -> set[tuple[Any, ...]]:
    return {(k.document, k.start, k.end, k.code_id, k.coder_id, k.memo, k.text, k.uid)
            for k in store.codings(coder_id=coder)}


def _memos(store: Store) -> set[tuple[Any, ...]]:
    return {(m.scope, m.target, m.author, m.body) for m in store.memos()}


def _state(store: Store) -> tuple[Any, ...]:
    return (_signature(store), _memos(store), tuple(store.coders()), store.counts())


# -- export ------------------------------------------------------------------------------


def test_bundle_is_a_deterministic_zip_with_a_format_version(pair: tuple[Store, Store],
                                                             tmp_path: Path) -> None:
    _master, other = pair
    _b_work(other)
    first = export_bundle(other, "coder-b", tmp_path / "b1.qcb")
    second = export_bundle(other, "coder-b", tmp_path / "b2.qcb")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256
    with zipfile.ZipFile(first.path) as zf:
        assert zf.namelist() == ["bundle.json"]
        data = json.loads(zf.read("bundle.json"))
    assert data["format"] == "qcode-bundle" and data["format_version"] == 1
    assert data["coder"] == {"id": "coder-b", "name": "Koder B"}
    assert (first.codings, first.memos, first.documents) == (3, 4, 2)
    assert first.codebooks == ("samarbeid",)
    book = data["codebooks"][0]
    assert book["revision"] >= 1 and {"naerhet", "samme-gang", "byrakrati"} <= set(book["codes"])
    coding = data["codings"][0]
    assert set(coding) >= {"uid", "document", "start", "end", "code", "memo", "created"}
    assert set(coding["document"]) == {"sha256", "name"}
    assert {m["scope"] for m in data["memos"]} == {"project", "document", "code", "coding"}
    assert all(m["body"] != "Ikke min memo." for m in data["memos"])  # other authors' memos
    doc_memo = next(m for m in data["memos"] if m["scope"] == "document")
    assert doc_memo["target"]["name"] == "V1" and len(doc_memo["target"]["sha256"]) == 64
    assert sorted(d["sha256"] for d in data["documents"]) == sorted(
        other.document(n).sha256 for n in ("JS1", "V1"))


def test_unknown_coder_cannot_be_exported(pair: tuple[Store, Store], tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        export_bundle(pair[1], "nobody", tmp_path / "x.qcb")


# -- import --------------------------------------------------------------------------------


def test_round_trip_puts_coder_b_codings_on_the_same_text(pair: tuple[Store, Store],
                                                           tmp_path: Path) -> None:
    master, other = pair
    _b_work(other)
    info = export_bundle(other, "coder-b", tmp_path / "b.qcb")
    before_a = _signature(master, "coder-a")
    report = import_bundle(master, info.path, actor="lead")
    assert report.applied and report.changed and not report.conflicts, report.lines()
    assert (report.added, report.updated, report.memos_added) == (3, 0, 4)
    assert report.coder_created and master.coder("coder-b").name == "Koder B"
    assert _signature(master, "coder-b") == _signature(other, "coder-b")
    assert _signature(master, "coder-a") == before_a
    # memos are addressed by hash, code id and coding uid, and mapped to this project
    v1 = master.document("V1")
    bodies = {(m.scope, m.target, m.body) for m in master.memos() if m.author == "coder-b"}
    first = other.codings(coder_id="coder-b")
    assert ("document", v1.uid, "V1 er lei av skjema.") in bodies
    assert ("code", "byrakrati", "Skille fra ressurser?") in bodies
    assert ("project", None, "Første runde ferdig.") in bodies
    js1_uid = next(k.uid for k in first if k.code_id == "samme-gang")
    assert ("coding", js1_uid, "Tydelig eksempel.") in bodies
    assert master.events(limit=1)[0]["kind"] == "bundle.import"


def test_importing_the_same_bundle_twice_changes_nothing(pair: tuple[Store, Store],
                                                         tmp_path: Path) -> None:
    master, other = pair
    _b_work(other)
    path = export_bundle(other, "coder-b", tmp_path / "b.qcb").path
    import_bundle(master, path, actor="lead")
    state = _state(master)
    again = import_bundle(master, path, actor="lead")
    assert again.applied and not again.changed
    assert (again.added, again.updated, again.unchanged, again.memos_added,
            again.memos_unchanged) == (0, 0, 3, 0, 4)
    assert _state(master) == state


def test_a_bare_bundle_json_is_accepted_and_a_dry_run_writes_nothing(
        pair: tuple[Store, Store], tmp_path: Path) -> None:
    master, other = pair
    _b_work(other)
    with zipfile.ZipFile(export_bundle(other, "coder-b", tmp_path / "b.qcb").path) as zf:
        (tmp_path / "bundle.json").write_bytes(zf.read("bundle.json"))
    state = _state(master)
    dry = import_bundle(master, tmp_path / "bundle.json", actor="lead", dry_run=True)
    assert dry.applied and dry.changed and dry.added == 3 and dry.event_id is None
    assert any("would merge" in line for line in dry.lines())
    assert _state(master) == state
    assert import_bundle(master, tmp_path / "bundle.json", actor="lead").added == 3


def test_a_later_bundle_updates_the_coders_own_codings(pair: tuple[Store, Store],
                                                       tmp_path: Path) -> None:
    master, other = pair
    codings = _b_work(other)
    import_bundle(master, export_bundle(other, "coder-b", tmp_path / "1.qcb").path)
    services.set_coding_memo(other, codings[2].uid, "revidert", actor="coder-b")
    _code(other, "coder-b", ("V2", "ressurser", "Jobbspesialistene får ressursene"))
    report = import_bundle(master, export_bundle(other, "coder-b", tmp_path / "2.qcb").path)
    assert (report.added, report.updated, report.unchanged) == (1, 1, 2)
    assert master.coding(codings[2].uid).memo == "revidert"
    assert _signature(master, "coder-b") == _signature(other, "coder-b")


def test_undo_of_a_bundle_import_removes_it(pair: tuple[Store, Store], tmp_path: Path) -> None:
    master, other = pair
    _b_work(other)
    state = _state(master)
    report = import_bundle(master, export_bundle(other, "coder-b", tmp_path / "b.qcb").path,
                           actor="lead")
    assert report.event_id is not None
    summary = services.undo(master, actor="lead")
    assert "coder-b" in summary
    assert _state(master)[:3] == state[:3]
    assert master.coder("coder-b") is None
    services.redo(master, actor="lead")
    assert _signature(master, "coder-b") == _signature(other, "coder-b")


# -- conflicts: reported, nothing written ---------------------------------------------------


def _refused(master: Store, path: Path, *fragments: str) -> teamwork.BundleReport:
    state = _state(master)
    events = len(master.events())
    report = import_bundle(master, path, actor="lead")
    assert not report.applied and not report.changed
    text = "\n".join(report.lines())
    assert "NOT merged" in text and "nothing was written" in text
    for fragment in fragments:
        assert fragment in text, text
    assert _state(master) == state and len(master.events()) == events
    assert master.coder("coder-b") is None
    return report


def test_unknown_document_is_a_conflict(pair: tuple[Store, Store], tmp_path: Path) -> None:
    master, other = pair
    _b_work(other)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "JS9.txt").write_text("I: Hei.\n\nJS9: Vi sitter på samme gang her også.\n",
                                   encoding="utf-8")
    services.import_paths(other, [extra], services.import_options(other), actor="tester")
    _code(other, "coder-b", ("JS9", "naerhet", "samme gang her"))
    report = _refused(master, export_bundle(other, "coder-b", tmp_path / "b.qcb").path,
                      "unknown document JS9")
    assert len(report.conflicts) == 1


def test_unknown_code_is_a_conflict(pair: tuple[Store, Store], tmp_path: Path) -> None:
    master, other = pair
    _b_work(other)
    services.add_code(other, "samarbeid", "vi-folelse", "Vi-følelse", "Fellesskap.",
                      actor="coder-b")
    _code(other, "coder-b", ("JS1", "vi-folelse", "«vi-følelsen» er sterk"))
    report = _refused(master, export_bundle(other, "coder-b", tmp_path / "b.qcb").path,
                      "unknown code 'vi-folelse'")
    assert any("revision" in w for w in report.warnings)  # the codebook moved on in B


def _new_version(store: Store, folder: Path, name: str, old: str, new: str) -> None:
    text = store.document(name).text.replace(old, new)
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    services.import_paths(store, [folder / f"{name}.txt"], services.import_options(store),
                          actor="tester")
    assert store.document(name).version == 2


def test_changed_text_that_no_longer_holds_a_span_is_a_conflict(
        pair: tuple[Store, Store], tmp_path: Path) -> None:
    master, other = pair
    _b_work(other)
    _new_version(master, tmp_path / "v2", "JS1", "Det er nærhet som gjør det",
                 "Det er avstand som gjør det")
    report = _refused(master, export_bundle(other, "coder-b", tmp_path / "b.qcb").path,
                      "the text changed in version 2")
    assert len(report.conflicts) == 1 and "nærhet som gjør det" in report.conflicts[0]


def test_codings_on_an_older_version_are_re_anchored_on_the_current_text(
        pair: tuple[Store, Store], tmp_path: Path) -> None:
    master, other = pair
    _b_work(other)
    _new_version(master, tmp_path / "v2", "JS1", "Intervju 1 – JS1",
                 "Intervju 1 – JS1 (transkribert på nytt)")
    report = import_bundle(master, export_bundle(other, "coder-b", tmp_path / "b.qcb").path)
    assert report.applied and report.reanchored == 2 and report.added == 3
    current = master.document("JS1")
    moved = [k for k in master.codings(coder_id="coder-b") if k.document == "JS1"]
    assert {k.document_id for k in moved} == {current.id}
    assert {k.text for k in moved} == {"Vi sitter på samme gang", "Det er nærhet som gjør det"}


def test_a_coding_uid_owned_by_another_coder_is_a_conflict(pair: tuple[Store, Store],
                                                           tmp_path: Path) -> None:
    master, other = pair
    _b_work(other)
    path = export_bundle(other, "coder-b", tmp_path / "b.qcb").path
    with zipfile.ZipFile(path) as zf:
        data = json.loads(zf.read("bundle.json"))
    data["codings"][0]["uid"] = master.codings(coder_id="coder-a")[0].uid
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data), encoding="utf-8")
    _refused(master, forged, "belongs to coder-a")


# -- unsafe or broken bundles ---------------------------------------------------------------


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(("content", "fragment"), [
    (_zip({"../bundle.json": b"{}", "bundle.json": b"{}"}), "zip slip"),
    (_zip({"other.json": b"{}"}), "bundle.json is missing"),
    (b"hello", "not a qcode bundle"),
    (b'{"format": "qcode-bundle", "format_version": 99}', "newer qcode"),
    (b'{"format": "something-else"}', "not a qcode bundle"),
    (b'{"format": "qcode-bundle", "format_version": 1, "coder": 3}', "damaged bundle"),
    (b'{"format": "qcode-bundle", "format_version": 1,\n "coder": ', "not valid JSON"),
    (_zip({"bundle.json": b"\0" * (20 * 2**20)}), "zip bomb"),
])
def test_unsafe_or_broken_bundles_are_refused(store: Store, tmp_path: Path,
                                              content: bytes, fragment: str) -> None:
    master = store
    path = tmp_path / "bad.qcb"
    path.write_bytes(content)
    state = _state(master)
    with pytest.raises(InputError) as info:
        import_bundle(master, path)
    line = info.value.one_line()
    assert str(path) in line and fragment in line and "\n" not in line
    assert _state(master) == state


def test_bundle_copied_elsewhere_still_imports(pair: tuple[Store, Store], tmp_path: Path) -> None:
    master, other = pair
    _b_work(other)
    path = export_bundle(other, "coder-b", tmp_path / "b.qcb").path
    moved = tmp_path / "post" / "renamed.zip"
    moved.parent.mkdir()
    shutil.copy(path, moved)
    assert import_bundle(master, moved).added == 3


# -- blind coding ----------------------------------------------------------------------------


def test_blind_coding_hides_other_coders_until_agreement(pair: tuple[Store, Store]) -> None:
    master, _other = pair
    services.add_coder(master, "coder-b", "Koder B", actor="coder-b")
    assert not is_blind(master)
    assert visible_coders(master, "coder-a") == ["coder-a", "coder-b"]
    set_blind(master, True, actor="lead")
    assert is_blind(master)
    assert master.events(limit=1)[0]["kind"] == "settings.blind"
    assert visible_coders(master, "coder-a") == ["coder-a"]
    assert visible_coders(master, "coder-b") == ["coder-b"]
    assert visible_coders(master, None) == []
    assert visible_coders(master, "stranger") == []
    mark_agreement_computed(master, ["coder-b", "coder-a"], actor="lead")
    assert master.events(limit=1)[0]["payload"]["coders"] == ["coder-a", "coder-b"]
    assert visible_coders(master, "coder-a") == ["coder-a", "coder-b"]
    set_blind(master, True, actor="lead")  # a new blind round starts
    assert visible_coders(master, "coder-a") == ["coder-a"]
    set_blind(master, False, actor="lead")
    assert not is_blind(master)
    assert visible_coders(master, "coder-a") == ["coder-a", "coder-b"]


def test_a_duplicate_coding_is_skipped_and_its_memo_follows_the_masters_twin(
        pair: tuple[Store, Store], tmp_path: Path) -> None:
    master, other = pair
    mine = _code(master, "coder-b", ("V1", "byrakrati", "Skjemaene tar tid"))[0]
    theirs = _code(other, "coder-b", ("V1", "byrakrati", "Skjemaene tar tid"))[0]
    assert mine.uid != theirs.uid
    services.add_memo(other, "coding", theirs.uid, "Samme koding.", author="coder-b")
    report = import_bundle(master, export_bundle(other, "coder-b", tmp_path / "b.qcb").path)
    assert (report.added, report.duplicates, report.memos_added) == (0, 1, 1)
    assert [(m.scope, m.target) for m in master.memos() if m.body == "Samme koding."] == [
        ("coding", mine.uid)]
