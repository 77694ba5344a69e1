"""Code suggestions for units of text (sentences or turns), each with its reasons.

A suggestion's score is a logistic function of evidence that adds up in
log-odds (``BIAS`` + the parts); each part is one human-readable reason:

- indicators: the code's indicator words and phrases found by lemma (every
  reading of the token, so a tagging error does not hide one), inside
  compounds, as a user variant, or (fuzzy, rapidfuzz) as a misspelling or
  dialect form of a word the lexicon does not know. Each indicator is weighted
  by how specific it is in this project: one that turns up in a large share of
  the turns (``samarbeid`` in a study of collaboration) counts for less than a
  rare one (``spydspiss``), and function words (``dere``, ``sammen``) count
  little on their own. Indicators found at the same place or again later are
  one concept; several concepts add up with diminishing returns (``DECAY``).
- the codebook: BM25 of the unit against the text of each code in the target's
  family (name, definition, when to use, example, indicators), with idf from
  the project's turns; the best-matching code counts. This is the cold start:
  it needs nothing but the codebook.
- the turn: a sentence also gets a share (``W_CONTEXT``) of the evidence in
  the rest of its turn. A sentence without content words gets nothing.
- the project (warm start): the similarity (TF-IDF cosine, mean of the best
  three) to excerpts already coded with the code, and, once a code has
  ``MIN_POSITIVES`` coded units, a per-code logistic calibration of the cold
  evidence, that similarity and the Naive-Bayes log-odds of the unit's words
  in the project's codings, fitted by Newton's method and shifted so that the
  best cut for F1 lies at ``CUT`` (0.35, the default ``--min-score``).

A target code pools the evidence of its family (the code and its descendants).
No spaCy here: units come with stored token arrays. The weights were set on the
sample corpus against two coders (docs/nlp.md shows how well they do).
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qcode.nlp.matching import IndicatorMatch, IndicatorMatcher

# --- the model's few global weights (docs/nlp.md explains and evaluates them) -------------

BIAS = -2.4  # log-odds of a unit with no evidence at all
W_KIND = {"lemma": 1.0, "phrase": 1.2, "variant": 0.95, "compound": 0.8, "fuzzy": 0.6}
W_FUNCTION_WORD = 0.5  # factor for an indicator made of function words (dere, sammen)
SPEC_SHARE = 0.05  # an indicator found in this share of the turns keeps half its weight
SPEC_MIN_TURNS = 50  # shares are counted over at least this many turns (small projects)
DECAY = 0.6  # the 2nd, 3rd ... distinct indicator of a target adds this factor less each
W_CODEBOOK = 0.4  # per unit of BM25 match with the best-matching code's text
BM25_FLOOR = 0.6  # a BM25 match below this is no evidence
BM25_K1, BM25_B = 1.2, 0.75
PROFILE_NORM = 0.3  # a code's BM25 is divided by (the idf mass of its text) ** this
W_CONTEXT = 0.35  # share of the rest of the turn's evidence a sentence gets
W_EXAMPLES = 6.0  # per unit of similarity to excerpts already coded
COS_FLOOR = 0.03  # similarity to coded excerpts below this is no evidence
TOP_K = 3
MIN_POSITIVES = 8  # coded units a code needs before its classifier is trained
POS_WEIGHT = 1.0  # positives count this much more when calibrating
CUT = 0.35  # the default --min-score: a calibrated code's best cut is moved here
MAX_SHIFT = 2.0
W_WORDS = True  # the warm start also learns which words go with a code
FUZZY_MIN_LEN = 6
FUZZY_RATIO = 88
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


@dataclass(frozen=True)
class Unit:
    """A sentence or turn with its token arrays (offsets into the document text)."""

    doc_id: int
    turn_id: int
    start: int
    end: int
    text: str  # the document text (shared), not the unit's slice
    tokens: Mapping[str, Sequence[Any]]


@dataclass(frozen=True)
class CodeProfile:
    """What the codebook says about one code."""

    code_id: str
    name: str
    text: str  # name, definition, when to use, example and indicators
    not_text: str = ""  # when not to use
    indicators: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """A code to propose, with the codes whose evidence it pools."""

    code_id: str
    family: tuple[str, ...]
    profile_text: str
    indicators: tuple[str, ...]
    members: tuple[CodeProfile, ...] = ()

    def profiles(self) -> tuple[CodeProfile, ...]:
        """The family's code profiles (one made of the pooled text when none were given)."""
        if self.members:
            return self.members
        return (CodeProfile(self.code_id, self.code_id, self.profile_text, "",
                            self.indicators),)


@dataclass
class Proposal:
    """A suggested code for a unit, with its score, reasons and methods."""

    doc_id: int
    start: int
    end: int
    code_id: str
    score: float
    reasons: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """All reasons in one line."""
        return "; ".join(self.reasons)

    @property
    def method(self) -> str:
        """The methods that contributed, joined by '+'."""
        return "+".join(self.methods)


@dataclass
class Evidence:
    """The evidence for one target in one unit: log-odds parts with their reasons."""

    parts: list[tuple[float, str, str]] = field(default_factory=list)  # weight, method, why
    indicator_weight: float = 0.0
    cosine: float = 0.0  # the best code text's BM25 match
    context: float = 0.0
    examples: float = 0.0

    def add(self, weight: float, method: str, why: str) -> None:
        self.parts.append((weight, method, why))

    def copy(self) -> Evidence:
        return Evidence(list(self.parts), self.indicator_weight, self.cosine, self.context,
                        self.examples)

    @property
    def total(self) -> float:
        return sum(w for w, _m, _y in self.parts)

    def methods(self) -> list[str]:
        out: list[str] = []
        for w, m, _y in sorted(self.parts, key=lambda p: -abs(p[0])):
            if w > 0 and m not in out:
                out.append(m)
        return out or ["codebook"]

    def reasons(self) -> list[str]:
        ordered = sorted(self.parts, key=lambda p: -p[0])
        return [why for w, _m, why in ordered if abs(w) >= 0.05] or ["weak overall evidence"]


def content_lemmas(tokens: Mapping[str, Sequence[Any]], lo: int = 0,
                   hi: int | None = None) -> list[str]:
    """Lower-case lemmas of the content words among tokens[lo:hi]."""
    from qcode.nlp.stopwords import STOP_WORDS

    lemmas = tokens["lemma"][lo:hi]
    stops = tokens.get("stop", [0] * len(tokens["lemma"]))[lo:hi]
    out = []
    for lemma, stop in zip(lemmas, stops, strict=True):
        word = str(lemma).lower()
        if stop or len(word) < 3 or word in STOP_WORDS or not word[0].isalpha():
            continue
        out.append(word)
    return out


def text_lemmas(text: str, lookup: Any) -> list[str]:
    """Content lemmas of free text (a code's definition) by lookup alone."""
    from qcode.nlp.stopwords import STOP_WORDS

    out = []
    for m in _WORD.finditer(text):
        word = m.group().lower()
        if len(word) < 3 or word in STOP_WORDS:
            continue
        out.append(str(lookup.lemma(word)).lower())
    return out


class _Tfidf:
    def __init__(self, documents: Sequence[Sequence[str]]) -> None:
        df: Counter[str] = Counter()
        for doc in documents:
            df.update(set(doc))
        self.n = max(len(documents), 1)
        self.idf = {t: math.log((1 + self.n) / (1 + c)) + 1 for t, c in df.items()}
        self.default = math.log(1 + self.n) + 1

    def weight(self, term: str) -> float:
        return self.idf.get(term, self.default)

    def vector(self, lemmas: Sequence[str]) -> dict[str, float]:
        tf = Counter(lemmas)
        vec = {t: (1 + math.log(c)) * self.weight(t) for t, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}


class _Bm25Profile:
    """A code's text as a BM25 query; units are the documents it ranks."""

    def __init__(self, lemmas: Sequence[str], tfidf: _Tfidf, avg_len: float) -> None:
        self.terms = Counter(lemmas)
        self.tfidf = tfidf
        self.avg_len = max(avg_len, 1.0)
        mass = sum(tfidf.weight(t) for t in self.terms)
        self.norm = max(mass, 1.0) ** PROFILE_NORM

    def score(self, tf: Mapping[str, int], length: int) -> tuple[float, list[str]]:
        """The normalised BM25 score of a unit and the words that matched, best first."""
        k = BM25_K1 * (1 - BM25_B + BM25_B * length / self.avg_len)
        parts = []
        for t, f in tf.items():
            q = self.terms.get(t)
            if q:
                parts.append((self.tfidf.weight(t) * f * (BM25_K1 + 1) / (f + k)
                              * (1 + math.log(q)), t))
        parts.sort(reverse=True)
        return sum(p for p, _t in parts) / self.norm, [t for _p, t in parts]


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def _slice(unit: Unit) -> tuple[Mapping[str, Sequence[Any]], int, int]:
    """The unit's token arrays and the index range of its tokens."""
    starts = unit.tokens["start"]
    lo = bisect.bisect_left(starts, unit.start)
    hi = bisect.bisect_left(starts, unit.end)
    return unit.tokens, lo, hi


def _sub(unit: Unit) -> dict[str, list[Any]]:
    tokens, lo, hi = _slice(unit)
    return {k: list(v[lo:hi]) for k, v in tokens.items()}


def _is_turn(unit: Unit) -> bool:
    starts, ends = unit.tokens["start"], unit.tokens["end"]
    return not starts or (unit.start <= starts[0] and unit.end >= ends[-1])


def _concepts(matches: Sequence[tuple[int, int, str, float, str]]
              ) -> list[tuple[float, str]]:
    """One (weight, reason) per distinct concept: indicators found at the same or
    overlapping places are one concept (``samarbeid`` and ``samarbeider`` both match
    «samarbeider»; «ikke rekke» contains «rekke»), and a concept found again later in
    the unit does not count twice."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    ordered = sorted(matches, key=lambda m: (m[0], -m[1]))
    for i, (_s, e, ind, _w, _y) in enumerate(ordered):
        find(ind)
        for s2, _e2, ind2, _w2, _y2 in ordered[i + 1:]:
            if s2 >= e:
                break
            parent[find(ind2)] = find(ind)
    best: dict[str, tuple[float, str]] = {}
    for _s, _e, ind, w, why in ordered:
        root = find(ind)
        if root not in best or w > best[root][0]:
            best[root] = (w, why)
    return sorted(best.values(), key=lambda p: -p[0])


class Suggester:
    """Scores units against target codes; build once per run.

    ``units`` are the project's units the statistics come from (how common each
    word and indicator is); scoring works for any unit with token arrays.
    """

    def __init__(self, targets: Sequence[Target], units: Sequence[Unit],
                 examples: Mapping[str, Sequence[tuple[int, Sequence[str]]]], *,
                 variants: Mapping[str, Sequence[str]] | None = None,
                 lookup: Any = None) -> None:
        from qcode.nlp.stopwords import STOP_WORDS

        if lookup is None:
            from qcode.nlp.lemmatizer import LemmaLookup

            lookup = LemmaLookup.default()
        self.lookup = lookup
        self.targets = list(targets)
        self.by_code = {t.code_id: t for t in self.targets}
        # which targets a code's evidence counts for
        self.owners: dict[str, list[str]] = defaultdict(list)
        self.member: dict[str, CodeProfile] = {}
        indicators: dict[str, list[str]] = defaultdict(list)
        for t in self.targets:
            for p in t.profiles():
                if t.code_id not in self.owners[p.code_id]:
                    self.owners[p.code_id].append(t.code_id)
                self.member[p.code_id] = p
                indicators[p.code_id] = list(dict.fromkeys([*indicators[p.code_id],
                                                            *p.indicators]))
        self.matcher = IndicatorMatcher(indicators, variants, lookup)
        self._function = {ind: all(w in STOP_WORDS for w in ind.lower().split())
                          for inds in indicators.values() for ind in inds}
        # corpus statistics: whole turns of the project, whatever the unit
        turns: dict[tuple[int, int], Unit] = {}
        for u in units:
            key = (u.doc_id, u.turn_id)
            toks = u.tokens
            if key not in turns and toks["start"]:
                turns[key] = Unit(u.doc_id, u.turn_id, toks["start"][0], toks["end"][-1],
                                  u.text, toks)
        self.n_turns = max(len(turns), 1)
        df: Counter[str] = Counter()
        lemma_docs: list[list[str]] = []
        self._turn_matches: dict[tuple[int, int], list[IndicatorMatch]] = {}
        for key, u in turns.items():
            found = self.matcher.match(u.text, u.tokens)
            self._turn_matches[key] = found
            df.update({m.indicator for m in found})
            lemma_docs.append(content_lemmas(u.tokens))
        self.indicator_df = df
        profiles = {p.code_id: text_lemmas(p.text, lookup) for p in self.member.values()}
        self.tfidf = _Tfidf(lemma_docs)
        avg_len = sum(len(d) for d in lemma_docs) / len(lemma_docs) if lemma_docs else 30.0
        self.profiles = {c: _Bm25Profile(v, self.tfidf, avg_len)
                         for c, v in profiles.items() if v}
        self._fuzzy_words = self._fuzzy_vocabulary(indicators)
        self.classifiers: dict[str, Classifier] = {}
        self.word_odds: dict[str, _WordOdds] = {}
        self._turn_cache: dict[tuple[int, int], dict[str, Evidence]] = {}
        self._cold_cache: dict[tuple[int, int, int], dict[str, Evidence]] = {}
        self.examples: dict[str, list[int]] = {}  # target -> indexes into _example_docs
        self._example_docs: list[int] = []
        self._example_index: dict[str, list[tuple[int, float]]] = {}
        self.set_examples(examples)

    def set_examples(self, examples: Mapping[str, Sequence[tuple[int, Sequence[str]]]]
                     ) -> None:
        """The project's coded excerpts per target, as (document id, content lemmas);
        forgets trained classifiers. Each distinct excerpt is indexed once."""
        self.examples, self._example_docs, self._example_index = {}, [], {}
        seen: dict[tuple[int, tuple[str, ...]], int] = {}
        for code_id, items in examples.items():
            if code_id not in self.by_code:
                continue
            ids = []
            for doc_id, lemmas in items:
                if not lemmas:
                    continue
                key = (doc_id, tuple(lemmas))
                if key not in seen:
                    seen[key] = len(self._example_docs)
                    self._example_docs.append(doc_id)
                    for term, weight in self.tfidf.vector(lemmas).items():
                        self._example_index.setdefault(term, []).append((seen[key], weight))
                ids.append(seen[key])
            if ids:
                self.examples[code_id] = ids
        self.classifiers = {}
        self.word_odds = {}

    # -- statistics ------------------------------------------------------------------------

    def specificity(self, indicator: str) -> float:
        """1 for an indicator rare in this project, 1/2 at ``SPEC_SHARE`` of the turns."""
        share = self.indicator_df.get(indicator, 0) / max(self.n_turns, SPEC_MIN_TURNS)
        spec = 1.0 / (1.0 + share / SPEC_SHARE)
        if self._function.get(indicator, False):
            spec *= W_FUNCTION_WORD
        return spec

    def _fuzzy_vocabulary(self, indicators: Mapping[str, Sequence[str]]
                          ) -> list[tuple[str, str, str]]:
        words = []
        for code_id, items in indicators.items():
            for indicator in items:
                word = indicator.strip().lower()
                if " " not in word and len(word) >= FUZZY_MIN_LEN:
                    words.append((word, code_id, indicator))
        return words

    # -- evidence --------------------------------------------------------------------------

    def evidence(self, unit: Unit, *, other_documents: bool = False) -> dict[str, Evidence]:
        """Evidence per target for one unit: the codebook's (cold) and, once codings
        exist, the similarity to excerpts already coded (only those of other documents
        with ``other_documents``, as when training)."""
        cold = self.cold_evidence(unit)
        if not self.examples:
            return cold
        out = {c: e.copy() for c, e in cold.items()}
        lemmas = content_lemmas(_sub(unit))
        if not lemmas:
            return out
        sims: dict[int, float] = defaultdict(float)
        for term, weight in self.tfidf.vector(lemmas).items():
            for i, w in self._example_index.get(term, ()):
                sims[i] += weight * w
        for code_id, ids in self.examples.items():
            vectors = [i for i in ids
                       if not (other_documents and self._example_docs[i] == unit.doc_id)]
            if not vectors:
                continue
            best3 = sorted((sims.get(i, 0.0) for i in vectors), reverse=True)[:TOP_K]
            sim = sum(best3) / len(best3)
            e = out.setdefault(code_id, Evidence())
            e.examples = sim
            if sim > COS_FLOOR:
                e.add(W_EXAMPLES * (sim - COS_FLOOR), "similarity",
                      f"like excerpts already coded with it ({sim:.2f}, best {TOP_K} of "
                      f"{len(vectors)})")
        return out

    def cold_evidence(self, unit: Unit) -> dict[str, Evidence]:
        """The codebook's evidence per target for one unit (cached)."""
        key = (unit.doc_id, unit.start, unit.end)
        cached = self._cold_cache.get(key)
        if cached is not None:
            return cached
        sub = _sub(unit)
        tkey = (unit.doc_id, unit.turn_id)
        if _is_turn(unit) and tkey in self._turn_matches:
            matches = self._turn_matches[tkey]
        else:
            matches = self.matcher.match(unit.text, sub)
        lemmas = content_lemmas(sub)
        if not lemmas and not _is_turn(unit):
            out: dict[str, Evidence] = {}  # «Ja.», «(ler)»: nothing to code here
        else:
            out = self._evidence(unit, sub, matches, lemmas)
            if not _is_turn(unit):
                self._add_context(unit, out)
        if len(self._cold_cache) > 50_000:
            self._cold_cache.clear()
        self._cold_cache[key] = out
        return out

    def _evidence(self, unit: Unit, sub: Mapping[str, Sequence[Any]],
                  matches: Sequence[IndicatorMatch], lemmas: Sequence[str]
                  ) -> dict[str, Evidence]:
        ev: dict[str, Evidence] = defaultdict(Evidence)
        found: dict[str, list[tuple[int, int, str, float, str]]] = defaultdict(list)
        how = {"lemma": "", "compound": " in a compound", "phrase": " (phrase)",
               "variant": " (variant)"}
        for m in matches:
            w = W_KIND.get(m.kind, 1.0) * self.specificity(m.indicator)
            why = (f"indicator «{m.indicator}»{how.get(m.kind, '')} of "
                   f"{self._name(m.code_id)}: «{m.form}»")
            for owner in self.owners.get(m.code_id, ()):
                found[owner].append((m.start, m.end, m.indicator, w, why))
        self._fuzzy(unit, sub, found)
        for code_id, items in found.items():
            for k, (w, why) in enumerate(_concepts(items)):
                weight = w * DECAY ** k
                ev[code_id].add(weight, "fuzzy" if "looks like" in why else "indicator", why)
                ev[code_id].indicator_weight += weight
        if lemmas:
            tf = Counter(lemmas)
            member = {c: prof.score(tf, len(lemmas)) for c, prof in self.profiles.items()}
            for t in self.targets:
                best, best_code, words = 0.0, "", []
                for p in t.profiles():
                    value, matched = member.get(p.code_id, (0.0, []))
                    if value > best:
                        best, best_code, words = value, p.code_id, matched
                e = ev[t.code_id]
                e.cosine = best
                if best > BM25_FLOOR:
                    e.add(W_CODEBOOK * (best - BM25_FLOOR), "codebook",
                          f"words of the codebook text of {self._name(best_code)}: "
                          f"{', '.join(words[:4])} ({best:.1f})")
        return ev

    def _name(self, code_id: str) -> str:
        p = self.member.get(code_id)
        return f"«{p.name}»" if p else code_id

    def _turn_evidence(self, unit: Unit) -> dict[str, Evidence]:
        key = (unit.doc_id, unit.turn_id)
        cached = self._turn_cache.get(key)
        if cached is None:
            toks = unit.tokens
            turn = Unit(unit.doc_id, unit.turn_id, toks["start"][0], toks["end"][-1],
                        unit.text, toks)
            matches = self._turn_matches.get(key)
            if matches is None:
                matches = self.matcher.match(unit.text, toks)
            cached = self._evidence(turn, toks, matches, content_lemmas(toks))
            if len(self._turn_cache) > 4096:
                self._turn_cache.clear()
            self._turn_cache[key] = cached
        return cached

    def _add_context(self, unit: Unit, ev: dict[str, Evidence]) -> None:
        """A sentence gets a share of what the rest of its turn says."""
        if not W_CONTEXT or not unit.tokens["start"]:
            return
        turn = self._turn_evidence(unit)
        for code_id, t_ev in turn.items():
            own = ev.get(code_id)
            rest = t_ev.total - (own.total if own else 0.0)
            if rest <= 0.05:
                continue
            mine = {y for _w, _m, y in own.parts} if own else set()
            top = next((why for w, _m, why in sorted(t_ev.parts, key=lambda p: -p[0])
                        if w > 0 and why not in mine), None)
            e = ev[code_id]
            e.context = W_CONTEXT * rest
            e.add(W_CONTEXT * rest, "context",
                  "the rest of the turn" + (f" ({top})" if top else ""))

    def _fuzzy(self, unit: Unit, sub: Mapping[str, Sequence[Any]],
               found: dict[str, list[tuple[int, int, str, float, str]]]) -> None:
        """Misspellings and dialect forms: unknown words close to an indicator."""
        if not self._fuzzy_words:
            return
        from rapidfuzz import fuzz

        known = self.matcher.vocabulary.known
        for s, e in zip(sub["start"], sub["end"], strict=True):
            form = unit.text[s:e].lower()
            if len(form) < FUZZY_MIN_LEN - 1 or not form.isalpha() or known(form):
                continue
            for word, code_id, indicator in self._fuzzy_words:
                if abs(len(form) - len(word)) > 3:
                    continue
                ratio = fuzz.ratio(form, word)
                if ratio < FUZZY_RATIO:
                    continue
                w = W_KIND["fuzzy"] * self.specificity(indicator)
                why = (f"«{unit.text[s:e]}» looks like the indicator «{indicator}» of "
                       f"{self._name(code_id)} ({ratio:.0f} %)")
                for t in self.owners.get(code_id, ()):
                    found[t].append((s, e, indicator, w, why))

    # -- scoring ---------------------------------------------------------------------------

    def score_cold(self, unit: Unit) -> list[Proposal]:
        """Proposals from the codebook (and coded excerpts), best first."""
        return self._proposals(unit, self.evidence(unit))

    def _proposals(self, unit: Unit, ev: Mapping[str, Evidence]) -> list[Proposal]:
        out = []
        for t in self.targets:
            e = ev.get(t.code_id)
            if e is None or e.total <= 0:
                continue
            score = _sigmoid(BIAS + e.total)
            out.append(Proposal(unit.doc_id, unit.start, unit.end, t.code_id,
                                round(score, 4), e.reasons(), e.methods()))
        out.sort(key=lambda p: -p.score)
        return out

    def features(self, unit: Unit, ev: Mapping[str, Evidence] | None = None, *,
                 other_documents: bool = False) -> dict[str, dict[str, float]]:
        """Per target: the cold log-odds, the similarity to coded excerpts and (once
        trained) the log-odds of the unit's words in the project's codings."""
        ev = self.evidence(unit, other_documents=other_documents) if ev is None else ev
        lemmas = frozenset(content_lemmas(_sub(unit))) if self.word_odds else frozenset()
        out = {}
        for t in self.targets:
            e = ev.get(t.code_id) or Evidence()
            cold = sum(w for w, m, _y in e.parts if m != "similarity")
            out[t.code_id] = {"cold": cold, "similar": e.examples}
            odds = self.word_odds.get(t.code_id)
            if odds is not None:
                out[t.code_id]["words"] = odds.score(
                    lemmas, unit.doc_id if other_documents else None)[0]
        return out

    def train(self, units: Sequence[Unit], labels: Mapping[str, set[int]],
              min_positives: int = MIN_POSITIVES) -> None:
        """Warm start: calibrate each code on the project's labelled units (index sets).

        A code needs ``min_positives`` coded units; the others keep the cold score
        plus the similarity to their coded excerpts.
        """
        self.classifiers = {}
        self.word_odds = {}
        if not units:
            return
        chosen = {c: [1 if i in labels.get(c, set()) else 0 for i in range(len(units))]
                  for c in self.by_code
                  if min_positives <= len(labels.get(c, ())) < len(units)}
        if not chosen:
            return
        if W_WORDS:
            lemma_sets = [frozenset(content_lemmas(_sub(u))) for u in units]
            docs = [u.doc_id for u in units]
            self.word_odds = {c: _WordOdds(lemma_sets, docs, y) for c, y in chosen.items()}
        feats = [self.features(u, other_documents=True) for u in units]
        for code_id, y in chosen.items():
            self.classifiers[code_id] = Classifier().fit([f[code_id] for f in feats], y)

    def score(self, unit: Unit) -> list[Proposal]:
        """Proposals for one unit, best first (calibrated where the project allows)."""
        ev = self.evidence(unit)
        if not self.classifiers:
            return self._proposals(unit, ev)
        feats = self.features(unit, ev)
        out = []
        for t in self.targets:
            e = ev.get(t.code_id)
            model = self.classifiers.get(t.code_id)
            if model is None:
                if e is not None and e.total > 0:
                    out.append(Proposal(unit.doc_id, unit.start, unit.end, t.code_id,
                                        round(_sigmoid(BIAS + e.total), 4), e.reasons(),
                                        e.methods()))
                continue
            prob = model.probability(feats[t.code_id])
            reasons = e.reasons() if e is not None and e.parts else []
            odds = self.word_odds.get(t.code_id)
            if odds is not None:
                _v, typical = odds.score(frozenset(content_lemmas(_sub(unit))))
                if typical:
                    reasons.append("words typical of units coded with it in this project: "
                                   + ", ".join(typical))
            reasons.append(f"calibrated on {model.n} units of this project, "
                           f"{model.positives} coded with it")
            methods = [*(e.methods() if e is not None and e.parts else []), "calibrated"]
            out.append(Proposal(unit.doc_id, unit.start, unit.end, t.code_id, round(prob, 4),
                                reasons, methods))
        out.sort(key=lambda p: -p.score)
        return out


class _WordOdds:
    """Naive-Bayes log-odds of a code per lemma, learned from the project's coded units;
    per document too, so a training unit is scored without its own document."""

    def __init__(self, lemma_sets: Sequence[frozenset[str]], docs: Sequence[int],
                 labels: Sequence[int]) -> None:
        self.pos: Counter[str] = Counter()
        self.neg: Counter[str] = Counter()
        self.by_doc: dict[int, tuple[Counter[str], Counter[str], int, int]] = {}
        for lemmas, doc, y in zip(lemma_sets, docs, labels, strict=True):
            (self.pos if y else self.neg).update(lemmas)
            p, n, np_, nn = self.by_doc.get(doc, (Counter(), Counter(), 0, 0))
            (p if y else n).update(lemmas)
            self.by_doc[doc] = (p, n, np_ + y, nn + (1 - y))
        self.n_pos = sum(labels)
        self.n_neg = len(labels) - self.n_pos

    def _r(self, lemma: str, doc: int | None) -> float:
        p, n, np_, nn = self.pos[lemma], self.neg[lemma], self.n_pos, self.n_neg
        if doc is not None and doc in self.by_doc:
            dp, dn, dnp, dnn = self.by_doc[doc]
            p, n, np_, nn = p - dp[lemma], n - dn[lemma], np_ - dnp, nn - dnn
        return math.log((p + 0.5) / (np_ + 1.0)) - math.log((n + 0.5) / (nn + 1.0))

    def score(self, lemmas: frozenset[str], doc: int | None = None) -> tuple[float, list[str]]:
        """Summed log-odds of the unit's lemmas (over the root of their number), and the
        lemmas that speak most for the code."""
        if not lemmas:
            return 0.0, []
        rs = sorted(((self._r(w, doc), w) for w in lemmas if self.pos[w] or self.neg[w]),
                    reverse=True)
        total = sum(r for r, _w in rs) / math.sqrt(len(lemmas))
        return total, [w for r, w in rs[:3] if r > 0.5]


class Classifier:
    """Logistic regression on a few dense features, fitted by Newton's method.

    Deterministic and dependency-free. The weights are kept positive for evidence
    (more evidence never lowers a score); L2 regularisation keeps them near the
    cold model's when the project has few codings.
    """

    def __init__(self, l2: float = 2.0, iterations: int = 25) -> None:
        self.l2, self.iterations = l2, iterations
        self.names: list[str] = []
        self.weights: list[float] = []
        self.bias = 0.0
        self.positives = 0
        self.n = 0
        self.shift = 0.0
        self.best_f1 = 0.0

    def fit(self, features: Sequence[Mapping[str, float]], labels: Sequence[int]) -> Classifier:
        """Fit on labelled feature dicts (same keys in every one)."""
        self.n, self.positives = len(labels), sum(labels)
        self.names = sorted(features[0]) if features else []
        rows = [[1.0, *(f.get(k, 0.0) for k in self.names)] for f in features]
        d = len(self.names) + 1
        prior = [BIAS, *(W_EXAMPLES if k == "similar" else 0.0 if k == "words" else 1.0
                         for k in self.names)]
        w = list(prior)
        for _ in range(self.iterations):
            grad = [self.l2 * (w[j] - prior[j]) if j else 0.0 for j in range(d)]
            hess = [[(self.l2 if i == j and i else 0.0) for j in range(d)] for i in range(d)]
            for x, y in zip(rows, labels, strict=True):
                p = _sigmoid(sum(a * b for a, b in zip(w, x, strict=True)))
                c = POS_WEIGHT if y else 1.0
                g, h = c * (p - y), c * p * (1 - p)
                for i in range(d):
                    grad[i] += g * x[i]
                    hi = h * x[i]
                    for j in range(i, d):
                        hess[i][j] += hi * x[j]
            for i in range(d):
                for j in range(i):
                    hess[i][j] = hess[j][i]
                hess[i][i] += 1e-6
            step = _solve(hess, grad)
            w = [a - b for a, b in zip(w, step, strict=True)]
            w = [w[0], *(max(0.0, v) for v in w[1:])]
            if max(abs(v) for v in step) < 1e-6:
                break
        self.bias, self.weights = w[0], w[1:]
        # a calibrated classifier's F1 is best at the threshold F1*/2 (Lipton et al. 2014);
        # estimate F1* on the training units and move that threshold to CUT
        probs = sorted(((self._z(dict(zip(self.names, x[1:], strict=True))), y)
                        for x, y in zip(rows, labels, strict=True)), reverse=True)
        best, tp = 0.0, 0
        for k, (z, y) in enumerate(probs):
            tp += y
            if k + 1 == len(probs) or probs[k + 1][0] < z:
                best = max(best, 2 * tp / (k + 1 + self.positives))
        t = min(max(best / 2, 0.05), 0.95)
        self.shift = max(-MAX_SHIFT, min(MAX_SHIFT, math.log(CUT / (1 - CUT))
                                         - math.log(t / (1 - t))))
        self.best_f1 = best
        return self

    def _z(self, x: Mapping[str, float]) -> float:
        return self.bias + sum(w * x.get(k, 0.0)
                               for k, w in zip(self.names, self.weights, strict=True))

    def probability(self, x: Mapping[str, float]) -> float:
        """The calibrated score: ``CUT`` where the training units' F1 is best."""
        return _sigmoid(self._z(x) + self.shift)


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve a small linear system by Gaussian elimination with partial pivoting."""
    n = len(b)
    m = [[*row, v] for row, v in zip(a, b, strict=True)]
    for c in range(n):
        piv = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[piv] = m[piv], m[c]
        if abs(m[c][c]) < 1e-12:
            continue
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for k in range(c, n + 1):
                m[r][k] -= f * m[c][k]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        if abs(m[r][r]) < 1e-12:
            continue
        x[r] = (m[r][n] - sum(m[r][k] * x[k] for k in range(r + 1, n))) / m[r][r]
    return x
