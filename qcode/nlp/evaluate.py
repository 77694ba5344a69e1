"""Accuracy of a Bokmål spaCy pipeline against a gold CoNLL-U file (UD/NorNE dev or test).

``evaluate(nlp, conllu_path)`` reads the gold file with spaCy's ``conllu`` converter
(10-sentence docs, entities from ``name=B-PER`` in MISC), runs the pipeline on the **raw
text** of each doc (the pipeline's own tokenizer and sentence splitting), aligns the
result with the gold tokens and returns fractions (0–1)::

    {"docs": 241, "tokens": 36369, "words_per_second": ..., "token_acc": ...,
     "pos": ..., "morph": ..., "lemma": ..., "sents_p": ..., "sents_r": ..., "sents_f": ...,
     "ents_p": ..., "ents_r": ..., "ents_f": ...,
     "ents_per_type": {"PER": {"p": ..., "r": ..., "f": ...}, ...},
     "uas": ..., "las": ...}

A metric is ``None`` when the pipeline does not predict it. ``uas``/``las`` only mean
something when the gold file uses the pipeline's dependency labels (``nb_qcode_sm`` uses
NDT labels, so score it on the converted NDT files, not on the UD ones).

``lemma_accuracy(conllu_path)`` scores ``LemmaLookup`` alone on the gold tokens, with the
gold UPOS or without any tag. spaCy is imported inside the functions only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

    from qcode.nlp.lemmatizer import LemmaLookup

# Published nb_core_news_sm 3.8.0 accuracy (Explosion's meta; measured on UD/NorNE dev).
PUBLISHED_SM_DEV: dict[str, float] = {
    "pos": 0.9672, "morph": 0.9525, "lemma": 0.9677, "sents_f": 0.9263,
    "ents_p": 0.756, "ents_r": 0.740, "ents_f": 0.748,
}
PUBLISHED_SM_DEV_PER_TYPE_F: dict[str, float] = {
    "PER": 0.814, "ORG": 0.785, "GPE_LOC": 0.777, "LOC": 0.562, "GPE_ORG": 0.569,
    "PROD": 0.510, "DRV": 0.763, "EVT": 0.444,
}
ENTITY_LABELS = ("PER", "ORG", "GPE_LOC", "GPE_ORG", "LOC", "PROD", "DRV", "EVT", "MISC")
METRIC_KEYS = ("docs", "tokens", "words_per_second", "token_acc", "pos", "morph", "lemma",
               "sents_p", "sents_r", "sents_f", "ents_p", "ents_r", "ents_f",
               "ents_per_type", "uas", "las")


def read_gold_docs(conllu_path: str | Path, nlp: Language, *, n_sents: int = 10,
                   limit: int | None = None) -> list[Any]:
    """Gold ``Doc`` objects (in ``nlp.vocab``) of a CoNLL-U file, ``n_sents`` per doc."""
    from spacy.tokens import DocBin
    from spacy.training.converters.conllu_to_docs import conllu_to_docs

    text = Path(conllu_path).read_text(encoding="utf-8")
    if limit is not None:  # cut on sentence boundaries before converting
        blocks = [b for b in text.split("\n\n") if b.strip()]
        text = "\n\n".join(blocks[: limit * n_sents]) + "\n"
    docs = list(conllu_to_docs(text, n_sents=n_sents, no_print=True))  # type: ignore[no-untyped-call]
    if limit is not None:
        docs = docs[:limit]
    return list(DocBin(docs=docs).get_docs(nlp.vocab))


def evaluate(nlp: Language, conllu_path: str | Path, *, n_sents: int = 10,
             limit: int | None = None, batch_size: int = 64) -> dict[str, Any]:
    """Score ``nlp`` on the raw text of a gold CoNLL-U file (see the module docstring).

    ``limit`` keeps only the first ``limit`` docs (of ``n_sents`` sentences each).
    """
    from spacy.scorer import Scorer
    from spacy.training import Example

    gold = read_gold_docs(conllu_path, nlp, n_sents=n_sents, limit=limit)
    start = time.perf_counter()
    predicted = list(nlp.pipe((g.text for g in gold), batch_size=batch_size))
    seconds = time.perf_counter() - start
    examples = [Example(p, g) for p, g in zip(predicted, gold, strict=True)]
    words = sum(1 for p in predicted for t in p if not (t.is_punct or t.is_space))
    out: dict[str, Any] = dict.fromkeys(METRIC_KEYS)
    out["docs"] = len(gold)
    out["tokens"] = sum(len(g) for g in gold)
    out["words_per_second"] = words / seconds if seconds > 0 else None
    out["token_acc"] = Scorer.score_tokenization(examples)["token_acc"]
    has = {attr: any(p.has_annotation(attr) for p in predicted)
           for attr in ("TAG", "POS", "MORPH", "LEMMA", "DEP", "SENT_START", "ENT_IOB")}
    if has["POS"]:
        out["pos"] = Scorer.score_token_attr(examples, "pos")["pos_acc"]
    if has["MORPH"]:
        # as spaCy's morphologizer scorer: gold tokens without features count too
        out["morph"] = Scorer.score_token_attr(
            examples, "morph",
            getter=lambda t, attr: t.morph.key,  # type: ignore[attr-defined]
        )["morph_acc"]
    if has["LEMMA"]:
        out["lemma"] = Scorer.score_token_attr(examples, "lemma")["lemma_acc"]
    if has["DEP"] or has["SENT_START"]:
        sents = Scorer.score_spans(examples, "sents", has_annotation=lambda d: True)
        out["sents_p"], out["sents_r"], out["sents_f"] = (
            sents["sents_p"], sents["sents_r"], sents["sents_f"])
    if has["DEP"]:
        deps = Scorer.score_deps(examples, "dep", head_attr="head",
                                 ignore_labels=("p", "punct"))
        out["uas"], out["las"] = deps["dep_uas"], deps["dep_las"]
    if has["ENT_IOB"]:
        ents = Scorer.score_spans(examples, "ents", has_annotation=lambda d: True)
        out["ents_p"], out["ents_r"], out["ents_f"] = (
            ents["ents_p"], ents["ents_r"], ents["ents_f"])
        out["ents_per_type"] = {
            label: {"p": v["p"], "r": v["r"], "f": v["f"]}
            for label, v in sorted(ents["ents_per_type"].items())}
    return out


def lemma_accuracy(conllu_path: str | Path, lookup: LemmaLookup | None = None, *,
                   use_pos: bool = True, skip_punct: bool = False) -> dict[str, float]:
    """``LemmaLookup`` on the gold tokens of a CoNLL-U file, with gold UPOS or no tag.

    Returns ``{"tokens": n, "accuracy": exact, "accuracy_ci": case-insensitive}``.
    """
    from qcode.nlp.lemmatizer import LemmaLookup

    lookup = lookup or LemmaLookup.default()
    n = ok = ok_ci = 0
    for row in _conllu_rows(Path(conllu_path).read_text(encoding="utf-8").splitlines()):
        form, gold_lemma, upos, feats = row[1], row[2], row[3], row[5]
        if skip_punct and upos == "PUNCT":
            continue
        if use_pos:
            pred = lookup.lemma(form, upos, genitive="Case=Gen" in feats.split("|"))
        else:
            pred = lookup.lemma(form)
        n += 1
        ok += pred == gold_lemma
        ok_ci += pred.lower() == gold_lemma.lower()
    return {"tokens": n, "accuracy": ok / n if n else 0.0,
            "accuracy_ci": ok_ci / n if n else 0.0}


def _conllu_rows(lines: Iterable[str]) -> Iterable[list[str]]:
    for line in lines:
        parts = line.split("\t")
        if len(parts) == 10 and parts[0].isdigit():
            yield parts
