"""Evaluate a Bokmål pipeline on the UD/NorNE dev and test files, beside nb_core_news_sm.

Prints markdown tables: POS, MORPH, LEMMA, SENTS F, ENTS P/R/F and per-type P/R/F on dev
and test (raw text through the pipeline's own tokenizer), next to the published
nb_core_news_sm 3.8.0 dev figures; the lookup lemmatizer's accuracy on the gold tokens
with gold UPOS and without any tag; optionally (``--ndt``) UAS/LAS in the pipeline's own
NDT label scheme on the converted NDT dev/test files; optionally (``--speed``) load time
and words/s with 1 and 2 processes.

Usage::

    uv run python scripts/nlp/evaluate.py [--model qcode/nlp/models/nb_qcode_sm]
        [--norne ../shared/data/norne] [--ndt build/nlp/corpus] [--speed] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from convert_norne import DEFAULT_NORNE, check_norne  # noqa: E402

from qcode.nlp.evaluate import (  # noqa: E402
    ENTITY_LABELS,
    PUBLISHED_SM_DEV,
    PUBLISHED_SM_DEV_PER_TYPE_F,
    evaluate,
    lemma_accuracy,
    read_gold_docs,
)

DEFAULT_MODEL = REPO / "qcode" / "nlp" / "models" / "nb_qcode_sm"


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def load(model: Path | str) -> Any:
    import spacy

    from qcode.nlp.lemmatizer import register

    register()
    return spacy.load(model)


def main_table(results: dict[str, dict[str, Any]]) -> str:
    rows = [("POS (UPOS)", "pos"), ("MORPH", "morph"), ("LEMMA", "lemma"),
            ("SENTS F", "sents_f"), ("ENTS P", "ents_p"), ("ENTS R", "ents_r"),
            ("**ENTS F**", "ents_f")]
    splits = list(results)
    out = ["| metric | nb_core_news_sm 3.8 (published, dev) | "
           + " | ".join(f"ours, {s}" for s in splits) + " |",
           "| --- | --- | " + " | ".join("---" for _ in splits) + " |"]
    for name, key in rows:
        out.append(f"| {name} | {pct(PUBLISHED_SM_DEV.get(key))} | "
                   + " | ".join(pct(results[s][key]) for s in splits) + " |")
    return "\n".join(out)


def per_type_table(results: dict[str, dict[str, Any]]) -> str:
    splits = list(results)
    out = ["| type | sm F (published, dev) | "
           + " | ".join(f"ours {s} P / R / F" for s in splits) + " |",
           "| --- | --- | " + " | ".join("---" for _ in splits) + " |"]
    for label in ENTITY_LABELS:
        cells = []
        for s in splits:
            v = (results[s].get("ents_per_type") or {}).get(label)
            cells.append("–" if v is None else f"{pct(v['p'])} / {pct(v['r'])} / {pct(v['f'])}")
        out.append(f"| {label} | {pct(PUBLISHED_SM_DEV_PER_TYPE_F.get(label))} | "
                   + " | ".join(cells) + " |")
    return "\n".join(out)


def speed(model: Path, texts: list[str], n_process: int) -> dict[str, float]:
    nlp = load(model)
    words = sum(1 for d in nlp.tokenizer.pipe(texts) for t in d if not t.is_punct)
    list(nlp.pipe(texts[:20]))  # warm up: lemma tables, caches
    start = time.perf_counter()
    list(nlp.pipe(texts, batch_size=64, n_process=n_process))
    seconds = time.perf_counter() - start
    return {"words": words, "seconds": seconds, "words_per_second": words / seconds}


def load_time(model: Path) -> float:
    """Seconds for import + spacy.load + first doc, in a fresh process."""
    code = ("import time; t=time.perf_counter(); import spacy; "
            "from qcode.nlp.lemmatizer import register; register(); "
            f"nlp=spacy.load({str(model)!r}); nlp('Dette er en test.'); "
            "print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--norne", type=Path, default=DEFAULT_NORNE)
    ap.add_argument("--splits", default="dev,test")
    ap.add_argument("--ndt", type=Path, help="convert_norne.py output dir: score UAS/LAS there")
    ap.add_argument("--speed", action="store_true", help="measure load time and words/s")
    ap.add_argument("--json", type=Path, help="also write all numbers to this file")
    args = ap.parse_args(argv)
    norne = check_norne(args.norne)
    splits = args.splits.split(",")
    nlp = load(args.model)
    report: dict[str, Any] = {"model": str(args.model), "pipeline": nlp.pipe_names}
    results = {}
    for split in splits:
        path = norne / "ud-nob" / f"no_bokmaal-ud-{split}.conllu"
        results[split] = evaluate(nlp, path)
    report["ud"] = results
    print(f"## {args.model}\n\n" + main_table(results) + "\n\n" + per_type_table(results))

    # the lemmatizer: in the pipeline with and without the predicted POS, and alone
    lem: dict[str, dict[str, Any]] = {}
    if "qcode_lemmatizer" in nlp.pipe_names:
        comp = nlp.get_pipe("qcode_lemmatizer")
        comp.use_pos = False
        untagged = {s: evaluate(nlp, norne / "ud-nob" / f"no_bokmaal-ud-{s}.conllu")["lemma"]
                    for s in splits}
        comp.use_pos = True
        for s in splits:
            path = norne / "ud-nob" / f"no_bokmaal-ud-{s}.conllu"
            lem[s] = {
                "pipeline_predicted_pos": results[s]["lemma"],
                "pipeline_no_pos": untagged[s],
                "gold_tokens_gold_pos": lemma_accuracy(path, use_pos=True)["accuracy"],
                "gold_tokens_no_pos": lemma_accuracy(path, use_pos=False)["accuracy"],
                "gold_tokens_no_pos_no_punct": lemma_accuracy(
                    path, use_pos=False, skip_punct=True)["accuracy"],
            }
        report["lemma"] = lem
        print("\n| lemma accuracy (all tokens) | " + " | ".join(splits) + " |\n| --- | "
              + " | ".join("---" for _ in splits) + " |")
        for key, name in [("pipeline_predicted_pos", "pipeline, raw text, predicted POS"),
                          ("pipeline_no_pos", "pipeline, raw text, lookup without POS"),
                          ("gold_tokens_gold_pos", "lookup on gold tokens, gold POS"),
                          ("gold_tokens_no_pos", "lookup on gold tokens, no POS"),
                          ("gold_tokens_no_pos_no_punct",
                           "lookup on gold tokens, no POS, punctuation excluded")]:
            print(f"| {name} | " + " | ".join(f"{100 * lem[s][key]:.2f}" for s in splits)
                  + " |")

    if args.ndt:
        ndt = {s: evaluate(nlp, args.ndt / f"{s}.conllu") for s in splits}
        report["ndt"] = {s: {"uas": v["uas"], "las": v["las"], "sents_f": v["sents_f"]}
                         for s, v in ndt.items()}
        print("\n| NDT labels | " + " | ".join(splits) + " |\n| --- | "
              + " | ".join("---" for _ in splits) + " |")
        for key in ("uas", "las"):
            print(f"| {key.upper()} | " + " | ".join(pct(ndt[s][key]) for s in splits) + " |")

    if args.speed:
        texts = [d.text for s in ("dev", "test")
                 for d in read_gold_docs(norne / "ud-nob" / f"no_bokmaal-ud-{s}.conllu", nlp)]
        report["load_seconds"] = [load_time(Path(args.model)) for _ in range(3)]
        report["speed"] = {n: speed(Path(args.model), texts, n) for n in (1, 2)}
        print(f"\nload (fresh process, import + spacy.load + first doc): "
              f"{', '.join(f'{x:.2f}' for x in report['load_seconds'])} s")
        for n, v in report["speed"].items():
            print(f"{n} process(es): {v['words_per_second']:,.0f} words/s "
                  f"({v['words']} words in {v['seconds']:.1f} s)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
