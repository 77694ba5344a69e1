"""Matching codebook indicators against annotated text, without running spaCy.

An indicator matches a token when one of its lemma readings equals the token's
lemma or form (``samarbeid`` finds ``samarbeidet`` and ``samarbeider``), when a
reading is a part of a compound (``samarbeid`` in ``samarbeidsrelasjonen``,
``spesialist`` in ``jobbspesialisten``), or through a variant the user added
(dialect forms, common misspellings). Multi-word indicators match runs of
consecutive tokens.

Compounds are split only where both parts are words: the rest of the compound
must be a known Bokmål word (``relasjonen``, ``jobb``), possibly with a linking
``s`` or ``e``, and a first part in front of the indicator must have at least
four letters. So ``veileder`` is not read as ``vei`` + ``leder`` and
``kontrollere`` does not hide a ``rolle``. Parts of a hyphenated word match on
their own (``IPS-metodikken``, ``vi-følelsen``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MIN_COMPOUND_PART = 4  # shortest reading that may stand inside a compound
MIN_COMPOUND_REST = 3  # shortest rest of the compound after the indicator
MIN_MODIFIER = 4  # shortest first part in front of an indicator (vei|leder is no compound)
LINKS = ("s", "e")
DEGREE_SUFFIXES = ("ere", "est", "este")


@dataclass(frozen=True)
class IndicatorMatch:
    """An indicator of a code found at a span of the stored text."""

    start: int
    end: int
    code_id: str
    indicator: str
    kind: str  # lemma, compound, phrase, variant
    form: str


def _words(indicator: str) -> list[str]:
    return [w for w in indicator.lower().replace("-", " - ").split() if w != "-"] \
        if " " in indicator.strip() else [indicator.strip().lower()]


class Vocabulary:
    """Known Bokmål words: the leak check's lexicon and every form the lemma tables know."""

    def __init__(self, lookup: Any) -> None:
        self._lookup = lookup
        try:
            from qcode.nlp.leaks import packaged_lexicon

            self._lexicon: frozenset[str] = packaged_lexicon()
        except Exception:  # pragma: no cover - a broken installation
            self._lexicon = frozenset()
        self.known = lru_cache(maxsize=100_000)(self._known)

    def _known(self, word: str) -> bool:
        if word in self._lexicon:
            return True
        lookup = self._lookup
        tables = getattr(lookup, "ordbank", None)
        if tables is not None:
            if any(word in tables[pos] for pos in tables):
                return True
            treebank = getattr(lookup, "treebank", {})
            return word in treebank
        return False


class IndicatorMatcher:
    """Finds the indicators of many codes in token arrays in one pass."""

    def __init__(self, indicators: Mapping[str, Sequence[str]],
                 variants: Mapping[str, Sequence[str]] | None = None,
                 lookup: Any = None) -> None:
        if lookup is None:
            from qcode.nlp.lemmatizer import LemmaLookup

            lookup = LemmaLookup.default()
        self._lookup = lookup
        self.vocabulary = Vocabulary(lookup)
        self.form_readings = lru_cache(maxsize=100_000)(self._form_readings)
        extra: dict[str, set[str]] = {}
        for lemma, forms in (variants or {}).items():
            for form in forms:
                extra.setdefault(lemma.lower(), set()).add(form.lower())
        # exact: reading -> [(code, indicator, kind)]
        self.exact: dict[str, list[tuple[str, str, str]]] = {}
        self.parts: dict[str, list[tuple[str, str]]] = {}
        self.phrases: list[tuple[str, str, list[frozenset[str]]]] = []
        for code_id, items in indicators.items():
            for indicator in items:
                words = _words(indicator)
                if not words or not words[0]:
                    continue
                if len(words) > 1:
                    self.phrases.append((code_id, indicator,
                                         [frozenset(self._readings(w)) for w in words]))
                    continue
                readings = self._indicator_readings(words[0])
                for r in readings:
                    self.exact.setdefault(r, []).append((code_id, indicator, "lemma"))
                    if len(r) >= MIN_COMPOUND_PART and "-" not in r:
                        self.parts.setdefault(r, []).append((code_id, indicator))
                for r in set(readings):
                    for v in extra.get(r, ()):
                        self.exact.setdefault(v, []).append((code_id, indicator, "variant"))
        # phrases by the readings of their first word
        self.phrase_starts: dict[str, list[int]] = {}
        for n, (_c, _i, phrase) in enumerate(self.phrases):
            for r in phrase[0]:
                self.phrase_starts.setdefault(r, []).append(n)

    def _readings(self, word: str) -> set[str]:
        return {word} | {r.lower() for r in self._lookup.readings(word)}

    def _indicator_readings(self, word: str) -> set[str]:
        """An indicator's lemmas; a comparative or superlative (``viktigere``, ``finest``)
        keeps its degree: it must not find every ``viktig``."""
        readings = self._readings(word)
        for suffix in DEGREE_SUFFIXES:
            stem = word[:-len(suffix)]
            if word.endswith(suffix) and len(stem) >= 2 and (
                    stem in readings or (stem[:-1] in readings and stem[-1:] == stem[-2:-1])):
                return {word, word + "e"} if suffix == "est" else {word}
        return readings

    def _form_readings(self, form: str) -> frozenset[str]:
        """Every lemma the tables give a token's form: a tagging error (``sekretærer``
        tagged as a verb) must not hide an indicator."""
        if len(form) < 3 or not form[:1].isalpha():
            return frozenset((form,))
        return frozenset(self._readings(form))

    def _known_part(self, part: str) -> bool:
        """A word, or a word with a linking s/e (``avdelings``, ``samarbeids``)."""
        known = self.vocabulary.known
        return known(part) or (part[-1:] in LINKS and len(part) > 3 and known(part[:-1]))

    def _compound_hits(self, word: str) -> Iterable[tuple[str, str]]:
        """Indicators that form the first part (with a known rest) or the last part (with a
        known first part of at least four letters) of a closed compound."""
        n = len(word)
        seen: set[tuple[str, str]] = set()
        cores: list[str] = []
        known = self.vocabulary.known
        for cut in range(MIN_COMPOUND_PART, n - MIN_COMPOUND_REST + 1):
            head, rest = word[:cut], word[cut:]
            if head in self.parts and known(rest):
                cores.append(head)
            if head[-1] in LINKS and cut - 1 >= MIN_COMPOUND_PART and head[:-1] in self.parts \
                    and known(rest):
                cores.append(head[:-1])
        for cut in range(MIN_MODIFIER, n - MIN_COMPOUND_PART + 1):
            tail = word[cut:]
            if tail in self.parts and self._known_part(word[:cut]):
                cores.append(tail)
        for core in cores:
            for hit in self.parts.get(core, ()):
                if hit not in seen:
                    seen.add(hit)
                    yield hit

    def match(self, text: str, tokens: Mapping[str, Sequence[Any]]) -> list[IndicatorMatch]:
        """All indicator matches in one turn's tokens (offsets into ``text``)."""
        starts, ends, lemmas = tokens["start"], tokens["end"], tokens["lemma"]
        out: list[IndicatorMatch] = []
        forms = [text[s:e].lower() for s, e in zip(starts, ends, strict=True)]
        cands = [{str(lem).lower()} | self.form_readings(f)
                 for f, lem in zip(forms, lemmas, strict=True)]
        for i, cand in enumerate(cands):
            if not forms[i][:1].isalnum():
                continue
            exact_codes: set[str] = set()
            parts = set(cand)
            if "-" in forms[i]:  # vi-følelsen, IPS-metodikken: the parts on their own
                for p in forms[i].split("-"):
                    if len(p) >= 2:
                        parts.update(self.form_readings(p))
            for c in parts:
                for code_id, indicator, kind in self.exact.get(c, ()):
                    exact_codes.add(code_id)
                    out.append(IndicatorMatch(starts[i], ends[i], code_id, indicator, kind,
                                              text[starts[i]:ends[i]]))
            for c in parts:
                if len(c) < MIN_COMPOUND_PART + MIN_COMPOUND_REST:
                    continue
                for code_id, indicator in self._compound_hits(c):
                    if code_id not in exact_codes:
                        exact_codes.add(code_id)
                        out.append(IndicatorMatch(starts[i], ends[i], code_id, indicator,
                                                  "compound", text[starts[i]:ends[i]]))
        for i, cand in enumerate(cands):
            candidates = {p for c in cand for p in self.phrase_starts.get(c, ())}
            for n in sorted(candidates):
                code_id, indicator, phrase = self.phrases[n]
                k = len(phrase)
                if i + k <= len(cands) and all(cands[i + j] & phrase[j] for j in range(1, k)):
                    out.append(IndicatorMatch(starts[i], ends[i + k - 1], code_id, indicator,
                                              "phrase", text[starts[i]:ends[i + k - 1]]))
        return _dedupe(out)


def _dedupe(matches: list[IndicatorMatch]) -> list[IndicatorMatch]:
    seen: set[tuple[int, int, str, str]] = set()
    out = []
    for m in sorted(matches, key=lambda m: (m.start, m.end, m.code_id, m.indicator)):
        key = (m.start, m.end, m.code_id, m.indicator)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out
