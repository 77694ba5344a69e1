"""Convert NorNE's NDT-format Bokmål files into spaCy training data with UD tags.

NorNE (``ltgoslo/norne``) ships the whole Norwegian Dependency Treebank with entity tags
in NDT format (``ndt-nob/*.conll``), but only the dev and test splits in UD format
(``ud-nob/*.conllu``); the UD train file is missing from the snapshot. This script rebuilds
all three splits from the NDT files:

1. **Split.** Every NDT file goes to the UD split that holds the majority of its
   sentences (sentences compared as token sequences, ignoring NDT's ``|`` headline marker,
   which the UD files drop). This reproduces the file lists of the UD_Norwegian-Bokmaal
   README: 180 train / 26 dev / 26 test files, 15,696 / 2,410 / 1,939 sentences.
2. **Tags.** NDT POS + morphology is mapped to UD UPOS + FEATS with a decision list
   learned from the dev+test tokens, which exist in both formats. The list keys on the NDT
   POS and feature string, the lemma, the token's own NDT relation and a little syntactic
   context (an ``INFV``/``SPRED`` dependent, the kind of complement of a preposition, the
   head's POS), backing off to coarser keys when a specific key was not seen. Its accuracy
   is measured by learning on dev and scoring on test (``--report``).
3. **Lemmas** are copied (NDT and UD lemmas are identical in NorNE).
4. **Trees.** The NDT trees are kept. Six noun-function labels get their UD names
   (SUBJ→nsubj, DOBJ→obj, IOBJ→iobj, APP→appos, PUTFYLL→nmod, KOORD→conj) and every
   root relation becomes ``root``, so spaCy's ``nb`` noun-chunk iterator works. All other
   labels stay NDT (ADV, ATR, DET, INFV, ...). The ``|`` headline tokens are dropped
   (their dependents, if any, move to their head), as in the UD files.
5. **Spacing.** NDT has no raw text; ``SpaceAfter=No`` is inferred from punctuation.
6. **Entities** stay in MISC as ``name=B-PER`` etc.; spaCy's ``conllu`` converter reads
   them and groups the sentences into 10-sentence docs.

Output (``--out``, default ``build/nlp/corpus``): ``{train,dev,test}.conllu``,
``{train,dev,test}.spacy``, ``splits.json`` (file lists and counts) and ``mapping.json``
(the decision list and its measured accuracy).

Usage::

    uv run python scripts/nlp/convert_norne.py [--norne ../shared/data/norne] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_NORNE = REPO.parent / "shared" / "data" / "norne"
DEFAULT_OUT = REPO / "build" / "nlp" / "corpus"
SPLITS = ("train", "dev", "test")
EXPECTED_FILES = {"train": 180, "dev": 26, "test": 26}
EXPECTED_SENTS = {"train": 15696, "dev": 2410, "test": 1939}

DEP_RENAMES = {
    "SUBJ": "nsubj",
    "DOBJ": "obj",
    "IOBJ": "iobj",
    "APP": "appos",
    "PUTFYLL": "nmod",
    "KOORD": "conj",
}
HEADLINE_MARK = "|"
# Closed classes and auxiliaries: for these the lemma is part of the mapping key.
LEXICAL_POS = {"pron", "det", "konj", "sbu", "prep", "adv", "inf-merke", "interj", "verb",
               "ukjent", "symb", "clb", "<anf>", "<strek>", "<komma>", "<parentes-beg>",
               "<parentes-slutt>"}

NO_SPACE_BEFORE = {".", ",", ":", ";", "!", "?", ")", "]", "}", "»", "”", "...", "..", "%"}
NO_SPACE_AFTER = {"(", "[", "{", "«", "“"}


class NorneMissingError(SystemExit):
    """Raised (as a clean exit) when the NorNE directory is not where it was expected."""


@dataclass
class Tok:
    """One NDT token: the columns we use."""

    id: int
    form: str
    lemma: str
    pos: str
    feats: str
    head: int
    deprel: str
    name: str  # the entity tag, e.g. "B-PER" or "O"
    upos: str = ""
    ufeats: str = ""


@dataclass
class Sent:
    """One sentence with the file it came from."""

    file: str
    toks: list[Tok]
    sent_id: str = ""
    children: dict[int, list[Tok]] = field(default_factory=dict)

    def key(self) -> tuple[str, ...]:
        return tuple(t.form for t in self.toks)


def check_norne(norne: Path) -> Path:
    """Return the NorNE directory, or exit with a clear message when it is incomplete."""
    norne = norne.expanduser().resolve()
    needed = [norne / "ndt-nob", norne / "ud-nob" / "no_bokmaal-ud-dev.conllu",
              norne / "ud-nob" / "no_bokmaal-ud-test.conllu"]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise NorneMissingError(
            "NorNE data not found: missing " + ", ".join(missing) + ".\n"
            "Copy the Bokmål data files of ltgoslo/norne (commit bd311de5) there, or pass "
            "--norne PATH (see docs/nlp-training.md).")
    return norne


def read_blocks(path: Path) -> list[tuple[list[str], list[list[str]]]]:
    """CoNLL blocks of a file: (comment lines, token rows)."""
    blocks: list[tuple[list[str], list[list[str]]]] = []
    comments: list[str] = []
    rows: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            if rows:
                blocks.append((comments, rows))
            comments, rows = [], []
        elif line.startswith("#"):
            comments.append(line)
        else:
            rows.append(line.split("\t"))
    if rows:
        blocks.append((comments, rows))
    return blocks


def _name_tag(misc: str) -> str:
    for part in misc.split("|"):
        if part.startswith("name="):
            return part[5:]
    return "O"


def drop_headline_marks(toks: list[Tok]) -> list[Tok]:
    """Remove ``|`` tokens, reattach their dependents to their head, renumber."""
    drop = {t.id: t.head for t in toks if t.form == HEADLINE_MARK}
    if not drop:
        return toks

    def resolve(head: int) -> int:
        seen = 0
        while head in drop and seen < 100:
            head, seen = drop[head], seen + 1
        return head

    kept = [t for t in toks if t.id not in drop]
    new_id = {t.id: i for i, t in enumerate(kept, 1)}
    out = []
    for t in kept:
        head = resolve(t.head)
        out.append(Tok(new_id[t.id], t.form, t.lemma, t.pos, t.feats,
                       new_id.get(head, 0), t.deprel, t.name))
    if not any(t.head == 0 for t in out) and out:  # the root was a mark: promote one token
        out[0].head = 0
    return out


def read_ndt(path: Path) -> list[Sent]:
    sents = []
    for _, rows in read_blocks(path):
        toks = [Tok(int(r[0]), r[1], r[2], r[3], r[5], int(r[6]), r[7], _name_tag(r[9]))
                for r in rows]
        toks = drop_headline_marks(toks)
        if toks:
            s = Sent(path.name, toks)
            for t in toks:
                s.children.setdefault(t.head, []).append(t)
            sents.append(s)
    return sents


def read_ud(path: Path) -> list[tuple[str, list[list[str]]]]:
    """(sent_id, rows) for each sentence of a UD CoNLL-U file."""
    out = []
    for comments, rows in read_blocks(path):
        sid = next((c.split("=", 1)[1].strip() for c in comments if c.startswith("# sent_id")),
                   "")
        out.append((sid, [r for r in rows if r[0].isdigit()]))
    return out


def split_files(norne: Path) -> tuple[dict[str, list[Sent]], dict[str, list[str]]]:
    """All NDT sentences by split, and the file names of each split."""
    ud_keys = {
        s: Counter(tuple(r[1] for r in rows)
                   for _, rows in read_ud(norne / "ud-nob" / f"no_bokmaal-ud-{s}.conllu"))
        for s in ("dev", "test")}
    by_split: dict[str, list[Sent]] = {s: [] for s in SPLITS}
    files: dict[str, list[str]] = {s: [] for s in SPLITS}
    for path in sorted((norne / "ndt-nob").glob("*.conll")):
        sents = read_ndt(path)
        votes = Counter({"train": 0})
        for sent in sents:
            for s in ("dev", "test"):
                if sent.key() in ud_keys[s]:
                    votes[s] += 1
        split = "train"
        best = max(("dev", "test"), key=lambda s: votes[s])
        if votes[best] * 2 > len(sents):
            split = best
        by_split[split].extend(sents)
        files[split].append(path.name)
    return by_split, files


# --- NDT -> UD tag mapping ----------------------------------------------------------------

def _context(sent: Sent, t: Tok) -> tuple[str, ...]:
    kids = sent.children.get(t.id, [])
    kid_rels = {k.deprel for k in kids}
    comp = ""
    if t.pos == "prep":
        puts = [k for k in kids if k.deprel == "PUTFYLL"]
        comp = puts[0].pos if puts else "-"
        if puts and puts[0].pos == "verb":
            grand = sent.children.get(puts[0].id, [])
            if any(k.pos == "inf-merke" for k in grand):
                comp += "+inf"
            elif any(k.pos == "sbu" for k in grand):
                comp += "+sbu"
            elif any(k.pos in ("pron", "adv") and k.id < puts[0].id and k.deprel != "SUBJ"
                     for k in grand):
                comp += "+wh"
            else:
                comp += "+fin"
    head = sent.toks[t.head - 1] if t.head > 0 else None
    return ("INFV" in kid_rels, "SPRED" in kid_rels, "PUTFYLL" in kid_rels,
            comp, head.pos if head else "ROOT")  # type: ignore[return-value]


def _lemma_key(t: Tok) -> str:
    return t.lemma.lower() if t.pos in LEXICAL_POS else "*"


KeyFn = Callable[[Sent, Tok], tuple[object, ...]]

# From most to least specific; the first key seen in training wins.
KEYS: list[tuple[str, KeyFn]] = [
    ("pos+feats+lemma+rel+ctx",
     lambda s, t: (t.pos, t.feats, _lemma_key(t), t.deprel, _context(s, t))),
    ("pos+feats+lemma+ctx", lambda s, t: (t.pos, t.feats, _lemma_key(t), _context(s, t))),
    ("pos+feats+lemma+rel", lambda s, t: (t.pos, t.feats, _lemma_key(t), t.deprel)),
    ("pos+feats+lemma", lambda s, t: (t.pos, t.feats, _lemma_key(t))),
    ("pos+feats+rel+ctx", lambda s, t: (t.pos, t.feats, t.deprel, _context(s, t))),
    ("pos+feats+ctx", lambda s, t: (t.pos, t.feats, _context(s, t))),
    ("pos+feats", lambda s, t: (t.pos, t.feats)),
    ("pos+lemma", lambda s, t: (t.pos, _lemma_key(t))),
    ("pos", lambda s, t: (t.pos,)),
]


class TagMapper:
    """Decision list NDT (POS, feats, lemma, context) -> (UPOS, FEATS) with back-off."""

    def __init__(self, smoothing: float = 0.01) -> None:
        self.smoothing = smoothing
        self.tables: list[dict[tuple[object, ...], Counter[tuple[str, str]]]] = [
            defaultdict(Counter) for _ in KEYS]

    def learn(self, pairs: Iterable[tuple[Sent, Tok, str, str]]) -> TagMapper:
        for sent, tok, upos, ufeats in pairs:
            for table, (_, fn) in zip(self.tables, KEYS, strict=True):
                table[fn(sent, tok)][(upos, ufeats)] += 1
        return self

    def map(self, sent: Sent, tok: Tok) -> tuple[str, str]:
        """The label of the most reliable matching rule.

        Reliability is the smoothed share of the majority label, ``top / (total + 1)``,
        so a specific key wins when it has seen enough tokens, and a coarser key wins
        when the specific one is rare or mixed.
        """
        best: tuple[float, tuple[str, str]] = (-1.0, ("X", "_"))
        for table, (_, fn) in zip(self.tables, KEYS, strict=True):
            counts = table.get(fn(sent, tok))
            if not counts:
                continue
            label, top = counts.most_common(1)[0]
            score = top / (sum(counts.values()) + self.smoothing)
            if score > best[0]:
                best = (score, label)
        return best[1]


def aligned_pairs(norne: Path, by_split: dict[str, list[Sent]], split: str
                  ) -> list[tuple[Sent, Tok, str, str]]:
    """NDT tokens of a dev/test split paired with the UD UPOS/FEATS of the same token."""
    ud = defaultdict(list)
    for sid, rows in read_ud(norne / "ud-nob" / f"no_bokmaal-ud-{split}.conllu"):
        ud[tuple(r[1] for r in rows)].append((sid, rows))
    pairs = []
    for sent in by_split[split]:
        hits = ud.get(sent.key())
        if not hits:
            continue
        sid, rows = hits.pop(0) if len(hits) > 1 else hits[0]
        sent.sent_id = sid
        for tok, row in zip(sent.toks, rows, strict=True):
            pairs.append((sent, tok, row[3], row[5]))
    return pairs


def mapping_accuracy(mapper: TagMapper, pairs: Sequence[tuple[Sent, Tok, str, str]]
                     ) -> dict[str, float]:
    n = len(pairs)
    ok_pos = ok_feats = ok_both = 0
    for sent, tok, upos, ufeats in pairs:
        p, f = mapper.map(sent, tok)
        ok_pos += p == upos
        ok_feats += f == ufeats
        ok_both += p == upos and f == ufeats
    return {"tokens": n, "upos": ok_pos / n, "feats": ok_feats / n, "both": ok_both / n}


# --- writing --------------------------------------------------------------------------------

def infer_spaces(toks: Sequence[Tok]) -> list[bool]:
    """SpaceAfter for each token, guessed from punctuation (NDT has no raw text)."""
    spaces = [True] * len(toks)
    open_quote = False
    for i, t in enumerate(toks):
        if t.form in NO_SPACE_AFTER:
            spaces[i] = False
        if t.form in NO_SPACE_BEFORE and i > 0:
            spaces[i - 1] = False
        if t.form in {'"', "'"}:
            if open_quote:
                if i > 0:
                    spaces[i - 1] = False
            else:
                spaces[i] = False
            open_quote = not open_quote
    if spaces:
        spaces[-1] = False
    return spaces


def to_conllu(sent: Sent, number: int) -> str:
    spaces = infer_spaces(sent.toks)
    text = "".join(t.form + (" " if sp else "") for t, sp in zip(sent.toks, spaces, strict=True))
    lines = [f"# sent_id = {sent.sent_id or f'ndt-{number:06d}'}",
             f"# source = {sent.file}", f"# text = {text.strip()}"]
    for t, sp in zip(sent.toks, spaces, strict=True):
        dep = "root" if t.head == 0 else DEP_RENAMES.get(t.deprel, t.deprel)
        misc = ([] if sp else ["SpaceAfter=No"]) + [f"name={t.name}"]
        lines.append("\t".join([str(t.id), t.form, t.lemma, t.upos, "_", t.ufeats or "_",
                                str(t.head), dep, "_", "|".join(misc)]))
    return "\n".join(lines) + "\n"


def write_spacy(conllu_path: Path, spacy_path: Path, n_sents: int = 10) -> int:
    """Convert with spaCy's own conllu converter (as ``spacy convert -c conllu -n 10``)."""
    from spacy.tokens import DocBin
    from spacy.training.converters import conllu_to_docs

    docs = list(conllu_to_docs(conllu_path.read_text(encoding="utf-8"), n_sents=n_sents,
                               no_print=True))
    DocBin(docs=docs, store_user_data=False).to_disk(spacy_path)
    return len(docs)


@dataclass
class Prepared:
    """The three splits with UD tags set, and what was measured on the way."""

    by_split: dict[str, list[Sent]]
    files: dict[str, list[str]]
    counts: dict[str, dict[str, int]]
    mapper: TagMapper
    held_out: dict[str, float]
    held_out_reverse: dict[str, float]


def prepare(norne: Path, log: Callable[[str], None] = print) -> Prepared:
    """Split the NDT files and set UD UPOS/FEATS on every token."""
    norne = check_norne(norne)
    by_split, files = split_files(norne)
    counts = {s: {"files": len(files[s]), "sentences": len(by_split[s]),
                  "tokens": sum(len(x.toks) for x in by_split[s])} for s in SPLITS}
    for s in SPLITS:
        log(f"{s}: {counts[s]['files']} files, {counts[s]['sentences']} sentences, "
            f"{counts[s]['tokens']} tokens")
    dev_pairs = aligned_pairs(norne, by_split, "dev")
    test_pairs = aligned_pairs(norne, by_split, "test")
    held_out = mapping_accuracy(TagMapper().learn(dev_pairs), test_pairs)
    held_out_rev = mapping_accuracy(TagMapper().learn(test_pairs), dev_pairs)
    log(f"tag mapping learned on dev, scored on test: UPOS {held_out['upos']:.2%}, "
        f"FEATS {held_out['feats']:.2%}, both {held_out['both']:.2%} "
        f"({held_out['tokens']} tokens)")
    log(f"tag mapping learned on test, scored on dev: UPOS {held_out_rev['upos']:.2%}, "
        f"FEATS {held_out_rev['feats']:.2%}, both {held_out_rev['both']:.2%}")
    mapper = TagMapper().learn(dev_pairs + test_pairs)
    gold = {id(tok): (upos, ufeats) for _, tok, upos, ufeats in dev_pairs + test_pairs}
    for s in SPLITS:
        for sent in by_split[s]:
            for tok in sent.toks:
                # dev/test keep their gold UD tags where aligned; train is mapped
                tok.upos, tok.ufeats = gold.get(id(tok)) or mapper.map(sent, tok)
    for s in SPLITS:
        if counts[s]["files"] != EXPECTED_FILES[s] or counts[s]["sentences"] != EXPECTED_SENTS[s]:
            log(f"WARNING: {s} split differs from the UD README "
                f"({EXPECTED_FILES[s]} files, {EXPECTED_SENTS[s]} sentences)")
    return Prepared(by_split, files, counts, mapper, held_out, held_out_rev)


def convert(norne: Path, out: Path, *, spacy_files: bool = True,
            log: Callable[[str], None] = print) -> Prepared:
    """Write the CoNLL-U and .spacy files of the three splits into ``out``."""
    prep = prepare(norne, log)
    by_split, files, counts, mapper = prep.by_split, prep.files, prep.counts, prep.mapper
    held_out, held_out_rev = prep.held_out, prep.held_out_reverse
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for s in SPLITS:
        path = out / f"{s}.conllu"
        with path.open("w", encoding="utf-8") as fh:
            for sent in by_split[s]:
                n += 1
                fh.write(to_conllu(sent, n) + "\n")
        if spacy_files:
            ndocs = write_spacy(path, out / f"{s}.spacy")
            log(f"wrote {path} and {s}.spacy ({ndocs} docs)")
    (out / "splits.json").write_text(json.dumps(
        {"counts": counts, "files": files}, indent=1), encoding="utf-8")
    decision_list = {
        "keys": [name for name, _ in KEYS],
        "learned_on": "dev+test aligned tokens",
        "accuracy_learned_on_dev_scored_on_test": held_out,
        "accuracy_learned_on_test_scored_on_dev": held_out_rev,
        "rules": {name: [[list(map(str, k)), *c.most_common(1)[0][0], sum(c.values())]
                         for k, c in table.items()]
                  for (name, _), table in zip(KEYS, mapper.tables, strict=True)},
    }
    (out / "mapping.json").write_text(json.dumps(decision_list, ensure_ascii=False),
                                      encoding="utf-8")
    return prep


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--norne", type=Path, default=DEFAULT_NORNE,
                    help="NorNE data directory (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help="output directory (default: %(default)s)")
    ap.add_argument("--no-spacy", action="store_true", help="write CoNLL-U only")
    args = ap.parse_args(argv)
    convert(args.norne, args.out, spacy_files=not args.no_spacy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
