"""The language layer in a project: tiers, turn-wise annotation, reuse, re-annotation."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from qcode import services
from qcode.errors import InputError
from qcode.nlp import pipeline
from qcode.nlp.matching import IndicatorMatcher
from qcode.store import Store


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
