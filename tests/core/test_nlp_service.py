"""The language layer in a project: tiers, turn-wise annotation, reuse, re-annotation."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from qcode import services
from qcode.errors import InputError
from qcode.nlp import pipeline
from qcode.nlp.matching import IndicatorMatcher
from qcode.store import Store

from ..conftest import CORPUS


@pytest.fixture
def blank(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QCODE_NLP_PIPELINE", "blank")


@pytest.fixture
def imported(store: Store, transcript_dir: Path) -> Store:
    services.import_paths(store, [transcript_dir], services.import_options(store),
                          actor="tester")
    return store


def test_tier_choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QCODE_NLP_PIPELINE", "blank")
    assert pipeline.choose_pipeline().tier == 3
    monkeypatch.delenv("QCODE_NLP_PIPELINE")
    monkeypatch.setenv("QCODE_CONFIG", str(tmp_path / "none.toml"))
    choice = pipeline.choose_pipeline()
    official = any(__import__("importlib").util.find_spec(n) for n in pipeline.OFFICIAL)
    assert choice.tier == (1 if official else 2)
    monkeypatch.setenv("QCODE_NLP_PIPELINE", str(tmp_path / "missing"))
    with pytest.raises(InputError, match="neither an installed package"):
        pipeline.choose_pipeline()


def test_blank_tier_reports_what_is_lost(blank: None) -> None:
    status = services.nlp_status()
    assert status.tier == 3 and not status.has_entities
    assert any("no named entities" in w for w in status.warnings)
    assert "qcode_lemmatizer" in status.components


def test_official_pipeline_is_preferred_when_installed() -> None:
    import importlib.util

    name = next((n for n in pipeline.OFFICIAL if importlib.util.find_spec(n)), None)
    if name is None:
        pytest.skip("no official nb_core_news_* pipeline installed")
    assert pipeline.choose_pipeline().tier == 1


def test_annotation_offsets_point_into_stored_text(imported: Store, blank: None) -> None:
    report = services.annotate_documents(imported)
    assert sorted(report.annotated) == ["JS1", "V1", "V2"] and report.tier == 3
    doc = imported.document("JS1")
    tokens = imported.turn_tokens(doc.id)
    turns = {t.id: t for t in imported.turns(doc.id)}
    forms = []
    for turn_id, arrays in tokens.items():
        turn = turns[turn_id]
        for s, e in zip(arrays["start"], arrays["end"], strict=True):
            # inside the turn's content: the label "JS1: " before it never reaches spaCy
            assert turn.start <= s < e <= turn.end
            if turn.speaker:
                forms.append(doc.text[s:e])
    assert "«" in forms and "vi-følelsen" in forms and "æ" not in forms
    assert "JS1" not in forms and "I" not in forms
    sentences = imported.sentences(doc.id)
    texts = [doc.text[s:e] for _t, s, e in sentences]
    assert "Vi sitter på samme gang, så vi snakker sammen hver dag." in texts


def test_lemmas_are_stored(imported: Store, blank: None) -> None:
    services.annotate_documents(imported)
    doc = imported.document("V2")
    arrays = next(iter(imported.turn_tokens(doc.id).values()))
    lemmas = dict(zip([doc.text[s:e] for s, e in zip(arrays["start"], arrays["end"],
                                                        strict=True)], arrays["lemma"],
                      strict=True))
    if "Jobbspesialistene" in lemmas:
        assert lemmas["Jobbspesialistene"].lower() == "jobbspesialist"


def test_annotations_are_reused_and_redone_on_pipeline_change(
        imported: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QCODE_NLP_PIPELINE", "blank")
    first = services.annotate_documents(imported)
    again = services.annotate_documents(imported)
    assert again.annotated == [] and sorted(again.up_to_date) == sorted(first.annotated)
    monkeypatch.setattr(pipeline, "pipeline_id", lambda choice, nlp=None: "other-pipeline/1")
    redone = services.annotate_documents(imported)
    assert sorted(redone.annotated) == ["JS1", "V1", "V2"]
    assert {v[0] for v in imported.annotated().values()} == {"other-pipeline/1"}


def test_cancel_leaves_finished_documents_only(imported: Store, blank: None) -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def progress(done: int, total: int, name: str) -> None:
        seen.append(name)
        cancel.set()

    report = services.annotate_documents(imported, progress=progress, cancel=cancel)
    assert report.cancelled and len(report.annotated) == 1
    assert len(imported.annotated()) == 1
    rest = services.annotate_documents(imported)
    assert len(rest.annotated) == 2


def test_shipped_pipeline_finds_names(imported: Store, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path) -> None:
    if not (pipeline.SHIPPED_DIR / "meta.json").exists():
        pytest.skip("the shipped pipeline is not built")
    monkeypatch.setenv("QCODE_NLP_PIPELINE", str(pipeline.SHIPPED_DIR))
    f = tmp_path / "V9.txt"
    f.write_text("I: Hvem hjalp deg?\n\nV9: Det var Kari Nordmann fra Bergen som ringte meg i "
                 "går, og hun jobber i Oslo kommune.\n", encoding="utf-8")
    services.import_paths(imported, [f], services.import_options(imported), actor="tester")
    report = services.annotate_documents(imported, ["V9"])
    assert report.tier == 2
    doc = imported.document("V9")
    ents = {doc.text[s:e]: label for _t, s, e, label in imported.entities(doc.id)}
    assert any(label == "PER" for label in ents.values()), ents


def test_indicator_matching_by_lemma_compound_phrase_and_variant() -> None:
    text = ("Samarbeidet fungerer. Samarbeidsmøtene er bra. Vi jobber sammen med "
            "jobbspesialistene, og samarbe er dialekt.")
    import re

    words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\w+(?:-\w+)*", text)]
    lemmas = {"Samarbeidet": "samarbeid", "Samarbeidsmøtene": "samarbeidsmøte",
              "jobber": "jobbe", "jobbspesialistene": "jobbspesialist"}
    tokens = {"start": [s for s, _, _ in words], "end": [e for _, e, _ in words],
              "lemma": [lemmas.get(w, w.lower()) for _, _, w in words]}
    matcher = IndicatorMatcher({"samarbeid": ["samarbeid", "jobbe sammen"],
                                "roller": ["spesialist"]},
                               variants={"samarbeid": ["samarbe"]})
    found = {(m.form, m.code_id, m.kind) for m in matcher.match(text, tokens)}
    assert ("Samarbeidet", "samarbeid", "lemma") in found
    assert ("Samarbeidsmøtene", "samarbeid", "compound") in found
    assert ("jobber sammen", "samarbeid", "phrase") in found
    assert ("jobbspesialistene", "roller", "compound") in found
    assert ("samarbe", "samarbeid", "variant") in found


def test_stored_tokens_are_compact_json(imported: Store, blank: None) -> None:
    services.annotate_documents(imported, ["V1"])
    row = imported.conn.execute("SELECT data FROM nlp_tokens LIMIT 1").fetchone()[0]
    data = json.loads(row)
    assert set(data) == {"start", "end", "lemma", "pos", "stop"}


def _tokens_of_token_objects(doc: Any, offset: int) -> dict[str, list[Any]]:
    """The token arrays as annotation built them from spaCy Token objects (the reference)."""
    from qcode.nlp.stopwords import STOP_WORDS

    tokens: dict[str, list[Any]] = {"start": [], "end": [], "lemma": [], "pos": [], "stop": []}
    for tok in doc:
        if tok.is_space:
            continue
        tokens["start"].append(offset + tok.idx)
        tokens["end"].append(offset + tok.idx + len(tok.text))
        tokens["lemma"].append(tok.lemma_ or tok.lower_)
        tokens["pos"].append(tok.pos_ or "")
        tokens["stop"].append(int(tok.lower_ in STOP_WORDS or tok.is_punct))
    return tokens


def _compact(tokens: dict[str, list[Any]]) -> str:
    return json.dumps(tokens, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("tier", ["blank", "shipped"])
def test_stored_tokens_are_byte_identical_to_the_token_objects(
        store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tier: str) -> None:
    """Token arrays read with Doc.to_array store exactly what Token attributes gave."""
    if tier == "shipped" and not (pipeline.SHIPPED_DIR / "meta.json").exists():
        pytest.skip("the shipped pipeline is not built")
    setting = "blank" if tier == "blank" else str(pipeline.SHIPPED_DIR)
    monkeypatch.setenv("QCODE_NLP_PIPELINE", setting)
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "R1.txt").write_text(
        "I: Hei!!  «Ja» – sa hun… 😀 OK?\n\nR1: (…)  Det var  dobbelt  mellomrom,\tog tab.\n"
        "Neste linje: 3,5 % av 1 200 kr. E-post: a@b.no. NAV-kontoret og Nav-veilederen!\n\n"
        "I: ?\n\nR1: -\n", encoding="utf-8")
    sources = [odd, CORPUS / "intervjuer" / "JS1.txt"] if tier == "shipped" else \
        [odd, CORPUS / "intervjuer", CORPUS / "fokusgruppe"]
    services.import_paths(store, sources, services.import_options(store), actor="tester")
    services.annotate_documents(store)
    nlp = pipeline.load_pipeline(pipeline.choose_pipeline(setting))
    compared = 0
    for listed in store.documents():
        doc = store.document(listed.id)
        stored = dict(store.conn.execute(
            "SELECT turn_id, data FROM nlp_tokens WHERE document_id = ?", (doc.id,)).fetchall())
        turns = [t for t in store.turns(doc.id) if t.end > t.start]
        assert set(stored) == {t.id for t in turns}
        for turn, spacy_doc in zip(turns, nlp.pipe(doc.text[t.start:t.end] for t in turns),
                                   strict=True):
            assert stored[turn.id] == _compact(_tokens_of_token_objects(spacy_doc, turn.start))
            compared += 1
    assert compared >= (20 if tier == "shipped" else 300)
