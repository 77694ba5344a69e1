"""The NorNE training recipe (scripts/nlp): split sizes and the evaluation function.

Needs the NorNE data at ../shared/data/norne (relative to the repository); skipped without.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NORNE = REPO.parent / "shared" / "data" / "norne"
MODEL = REPO / "qcode" / "nlp" / "models" / "nb_qcode_sm"

pytestmark = pytest.mark.skipif(not (NORNE / "ndt-nob").is_dir(),
                                reason=f"NorNE data not found at {NORNE}")


def _script(name: str) -> ModuleType:
    path = REPO / "scripts" / "nlp" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"qcode_scripts_nlp_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def convert() -> ModuleType:
    return _script("convert_norne")


@pytest.fixture(scope="module")
def split(convert: ModuleType) -> tuple[dict[str, Any], dict[str, list[str]]]:
    result: tuple[dict[str, Any], dict[str, list[str]]] = convert.split_files(NORNE)
    return result


def test_split_matches_the_ud_readme(split: tuple[dict[str, Any], dict[str, list[str]]]
                                     ) -> None:
    by_split, files = split
    assert {s: len(files[s]) for s in ("train", "dev", "test")} == {
        "train": 180, "dev": 26, "test": 26}
    assert {s: len(by_split[s]) for s in ("train", "dev", "test")} == {
        "train": 15696, "dev": 2410, "test": 1939}
    assert not set(files["train"]) & (set(files["dev"]) | set(files["test"]))


def test_conllu_output_keeps_entities_and_renamed_labels(
        convert: ModuleType, split: tuple[dict[str, Any], dict[str, list[str]]]) -> None:
    by_split, _ = split
    sent = next(s for s in by_split["train"] if any(t.name != "O" for t in s.toks))
    for tok in sent.toks:
        tok.upos, tok.ufeats = "X", "_"
    text = convert.to_conllu(sent, 1)
    rows = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    assert all(len(r) == 10 for r in rows)
    assert any("name=B-" in r[9] for r in rows)
    assert sum(r[7] == "root" for r in rows) >= 1
    assert not {r[7] for r in rows} & {"SUBJ", "DOBJ", "IOBJ", "APP", "PUTFYLL", "KOORD"}


def test_missing_norne_fails_clearly(convert: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="NorNE data not found"):
        convert.check_norne(tmp_path / "nowhere")


@pytest.mark.skipif(not (MODEL / "config.cfg").exists(), reason="no packaged model")
def test_evaluate_returns_all_metrics() -> None:
    spacy = pytest.importorskip("spacy")
    from qcode.nlp.evaluate import METRIC_KEYS, evaluate
    from qcode.nlp.lemmatizer import register

    register()
    nlp = spacy.load(MODEL)
    scores: dict[str, Any] = evaluate(nlp, NORNE / "ud-nob" / "no_bokmaal-ud-dev.conllu",
                                      limit=2)
    assert set(METRIC_KEYS) <= set(scores)
    assert scores["docs"] == 2
    for key in ("token_acc", "pos", "morph", "lemma", "sents_f", "ents_p", "ents_r",
                "ents_f"):
        assert 0.0 <= scores[key] <= 1.0, key
    assert isinstance(scores["ents_per_type"], dict)
    for per_type in scores["ents_per_type"].values():
        assert set(per_type) == {"p", "r", "f"}
