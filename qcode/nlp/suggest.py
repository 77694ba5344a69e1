"""Code suggestions for units of text (sentences or turns), each with its reasons.

Evidence per code, from three sources, combined as a noisy-or into a score in [0, 1]:

- indicators: the code's indicator words and phrases found by lemma, inside
  compounds, as a user variant, or (fuzzy, rapidfuzz) as a misspelling or
  dialect form;
- the codebook: TF-IDF cosine between the unit's content lemmas and the code's
  own text (name, definition, when to use, example, indicators) - the cold start;
- the project: TF-IDF cosine between the unit and excerpts already coded with
  the code (the mean of the best three) - the warm start, which grows as the
  researcher codes.

A code's family (the code and its descendants) pools its evidence when a parent
is asked for. No spaCy here: units come with stored token arrays.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qcode.nlp.matching import IndicatorMatcher

# Weights of one piece of evidence; tuned on the sample corpus (docs/nlp.md).
W_KIND = {"lemma": 0.40, "phrase": 0.50, "variant": 0.35, "compound": 0.25}
W_FUZZY = 0.20
W_CODEBOOK = 0.55
COS_CODEBOOK = 0.30
W_EXAMPLES = 0.85
COS_EXAMPLES = 0.35
TOP_K = 3
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
class Target:
    """A code to propose, with the codes whose evidence it pools."""

    code_id: str
    family: tuple[str, ...]
    profile_text: str
    indicators: tuple[str, ...]


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

    def vector(self, lemmas: Sequence[str]) -> dict[str, float]:
        tf = Counter(lemmas)
        default = math.log(1 + self.n) + 1
        vec = {t: (1 + math.log(c)) * self.idf.get(t, default) for t, c in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {t: v / norm for t, v in vec.items()}


def _cos(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def _noisy_or(parts: Sequence[float]) -> float:
    p = 1.0
    for s in parts:
        p *= 1.0 - max(0.0, min(1.0, s))
    return 1.0 - p


class Suggester:
    """Scores units against target codes; build once per run."""

    def __init__(self, targets: Sequence[Target], units: Sequence[Unit],
                 examples: Mapping[str, Sequence[Sequence[str]]], *,
                 variants: Mapping[str, Sequence[str]] | None = None,
                 lookup: Any = None) -> None:
        if lookup is None:
            from qcode.nlp.lemmatizer import LemmaLookup

            lookup = LemmaLookup.default()
        self.lookup = lookup
        self.targets = list(targets)
        self.by_code = {t.code_id: t for t in self.targets}
        self.matcher = IndicatorMatcher({t.code_id: t.indicators for t in self.targets},
                                        variants, lookup)
        self.unit_lemmas = {id(u): content_lemmas(*_slice(u)) for u in units}
        profiles = {t.code_id: text_lemmas(t.profile_text, lookup) for t in self.targets}
        corpus = [*self.unit_lemmas.values(), *profiles.values(),
                  *(ex for exs in examples.values() for ex in exs)]
        self.tfidf = _Tfidf(corpus)
        self.profiles = {c: self.tfidf.vector(v) for c, v in profiles.items()}
        self.examples = {c: [self.tfidf.vector(ex) for ex in exs if ex]
                         for c, exs in examples.items()}
        self._fuzzy_words = self._fuzzy_vocabulary()

    def _fuzzy_vocabulary(self) -> list[tuple[str, str, str]]:
        words = []
        for t in self.targets:
            for indicator in t.indicators:
                word = indicator.strip().lower()
                if " " not in word and len(word) >= FUZZY_MIN_LEN:
                    words.append((word, t.code_id, indicator))
        return words

    def features(self, unit: Unit, cold: Mapping[str, float]) -> dict[str, dict[str, float]]:
        """Per code: the unit's word weights plus its cold evidence, for the classifier."""
        vec = self.tfidf.vector(self.unit_lemmas.get(id(unit)) or
                                content_lemmas(*_slice(unit)))
        words = {f"w:{t}": v for t, v in vec.items()}
        return {c: {**words, "cold": cold.get(c, 0.0)} for c in self.by_code}

    def train(self, units: Sequence[Unit], labels: Mapping[str, set[int]],
              min_positives: int = 8) -> None:
        """Warm start: fit a classifier per code on labelled units (index sets per code)."""
        self.classifiers: dict[str, Classifier] = {}
        if not units:
            return
        cold = [{p.code_id: p.score for p in self.score_cold(u)} for u in units]
        feats = [self.features(u, c) for u, c in zip(units, cold, strict=True)]
        for code_id in self.by_code:
            positives = labels.get(code_id, set())
            if len(positives) < min_positives:
                continue
            y = [1 if i in positives else 0 for i in range(len(units))]
            self.classifiers[code_id] = Classifier().fit([f[code_id] for f in feats], y)

    def score(self, unit: Unit) -> list[Proposal]:
        """Proposals for one unit, best first (the classifier's where one is trained)."""
        proposals = self.score_cold(unit)
        classifiers = getattr(self, "classifiers", {})
        if not classifiers:
            return proposals
        by_code = {p.code_id: p for p in proposals}
        feats = self.features(unit, {p.code_id: p.score for p in proposals})
        out = []
        for code_id in self.by_code:
            model = classifiers.get(code_id)
            cold = by_code.get(code_id)
            if model is None:
                if cold is not None:
                    out.append(cold)
                continue
            prob = model.probability(feats[code_id])
            reasons = list(cold.reasons) if cold else []
            terms = model.top_terms(feats[code_id])
            reasons.append(f"like the {model.positives} units already coded with it"
                           + (f" (words: {', '.join(terms)})" if terms else "")
                           + f", p = {prob:.2f}")
            methods = [m for m in (cold.methods if cold else []) if m != "similarity"]
            out.append(Proposal(unit.doc_id, unit.start, unit.end, code_id, round(prob, 4),
                                reasons, [*methods, "classifier"]))
        out.sort(key=lambda p: -p.score)
        return out

    def score_cold(self, unit: Unit) -> list[Proposal]:
        """Proposals from indicators, the codebook text and coded excerpts."""
        evidence: dict[str, list[float]] = defaultdict(list)
        reasons: dict[str, list[str]] = defaultdict(list)
        methods: dict[str, list[str]] = defaultdict(list)
        tokens, lo, hi = _slice(unit)
        sub = {k: list(v[lo:hi]) for k, v in tokens.items()}
        seen_indicators: dict[str, set[str]] = defaultdict(set)
        for m in self.matcher.match(unit.text, sub):
            if m.indicator in seen_indicators[m.code_id]:
                continue
            seen_indicators[m.code_id].add(m.indicator)
            evidence[m.code_id].append(W_KIND.get(m.kind, 0.3))
            how = {"lemma": "", "compound": " in a compound", "phrase": " (phrase)",
                   "variant": " (variant)"}[m.kind]
            reasons[m.code_id].append(f"indicator «{m.indicator}»{how}: «{m.form}»")
            if "indicator" not in methods[m.code_id]:
                methods[m.code_id].append("indicator")
        if self._fuzzy_words:
            self._fuzzy(unit, sub, seen_indicators, evidence, reasons, methods)
        vec = self.tfidf.vector(self.unit_lemmas.get(id(unit)) or content_lemmas(sub))
        if vec:
            for code_id, profile in self.profiles.items():
                cos = _cos(vec, profile)
                if cos > 0.04:
                    evidence[code_id].append(W_CODEBOOK * min(1.0, cos / COS_CODEBOOK))
                    if cos >= 0.10:
                        reasons[code_id].append(f"close to the code's definition ({cos:.2f})")
                        methods[code_id].append("codebook")
            for code_id, vectors in self.examples.items():
                if not vectors or code_id not in self.by_code:
                    continue
                best = sorted((_cos(vec, v) for v in vectors), reverse=True)[:TOP_K]
                sim = sum(best) / len(best)
                if sim > 0.04:
                    evidence[code_id].append(W_EXAMPLES * min(1.0, sim / COS_EXAMPLES))
                    if sim >= 0.10:
                        reasons[code_id].append(
                            f"similar to {len(vectors)} excerpts already coded ({sim:.2f})")
                        methods[code_id].append("similarity")
        out = []
        for code_id, parts in evidence.items():
            score = _noisy_or(parts)
            out.append(Proposal(unit.doc_id, unit.start, unit.end, code_id, round(score, 4),
                                reasons[code_id] or ["weak overall similarity"],
                                methods[code_id] or ["codebook"]))
        out.sort(key=lambda p: -p.score)
        return out

    def _fuzzy(self, unit: Unit, sub: Mapping[str, Sequence[Any]],
               seen: dict[str, set[str]], evidence: dict[str, list[float]],
               reasons: dict[str, list[str]], methods: dict[str, list[str]]) -> None:
        from rapidfuzz import fuzz

        hits: dict[str, int] = defaultdict(int)
        for s, e in zip(sub["start"], sub["end"], strict=True):
            form = unit.text[s:e].lower()
            if len(form) < FUZZY_MIN_LEN - 1:
                continue
            for word, code_id, indicator in self._fuzzy_words:
                if indicator in seen[code_id] or hits[code_id] >= 2:
                    continue
                if abs(len(form) - len(word)) > 3:
                    continue
                ratio = fuzz.ratio(form, word)
                if FUZZY_RATIO <= ratio < 100:
                    seen[code_id].add(indicator)
                    hits[code_id] += 1
                    evidence[code_id].append(W_FUZZY)
                    reasons[code_id].append(f"«{unit.text[s:e]}» looks like the indicator "
                                            f"«{indicator}» ({ratio:.0f} %)")
                    if "fuzzy" not in methods[code_id]:
                        methods[code_id].append("fuzzy")


class Classifier:
    """A small L2-regularised logistic regression over sparse features (no dependencies).

    Trained per code on the project's own coded units (positives) and the other
    units of coded documents (negatives), with the positive class up-weighted to
    the class balance. Deterministic: fixed order, fixed epochs, no randomness.
    """

    def __init__(self, epochs: int = 12, rate: float = 0.3, l2: float = 1e-3) -> None:
        self.epochs, self.rate, self.l2 = epochs, rate, l2
        self.weights: dict[str, float] = {}
        self.bias = 0.0
        self.positives = 0

    def fit(self, features: Sequence[Mapping[str, float]], labels: Sequence[int]) -> Classifier:
        """Train by plain stochastic gradient descent with a decaying rate."""
        self.positives = sum(labels)
        negatives = len(labels) - self.positives
        if not self.positives or not negatives:
            return self
        pos_weight = min(negatives / self.positives, 10.0)
        self.bias = math.log(self.positives / negatives)
        w = self.weights
        for epoch in range(self.epochs):
            rate = self.rate / (1 + epoch)
            for x, y in zip(features, labels, strict=True):
                p = self._p(x)
                g = (p - y) * (pos_weight if y else 1.0)
                self.bias -= rate * g
                for k, v in x.items():
                    w[k] = w.get(k, 0.0) * (1 - rate * self.l2) - rate * g * v
        return self

    def _p(self, x: Mapping[str, float]) -> float:
        z = self.bias + sum(self.weights.get(k, 0.0) * v for k, v in x.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def probability(self, x: Mapping[str, float]) -> float:
        """P(code | unit)."""
        return self._p(x)

    def top_terms(self, x: Mapping[str, float], n: int = 3) -> list[str]:
        """The unit's words that pushed the probability up most."""
        scored = sorted(((self.weights.get(k, 0.0) * v, k) for k, v in x.items()
                         if k.startswith("w:")), reverse=True)
        return [k[2:] for s, k in scored[:n] if s > 0]


def _slice(unit: Unit) -> tuple[Mapping[str, Sequence[Any]], int, int]:
    """The unit's token arrays and the index range of its tokens."""
    import bisect

    starts = unit.tokens["start"]
    lo = bisect.bisect_left(starts, unit.start)
    hi = bisect.bisect_left(starts, unit.end)
    return unit.tokens, lo, hi
