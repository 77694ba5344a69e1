"""Package a trained pipeline as qcode's ``nb_qcode_sm`` (into the qcode package data).

Takes ``model-last`` of ``train.py --stage 2`` (``build/nlp/training-anneal``: tok2vec,
morphologizer, parser) or an already packaged ``nb_qcode_sm``, replaces its entity
recogniser with ``model-best`` of ``train.py --stage ner`` (``build/nlp/training-ner``;
``--ner none`` keeps its own) and, with ``--morph DIR``, its morphologizer with ``model-best``
of ``train.py --stage morph``, appends
the lookup lemmatizer ``qcode_lemmatizer`` right after the morphologizer (so it can use the
predicted UPOS), strips training-only settings (corpus paths), prunes
the string store to what the pipeline needs, writes meta (name ``nb_qcode_sm``, version,
description, sources with licences, labels, accuracy) and saves it to
``qcode/nlp/models/nb_qcode_sm/``.

With ``--norne`` (default ../shared/data/norne, if present) the UD dev and test files are
scored with ``qcode.nlp.evaluate.evaluate`` and the figures go into ``meta.json``
(``performance`` = dev; ``qcode.evaluation`` = dev and test).

Usage::

    uv run python scripts/nlp/package_model.py [--model build/nlp/training-anneal/model-last]
        [--ner build/nlp/training-ner/model-best] [--morph DIR] [--out qcode/nlp/models/nb_qcode_sm]
        [--version 0.1.0] [--no-evaluate]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from convert_norne import DEFAULT_NORNE  # noqa: E402

DEFAULT_MODEL = REPO / "build" / "nlp" / "training-anneal" / "model-last"
DEFAULT_NER = REPO / "build" / "nlp" / "training-ner" / "model-best"
DEFAULT_OUT = REPO / "qcode" / "nlp" / "models" / "nb_qcode_sm"
NAME = "nb_qcode_sm"

SOURCES = [
    {
        "name": "NorNE: Norwegian Named Entities (NDT Bokmål with entity annotation)",
        "url": "https://github.com/ltgoslo/norne",
        "license": "CC0 1.0 (annotations; the texts themselves are not republished)",
        "author": "Jørgensen, Aasmoe, Ruud Husevåg, Øvrelid, Velldal (LREC 2020); "
                  "Norwegian Dependency Treebank, National Library of Norway",
        "version": "commit bd311de55b5a7fc1255aee7b088364f8271c2330",
    },
    {
        "name": "Norsk Ordbank Bokmål 2005 (full-form lemma tables, via spacy-lookups-data)",
        "url": "https://www.nb.no/sprakbanken/show?serial=oai%3Anb.no%3Asbr-5&lang=en",
        "license": "CC BY 4.0",
        "author": "Språkbanken, National Library of Norway",
    },
]


def _strip_training_config(config: dict[str, Any]) -> None:
    paths = config.get("paths", {})
    for key in list(paths):
        paths[key] = None
    for section in ("corpora",):
        for corpus in config.get(section, {}).values():
            if isinstance(corpus, dict) and "path" in corpus:
                corpus["path"] = None


def _pruned_strings(nlp: Any) -> list[str]:
    """The strings a freshly loaded copy of the pipeline adds by itself, plus labels."""
    import spacy

    with tempfile.TemporaryDirectory() as tmp:
        nlp.to_disk(tmp)
        (Path(tmp) / "vocab" / "strings.json").write_text("[]", encoding="utf-8")
        fresh = spacy.load(tmp)
        return sorted(fresh.vocab.strings)


def _replace(nlp: Any, name: str, source: Path) -> None:
    """Put the component ``name`` of the pipeline at ``source`` in place of nlp's own."""
    import spacy

    names = nlp.pipe_names
    after = names[names.index(name) + 1:] if name in names else []
    if name in names:
        nlp.remove_pipe(name)
    if after:
        nlp.add_pipe(name, source=spacy.load(source), before=after[0])
    else:
        nlp.add_pipe(name, source=spacy.load(source))


def _performance(model: Path | None) -> Any:
    if model is None:
        return None
    return json.loads((model / "meta.json").read_text(encoding="utf-8")).get("performance", {})


def package(model: Path, out: Path, version: str, norne: Path | None,
            ner_model: Path | None = None, morph_model: Path | None = None) -> dict[str, Any]:
    import spacy

    from qcode.nlp.lemmatizer import FACTORY_NAME, register

    register()
    nlp = spacy.load(model)
    trained = json.loads((model / "meta.json").read_text(encoding="utf-8"))
    # Repackaging qcode's own pipeline: keep where its parts came from.
    before = trained.get("qcode", {}) if trained.get("name") == NAME else {}
    if ner_model is not None:  # the entity recogniser trained on its own (ner.cfg)
        _replace(nlp, "ner", ner_model)
    if morph_model is not None:  # the morphologizer trained on its own (morph.cfg)
        _replace(nlp, "morphologizer", morph_model)
    if FACTORY_NAME not in nlp.pipe_names:
        after = "morphologizer" if "morphologizer" in nlp.pipe_names else None
        nlp.add_pipe(FACTORY_NAME, after=after) if after else nlp.add_pipe(FACTORY_NAME)
    _strip_training_config(nlp.config)
    nlp.meta.update({
        "name": NAME,
        "version": version,
        "description": (
            "qcode's Norwegian Bokmål pipeline for interview transcripts, optimised for "
            "CPU: tok2vec, morphologizer (UD UPOS+FEATS), parser (NDT labels with UD names "
            "for nsubj/obj/iobj/appos/nmod/conj), lookup lemmatizer (qcode_lemmatizer: "
            "NorNE train table, Norsk Ordbank, compound fallback) and ner (PER, ORG, "
            "GPE_LOC, GPE_ORG, LOC, PROD, DRV, EVT, MISC; own tok2vec). Trained by the qcode "
            "project on NorNE; rebuild with scripts/nlp (docs/nlp-training.md)."),
        "author": "qcode contributors",
        "url": "",
        "license": "CC BY 4.0 (lemma tables: Norsk Ordbank); weights from CC0 data",
        "sources": SOURCES,
        "requirements": [],
        "qcode": {
            "trained_from": before.get("trained_from", str(model)),
            "training_performance": before.get("training_performance",
                                               trained.get("performance", {})),
            "ner_trained_from": (str(ner_model) if ner_model
                                 else before.get("ner_trained_from")),
            "ner_training_performance": (_performance(ner_model) if ner_model
                                         else before.get("ner_training_performance")),
            "morph_trained_from": (str(morph_model) if morph_model
                                   else before.get("morph_trained_from")),
            "morph_training_performance": (_performance(morph_model) if morph_model
                                           else before.get("morph_training_performance")),
            "requires": "call qcode.nlp.lemmatizer.register() before spacy.load",
        },
    })
    nlp.meta.pop("performance", None)
    if norne is not None:
        from qcode.nlp.evaluate import evaluate

        evaluation = {}
        for split in ("dev", "test"):
            t = time.perf_counter()
            evaluation[split] = evaluate(nlp, norne / "ud-nob" / f"no_bokmaal-ud-{split}.conllu")
            print(f"{split}: {_summary(evaluation[split])} ({time.perf_counter() - t:.0f} s)")
        dev = evaluation["dev"]
        nlp.meta["performance"] = {
            "token_acc": dev["token_acc"], "pos_acc": dev["pos"], "morph_acc": dev["morph"],
            "lemma_acc": dev["lemma"], "sents_p": dev["sents_p"], "sents_r": dev["sents_r"],
            "sents_f": dev["sents_f"], "ents_p": dev["ents_p"], "ents_r": dev["ents_r"],
            "ents_f": dev["ents_f"], "ents_per_type": dev["ents_per_type"]}
        nlp.meta["qcode"]["evaluation"] = {
            s: {k: v for k, v in e.items() if k not in ("uas", "las", "words_per_second")}
            for s, e in evaluation.items()}
    strings = _pruned_strings(nlp)
    staging = out.with_name(out.name + ".new")  # out may be the pipeline just loaded
    if staging.exists():
        shutil.rmtree(staging)
    nlp.to_disk(staging)
    (staging / "vocab" / "strings.json").write_text(
        json.dumps(strings, ensure_ascii=False), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    staging.rename(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({size / 1e6:.1f} MB, {len(strings)} strings), "
          f"pipeline {nlp.pipe_names}")
    return {"size": size, "pipeline": nlp.pipe_names}


def _summary(e: dict[str, Any]) -> str:
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.2f}"
    return (f"POS {pct(e['pos'])} MORPH {pct(e['morph'])} LEMMA {pct(e['lemma'])} "
            f"SENTS F {pct(e['sents_f'])} ENTS P/R/F {pct(e['ents_p'])}/{pct(e['ents_r'])}/"
            f"{pct(e['ents_f'])}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--ner", default=str(DEFAULT_NER),
                    help="pipeline whose ner replaces the model's (default: %(default)s; "
                         "'none' keeps the model's own)")
    ap.add_argument("--morph", type=Path, default=None,
                    help="pipeline whose morphologizer (with its own tok2vec) replaces the "
                         "model's (train.py --stage morph; default: keep the model's own)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--norne", type=Path, default=DEFAULT_NORNE,
                    help="NorNE directory, for the accuracy in meta.json (default: %(default)s)")
    ap.add_argument("--no-evaluate", action="store_true", help="skip the dev/test scoring")
    args = ap.parse_args(argv)
    if not (args.model / "config.cfg").exists():
        print(f"{args.model} is not a spaCy pipeline: train one with scripts/nlp/train.py",
              file=sys.stderr)
        return 2
    norne = None
    if not args.no_evaluate:
        if not (args.norne / "ud-nob").is_dir():
            print(f"NorNE not found at {args.norne}: use --norne PATH or --no-evaluate",
                  file=sys.stderr)
            return 2
        norne = args.norne
    ner = None if args.ner == "none" else Path(args.ner)
    if ner is not None and not (ner / "config.cfg").exists():
        print(f"{ner} is not a spaCy pipeline: train it with train.py --stage ner, or "
              "pass --ner none", file=sys.stderr)
        return 2
    if args.morph is not None and not (args.morph / "config.cfg").exists():
        print(f"{args.morph} is not a spaCy pipeline: train it with train.py --stage morph",
              file=sys.stderr)
        return 2
    package(args.model, args.out, args.version, norne, ner, args.morph)
    return 0


if __name__ == "__main__":
    sys.exit(main())
