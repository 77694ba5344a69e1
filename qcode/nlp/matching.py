"""Matching codebook indicators against annotated text, without running spaCy.

An indicator matches a token when one of its lemma readings equals the token's
lemma or form (``samarbeid`` finds ``samarbeidet`` and ``samarbeider``), when a
reading is a part of a compound (``samarbeid`` in ``samarbeidsrelasjonen``,
``spesialist`` in ``jobbspesialisten``), or through a variant the user added
(dialect forms, common misspellings). Multi-word indicators match runs of
consecutive tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MIN_COMPOUND_PART = 4  # shortest reading that may stand inside a compound
MIN_COMPOUND_REST = 3  # shortest rest of the compound around it


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


class IndicatorMatcher:
    """Finds the indicators of many codes in token arrays in one pass."""

    def __init__(self, indicators: Mapping[str, Sequence[str]],
                 variants: Mapping[str, Sequence[str]] | None = None,
                 lookup: Any = None) -> None:
        if lookup is None:
            from qcode.nlp.lemmatizer import LemmaLookup

            lookup = LemmaLookup.default()
        self._lookup = lookup
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
                readings = self._readings(words[0])
                for r in readings:
                    self.exact.setdefault(r, []).append((code_id, indicator, "lemma"))
                    if len(r) >= MIN_COMPOUND_PART:
                        self.parts.setdefault(r, []).append((code_id, indicator))
                for r in set(readings):
                    for v in extra.get(r, ()):
                        self.exact.setdefault(v, []).append((code_id, indicator, "variant"))

    def _readings(self, word: str) -> set[str]:
        return {word} | {r.lower() for r in self._lookup.readings(word)}

    def _compound_hits(self, word: str) -> Iterable[tuple[str, str]]:
        """Readings that stand at the start (with a linking s/e) or end of a compound."""
        n = len(word)
        seen: set[tuple[str, str]] = set()
        cores: list[str] = []
        for cut in range(MIN_COMPOUND_PART, n - MIN_COMPOUND_REST + 1):
            head = word[:cut]
            cores.append(head)
            if head[-1] in "se" and cut - 1 >= MIN_COMPOUND_PART:
                cores.append(head[:-1])
        cores.extend(word[cut:] for cut in range(MIN_COMPOUND_REST, n - MIN_COMPOUND_PART + 1))
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
        cands = [{f, str(lem).lower()} for f, lem in zip(forms, lemmas, strict=True)]
        for i, cand in enumerate(cands):
            if not forms[i][:1].isalnum():
                continue
            exact_codes: set[str] = set()
            for c in cand:
                for code_id, indicator, kind in self.exact.get(c, ()):
                    exact_codes.add(code_id)
                    out.append(IndicatorMatch(starts[i], ends[i], code_id, indicator, kind,
                                              text[starts[i]:ends[i]]))
            for c in cand:
                for code_id, indicator in self._compound_hits(c):
                    if code_id not in exact_codes:
                        exact_codes.add(code_id)
                        out.append(IndicatorMatch(starts[i], ends[i], code_id, indicator,
                                                  "compound", text[starts[i]:ends[i]]))
        for code_id, indicator, parts in self.phrases:
            k = len(parts)
            for i in range(len(cands) - k + 1):
                if all(cands[i + j] & parts[j] for j in range(k)):
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
