"""Anonymisation leak detectors: pure functions over a text, no spaCy, no store.

``find_leaks`` runs every detector over one text and returns sorted, merged
``Finding`` objects whose ``start``/``end`` are code-point offsets into that text
(``text[start:end] == finding.text``). The individual detectors are public too.

Kinds, from most to least specific (``KINDS``):

=================  ============================================================
``fodselsnummer``  11 digits (``ddmmyy`` + 5, optionally ``ddmmyy 12345`` or
                   ``ddmmyy.12345``), both mod-11 check digits and the date valid
``d_number``       the same with day + 40 (D-nummer)
``number``         an 11-digit number that is *not* a valid fødselsnummer, or a
                   bank account number (``1234.56.78901``)
``phone``          a Norwegian 8-digit phone number, optionally with +47 / 0047
``email``          an e-mail address
``url``            ``http(s)://…`` or ``www.…``
``birth_date``     a date next to født/fødd/fødselsdato/f., or a bare full date
``address``        street name + house number (``Storgata 12``), postcode + place
``name_list``      a name from the project's own list of names
``entity``         a named entity found by the language pipeline (passed in)
``gazetteer``      a capitalised Norwegian given name, surname or place name
``capitalised``    a capitalised word inside a sentence that is not a known word
=================  ============================================================

Confidence levels (``CONFIDENCES``):

``high``
    Almost certainly identifying and almost never a false alarm: valid
    fødselsnummer / D-number, mobile number (starts with 4 or 9) or any number
    written with +47/0047, e-mail, date next to "født", street address,
    postcode + place, a name from the project list, a PER entity, and a
    gazetteer given name followed by another capitalised name-like word
    ("Marius Fjellheim").
``medium``
    Probably identifying, worth a look: synthetic test fødselsnumre (H-numbers,
    month + 40; Tenor, month + 80), landline and 8xx numbers, URLs, a bank
    account number with valid check digit, day + month next to "født", a street
    address whose street name is also a common word, a lone gazetteer name or
    place, LOC/GPE/ORG entities.
``low``
    Weak signals for a human to skim: an 11-digit number with wrong check
    digits (deliberately *not* a fødselsnummer), a bank account number format
    with a wrong check digit, bare full dates, capitalised words that are not in
    the lexicon.

Never flagged (``protected_spans``): parenthesised or bracketed transcriber
notes and placeholders of at most four words without digits (``(veileder)``,
``(ekstern aktør)``, ``(ler)``, ``(...)``), speaker ids (``I:``, ``JS3``,
``V5``, ``Intervjuer``, and any id passed in ``speakers``), time stamps
(``[00:12:31]``, ``(00:12:31)``, ``00:00:01.000``), the allow-listed
non-identifying names in ``ALLOWED_TERMS`` (Nav, IPS, ...), and a sentence's
first word when it is a common word.

Word lists (``qcode/nlp/data/``, rebuilt by ``scripts/nlp/build_name_gazetteer.py``)
are read lazily on first use and cached.

How the detectors run: import checks every new document, so a check must cost well
under a microsecond per word, and most of a transcript is lower-case words that no
detector can match. So no detector runs its regex over the whole text. A ``TextScan``
finds, once per text, the candidates: the distinct capitalised words (one ``findall``
whose pattern begins with a character class) and the runs of digits; rare characters
(``@``, ``://``, ``w.``) are found with ``str.find``. Each detector tries its own regex
only where a match can start (``TextScan.finditer``, the same matches as
``pattern.finditer(text)`` given every position where one can start); the word detectors
look each distinct word up once and ask for the positions of the few they want; places,
allow-listed terms and speaker ids are looked up by their leading letters instead of one
large alternation. The protected and transparent spans are only needed around findings
and sentence starts, so they are found on those lines (all of them once, when there are
many look-ups). ``tests/core/leaks_reference.py`` keeps the straightforward detectors,
and the tests hold these to exactly the same findings.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from qcode.errors import InputError, QcodeError

__all__ = [
    "ALLOWED_TERMS",
    "CONFIDENCES",
    "KINDS",
    "NAME_KINDS",
    "Finding",
    "TextScan",
    "evaluate_name_detection",
    "find_account_numbers",
    "find_addresses",
    "find_birth_dates",
    "find_capitalised",
    "find_emails",
    "find_entities",
    "find_fodselsnummer",
    "find_gazetteer_names",
    "find_leaks",
    "find_listed_names",
    "find_phone_numbers",
    "find_places",
    "find_urls",
    "is_valid_fodselsnummer",
    "merge_findings",
    "name_gazetteer",
    "packaged_lexicon",
    "place_gazetteer",
    "protected_spans",
]

CONFIDENCES = ("high", "medium", "low")
_RANK = {"high": 3, "medium": 2, "low": 1}
KINDS = ("fodselsnummer", "d_number", "number", "phone", "email", "url", "birth_date",
         "address", "name_list", "entity", "gazetteer", "capitalised")
_SPECIFIC = {k: i for i, k in enumerate(KINDS)}
NAME_KINDS = frozenset({"name_list", "entity", "gazetteer", "capitalised"})

# Names that are not identifying in this domain: the agency, the method and its
# English names, areas larger than a municipality, and Nav's computer systems.
# Matched case-sensitively as whole words (``Nav-kontoret`` is covered too).
ALLOWED_TERMS: tuple[str, ...] = (
    "Nav", "NAV", "IPS", "Supported Employment", "Individual Placement and Support",
    "Arbeids- og velferdsetaten", "Norge", "Noreg", "Norden", "Skandinavia", "Europa",
    "Sverige", "Danmark", "EU", "EØS",
    # Nav's case-handling systems, named in every Nav transcript
    "Arena", "Gosys", "Modia",
)

ENTITY_CONFIDENCE: Mapping[str, str] = {
    "PER": "high", "PERSON": "high",
    "GPE_LOC": "medium", "LOC": "medium", "GPE": "medium", "ORG": "medium", "GPE_ORG": "medium",
}  # PROD, DRV, EVT, MISC and anything else: ignored

SPEAKER_WORDS = ("Intervjuer", "Intervjuar", "Informant", "Moderator")
PLACEHOLDER_MAX_WORDS = 4
_DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Finding:
    """A possible leak at ``text[start:end]`` (code points, end exclusive)."""

    start: int
    end: int
    text: str
    kind: str
    confidence: str  # "high" | "medium" | "low"
    detail: str


# --- word lists ------------------------------------------------------------------------------

def _data_file(name: str) -> Path:
    path = _DATA / name
    if not path.is_file():
        raise QcodeError(f"the leak check's word list {name} is missing from this installation",
                         "reinstall qcode, or run scripts/nlp/build_name_gazetteer.py")
    return path


def _lines(raw: str) -> Iterable[str]:
    for line in raw.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


@lru_cache(maxsize=1)
def packaged_lexicon() -> frozenset[str]:
    """Known lower-case Bokmål word forms (``data/lexicon-nb.txt.gz``)."""
    with gzip.open(_data_file("lexicon-nb.txt.gz"), "rt", encoding="utf-8") as fh:
        return frozenset(_lines(fh.read()))


@lru_cache(maxsize=1)
def name_gazetteer() -> Mapping[str, frozenset[str]]:
    """Given names and surnames (``data/names-nb.txt``): name -> {"given", "surname"}."""
    out: dict[str, frozenset[str]] = {}
    for line in _lines(_data_file("names-nb.txt").read_text(encoding="utf-8")):
        name, _, kinds = line.partition("\t")
        out[name.strip()] = frozenset(k.strip() for k in kinds.split(",") if k.strip()) or \
            frozenset({"given"})
    return out


@lru_cache(maxsize=1)
def place_gazetteer() -> frozenset[str]:
    """Norwegian municipalities, towns, districts and regions (``data/places-nb.txt``)."""
    return frozenset(_lines(_data_file("places-nb.txt").read_text(encoding="utf-8")))


# --- shared patterns and helpers -------------------------------------------------------------

_L = r"[^\W\d_]"  # a letter (any script)
WORD = re.compile(rf"{_L}+(?:['’]{_L}+)*(?:-{_L}+(?:['’]{_L}+)*)*")
_TIMESTAMP = re.compile(
    r"[\[(]?\b\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?\b[\])]?"
    r"(?:\s*-->\s*\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?)?")
_NOTE = r"(?:[^\W\d_]|[ \t\-'’/,]|\.\.\.|…)*"
_PLACEHOLDER = re.compile(rf"\({_NOTE}\)|\[{_NOTE}\]")
_ID = r"[A-ZÆØÅ]{1,3}\d{1,3}"
_ID_ANYWHERE = re.compile(rf"(?<!\w)(?:{_ID}|{'|'.join(SPEAKER_WORDS)})(?!\w)")
_LABEL = re.compile(
    r"^[ \t]*(?:[\[(]\d{1,2}:\d{2}(?::\d{2})?[\])][ \t]*)?"
    rf"(?P<id>{_ID}|[A-ZÆØÅ]{{1,3}}|{'|'.join(SPEAKER_WORDS)})[ \t]*:", re.M)
_VOICE = re.compile(r"<v(?:\.[\w.]+)?\s+(?P<id>[^>]{1,40})>")
_VOICE_ID = re.compile(rf"{_ID}|{'|'.join(SPEAKER_WORDS)}|[A-ZÆØÅ]{{1,3}}")
_ALLOWED_WORDS = frozenset(ALLOWED_TERMS)

_OPENERS = "«‹“„"
_TRANSPARENT = " \t\r\u00a0»”’›\"'–—-*" + _OPENERS
_NAIVE_ENDS = ".!?:…"


def protected_spans(text: str, speakers: Iterable[str] = ()) -> list[tuple[int, int]]:
    """Sorted, disjoint spans that are never flagged.

    Placeholders and transcriber notes: a ``(…)`` or ``[…]`` span of at most
    ``PLACEHOLDER_MAX_WORDS`` words made of letters only (no digits, ``@``, ``:``, and no
    dots other than an ellipsis). Time stamps. Speaker labels at a line start (``I:``,
    ``JS3:``, ``Intervjuer:``) and WebVTT voice tags with such an id. Speaker ids anywhere
    (capitals + digits: ``JS3``, ``V5``; ``Intervjuer``) and every id in ``speakers``.
    The ``ALLOWED_TERMS``.
    """
    return list(TextScan(text).protected(speakers))


def _union(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint spans covering ``spans`` (overlapping or touching ones merged)."""
    ordered = sorted(spans)
    if not ordered:
        return []
    out: list[tuple[int, int]] = []
    start, end = ordered[0]
    for s, e in ordered:
        if s <= end:
            if e > end:
                end = e
        else:
            out.append((start, end))
            start, end = s, e
    out.append((start, end))
    return out


class _Sentences:
    """Decides whether a word starts a sentence (given starts, or naive punctuation), looking
    back through the transparent spans of ``scan`` (found only when first needed)."""

    def __init__(self, scan: TextScan, starts: Iterable[int] = ()) -> None:
        self.text = scan.text
        self.scan = scan
        self.given = set(starts)
        self._back: dict[int, int] | None = None
        self._lookups = 0

    def back(self, j: int) -> int | None:
        """The start of the transparent span that ends at ``j``, if one does."""
        c = self.text[j - 1]
        if c not in ")]:>" and not c.isdecimal():  # how every transparent span ends
            return None
        if self._back is None:
            self._lookups += 1
            if self._lookups <= _LOCAL_LOOKUPS:
                return next((s for s, e in self.scan.transparent_near(j - 1, j) if e == j), None)
            self._back = {e: s for s, e in self.scan.transparent}
        return self._back.get(j)

    def is_start(self, pos: int) -> bool:
        text, j, opened = self.text, pos, False
        while j > 0:
            c = text[j - 1]
            if c == "\n":
                return True
            back = self.back(j)
            if back is not None and back < j:
                j = back
            elif c in _TRANSPARENT:
                opened = opened or c in _OPENERS or (j == pos and c in "\"'")
                j -= 1
            elif c in ")]":
                k = text.rfind("(" if c == ")" else "[", 0, j - 1)
                nl = text.rfind("\n", 0, j - 1)
                if k < 0 or k < nl:
                    break
                j = k
            else:
                break
        if j == 0:
            return True
        if self.given:
            return any(k in self.given for k in range(j, pos + 1))
        return opened or text[j - 1] in _NAIVE_ENDS


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def _is_all_caps(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) > 1 and all(c.isupper() for c in letters)


def _known(word: str, lexicon: Container[str]) -> bool:
    """An ordinary word: its lower case (or every capitalised part of a compound) is known."""
    if word in _ALLOWED_WORDS or word.lower() in lexicon:
        return True
    parts = word.split("-")
    if len(parts) > 1:
        return all(p in _ALLOWED_WORDS or not _is_capitalised(p) or p.lower() in lexicon
                   or (_is_all_caps(p) and len(p) <= 5) for p in parts if p)
    return False


def _lexicon(lexicon: Container[str] | None) -> Container[str]:
    return packaged_lexicon() if lexicon is None else lexicon


# --- candidates: where a detector can match at all -------------------------------------------

_SEPS = "'’-"  # join the parts of a WORD: ``O'Brien``, ``Nav-kontoret``
_ASTRAL = "\U00010000-\U0010ffff"
# a WORD after its first letter (the same letters as WORD's rest, taken possessively)
_WORD_REST = rf"{_L}*+(?:[-'’]{_L}++)*+"
_RUN = re.compile(rf"{_L}*")
_WORDS_ONLY = re.compile(r"\w+")
# Up to this many look-ups per check find the protected or transparent spans on the lines
# around a position; beyond it, those of the whole text are found once.
_LOCAL_LOOKUPS = 32
# The positions of the first this many capitalised words asked for are found with one
# str.find pass through the text each; then one scan notes every word's (it costs about as
# much as this many passes).
_FIND_WORDS = 16
_LABEL_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZÆØÅ")
_SPEAKER_WORDS = frozenset(SPEAKER_WORDS)


def _is_letter(c: str) -> bool:
    """``c`` matches ``[^\\W\\d_]``: in ``re``, ``\\w`` is ``isalnum()`` or ``_`` and ``\\d``
    is ``isdecimal()``."""
    return c.isalnum() and not c.isdecimal()


def _is_word_char(c: str) -> bool:
    """``c`` matches ``\\w``."""
    return c.isalnum() or c == "_"


def _cap_first(c: str) -> bool:
    """``c`` can begin a capitalised word of ``TextScan``: a capital letter, or any letter
    above the Basic Multilingual Plane (whose case the word detectors check themselves)."""
    return _is_letter(c) and (c.isupper() or ord(c) > 0xFFFF)


def _char_class(chars: Iterable[str]) -> str:
    """The body of a regex character class that lists ``chars`` as ranges."""
    codes = sorted({ord(c) for c in chars})
    parts = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        first, last = re.escape(chr(codes[i])), re.escape(chr(codes[j]))
        parts.append(first if i == j else f"{first}-{last}")
        i = j + 1
    return "".join(parts)


@lru_cache(maxsize=1)
def _scanners() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The two candidate scans: capitalised words and digit runs.

    Each pattern starts with one character class, which the regex engine skips through
    fast: the capital letters (or decimal digits) of the Basic Multilingual Plane are
    listed; a character above it passes the class and is checked by a lookbehind.
    """
    bmp = [chr(i) for i in range(0x10000)]
    capitals = _char_class(c for c in bmp if c.isupper() and _is_letter(c))
    digits = _char_class(c for c in bmp if c.isdecimal())
    words = re.compile(rf"[{capitals}{_ASTRAL}](?<!{_L}.)(?<={_L}){_WORD_REST}")
    numbers = re.compile(rf"[{digits}{_ASTRAL}](?<=\d)\d*")
    return words, numbers


def _word_runs(word: str) -> list[tuple[int, str]]:
    """(offset, leading letter run) of the parts of a capitalised word where a name can
    start: the word itself, and each part after ' ’ or - that begins with a capital."""
    if "-" not in word and "'" not in word and "’" not in word:
        return [(0, word)]
    out = []
    for k in range(len(word)):
        if k == 0 or (word[k - 1] in _SEPS and _cap_first(word[k])):
            m = _RUN.match(word, k)
            if m is not None:
                out.append((k, m.group()))
    return out


@lru_cache(maxsize=16)
def _literal_index(literals: frozenset[str]) -> dict[str, list[str]] | None:
    """Literals by their leading letter run, longest first; None when one cannot be found
    from the capitalised words (it is empty or does not begin with a capital)."""
    index: dict[str, list[str]] = {}
    for lit in sorted(literals, key=len, reverse=True):
        if not lit or not _cap_first(lit[0]):
            return None
        m = _RUN.match(lit)
        index.setdefault(m.group() if m else "", []).append(lit)
    return index


@lru_cache(maxsize=16)
def _literal_pattern(literals: frozenset[str], after_hyphen: bool) -> re.Pattern[str]:
    """Any of ``literals`` (the longest that fits) as a whole word; with ``after_hyphen``
    False not right after a hyphen either."""
    alt = "|".join(re.escape(t) for t in sorted(literals, key=len, reverse=True))
    return re.compile((r"(?<!\w)" if after_hyphen else r"(?<![\w-])") + rf"(?:{alt})(?!\w)")


def _meeting(spans: Sequence[tuple[int, int]], start: int,
             end: int) -> list[tuple[int, int]]:
    """The ``spans`` (sorted, not overlapping) that meet or touch ``[start, end]``."""
    i = j = bisect_right(spans, end, key=lambda span: span[0])
    while j and spans[j - 1][1] >= start:
        j -= 1
    return list(spans[j:i])


class TextScan:
    """Where in one text the detectors can match, found once and shared by them.

    Each part is found on first use: the distinct capitalised words (a capital letter
    after a non-letter, with the rest of its WORD) and, for the words a detector asks for,
    their positions; the runs of decimal digits; the transparent and protected spans near
    a position, or of the whole text. A detector tries its regex only at the positions
    where a match can start (``finditer``), which gives the same matches as running it
    over the whole text.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._protected: dict[tuple[str, ...], list[tuple[int, int]]] = {}
        self._positions: dict[str, list[int]] = {}
        self._indexed = False  # _positions holds every word

    def finditer(self, pattern: re.Pattern[str], starts: Iterable[int]) -> list[re.Match[str]]:
        """``pattern.finditer(text)`` given, in ascending order, every position where a match
        can start (a superset does no harm); ``pattern`` must never match the empty string."""
        text, out, last = self.text, [], 0
        for s in starts:
            if s >= last:
                m = pattern.match(text, s)
                if m is not None:
                    out.append(m)
                    last = m.end()
        return out

    def find(self, sub: str) -> list[int]:
        """Every position where ``sub`` occurs (one character is found many times faster
        than a longer string)."""
        text, out = self.text, []
        i = text.find(sub)
        while i >= 0:
            out.append(i)
            i = text.find(sub, i + 1)
        return out

    @cached_property
    def words(self) -> frozenset[str]:
        """The distinct capitalised words: a capital letter after a non-letter with the
        rest of its WORD (at a WORD start, the WORD itself), as one scan finds them."""
        return frozenset(_scanners()[0].findall(self.text))

    def word_at(self, p: int) -> str | None:
        """The capitalised word of ``words`` that the scan finds at ``p``, if any: the scan
        matches there, and no earlier part of the same WORD (after ' ’ or -) begins with a
        capital (the scan would have taken ``p`` into that match)."""
        text = self.text
        m = _scanners()[0].match(text, p)
        if m is None:
            return None
        j = p
        while j >= 2 and text[j - 1] in _SEPS and _is_letter(text[j - 2]):
            k = j - 2
            while k and _is_letter(text[k - 1]):
                k -= 1
            if _cap_first(text[k]):
                return None
            j = k
        return m.group()

    def positions(self, word: str) -> list[int]:
        """Where the scan finds ``word`` (one of ``words``), ascending: by ``str.find`` for
        the first few words asked for, then from one scan that notes every word's."""
        found = self._positions.get(word)
        if found is not None:
            return found
        if self._indexed:
            return []
        text = self.text
        if len(self._positions) < _FIND_WORDS:
            found = []
            i = text.find(word)
            while i >= 0:
                if self.word_at(i) == word:
                    found.append(i)
                i = text.find(word, i + 1)
            self._positions[word] = found
            return found
        index: dict[str, list[int]] = {}
        for m in _scanners()[0].finditer(text):
            index.setdefault(m.group(), []).append(m.start())
        self._positions, self._indexed = index, True
        return index.get(word, [])

    @cached_property
    def _runs(self) -> dict[str, list[tuple[str, int]]]:
        """Leading letter run -> (word, offset) of every capitalised part of every word."""
        out: dict[str, list[tuple[str, int]]] = {}
        for w in self.words:
            for off, run in _word_runs(w):
                out.setdefault(run, []).append((w, off))
        return out

    def capitalised_at(self, runs: Iterable[str]) -> list[tuple[int, str]]:
        """Sorted ``(position, run)`` of every capital letter after a non-letter (inside a
        word too: ``Nord-Odal``, ``O'Brien``) that begins one of the letter runs ``runs``."""
        found = self._runs
        out: list[tuple[int, str]] = []
        for run in runs:
            for w, off in found.get(run, ()):
                out.extend((p + off, run) for p in self.positions(w))
        out.sort()
        return out

    def occurrences(self, words: Iterable[str]) -> list[tuple[int, str]]:
        """Sorted ``(position, word)`` of every occurrence of the capitalised ``words``."""
        return sorted((p, w) for w in words for p in self.positions(w))

    def literal_starts(self, literals: Iterable[str], *,
                       with_s: bool = False) -> list[int] | None:
        """Ascending positions where one of ``literals`` (with ``with_s``: or a literal
        made only of letters, followed by ``s``) can begin as a whole word, or None when a
        literal does not begin with a capital letter."""
        runs = set()
        for lit in literals:
            if not lit or not _cap_first(lit[0]):
                return None
            m = _RUN.match(lit)
            run = m.group() if m else ""
            runs.add(run)
            if with_s and run == lit:
                runs.add(lit + "s")
        return sorted({p for p, _ in self.capitalised_at(runs)})

    def word_start(self, p: int) -> bool:
        """A WORD match starts at ``p`` (a letter): not after ``x-``, ``x'`` or ``x’``."""
        return p < 2 or self.text[p - 1] not in _SEPS or not _is_letter(self.text[p - 2])

    def literal_spans(self, literals: frozenset[str], *, after_hyphen: bool = True,
                      inside: Mapping[int, tuple[int, int]] | None = None
                      ) -> list[tuple[int, int]]:
        """The matches of ``_literal_pattern(literals, after_hyphen)``: found from the
        capitalised words when every literal begins with a capital letter.

        ``inside``: position -> a span around it whose union with the result is all that
        is wanted; a match at such a position that cannot reach beyond the span is left
        out (only when every literal is a run of \\w, so that matches never overlap).
        """
        index = _literal_index(literals)
        if index is None:
            pattern = _literal_pattern(literals, after_hyphen)
            return [m.span() for m in pattern.finditer(self.text)]
        if inside is not None and not all(_WORDS_ONLY.fullmatch(lit) for lit in literals):
            inside = None
        text, n = self.text, len(self.text)
        out: list[tuple[int, int]] = []
        last = 0
        for p, run in self.capitalised_at(index):
            if p < last or (p and (_is_word_char(text[p - 1])
                                   or (not after_hyphen and text[p - 1] == "-"))):
                continue
            if inside is not None:
                around = inside.get(p)
                if around is not None and p + len(index[run][0]) <= around[1]:
                    continue
            for lit in index[run]:
                e = p + len(lit)
                if text.startswith(lit, p) and (e == n or not _is_word_char(text[e])):
                    out.append((p, e))
                    last = e
                    break
        return out

    @cached_property
    def digit_runs(self) -> list[tuple[int, int]]:
        """The maximal runs of decimal digits (``\\d+``)."""
        return [m.span() for m in _scanners()[1].finditer(self.text)]

    def digit_runs_of(self, lengths: Container[int]) -> list[int]:
        """The starts of the digit runs of one of ``lengths``."""
        return [s for s, e in self.digit_runs if e - s in lengths]

    @cached_property
    def _short_capitals(self) -> list[tuple[int, str]]:
        """Capitalised parts whose letters can be a speaker id (``I``, ``JS``, ``Intervjuer``)."""
        return self.capitalised_at(
            r for r in self._runs
            if r in _SPEAKER_WORDS or (len(r) <= 3 and _LABEL_LETTERS.issuperset(r)))

    def _placeholders(self) -> list[tuple[int, int]]:
        """``_PLACEHOLDER`` matches of at most ``PLACEHOLDER_MAX_WORDS`` words. A match runs
        from its bracket to the first closing one (a note holds no brackets), so it depends
        on that stretch of text only: each distinct short stretch is matched once."""
        text, out = self.text, []
        seen: dict[str, bool] = {}
        for s in sorted(self.find("(") + self.find("[")):
            close = text.find(")" if text[s] == "(" else "]", s + 1)
            if close < 0:
                continue
            key = text[s:close + 1] if close - s <= 80 else ""
            ok = seen.get(key) if key else None
            if ok is None:
                m = _PLACEHOLDER.match(text, s)
                ok = m is not None and len(WORD.findall(m.group())) <= PLACEHOLDER_MAX_WORDS
                if key:
                    seen[key] = ok
            if ok:
                out.append((s, close + 1))
        return out

    @cached_property
    def _labels(self) -> dict[int, tuple[int, int]]:
        """Speaker labels at a line start: the start of the id -> the label's span (with
        its colon)."""
        text, line_starts = self.text, set()
        for p, _ in self._short_capitals:  # an id begins after a line start, blanks or a stamp
            if p == 0 or text[p - 1] == "\n":
                line_starts.add(p)
            elif text[p - 1] in " \t)]":
                line_starts.add(text.rfind("\n", 0, p) + 1)
        return {m.start("id"): m.span() for m in self.finditer(_LABEL, sorted(line_starts))}

    @cached_property
    def _stamps(self) -> list[tuple[int, int]]:
        """Time stamps (they can run over a line break: ``00:01 \\n--> 00:04``)."""
        text, starts = self.text, []
        for s, e in self.digit_runs:
            if e - s <= 2 and text.startswith(":", e):
                if s and text[s - 1] in "[(":
                    starts.append(s - 1)
                starts.append(s)
        return [m.span() for m in self.finditer(_TIMESTAMP, starts)]

    @cached_property
    def _voices(self) -> list[tuple[int, int]]:
        """WebVTT voice tags with a speaker id (they can run over a line break)."""
        starts = [i for i in self.find("<") if self.text.startswith("<v", i)]
        return [m.span() for m in self.finditer(_VOICE, starts)
                if _VOICE_ID.fullmatch(m.group("id").strip())]

    @cached_property
    def transparent(self) -> list[tuple[int, int]]:
        """Placeholders, transcriber notes, time stamps, speaker labels (with the colon) and
        voice tags: skipped when looking back for a sentence start (``(ler) Det``, ``V4: Ja``)."""
        return _union([*self._placeholders(), *self._stamps, *self._labels.values(),
                       *self._voices])

    def transparent_near(self, a: int, b: int) -> list[tuple[int, int]]:
        """The transparent spans on the lines of ``text[a:b]`` (so every one that meets it),
        found on those lines only."""
        return self._near(a, b, None)

    def protected_near(self, a: int, b: int,
                       speakers: Iterable[str] = ()) -> list[tuple[int, int]]:
        """Sorted protected spans among which is every one that meets ``text[a:b]``: those
        on its lines, found on those lines only (all of them when a speaker id holds a line
        break)."""
        ids = tuple(sorted({s.strip() for s in speakers if s and s.strip()}))
        if any("\n" in i for i in ids):  # such an id may cross a line break
            return self.protected(ids)
        return self._near(a, b, ids)

    def protected_of(self, speakers: Iterable[str], queries: int
                     ) -> Callable[[int, int], Sequence[tuple[int, int]]]:
        """A look-up for ``queries`` calls of ``protected_near``: the protected spans of the
        whole text, found once, when there are many."""
        ids = tuple(sorted({s.strip() for s in speakers if s and s.strip()}))
        if queries <= _LOCAL_LOOKUPS:
            return lambda a, b: self.protected_near(a, b, ids)
        protected = self.protected(ids)
        ends = [e for _, e in protected]

        def near(a: int, b: int) -> Sequence[tuple[int, int]]:
            return protected[max(0, bisect_right(ends, a) - 1):bisect_left(ends, b) + 2]

        return near

    def _near(self, a: int, b: int, ids: tuple[str, ...] | None) -> list[tuple[int, int]]:
        """The spans (transparent, or protected with ``ids``) of the lines around ``[a, b]``.

        Placeholders, labels, speaker ids and allow-listed terms never cross a line break,
        so the regexes run over those lines alone find the same as over the whole text;
        time stamps and voice tags can, so they come from the whole text, and the lines
        grow until none crosses their edge (then a span merged from several lies within).
        """
        text, n = self.text, len(self.text)
        lo, hi = a, b
        while True:
            start = text.rfind("\n", 0, lo) + 1
            end = text.find("\n", hi)
            end = n if end < 0 else end
            crossing = [*_meeting(self._stamps, start, end), *_meeting(self._voices, start, end)]
            lo = min([start, *(s for s, _ in crossing)])
            hi = max([end, *(e for _, e in crossing)])
            if lo == start and hi == end:
                break
        spans = [m.span() for m in _PLACEHOLDER.finditer(text, start, end)
                 if len(WORD.findall(m.group())) <= PLACEHOLDER_MAX_WORDS]
        spans += [m.span() for m in _LABEL.finditer(text, start, end)]
        if ids is not None:
            spans += [m.span() for m in _ID_ANYWHERE.finditer(text, start, end)]
            spans += [m.span() for m in _literal_pattern(_ALLOWED_WORDS, False).finditer(
                text, start, end)]
            if ids:
                spans += [m.span() for m in _literal_pattern(frozenset(ids), True).finditer(
                    text, start, end)]
        return _union([*spans, *crossing])

    def protected(self, speakers: Iterable[str] = ()) -> list[tuple[int, int]]:
        """``protected_spans(text, speakers)``: the transparent spans, speaker ids anywhere,
        the ids in ``speakers`` and the allow-listed terms (do not change the list)."""
        ids = {s.strip() for s in speakers if s and s.strip()}
        key = tuple(sorted(ids))
        spans = self._protected.get(key)
        if spans is not None:
            return spans
        text, n = self.text, len(self.text)
        labels = self._labels
        found = []
        # _ID_ANYWHERE: matches are runs of \w between non-\w, so they never overlap; one
        # inside the label of its line adds nothing
        for p, run in self._short_capitals:
            label = labels.get(p)
            if label is not None and p + len(run) + 3 <= label[1]:
                continue
            e = p + len(run)
            if run in _SPEAKER_WORDS or (e < n and text[e].isdecimal()):
                m = _ID_ANYWHERE.match(text, p)
                if m is not None:
                    found.append(m.span())
        found.extend(self.literal_spans(_ALLOWED_WORDS, after_hyphen=False))
        if ids:
            found.extend(self.literal_spans(frozenset(ids), inside=labels))
        spans = self._protected[key] = _union([*self.transparent, *found]) if found \
            else self.transparent
        return spans


# --- fødselsnummer, D-number and other long numbers ------------------------------------------

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_FNR = re.compile(r"(?<![\w+])(?<!\d[.,])(?<!\d )(\d{6})[ .]?(\d{5})(?!\d)(?![.,]\d)(?! \d)")


def _mod11(digits: str, weights: Sequence[int]) -> int | None:
    rest = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    check = 0 if rest == 0 else 11 - rest
    return None if check == 10 else check


def _checksum_ok(digits: str) -> bool:
    k1 = _mod11(digits[:9], _K1)
    if k1 is None or k1 != int(digits[9]):
        return False
    k2 = _mod11(digits[:10], _K2)
    return k2 is not None and k2 == int(digits[10])


def _birth_year(yy: int, individual: int) -> int | None:
    if individual <= 499:
        return 1900 + yy
    if individual <= 749 and yy >= 54:
        return 1800 + yy
    if yy <= 39:
        return 2000 + yy
    if individual >= 900:
        return 1900 + yy
    return None


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        _dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _classify_fnr(digits: str) -> tuple[str, str, str] | None:
    """(kind, confidence, detail) of 11 digits with valid check digits, or None."""
    if len(digits) != 11 or not digits.isdigit() or not _checksum_ok(digits):
        return None
    day, month, yy, individual = (int(digits[0:2]), int(digits[2:4]), int(digits[4:6]),
                                  int(digits[6:9]))
    kind = "fodselsnummer"
    if day > 40:
        kind, day = "d_number", day - 40
    synthetic = ""
    if month > 80:
        synthetic, month = "synthetic Tenor test number (month + 80)", month - 80
    elif month > 40:
        synthetic, month = "synthetic H-number (month + 40)", month - 40
    year = _birth_year(yy, individual)
    years = [year] if year is not None else []
    if synthetic:  # test numbers do not always follow the century rule
        years += [1900 + yy, 2000 + yy]
    if not any(_valid_date(y, month, day) for y in years):
        return None
    what = "D-number (day + 40)" if kind == "d_number" else "fødselsnummer"
    if synthetic:
        return kind, "medium", f"{synthetic}: {what} with valid mod-11 check digits"
    return kind, "high", f"{what}: valid mod-11 check digits and birth date"


def is_valid_fodselsnummer(digits: str) -> bool:
    """True for 11 digits (a space or dot after the sixth allowed) that form a fødselsnummer.

    Valid means both mod-11 check digits match and the date is a real date; D-numbers
    (day + 40) and synthetic test numbers (month + 40 or + 80) count as valid.
    """
    compact = re.sub(r"^(\d{6})[ .](\d{5})$", r"\1\2", digits.strip())
    return _classify_fnr(compact) is not None


def find_fodselsnummer(text: str, *, include_invalid: bool = False) -> list[Finding]:
    """Fødselsnumre and D-numbers (valid check digits and date), not inside longer digit runs.

    With ``include_invalid`` an 11-digit number that fails the check is reported too, as
    kind ``number`` with ``low`` confidence (it may be a mistyped number, or nothing).
    """
    return _fodselsnummer(TextScan(text), include_invalid)


def _fodselsnummer(scan: TextScan, include_invalid: bool) -> list[Finding]:
    out = []
    for m in scan.finditer(_FNR, scan.digit_runs_of((6, 11))):  # ddmmyy[ .]nnnnn or 11 digits
        digits = m.group(1) + m.group(2)
        cls = _classify_fnr(digits)
        if cls is not None:
            out.append(Finding(m.start(), m.end(), m.group(), *cls))
        elif include_invalid:
            out.append(Finding(m.start(), m.end(), m.group(), "number", "low",
                               "11-digit number, not a valid fødselsnummer"))
    return out


_ACCOUNT = re.compile(r"(?<![\d.,])\b(\d{4})[. ](\d{2})[. ](\d{5})\b(?![.,]?\d)")


def find_account_numbers(text: str) -> list[Finding]:
    """Bank account numbers written ``1234.56.78901`` / ``1234 56 78901``."""
    return _account_numbers(TextScan(text))


def _account_numbers(scan: TextScan) -> list[Finding]:
    out = []
    for m in scan.finditer(_ACCOUNT, scan.digit_runs_of((4,))):
        digits = "".join(m.groups())
        ok = _mod11(digits[:10], _K2) == int(digits[10])
        out.append(Finding(m.start(), m.end(), m.group(), "number", "medium" if ok else "low",
                           "bank account number" + (" (valid check digit)" if ok else " format")))
    return out


# --- phone numbers ---------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![\w+])(?<!\d[.,:/-])(?<!\d )"
    r"(?P<prefix>(?:\+|00)47[ \u00a0-]?|\(\+?47\)[ \u00a0]?)?"
    r"(?P<num>\d{8}|\d{3} \d{2} \d{3}|\d{2} \d{2} \d{2} \d{2}|\d{4} \d{4}|\d{3} \d{5})"
    r"(?!\d)(?![ .,:/-]\d)")
_NOT_PHONE_AFTER = re.compile(
    r"\s*(?:kr\b|kroner|nok\b|,-|%|prosent|promille|mill|milliard|tusen|år\b|timer|dager|"
    r"uker|måneder|stk|km\b|kilo|meter)", re.I)
_NOT_PHONE_BEFORE = re.compile(r"(?:kr|kr\.|nok|NOK|€|\$)\s*$", re.I)


def _year_like(s: str) -> bool:
    return len(s) == 4 and 1900 <= int(s) <= 2099


def find_phone_numbers(text: str) -> list[Finding]:
    """Norwegian 8-digit phone numbers: ``91234567``, ``912 34 567``, ``+47 912 34 567`` …

    Mobile numbers (4 or 9 first) and any number with +47/0047 are ``high``; landlines
    (2, 3, 5, 6, 7) and 8xx service numbers are ``medium``; 0 and 1 are not phone numbers.
    Amounts (``… kr``), years (``2019 2020``) and compact dates (``20190314``) are skipped.
    """
    return _phone_numbers(TextScan(text))


def _phone_starts(scan: TextScan) -> list[int]:
    """Where a phone number can start: ``+``/``(`` before a digit run, ``0047…``, or a
    digit run as long as a number's first group (8, 3, 2 or 4 digits)."""
    text, out = scan.text, []
    for s, e in scan.digit_runs:
        if s >= 2 and text[s - 2:s] == "(+":
            out.append(s - 2)
        if s >= 1 and text[s - 1] in "+(":
            out.append(s - 1)
        if e - s in (2, 3, 4, 8) or text.startswith("0047", s):
            out.append(s)
    return out


def _phone_numbers(scan: TextScan) -> list[Finding]:
    text, out = scan.text, []
    for m in scan.finditer(_PHONE, _phone_starts(scan)):
        num, prefix = m.group("num"), m.group("prefix")
        digits = num.replace(" ", "")
        first = digits[0]
        if first in "01":
            continue
        if _NOT_PHONE_AFTER.match(text, m.end()) or _NOT_PHONE_BEFORE.search(
                text[max(0, m.start() - 5):m.start()]):
            continue
        groups = num.split(" ")
        if not prefix and len(groups) == 2 and all(_year_like(g) for g in groups):
            continue
        if not prefix and len(groups) == 1 and _year_like(digits[:4]) and _valid_date(
                int(digits[:4]), int(digits[4:6]) or 99, int(digits[6:]) or 99):
            continue
        if prefix:
            conf, detail = "high", "phone number with Norwegian country code"
        elif first in "49":
            conf, detail = "high", f"Norwegian mobile number (starts with {first})"
        elif first == "8":
            conf, detail = "medium", "Norwegian service number (8xx)"
        else:
            conf, detail = "medium", "Norwegian landline number"
        out.append(Finding(m.start(), m.end(), m.group(), "phone", conf, detail))
    return out


# --- e-mail and URLs -------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?!\w)")
_URL = re.compile(r"(?<![\w/.])(?:https?://|www\.)[^\s<>«»\"'()\[\]{}]+", re.I)


def find_emails(text: str) -> list[Finding]:
    """E-mail addresses (``high``)."""
    return _emails(TextScan(text))


def _emails(scan: TextScan) -> list[Finding]:
    text, starts = scan.text, []
    for at in scan.find("@"):  # an address starts where the run of [\w.+-] before its @ does
        s = at
        while s and (text[s - 1].isalnum() or text[s - 1] in "_.+-"):
            s -= 1
        if s < at:
            starts.append(s)
    return [Finding(m.start(), m.end(), m.group(), "email", "high", "e-mail address")
            for m in scan.finditer(_EMAIL, starts)]


def find_urls(text: str) -> list[Finding]:
    """Web addresses starting with ``http://``, ``https://`` or ``www.`` (``medium``)."""
    return _urls(TextScan(text))


def _urls(scan: TextScan) -> list[Finding]:
    # http(s):// or www. (as _URL, re.I, sees it: only w and W fold to w); one character
    # is found much faster than a string
    text = scan.text
    colons = [i - 1 for i in scan.find("/") if i and text.startswith("://", i - 1)]
    starts = [c - k for c in colons for k in (5, 4) if c >= k]  # https, http
    starts += [i for i in [*scan.find("w"), *scan.find("W")]
               if text[i:i + 3].lower() == "www" and text.startswith(".", i + 3)]
    out = []
    for m in scan.finditer(_URL, sorted(starts)):
        s = m.group().rstrip(".,;:!?’”»")
        rest = re.sub(r"^(?:https?://|www\.)", "", s, flags=re.I)
        if any(c.isalnum() for c in rest):
            out.append(Finding(m.start(), m.start() + len(s), s, "url", "medium", "web address"))
    return out


# --- dates of birth --------------------------------------------------------------------------

_MONTHS = {
    "januar": 1, "jan": 1, "februar": 2, "feb": 2, "mars": 3, "mar": 3, "april": 4, "apr": 4,
    "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11,
    "desember": 12, "des": 12,
}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(
    r"(?<![\d.,])(?:"
    r"(?P<d>\d{1,2})\s?(?P<sep>[./-])\s?(?P<m>\d{1,2})\s?(?P=sep)\s?(?P<y>\d{4}|\d{2})"
    r"|(?P<iy>(?:18|19|20)\d{2})-(?P<im>\d{2})-(?P<id>\d{2})"
    rf"|(?P<td>\d{{1,2}})\.?\s+(?P<tm>{_MONTH_ALT})\b\.?(?:\s+(?P<ty>\d{{4}}))?"
    r")(?![\d])(?![.,]\d)", re.I)
_BIRTH_WORD = re.compile(
    r"(?<!\w)(?:født|fødd|fødde|fødselsdato|fødselsdag|bursdag|f\.)(?!\w)", re.I)
_BIRTH_WINDOW = 25  # characters between the keyword and the date
_BIRTH_WORD_MAX = len("fødselsdato")  # the longest birth word


def _date_parts(m: re.Match[str]) -> tuple[int, int, int | None] | None:
    """(day, month, year or None) of a date match, or None when it is not a real date."""
    if m.group("d"):
        d, mo, y = int(m.group("d")), int(m.group("m")), m.group("y")
        years = [int(y)] if len(y) == 4 else [1900 + int(y), 2000 + int(y)]
        ok = [yr for yr in years if _valid_date(yr, mo, d)]
        return (d, mo, ok[0]) if ok else None
    if m.group("iy"):
        d, mo, year = int(m.group("id")), int(m.group("im")), int(m.group("iy"))
        return (d, mo, year) if _valid_date(year, mo, d) else None
    d, mo, ty = int(m.group("td")), _MONTHS[m.group("tm").lower()], m.group("ty")
    if ty:
        return (d, mo, int(ty)) if _valid_date(int(ty), mo, d) else None
    return (d, mo, None) if _valid_date(2000, mo, d) else None  # 2000: 29 February passes


def find_birth_dates(text: str) -> list[Finding]:
    """Dates of birth: a date within a few characters after født/fødd/fødselsdato/f. is
    ``high`` (``medium`` without a year); any other full date (day, month, year) is ``low``.
    """
    return _birth_dates(TextScan(text))


def _birth_dates(scan: TextScan) -> list[Finding]:
    text, out = scan.text, []
    for m in scan.finditer(_DATE, scan.digit_runs_of((1, 2, 4))):
        parts = _date_parts(m)
        if parts is None:
            continue
        # the birth words that end at most _BIRTH_WINDOW characters before the date (they
        # cannot overlap one another, so a search from a little before finds the same)
        keyword_ends = [k.end() for k in _BIRTH_WORD.finditer(
            text, max(0, m.start() - _BIRTH_WINDOW - _BIRTH_WORD_MAX - 1), m.start() + 1)]
        near = any(0 <= m.start() - e <= _BIRTH_WINDOW and "\n" not in text[e:m.start()]
                   and not re.search(r"[.!?]\s", text[e:m.start()]) for e in keyword_ends)
        has_year = parts[2] is not None
        if near:
            conf = "high" if has_year else "medium"
            detail = "date next to a birth word" + ("" if has_year else " (day and month)")
        elif has_year:
            conf, detail = "low", "full date (could be a date of birth)"
        else:
            continue
        out.append(Finding(m.start(), m.end(), m.group(), "birth_date", conf, detail))
    return out


# --- addresses -------------------------------------------------------------------------------

STREET_SUFFIXES = (
    "veien", "vegen", "veg", "vei", "gata", "gaten", "gate", "stien", "stig", "plassen",
    "plass", "allé", "alle", "alléen", "bakken", "bakke", "svingen", "haugen", "lia", "lien",
    "tunet", "ringen", "kroken", "løkka", "jordet", "åsen", "toppen", "kaia", "brygga",
    "torget", "stredet", "bråten", "grenda", "lunden", "myra", "vollen", "sletta", "tangen",
    "veita", "hagen", "dalen", "engen", "berget", "kollen", "marka",
)
_BARE_SUFFIXES = frozenset(STREET_SUFFIXES)  # ``Torget 3``, ``Hagen 2``: no street prefix
_SUFFIX_ALT = "|".join(sorted(STREET_SUFFIXES, key=len, reverse=True))
_HOUSE = r"(?P<no>[1-9]\d{0,2}(?:[ ]?[A-Ha-h])?)(?![\w])(?![.,:/-]?\d)(?!\s?%)"
_STREET_ONE = re.compile(
    rf"(?<![\w-])(?P<street>[A-ZÆØÅ]{_L}*(?:-{_L}+)*(?:{_SUFFIX_ALT}))[ \u00a0]{_HOUSE}")
_STREET_HEADS = ("gate", "gata", "vei", "veg", "vegen", "veien", "plass", "allé", "alle",
                 "bakke", "terrasse", "park")
_STREET_MULTI = re.compile(
    rf"(?<![\w-])(?P<street>(?:[A-ZÆØÅ]{_L}*[ \u00a0]){{1,3}}"
    rf"(?:{'|'.join(_STREET_HEADS)}))"
    rf"[ \u00a0]{_HOUSE}")
_POSTCODE = re.compile(
    rf"(?<![\d.,:/-])(?<!\d )(?P<code>\d{{4}})[ \u00a0](?P<place>[A-ZÆØÅ]{_L}+"
    rf"(?:[ -][A-ZÆØÅ]{_L}+)?)(?!\w)")
_NOT_HOUSE_AFTER = re.compile(r"\s*(?:år\b|prosent|kr\b|kroner|timer|ganger|dager|uker)", re.I)


def find_addresses(text: str, *, lexicon: Container[str] | None = None,
                   places: Container[str] | None = None) -> list[Finding]:
    """Street addresses (``Storgata 12``, ``Kirkeveien 3B``, ``Karl Johans gate 5``) and
    postcode + place (``0150 Oslo``), both ``high``.

    A four-digit number that looks like a year (1900-2099) before a capitalised word counts
    as a postcode only when the word is a known place.
    """
    return _addresses(TextScan(text), _lexicon(lexicon),
                      place_gazetteer() if places is None else places)


def _street_starts(scan: TextScan) -> tuple[list[int], list[int]]:
    """Where ``_STREET_ONE`` and ``_STREET_MULTI`` can start: each house number is a run of
    at most three digits (1-9 first) after a space; a one-word street is the run of letters
    and hyphens before that space, a multi-word one up to three words before a head word."""
    text, one, multi = scan.text, [], []
    for r, e in scan.digit_runs:
        if r < 2 or e - r > 3 or text[r] not in "123456789" or text[r - 1] not in " \u00a0":
            continue
        q = r - 1
        t = q
        while t and (text[t - 1] == "-" or _is_letter(text[t - 1])):
            t -= 1
        if t < q:
            one.append(t)
        for head in _STREET_HEADS:
            b = q - len(head) - 1  # the space before the head word
            if b < 1 or not text.startswith(head, b + 1) or text[b] not in " \u00a0":
                continue
            for _ in range(3):
                t = b
                while t and _is_letter(text[t - 1]):
                    t -= 1
                if t == b:
                    break
                multi.append(t)
                if t < 2 or text[t - 1] not in " \u00a0":
                    break
                b = t - 1
    return sorted(one), sorted(multi)


def _addresses(scan: TextScan, lex: Container[str], pl: Container[str]) -> list[Finding]:
    text = scan.text
    out: list[Finding] = []
    for pat, starts in zip((_STREET_ONE, _STREET_MULTI), _street_starts(scan), strict=True):
        for m in scan.finditer(pat, starts):
            street = m.group("street")
            if _NOT_HOUSE_AFTER.match(text, m.end()) or street.lower() in _BARE_SUFFIXES:
                continue
            # ``Motbakken 3`` could be an ordinary word and a number
            known = pat is _STREET_ONE and street.lower() in lex and street not in pl
            out.append(Finding(m.start(), m.end(), m.group(), "address",
                               "medium" if known else "high",
                               "street name and house number"
                               + (" (the street name is also a common word)" if known else "")))
    for m in scan.finditer(_POSTCODE, scan.digit_runs_of((4,))):
        place, code = m.group("place"), m.group("code")
        in_list = place in pl or place.split()[0] in pl
        if not in_list and (_year_like(code) or _known(place.split()[0], lex)):
            continue
        out.append(Finding(m.start(), m.end(), m.group(), "address", "high",
                           "postcode and place"))
    return out


# --- names -----------------------------------------------------------------------------------

def find_listed_names(text: str, names: Iterable[str]) -> list[Finding]:
    """Names from the project's list: whole words, any case, also with a possessive -s."""
    wanted = sorted({" ".join(n.split()) for n in names if n and n.strip()}, key=len,
                    reverse=True)
    if not wanted:
        return []
    alt = "|".join(r"\s+".join(map(re.escape, n.split(" "))) for n in wanted)
    pat = re.compile(rf"(?<![\w])(?:{alt})(?:s|['’]s?)?(?!\w)", re.I)
    out = []
    for m in pat.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in "'’":
            end -= 1
        out.append(Finding(m.start(), end, text[m.start():end], "name_list", "high",
                           "name on the project's list of names"))
    return out


def find_entities(text: str, entities: Sequence[tuple[int, int, str]]) -> list[Finding]:
    """Findings for pipeline entities: PER ``high``; LOC/GPE_LOC/ORG/GPE_ORG ``medium``."""
    out = []
    for start, end, label in entities:
        conf = ENTITY_CONFIDENCE.get(str(label).upper())
        s, e = max(0, int(start)), min(len(text), int(end))
        if conf is None or s >= e:
            continue
        out.append(Finding(s, e, text[s:e], "entity", conf, f"{str(label).upper()} entity"))
    return out


def _gazetteer_kind(word: str, names: Mapping[str, frozenset[str]]) -> frozenset[str]:
    kinds = names.get(word)
    if kinds is None and len(word) > 3 and word[-1] == "s":  # possessive: Karis, Hansens
        kinds = names.get(word[:-1])
    if kinds is None and "-" in word:
        parts = [names.get(p) for p in word.split("-")]
        if all(parts):
            kinds = frozenset().union(*(p for p in parts if p))
    return kinds or frozenset()


def find_gazetteer_names(
    text: str,
    *,
    sentence_starts: Iterable[int] = (),
    lexicon: Container[str] | None = None,
    names: Mapping[str, frozenset[str]] | None = None,
) -> list[Finding]:
    """Capitalised given names and surnames from the packaged gazetteer.

    A lone name is ``medium``; a given name followed by another capitalised name-like word
    (a gazetteer name, or a word that is not in the lexicon: ``Marius Fjellheim``) is
    ``high`` and covers both. A name at a sentence start whose lower case is a common
    word (``Per``, ``Liv``) is skipped unless a gazetteer surname follows.
    """
    scan = TextScan(text)
    return _gazetteer_names(scan, _Sentences(scan, sentence_starts),
                            _lexicon(lexicon), name_gazetteer() if names is None else names)


def _gazetteer_names(scan: TextScan, sents: _Sentences, lex: Container[str],
                     gaz: Mapping[str, frozenset[str]]) -> list[Finding]:
    text, n = scan.text, len(scan.text)
    kinds_of = {}
    for w in scan.words:  # each distinct capitalised word once
        kinds = _gazetteer_kind(w, gaz)
        if kinds and w not in _ALLOWED_WORDS and _is_capitalised(w) and not _is_all_caps(w):
            kinds_of[w] = kinds
    out: list[Finding] = []
    done = 0  # the end of the last finding: the words before it are part of it
    for p, w in scan.occurrences(kinds_of):
        if p < done or not scan.word_start(p):
            continue
        kinds = kinds_of[w]
        common_start = _known(w, lex) and sents.is_start(p)
        # extend to following capitalised name-like words on the same line: the next WORD
        # after nothing but spaces is capitalised exactly when the scan finds a word there
        end = p + len(w)
        extended = False
        while True:
            gap_end = end
            while gap_end < n and text[gap_end] in " \u00a0":
                gap_end += 1
            v = scan.word_at(gap_end) if gap_end > end else None
            if v is None or not _is_capitalised(v) or _is_all_caps(v) or v in _ALLOWED_WORDS:
                break
            vk = _gazetteer_kind(v, gaz)
            if common_start and "surname" not in vk:
                break
            if not vk and _known(v, lex):
                break
            end, extended = gap_end + len(v), True
        if extended and ("given" in kinds or common_start):
            out.append(Finding(p, end, text[p:end], "gazetteer", "high",
                               "given name followed by a capitalised name"))
            done = end
            continue
        if not common_start:
            role = "given name" if "given" in kinds else "surname"
            out.append(Finding(p, p + len(w), w, "gazetteer", "medium",
                               f"{role} in the name gazetteer"))
    return out


def find_places(
    text: str,
    *,
    sentence_starts: Iterable[int] = (),
    lexicon: Container[str] | None = None,
    places: Iterable[str] | None = None,
) -> list[Finding]:
    """Norwegian place names from the packaged gazetteer (``medium``); a place whose lower
    case is a common word (``Sola``, ``Ski``) is skipped at a sentence start."""
    pl = place_gazetteer() if places is None else frozenset(places)
    if not pl:
        return []
    scan = TextScan(text)
    return _places(scan, _Sentences(scan, sentence_starts),
                   _lexicon(lexicon), pl)


def _places(scan: TextScan, sents: _Sentences, lex: Container[str],
            pl: frozenset[str]) -> list[Finding]:
    text = scan.text
    out = []
    for s, e in scan.literal_spans(pl):
        place = text[s:e]
        if " " not in place and _known(place, lex) and sents.is_start(s):
            continue
        out.append(Finding(s, e, place, "gazetteer", "medium", "place name in the gazetteer"))
    return out


def find_capitalised(
    text: str,
    sentence_starts: Iterable[int] = (),
    lexicon: Container[str] | None = None,
) -> list[Finding]:
    """Capitalised words inside a sentence that are not known words (``low``).

    Sentence starts are ``sentence_starts`` when given (plus line starts), otherwise
    naive: after ``. ! ? : …``, an opening quote or a line start, looking through quotes,
    dashes and parenthesised notes. Each word is its own finding. Abbreviations in
    capitals (``AAP``, ``DPS``, also in compounds: ``DPS-et``) and allow-listed terms
    are skipped.
    """
    scan = TextScan(text)
    return _capitalised(scan, _Sentences(scan, sentence_starts),
                        _lexicon(lexicon))


def _capitalised(scan: TextScan, sents: _Sentences, lex: Container[str]) -> list[Finding]:
    unknown = [w for w in scan.words  # each distinct capitalised word once
               if len(w) >= 2 and w not in _ALLOWED_WORDS and _is_capitalised(w)
               and not _known(w, lex) and not (len(w) <= 5 and _is_all_caps(w))]
    return [Finding(p, p + len(w), w, "capitalised", "low", "capitalised, not in lexicon")
            for p, w in scan.occurrences(unknown)
            if scan.word_start(p) and not sents.is_start(p)]


# --- combining -------------------------------------------------------------------------------

def _apply_protection(findings: Iterable[Finding],
                      near_of: Callable[[int, int], Sequence[tuple[int, int]]],
                      text: str) -> list[Finding]:
    """Drop findings inside protected spans; trim name findings that reach into one
    (``Nav Gjøvik`` -> ``Gjøvik``). ``near_of(start, end)``: protected spans (sorted,
    disjoint) among which is every one that meets ``text[start:end]``."""
    out = []
    for f in findings:
        s, e = f.start, f.end
        near = near_of(s, e)  # only spans that meet [s, e) can hold s or e while trimming
        if f.kind in NAME_KINDS:
            changed = True
            while changed and s < e:
                changed = False
                for ps, pe in near:
                    if ps <= s < pe:
                        s, changed = pe, True
                    if ps < e <= pe:
                        e, changed = ps, True
                while s < e and not text[s].isalnum():
                    s, changed = s + 1, True
                while e > s and not text[e - 1].isalnum():
                    e, changed = e - 1, True
            if s >= e or not any(c.isalpha() for c in text[s:e]):
                continue
        elif any(ps <= s and e <= pe for ps, pe in near):
            continue
        if (s, e) != (f.start, f.end):
            f = Finding(s, e, text[s:e], f.kind, f.confidence, f.detail)
        out.append(f)
    return out


def _better(a: Finding, b: Finding) -> bool:
    return (_RANK[a.confidence], -_SPECIFIC.get(a.kind, 99)) > (
        _RANK[b.confidence], -_SPECIFIC.get(b.kind, 99))


def merge_findings(findings: Iterable[Finding], text: str) -> list[Finding]:
    """Sort and merge overlapping findings into one covering their union, taking the
    highest confidence and, among findings at that confidence, the most specific kind."""
    out: list[Finding] = []
    best: Finding | None = None
    start = end = 0
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if best is not None and f.start < end:
            end = max(end, f.end)
            if _better(f, best):
                best = f
            continue
        if best is not None:
            out.append(Finding(start, end, text[start:end], best.kind, best.confidence,
                               best.detail))
        best, start, end = f, f.start, f.end
    if best is not None:
        out.append(Finding(start, end, text[start:end], best.kind, best.confidence, best.detail))
    return out


def find_leaks(
    text: str,
    *,
    entities: Sequence[tuple[int, int, str]] = (),
    sentence_starts: Iterable[int] = (),
    names: Iterable[str] = (),
    speakers: Iterable[str] = (),
    lexicon: Container[str] | None = None,
    use_gazetteer: bool = True,
    scan: TextScan | None = None,
) -> list[Finding]:
    """All possible leaks in ``text``, sorted by position, overlapping findings merged.

    ``entities``: ``(start, end, label)`` from the language pipeline (NorNE labels).
    ``sentence_starts``: code-point offsets where sentences start (naive rules when empty).
    ``names``: the project's list of names; ``speakers``: speaker ids to protect.
    ``lexicon``: known lower-case words (the packaged lexicon when None).
    ``use_gazetteer``: look up the packaged name and place gazetteers.
    ``scan``: a ``TextScan`` of ``text`` to share with other checks of the same text.
    """
    if scan is None:
        scan = TextScan(text)
    elif scan.text is not text and scan.text != text:
        raise ValueError("find_leaks: the scan is of another text")
    lex = _lexicon(lexicon)
    sents = _Sentences(scan, frozenset(sentence_starts))
    found: list[Finding] = []
    found += _fodselsnummer(scan, include_invalid=True)
    found += _account_numbers(scan)
    found += _phone_numbers(scan)
    found += _emails(scan)
    found += _urls(scan)
    found += _birth_dates(scan)
    found += _addresses(scan, lex, place_gazetteer())
    found += find_listed_names(text, names)
    found += find_entities(text, entities)
    if use_gazetteer:
        found += _gazetteer_names(scan, sents, lex, name_gazetteer())
        found += _places(scan, sents, lex, place_gazetteer())
    found += _capitalised(scan, sents, lex)
    if not found:
        return []
    return merge_findings(_apply_protection(found, scan.protected_of(speakers, len(found)),
                                            text), text)


# --- evaluation ------------------------------------------------------------------------------

GOLD_NAME_TYPES = frozenset({"PER", "ORG", "GPE_LOC", "GPE_ORG", "LOC"})


def evaluate_name_detection(
    gold_conllu_path: str | Path,
    predict: Callable[[str], list[Finding]],
    *,
    min_confidence: str = "low",
    kinds: Container[str] = NAME_KINDS,
) -> dict[str, object]:
    """Token-level precision/recall/F1 of name findings against a NorNE/UD CoNLL-U file.

    Each sentence's raw text (``# text =``) goes to ``predict``; a token is gold when its
    MISC ``name=`` tag is one of ``GOLD_NAME_TYPES`` (type ignored), and predicted when a
    finding of one of ``kinds`` with at least ``min_confidence`` overlaps it. The result
    has the counts and scores for ``min_confidence`` at top level, for every level under
    ``by_confidence``, and the recall per gold type under ``recall_by_type``.
    """
    if min_confidence not in _RANK:
        raise InputError(f"unknown confidence {min_confidence!r}",
                         "use one of: " + ", ".join(CONFIDENCES))
    path = Path(gold_conllu_path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the gold file ({exc})",
                         "pass a UTF-8 CoNLL-U file with '# text =' lines") from exc
    counts = {c: {"tp": 0, "fp": 0, "fn": 0} for c in CONFIDENCES}
    gold_by_type: dict[str, int] = {}
    found_by_type: dict[str, int] = {}
    n_sent = n_tok = n_gold = unaligned = 0
    for block in raw.split("\n\n"):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        text = next((ln.split("=", 1)[1].strip() for ln in lines
                     if ln.startswith("# text") and "=" in ln), None)
        rows = [ln.split("\t") for ln in lines if not ln.startswith("#")]
        rows = [r for r in rows if len(r) >= 10 and r[0].isdigit()]
        if text is None or not rows:
            continue
        n_sent += 1
        findings = [f for f in predict(text) if f.kind in kinds]
        cursor = 0
        for r in rows:
            form = r[1]
            pos = text.find(form, cursor)
            if pos < 0:
                unaligned += 1
                continue
            s, e = pos, pos + len(form)
            cursor = e
            n_tok += 1
            tag = next((p[5:] for p in r[9].split("|") if p.startswith("name=")), "O")
            gold = tag[2:] in GOLD_NAME_TYPES if tag[:2] in ("B-", "I-") else False
            n_gold += gold
            best = max((_RANK[f.confidence] for f in findings if f.start < e and s < f.end),
                       default=0)
            if gold:
                gold_by_type[tag[2:]] = gold_by_type.get(tag[2:], 0) + 1
                if best >= _RANK[min_confidence]:
                    found_by_type[tag[2:]] = found_by_type.get(tag[2:], 0) + 1
            for c in CONFIDENCES:
                pred = best >= _RANK[c]
                if pred and gold:
                    counts[c]["tp"] += 1
                elif pred:
                    counts[c]["fp"] += 1
                elif gold:
                    counts[c]["fn"] += 1
    if n_sent == 0:
        raise InputError(f"{path}: no sentences with '# text =' lines",
                         "pass a CoNLL-U file such as no_bokmaal-ud-dev.conllu")

    def scores(c: dict[str, int]) -> dict[str, float | int]:
        tp, fp, fn = c["tp"], c["fp"], c["fn"]
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {**c, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}

    by = {c: scores(counts[c]) for c in CONFIDENCES}
    recall_by_type = {t: round(found_by_type.get(t, 0) / n, 4)
                      for t, n in sorted(gold_by_type.items())}
    return {"path": str(path), "sentences": n_sent, "tokens": n_tok, "gold_name_tokens": n_gold,
            "unaligned_tokens": unaligned, "min_confidence": min_confidence,
            **by[min_confidence], "by_confidence": by, "gold_by_type": gold_by_type,
            "recall_by_type": recall_by_type}
