"""Build the packaged lemma tables of ``qcode.nlp.lemmatizer``.

- ``qcode/nlp/data/lemmas-treebank.json.gz``: form -> most frequent lemma (overall and per
  UPOS) from the NorNE/NDT **train** split only (dev and test stay unseen). UPOS comes
  from the NDT->UD mapping of ``convert_norne.py``. Annotations CC0.
- ``qcode/nlp/data/lemmas-ordbank.json.gz``: the Norsk Ordbank Bokmål full-form tables
  (``nb_lemma_exc``) from ``spacy-lookups-data``, re-encoded compactly. CC BY 4.0,
  Språkbanken / National Library of Norway. Needs the ``train`` dependency group.

Formats: see the docstring of ``qcode/nlp/lemmatizer.py``.

Usage::

    uv run --group train python scripts/nlp/build_lemma_tables.py [--norne PATH]
        [--only treebank|ordbank]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import convert_norne  # noqa: E402

from qcode.nlp.lemmatizer import (  # noqa: E402
    ORDBANK_FILE,
    ORDBANK_FORMAT,
    ORDBANK_POS,
    TREEBANK_FILE,
    TREEBANK_FORMAT,
    encode_form,
)


def _write(path: Path, data: object) -> None:
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same input gives byte-identical output
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=9,
                                               mtime=0, filename="") as gz:
        gz.write(raw.encode("utf-8"))
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")


def _best(counts: Counter[str]) -> str:
    """Most frequent lemma; ties go to the alphabetically first (deterministic)."""
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def build_treebank(norne: Path, out: Path = TREEBANK_FILE) -> dict[str, object]:
    prep = convert_norne.prepare(norne, log=lambda _m: None)
    by_form: dict[str, Counter[str]] = defaultdict(Counter)
    by_form_pos: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    n = 0
    for sent in prep.by_split["train"]:
        for tok in sent.toks:
            by_form[tok.form][tok.lemma] += 1
            by_form_pos[tok.form][tok.upos][tok.lemma] += 1
            n += 1
    forms: dict[str, object] = {}
    for form, counts in by_form.items():
        best = _best(counts)
        per_pos = {pos: _best(c) for pos, c in by_form_pos[form].items()}
        if all(lemma == best for lemma in per_pos.values()):
            forms[form] = best
        else:
            forms[form] = {"": best, **per_pos}
    data = {
        "format": TREEBANK_FORMAT,
        "source": "NorNE (ltgoslo/norne, commit bd311de5) NDT Bokmål files, UD train split "
                  f"only ({n} tokens); annotations CC0 1.0, National Library of Norway",
        "forms": forms,
    }
    _write(out, data)
    return {"tokens": n, "forms": len(forms)}


def build_ordbank(out: Path = ORDBANK_FILE) -> dict[str, object]:
    try:
        import spacy_lookups_data
    except ImportError:
        raise SystemExit("spacy-lookups-data is not installed: run with "
                         "`uv run --group train python scripts/nlp/build_lemma_tables.py`"
                         ) from None
    data_dir = Path(spacy_lookups_data.__file__).parent / "data"
    with gzip.open(data_dir / "nb_lemma_exc.json.gz", "rt", encoding="utf-8") as fh:
        exc = json.load(fh)
    licence = (data_dir / "nb_license.txt").read_text(encoding="utf-8").strip()
    tables: dict[str, dict[str, str]] = {}
    stats: dict[str, object] = {"spacy_lookups_data": spacy_lookups_data.__version__}
    for pos in ORDBANK_POS:
        inverted: dict[str, list[str]] = defaultdict(list)
        for form, lemmas in exc[pos].items():
            for lemma in lemmas:
                inverted[lemma].append(encode_form(lemma, form))
        tables[pos] = {lemma: "|".join(sorted(set(codes), key=codes.index))
                       for lemma, codes in sorted(inverted.items())}
        stats[pos] = len(exc[pos])
    data = {
        "format": ORDBANK_FORMAT,
        "source": "Norsk Ordbank Bokmål 2005 (updated 2018-06-27), Språkbanken, National "
                  "Library of Norway; via spacy-lookups-data "
                  f"{spacy_lookups_data.__version__} (nb_lemma_exc)",
        "licence": "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)",
        "licence_note": licence,
        "tables": tables,
    }
    _write(out, data)
    return stats


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--norne", type=Path, default=convert_norne.DEFAULT_NORNE,
                    help="NorNE data directory (default: %(default)s)")
    ap.add_argument("--only", choices=("treebank", "ordbank"))
    args = ap.parse_args(argv)
    if args.only in (None, "treebank"):
        print("treebank:", build_treebank(args.norne))
    if args.only in (None, "ordbank"):
        print("ordbank:", build_ordbank())
    return 0


if __name__ == "__main__":
    sys.exit(main())
