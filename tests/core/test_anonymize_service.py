"""The leak check and pseudonymisation in a project (qcode.services.anonymize)."""

from __future__ import annotations

import stat
import unicodedata
from pathlib import Path

import pytest

from qcode import services
from qcode.errors import InputError
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
