"""Train the qcode Bokmål pipeline on the converted NorNE corpus, with a wall-time limit.

Runs ``python -m spacy train`` on ``train.spacy`` / ``dev.spacy`` written by
``convert_norne.py``, on ONE CPU thread (``OMP_NUM_THREADS=1`` etc.), in three runs:

1. ``--stage 1`` (default): ``config.cfg`` -> ``build/nlp/training``; 7,500 steps.
2. ``--stage 2``: ``anneal.cfg`` -> ``build/nlp/training-anneal``; 2,000 steps that start
   from stage 1 (tok2vec, morphologizer, parser from its ``model-last``, ner from its
   ``model-best``) and let the learning rate decay to zero.
3. ``--stage ner``: ``ner.cfg`` -> ``build/nlp/training-ner``; the entity recogniser alone
   (independent of stages 1 and 2), whose ``model-best`` package_model.py puts into the
   final pipeline.
4. ``--stage morph``: ``morph.cfg`` -> ``build/nlp/training-morph``; the morphologizer alone
   with a tok2vec of its own; package_model.py --morph DIR takes its ``model-best``.

When the time limit is reached the run gets SIGINT: spaCy then stops cleanly and still
writes ``model-last``; ``model-best`` is the best dev checkpoint so far.

Usage::

    uv run python scripts/nlp/train.py [--stage 1|2|ner|morph] [--corpus build/nlp/corpus]
        [--output DIR] [--time-limit 7200] [-- --training.max_steps 1000 ...]

Anything after ``--`` is passed to ``spacy train`` as config overrides.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_CORPUS = REPO / "build" / "nlp" / "corpus"
DEFAULT_OUTPUT = {"1": REPO / "build" / "nlp" / "training",
                  "2": REPO / "build" / "nlp" / "training-anneal",
                  "ner": REPO / "build" / "nlp" / "training-ner",
                  "morph": REPO / "build" / "nlp" / "training-morph"}
CONFIG = {"1": HERE / "config.cfg", "2": HERE / "anneal.cfg", "ner": HERE / "ner.cfg",
          "morph": HERE / "morph.cfg"}
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    overrides: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, overrides = argv[:cut], argv[cut + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage", choices=("1", "2", "ner", "morph"), default="1")
    ap.add_argument("--config", type=Path,
                    help="default: config.cfg (stage 1), anneal.cfg (2), ner.cfg (ner)")
    ap.add_argument("--stage1", type=Path, default=DEFAULT_OUTPUT["1"],
                    help="stage-1 output directory, for stage 2 (default: %(default)s)")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                    help="directory with train.spacy and dev.spacy (default: %(default)s)")
    ap.add_argument("--output", type=Path,
                    help="spaCy output directory (default: build/nlp/training, "
                         "build/nlp/training-anneal, build/nlp/training-ner)")
    ap.add_argument("--time-limit", type=float, default=7200.0,
                    help="wall-time limit in seconds, then SIGINT (default: %(default)s)")
    args = ap.parse_args(argv)
    train, dev = args.corpus / "train.spacy", args.corpus / "dev.spacy"
    if not (train.exists() and dev.exists()):
        print(f"No corpus in {args.corpus}: run scripts/nlp/convert_norne.py first.",
              file=sys.stderr)
        return 2
    config = args.config or CONFIG[args.stage]
    output = args.output or DEFAULT_OUTPUT[args.stage]
    if args.stage == "2":
        last, best = args.stage1 / "model-last", args.stage1 / "model-best"
        if not (last.exists() and best.exists()):
            print(f"No stage-1 pipelines in {args.stage1}: run stage 1 first.", file=sys.stderr)
            return 2
        overrides = ["--paths.stage1_last", str(last), "--paths.stage1_best", str(best),
                     *overrides]
    cmd = [sys.executable, "-m", "spacy", "train", str(config),
           "--paths.train", str(train), "--paths.dev", str(dev),
           "--output", str(output), *overrides]
    env = {**os.environ, **ONE_THREAD, "PYTHONUNBUFFERED": "1"}
    print("$", " ".join(cmd), flush=True)
    print(f"time limit {args.time_limit:.0f} s, started {time.strftime('%Y-%m-%d %H:%M:%S')}",
          flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env)
    try:
        proc.wait(timeout=args.time_limit)
    except subprocess.TimeoutExpired:
        print(f"\ntime limit reached after {time.monotonic() - start:.0f} s: sending SIGINT",
              flush=True)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print(f"finished after {time.monotonic() - start:.0f} s wall time, exit {proc.returncode}, "
          f"{time.strftime('%Y-%m-%d %H:%M:%S')}", flush=True)
    best = output / "model-best"
    if not best.exists():
        print(f"no {best} was written", file=sys.stderr)
        return 1
    print(f"model-best: {best}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
