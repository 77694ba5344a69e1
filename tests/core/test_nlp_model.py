"""The packaged pipeline nb_qcode_sm: loads without NorNE, has the expected components/labels.

Labels and shapes only; accuracy is measured by scripts/nlp/evaluate.py, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "qcode" / "nlp" / "models" / "nb_qcode_sm"
NER_LABELS = {"PER", "ORG", "GPE_LOC", "GPE_ORG", "LOC", "PROD", "DRV", "EVT", "MISC"}
# Invented interview turn (no NorNE text).
SENTENCE = ("Jeg har jobbet sammen med Ingrid Solbakken i to år, og samarbeidet med "
            "NAV-veilederne går veldig bra.")

spacy = pytest.importorskip("spacy")


@pytest.fixture(scope="module")
def nlp() -> Any:
    from qcode.nlp.lemmatizer import register

    register()
    return spacy.load(MODEL)


def test_meta_and_size() -> None:
    meta = json.loads((MODEL / "meta.json").read_text(encoding="utf-8"))
    assert meta["lang"] == "nb"
    assert meta["name"] == "nb_qcode_sm"
    assert set(meta["labels"]["ner"]) == NER_LABELS
    assert any("Ordbank" in s["name"] for s in meta["sources"])
    size = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file())
    # 0.2.0: 27 MB, the morphologizer and NER with encoders of their own (0.1.0: 14 MB)
    assert size < 30_000_000


def test_loads_in_a_fresh_process_without_norne(tmp_path: Path) -> None:
    code = (
        "import json, spacy\n"
        "from qcode.nlp.lemmatizer import register\n"
        "register()\n"
        f"nlp = spacy.load({str(MODEL)!r})\n"
        f"doc = nlp({SENTENCE!r})\n"
        "print(json.dumps({'pipe_names': nlp.pipe_names,"
        " 'ents': [(e.text, e.label_) for e in doc.ents]}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["pipe_names"] == ["tok2vec", "morphologizer", "qcode_lemmatizer", "parser",
                                    "ner"]
    assert ["Ingrid Solbakken", "PER"] in result["ents"]


def test_pipeline_annotates_a_transcript_sentence(nlp: Any) -> None:
    assert set(nlp.get_pipe("ner").labels) == NER_LABELS
    doc = nlp(SENTENCE)
    assert len(doc) == 19
    assert all(t.pos_ for t in doc)
    assert doc.has_annotation("MORPH") and doc.has_annotation("DEP")
    lemmas = {t.text: t.lemma_ for t in doc}
    assert lemmas["jobbet"] == "jobbe"
    assert lemmas["NAV-veilederne"] == "NAV-veileder"
    assert lemmas["samarbeidet"] in {"samarbeid", "samarbeide"}
    assert [(e.text, e.label_) for e in doc.ents if e.label_ == "PER"] == [
        ("Ingrid Solbakken", "PER")]
    assert len(list(doc.sents)) >= 1
    assert {c.root.text for c in doc.noun_chunks} & {"år", "samarbeidet", "Solbakken"}
