"""The leak check and pseudonymisation in a project (qcode.services.anonymize)."""

from __future__ import annotations

import stat
import threading
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from qcode import services
from qcode.errors import InputError
from qcode.services import anonymize
from qcode.services.coding import SpanRequest
from qcode.store import Store

from ..conftest import CORPUS

V4 = CORPUS / "intervjuer" / "V4.txt"
LEAKS = ["Marius Fjellheim", "Marius", "948 27 316", "14039127742", "Gjøvik"]
OTHER = """I: Kjenner du til saken?

V9: Ja, jeg snakket med Marius Fjellheim i går. Marius var fornøyd med jobben.
"""


@pytest.fixture(autouse=True)
def blank(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QCODE_NLP_PIPELINE", "blank")
    monkeypatch.setenv("QCODE_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("QCODE_CODER", "coder-a")


@pytest.fixture
def project(store: Store, tmp_path: Path) -> Store:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "V4.txt").write_bytes(V4.read_bytes())
    (folder / "V9.txt").write_text(OTHER, encoding="utf-8")
    services.import_paths(store, [folder], services.import_options(store), actor="tester")
    services.load_codebook_file(store, CORPUS.parent / "codebooks" / "samarbeid.yaml",
                                actor="tester")
    return store


def test_check_document_finds_every_deliberate_leak(project: Store) -> None:
    findings = services.check_document(project, "V4")
    text = project.document("V4").text
    found = {f.text for f in findings}
    assert set(LEAKS) <= found
    for f in findings:
        assert text[f.start:f.end] == f.text
    high = {f.text for f in findings if f.confidence == "high"}
    assert {"Marius Fjellheim", "948 27 316", "14039127742"} <= high
    kinds = {f.text: f.kind for f in findings}
    assert kinds["14039127742"] == "fodselsnummer" and kinds["948 27 316"] == "phone"
    # placeholders, speaker ids and the allow-listed names are never findings
    assert not any(t in found for t in ("(jobbsøker)", "(ekstern aktør)", "V4", "IPS", "Nav"))


def test_check_file_before_import_uses_offsets_into_the_nfc_text(tmp_path: Path) -> None:
    raw = "V9: Hen flyttet til Gjøvik og ringte 948 27 316.\n"
    path = tmp_path / "utkast.txt"
    path.write_bytes(b"\xef\xbb\xbf" + unicodedata.normalize("NFD", raw).encode("utf-8"))
    text, findings = services.check_file(path)
    assert text == unicodedata.normalize("NFC", raw)
    assert {f.text for f in findings} >= {"Gjøvik", "948 27 316"}
    for f in findings:
        assert text[f.start:f.end] == f.text
    gjovik = next(f for f in findings if f.text == "Gjøvik")
    assert gjovik.start == raw.index("Gjøvik")


def test_invalid_checksum_is_not_a_fodselsnummer() -> None:
    findings = services.check_text("Nummeret er 14039127743, ikke noe annet.",
                                   use_pipeline=False)
    assert [(f.kind, f.confidence) for f in findings] == [("number", "low")]


def _report(store: Store, tmp_path: Path, name: str) -> Path:
    rid = services.create_report(store, name, "samarbeid", actor="coder-a")
    out = tmp_path / f"{name}.md"
    services.export_report(store, rid, out, allow_leaks=True)
    return out


def test_export_refuses_flagged_text_unless_allowed(project: Store, tmp_path: Path) -> None:
    services.apply_codings(project, [SpanRequest("V4", "samarbeid", quote=(
        "«Marius Fjellheim, ringt 948 27 316, ikke svar"))], "coder-a")
    rid = services.create_report(project, "leak", "samarbeid", actor="coder-a")
    with pytest.raises(InputError, match="possible leaks"):
        services.export_report(project, rid, tmp_path / "r.md")
    out = tmp_path / "ok.md"
    services.export_report(project, rid, out, allow_leaks=True)
    assert "Fjellheim" in out.read_text(encoding="utf-8")


def test_apply_replaces_leaks_keeps_codings_and_leaves_no_trace(project: Store,
                                                               tmp_path: Path) -> None:
    before = project.document("V4")
    services.apply_codings(project, [
        SpanRequest("V4", "samarbeid", quote="«Marius Fjellheim, ringt 948 27 316, ikke svar"),
        SpanRequest("V4", "samarbeid", quote="prøv igjen torsdag etter møtet med (ekstern "
                                             "aktør)"),
        SpanRequest("V4", "samarbeid", quote="Hen hadde jobbet flere år på et lager på Gjøvik"),
    ], "coder-a")
    keys = tmp_path / "nokler"
    keys.mkdir()
    key = keys / "studie.json"
    report = services.apply_pseudonyms(project, "V4", key, confidence=("high", "medium"))
    after = project.document("V4")
    assert after.version == before.version + 1 and report.version == after.version
    assert report.codings_moved == 3
    for leak in LEAKS:
        assert leak not in after.text
    assert "(person 1)" in after.text and "(telefonnummer)" in after.text
    assert "(fødselsnummer)" in after.text
    quotes = {k.text for k in project.codings(document_id=after.id)}
    assert "«(person 1), ringt (telefonnummer), ikke svar" in quotes
    assert "prøv igjen torsdag etter møtet med (ekstern aktør)" in quotes
    assert any(q.startswith("Hen hadde jobbet flere år på et lager på (") for q in quotes)
    # the key: owner-only, outside the project, and the same placeholders next time
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not key.resolve().is_relative_to(project.path.parent / "study.qcode-backups")
    second = services.apply_pseudonyms(project, "V9", key, confidence=("high", "medium"))
    other = project.document("V9").text
    assert "(person 1)" in other and "Marius" not in other and second.version == 2
    # nothing of the originals stays in the project file or in an export
    out = _report(project, tmp_path, "after")
    exported = out.read_text(encoding="utf-8")
    assert "(person 1)" in exported and "Fjellheim" not in exported
    path = project.path
    project.close()
    for file in [path, *path.parent.glob(path.name + "-*")]:
        data = file.read_bytes()
        for leak in ("Fjellheim", "14039127742", "948 27 316"):
            assert leak.encode("utf-8") not in data, (file, leak)
    assert "Fjellheim" in key.read_text(encoding="utf-8").title()


def test_apply_refuses_a_key_inside_the_project(project: Store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="must not be a project file"):
        services.apply_pseudonyms(project, "V4", project.path)
    backups = project.path.parent / (project.path.name + "-backups")
    backups.mkdir()
    with pytest.raises(InputError, match="must not be a project file"):
        services.apply_pseudonyms(project, "V4", backups / "key.json")
    with pytest.raises(InputError, match="no such folder"):
        services.apply_pseudonyms(project, "V4", tmp_path / "missing" / "key.json")


# -- stored findings ----------------------------------------------------------------------


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every run of the detectors over a whole document."""
    calls: list[str] = []
    real = anonymize.find_all_leaks

    def counted(text: str, **kwargs: Any) -> Any:
        calls.append(text[:20])
        return real(text, **kwargs)

    monkeypatch.setattr(anonymize, "find_all_leaks", counted)
    return calls


def _leak_report(project: Store) -> int:
    services.apply_codings(project, [SpanRequest("V4", "samarbeid", quote=(
        "«Marius Fjellheim, ringt 948 27 316, ikke svar"))], "coder-a")
    return services.create_report(project, "leak", "samarbeid", actor="coder-a")


def test_import_stores_the_findings_of_each_document_version(project: Store) -> None:
    v4, v9 = project.document("V4"), project.document("V9")
    checks = project.leak_checks()
    assert set(checks) == {v4.id, v9.id}
    fresh = anonymize._run_check(project, v4)
    high = sum(1 for f in fresh if f.confidence == "high")
    assert high >= 3 and checks[v4.id].high == high
    assert checks[v4.id].medium == sum(1 for f in fresh if f.confidence == "medium")
    assert services.check_document(project, "V4", annotate=False) == fresh
    assert [(f.start, f.end, f.text, f.kind, f.confidence, f.detail)
            for f in project.leak_findings([v4.id])] == \
        [(f.start, f.end, f.text, f.kind, f.confidence, f.detail) for f in fresh]
    # the event log has the counts and spans, never the text
    events = [e for e in project.events() if e["kind"] == "anonymize.findings"]
    assert {e["payload"]["document_id"]: e["payload"]["high"] for e in events} == \
        {v4.id: high, v9.id: checks[v9.id].high}
    assert "Fjellheim" not in str(events)


def test_export_intersects_stored_findings_without_checking_again(
        project: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rid = _leak_report(project)
    calls = _counting(monkeypatch)
    with pytest.raises(InputError) as stored:
        services.export_report(project, rid, tmp_path / "r.xlsx")
    assert calls == []
    assert stored.value.message.startswith("1 exported excerpt contains ")
    assert "possible leaks, e.g. " in stored.value.message and "in V4" in stored.value.message
    assert not (tmp_path / "r.xlsx").exists()
    # the same refusal, word for word, as a check from scratch gives
    with project.transaction():
        project.conn.execute("DELETE FROM leak_checks")
    with pytest.raises(InputError) as fresh:
        services.export_report(project, rid, tmp_path / "r.xlsx")
    assert len(calls) == 1  # only V4 has excerpts in the report: checked again, and stored
    assert (fresh.value.message, fresh.value.hint) == (stored.value.message, stored.value.hint)
    assert set(project.leak_checks()) == {project.document("V4").id}


def test_stale_findings_are_checked_again_when_their_inputs_change(
        project: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rid = _leak_report(project)
    v4 = project.document("V4")
    calls = _counting(monkeypatch)
    # stored findings are trusted while their fingerprint holds (that is what makes
    # exports cheap): hide the high ones and the export passes
    with project.transaction():
        project.conn.execute("UPDATE leak_findings SET confidence = 'low' WHERE document_id = ?",
                             (v4.id,))
    services.export_report(project, rid, tmp_path / "passes.md")
    assert calls == []
    # new rules (or word lists): checked again, and the leak is caught again
    monkeypatch.setattr(anonymize, "leak_rules_version", lambda: "other-rules")
    with pytest.raises(InputError, match="possible leaks"):
        services.export_report(project, rid, tmp_path / "refused.md")
    assert len(calls) == 1
    assert services.leak_counts(project, [v4.id]) == {v4.id: project.leak_checks()[v4.id].high}
    assert len(calls) == 1  # stored under the new fingerprint
    services.check_document(project, "V9", annotate=False)  # stored under the old one
    assert len(calls) == 2
    # a new annotation (entities, tags, sentences) changes what the check reads
    services.annotate_documents(project, ["V4"])
    services.check_document(project, "V4", annotate=False)
    assert len(calls) == 3
    services.check_document(project, "V4", annotate=False)
    assert len(calls) == 3


def test_the_rules_fingerprint_covers_the_word_lists(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    before = anonymize.leak_rules_version()
    assert before == anonymize.leak_rules_version() and len(before) == 16
    anonymize.leak_rules_version.cache_clear()
    monkeypatch.setattr(anonymize, "_RULE_DATA", (*anonymize._RULE_DATA, "no-such-list.txt"))
    try:
        assert anonymize.leak_rules_version() != before
    finally:
        anonymize.leak_rules_version.cache_clear()
    monkeypatch.undo()
    assert anonymize.leak_rules_version() == before


def test_a_leak_in_a_new_document_version_is_caught(project: Store, tmp_path: Path) -> None:
    folder = tmp_path / "v10"
    folder.mkdir()
    (folder / "V10.txt").write_text("I: Hvordan går det?\n\nV10: Det går bra med jobben nå.\n",
                                    encoding="utf-8")
    services.import_paths(project, [folder], services.import_options(project), actor="tester")
    first = project.document("V10")
    assert project.leak_checks([first.id])[first.id].high == 0
    (folder / "V10.txt").write_text(
        "I: Hvordan går det?\n\nV10: Det går bra med jobben nå. Ring meg på 948 27 316.\n",
        encoding="utf-8")
    services.import_paths(project, [folder], services.import_options(project), actor="tester")
    second = project.document("V10")
    assert second.version == 2 and second.id != first.id
    assert project.leak_checks([second.id])[second.id].high == 1
    services.apply_codings(project, [SpanRequest("V10", "samarbeid",
                                                 quote="Ring meg på 948 27 316")], "coder-a")
    rid = services.create_report(project, "v10", "samarbeid AND document = V10",
                                 actor="coder-a")
    with pytest.raises(InputError, match="phone '948 27 316' in V10"):
        services.export_report(project, rid, tmp_path / "r.md")


def test_leak_counts_reads_stored_counts_and_checks_the_rest(
        project: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    v4, v9 = project.document("V4"), project.document("V9")
    expected = {d.id: sum(1 for f in anonymize._run_check(project, d) if f.confidence == "high")
                for d in (v4, v9)}
    calls = _counting(monkeypatch)
    heard: dict[int, int] = {}
    assert services.leak_counts(project, on_count=heard.__setitem__) == expected == heard
    assert calls == []
    with project.transaction():
        project.conn.execute("DELETE FROM leak_checks WHERE document_id = ?", (v9.id,))
    stop = threading.Event()
    stop.set()  # cancelled: the stored counts only, nothing checked
    assert services.leak_counts(project, cancel=stop) == {v4.id: expected[v4.id]}
    assert services.leak_counts(project, compute=False) == {v4.id: expected[v4.id]}
    assert calls == []
    heard.clear()
    assert services.leak_counts(project, [v9.id, v4.id], on_count=heard.__setitem__) == expected
    assert list(heard) == [v4.id, v9.id]  # stored first, then the one checked now
    assert len(calls) == 1 and set(project.leak_checks()) == {v4.id, v9.id}


def test_a_name_list_is_checked_afresh_and_never_stored(project: Store,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    v9 = project.document("V9")
    stored = project.leak_checks()[v9.id]
    findings = services.check_document(project, "V9", names=["jobben"], annotate=False)
    assert any(f.kind == "name_list" and f.text == "jobben" for f in findings)
    assert project.leak_checks()[v9.id] == stored
    assert not any(f.kind == "name_list" for f in project.leak_findings([v9.id]))
    assert not any(f.kind == "name_list"
                   for f in services.check_document(project, "V9", annotate=False))
    spans = [("V9", 0, len(v9.text))]
    assert any(f.text == "jobben" for f in services.leaks_in_spans(project, spans, ["jobben"]))
    assert not any(f.text == "jobben" for f in services.leaks_in_spans(project, spans))


def test_a_removed_version_takes_its_findings_along(project: Store, tmp_path: Path) -> None:
    old = project.document("V9")
    keys = tmp_path / "nokler"
    keys.mkdir()
    services.apply_pseudonyms(project, "V9", keys / "k.json", confidence=("high", "medium"))
    new = project.document("V9")
    assert old.id not in project.leak_checks() and not project.leak_findings([old.id])
    assert project.conn.execute("SELECT count(*) FROM leak_findings WHERE document_id = ?",
                                (old.id,)).fetchone()[0] == 0
    services.check_document(project, "V9")
    assert new.id in project.leak_checks()
    assert "Fjellheim" not in str(project.leak_findings([new.id]))
