"""The leak check as it was before the fast candidate-based detectors: the oracle.

A frozen copy of the straightforward detectors of ``qcode.nlp.leaks`` (every regex run
over the whole text, every WORD match visited) and of the composition in
``qcode.services.anonymize.find_all_leaks``, kept only so the tests can prove that the
fast path finds exactly the same findings. The word lists, ``Finding`` and the
vocabulary come from the real modules (they did not change). Do not "fix" anything
here: a change of behaviour belongs in the real modules and in their own tests.
"""

# ruff: noqa

from __future__ import annotations

import datetime as _dt
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from functools import lru_cache

from qcode.nlp.leaks import Finding, name_gazetteer, packaged_lexicon, place_gazetteer
from qcode.services.anonymize import INSTITUTION_HEADS, NAME_SHAPE, NON_NAME_LABELS, _vocabulary

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
_ALLOWED = re.compile(
    r"(?<![\w-])(?:" + "|".join(re.escape(t) for t in sorted(ALLOWED_TERMS, key=len, reverse=True))
    + r")(?!\w)")
_ALLOWED_WORDS = frozenset(ALLOWED_TERMS)

_OPENERS = "«‹“„"
_TRANSPARENT = " \t\r\u00a0»”’›\"'–—-*" + _OPENERS
_NAIVE_ENDS = ".!?:…"


def _transparent_spans(text: str) -> list[tuple[int, int]]:
    """Placeholders, transcriber notes, time stamps and speaker labels: skipped when looking
    back for a sentence start (``(ler) Det``, ``V4: Ja``)."""
    spans: list[tuple[int, int]] = []
    for m in _PLACEHOLDER.finditer(text):
        if len(WORD.findall(m.group())) <= PLACEHOLDER_MAX_WORDS:
            spans.append(m.span())
    spans.extend(m.span() for m in _TIMESTAMP.finditer(text))
    spans.extend(m.span() for m in _LABEL.finditer(text))  # the label with its colon
    for m in _VOICE.finditer(text):
        if _VOICE_ID.fullmatch(m.group("id").strip()):
            spans.append(m.span())
    return _union(spans)


def protected_spans(text: str, speakers: Iterable[str] = ()) -> list[tuple[int, int]]:
    """Sorted, disjoint spans that are never flagged.

    Placeholders and transcriber notes: a ``(…)`` or ``[…]`` span of at most
    ``PLACEHOLDER_MAX_WORDS`` words made of letters only (no digits, ``@``, ``:``, and no
    dots other than an ellipsis). Time stamps. Speaker labels at a line start (``I:``,
    ``JS3:``, ``Intervjuer:``) and WebVTT voice tags with such an id. Speaker ids anywhere
    (capitals + digits: ``JS3``, ``V5``; ``Intervjuer``) and every id in ``speakers``.
    The ``ALLOWED_TERMS``.
    """
    spans = _transparent_spans(text)
    spans.extend(m.span() for m in _ID_ANYWHERE.finditer(text))
    spans.extend(m.span() for m in _ALLOWED.finditer(text))
    ids = sorted({s.strip() for s in speakers if s and s.strip()}, key=len, reverse=True)
    if ids:
        pat = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ids)) + r")(?!\w)")
        spans.extend(m.span() for m in pat.finditer(text))
    return _union(spans)


def _union(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


class _Sentences:
    """Decides whether a word starts a sentence (given starts, or naive punctuation)."""

    def __init__(self, text: str, starts: Iterable[int] = (),
                 protected: Sequence[tuple[int, int]] = ()) -> None:
        self.text = text
        self.given = set(starts)
        self.back = {e: s for s, e in protected}

    def is_start(self, pos: int) -> bool:
        text, j, opened = self.text, pos, False
        while j > 0:
            c = text[j - 1]
            if c == "\n":
                return True
            if j in self.back and self.back[j] < j:
                j = self.back[j]
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
    out = []
    for m in _FNR.finditer(text):
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
    out = []
    for m in _ACCOUNT.finditer(text):
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
    out = []
    for m in _PHONE.finditer(text):
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
    return [Finding(m.start(), m.end(), m.group(), "email", "high", "e-mail address")
            for m in _EMAIL.finditer(text)]


def find_urls(text: str) -> list[Finding]:
    """Web addresses starting with ``http://``, ``https://`` or ``www.`` (``medium``)."""
    out = []
    for m in _URL.finditer(text):
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
    keyword_ends = [m.end() for m in _BIRTH_WORD.finditer(text)]
    out = []
    for m in _DATE.finditer(text):
        parts = _date_parts(m)
        if parts is None:
            continue
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
_STREET_MULTI = re.compile(
    rf"(?<![\w-])(?P<street>(?:[A-ZÆØÅ]{_L}*[ \u00a0]){{1,3}}"
    r"(?:gate|gata|vei|veg|vegen|veien|plass|allé|alle|bakke|terrasse|park))"
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
    lex = _lexicon(lexicon)
    pl = place_gazetteer() if places is None else places
    out: list[Finding] = []
    for pat in (_STREET_ONE, _STREET_MULTI):
        for m in pat.finditer(text):
            street = m.group("street")
            if _NOT_HOUSE_AFTER.match(text, m.end()) or street.lower() in _BARE_SUFFIXES:
                continue
            # ``Motbakken 3`` could be an ordinary word and a number
            known = pat is _STREET_ONE and street.lower() in lex and street not in pl
            out.append(Finding(m.start(), m.end(), m.group(), "address",
                               "medium" if known else "high",
                               "street name and house number"
                               + (" (the street name is also a common word)" if known else "")))
    for m in _POSTCODE.finditer(text):
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
    lex = _lexicon(lexicon)
    gaz = name_gazetteer() if names is None else names
    sents = _Sentences(text, sentence_starts, _transparent_spans(text))
    words = list(WORD.finditer(text))
    out: list[Finding] = []
    i = 0
    while i < len(words):
        m = words[i]
        w = m.group()
        kinds = _gazetteer_kind(w, gaz) if _is_capitalised(w) and not _is_all_caps(w) else None
        if not kinds or w in _ALLOWED_WORDS:
            i += 1
            continue
        common_start = sents.is_start(m.start()) and _known(w, lex)
        # extend to following capitalised name-like words on the same line
        j = i
        while j + 1 < len(words):
            nxt = words[j + 1]
            gap = text[words[j].end():nxt.start()]
            v = nxt.group()
            if not gap or gap.strip(" \u00a0") or not _is_capitalised(v) or _is_all_caps(v) \
                    or v in _ALLOWED_WORDS:
                break
            vk = _gazetteer_kind(v, gaz)
            if common_start and "surname" not in vk:
                break
            if not vk and _known(v, lex):
                break
            j += 1
        if j > i and ("given" in kinds or common_start):
            end = words[j].end()
            out.append(Finding(m.start(), end, text[m.start():end], "gazetteer", "high",
                               "given name followed by a capitalised name"))
            i = j + 1
            continue
        if not common_start:
            role = "given name" if "given" in kinds else "surname"
            out.append(Finding(m.start(), m.end(), w, "gazetteer", "medium",
                               f"{role} in the name gazetteer"))
        i += 1
    return out


@lru_cache(maxsize=4)
def _place_pattern(places: frozenset[str]) -> re.Pattern[str]:
    alt = "|".join(re.escape(p) for p in sorted(places, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alt})(?!\w)")


def find_places(
    text: str,
    *,
    sentence_starts: Iterable[int] = (),
    lexicon: Container[str] | None = None,
    places: Iterable[str] | None = None,
) -> list[Finding]:
    """Norwegian place names from the packaged gazetteer (``medium``); a place whose lower
    case is a common word (``Sola``, ``Ski``) is skipped at a sentence start."""
    lex = _lexicon(lexicon)
    pl = place_gazetteer() if places is None else frozenset(places)
    if not pl:
        return []
    sents = _Sentences(text, sentence_starts, _transparent_spans(text))
    out = []
    for m in _place_pattern(pl).finditer(text):
        if " " not in m.group() and _known(m.group(), lex) and sents.is_start(m.start()):
            continue
        out.append(Finding(m.start(), m.end(), m.group(), "gazetteer", "medium",
                           "place name in the gazetteer"))
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
    lex = _lexicon(lexicon)
    sents = _Sentences(text, sentence_starts, _transparent_spans(text))
    hits: list[tuple[int, int]] = []
    for m in WORD.finditer(text):
        w = m.group()
        if len(w) < 2 or not _is_capitalised(w) or w in _ALLOWED_WORDS:
            continue
        if _is_all_caps(w) and len(w) <= 5:
            continue
        if _known(w, lex) or sents.is_start(m.start()):
            continue
        hits.append(m.span())
    return [Finding(s, e, text[s:e], "capitalised", "low", "capitalised, not in lexicon")
            for s, e in hits]


# --- combining -------------------------------------------------------------------------------

def _apply_protection(findings: Iterable[Finding], protected: Sequence[tuple[int, int]],
                      text: str) -> list[Finding]:
    """Drop findings inside protected spans; trim name findings that reach into one
    (``Nav Gjøvik`` -> ``Gjøvik``). ``protected`` is sorted and disjoint."""
    ends = [e for _, e in protected]
    out = []
    for f in findings:
        s, e = f.start, f.end
        i = bisect_right(ends, s)  # the first protected span ending after s
        near = protected[max(0, i - 1):bisect_left(ends, e) + 2]
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
) -> list[Finding]:
    """All possible leaks in ``text``, sorted by position, overlapping findings merged.

    ``entities``: ``(start, end, label)`` from the language pipeline (NorNE labels).
    ``sentence_starts``: code-point offsets where sentences start (naive rules when empty).
    ``names``: the project's list of names; ``speakers``: speaker ids to protect.
    ``lexicon``: known lower-case words (the packaged lexicon when None).
    ``use_gazetteer``: look up the packaged name and place gazetteers.
    """
    starts = frozenset(sentence_starts)
    lex = _lexicon(lexicon)
    protected = protected_spans(text, speakers)
    found: list[Finding] = []
    found += find_fodselsnummer(text, include_invalid=True)
    found += find_account_numbers(text)
    found += find_phone_numbers(text)
    found += find_emails(text)
    found += find_urls(text)
    found += find_birth_dates(text)
    found += find_addresses(text, lexicon=lex)
    found += find_listed_names(text, names)
    found += find_entities(text, entities)
    if use_gazetteer:
        found += find_gazetteer_names(text, sentence_starts=starts, lexicon=lex)
        found += find_places(text, sentence_starts=starts, lexicon=lex)
    found += find_capitalised(text, starts, lex)
    return merge_findings(_apply_protection(found, protected, text), text)


# --- the composition of qcode.services.anonymize.find_all_leaks ------------------


def _allowed_spans(text: str) -> list[tuple[int, int]]:
    alt = "|".join(re.escape(t) for t in sorted(ALLOWED_TERMS, key=len, reverse=True))
    return [m.span() for m in re.finditer(rf"(?<![\w-])(?:{alt})(?!\w)", text)]


def _model_hints(text: str, tokens: Sequence[tuple[int, int, str]],
                 sentence_starts: Iterable[int]) -> list[Finding]:
    """Proper-noun tags (low) and name-shaped unknown capitalised words (medium)."""
    known = _vocabulary().known
    starts = set(sentence_starts)
    out = []
    for s, e, pos in tokens:
        form = text[s:e]
        if len(form) < 2 or not form[:1].isupper() or not any(c.isalpha() for c in form):
            continue
        lower = form.lower()
        if form.isalpha() and len(form) >= 4 and NAME_SHAPE.search(lower) and not known(lower):
            out.append(Finding(s, e, form, "capitalised", "medium",
                               "capitalised unknown word shaped like a surname or place name"))
        elif pos == "PROPN" and not (s in starts and known(lower)):
            out.append(Finding(s, e, form, "capitalised", "low",
                               "tagged as a proper noun by the language model"))
    return out


def _sort_entities(text: str, entities: Sequence[tuple[int, int, str]],
                   sentence_starts: Sequence[int]) -> tuple[list[tuple[int, int, str]],
                                                            list[Finding]]:
    """Entities to trust, and low-confidence hints for those that are only ordinary words
    at the start of a sentence (the model's «Hen» or «Intervju» as a person)."""
    known = _vocabulary().known
    starts = set(sentence_starts)
    trusted, doubtful = [], []
    for s, e, label in entities:
        words = WORD.findall(text[s:e])
        before = text[:s].rstrip(" \t«»“”„\"'‹›(–—-")
        at_start = not before or before[-1] in "\n.!?:…" or any(
            k in starts for k in range(len(before), s + 1))
        if words and at_start and all(known(w.lower()) for w in words):
            doubtful.append(Finding(s, e, text[s:e], "capitalised", "low",
                                    f"{str(label).upper()} entity, but an ordinary word at "
                                    "the start of a sentence"))
        else:
            trusted.append((s, e, label))
    return trusted, doubtful


def _extend_heads(text: str, findings: Sequence[Finding]) -> list[Finding]:
    out = []
    for f in findings:
        m = re.match(r"[ \u00a0](\w+)", text[f.end:])
        if f.kind in NAME_KINDS and m and m.group(1) in INSTITUTION_HEADS:
            end = f.end + m.end()
            f = Finding(f.start, end, text[f.start:end], f.kind, f.confidence, f.detail)
        out.append(f)
    return out


def _same_name_elsewhere(text: str, findings: Sequence[Finding],
                         protected_of: Callable[[], Sequence[tuple[int, int]]]
                         ) -> list[Finding]:
    """Other occurrences of words found as names with medium or high confidence."""
    known = _vocabulary().known
    words: dict[str, Finding] = {}
    for f in findings:
        if f.kind in NAME_KINDS and f.confidence in ("high", "medium"):
            for m in WORD.finditer(f.text):
                w = m.group()
                if len(w) >= 3 and w[:1].isupper() and not known(w.lower()):
                    words.setdefault(w, f)
    if not words:
        return []
    protected = protected_of()
    covered = [(f.start, f.end) for f in findings]
    out = []
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, sorted(words, key=len,
                                                                            reverse=True)))
                         + r")(?:s)?(?![\w-])")
    for m in pattern.finditer(text):
        s, e = m.span()
        if any(a < e and s < b for a, b in covered) or any(a <= s and e <= b
                                                           for a, b in protected):
            continue
        src = words.get(m.group()) or words.get(m.group()[:-1])
        if src is None:
            continue
        out.append(Finding(s, e, m.group(), src.kind, "medium",
                           f"the same name as «{src.text}» found elsewhere in the text"))
    return out


def find_all_leaks(text: str, *, entities: Sequence[tuple[int, int, str]] = (),
                   tokens: Sequence[tuple[int, int, str]] = (),
                   sentence_starts: Iterable[int] = (), names: Sequence[str] = (),
                   speakers: Iterable[str] = (), allow_list: bool = True) -> list[Finding]:
    """The rule detectors plus the model's entities and hints, merged.

    ``tokens``: ``(start, end, UPOS)`` of the pipeline's tokens. ``allow_list=False``
    also reports model entities on the allow-listed names (Norge, Nav ...): for
    measuring name detection, never for checking documents.
    """
    starts = list(sentence_starts)
    speakers = list(speakers)
    trusted, doubtful = _sort_entities(text, entities, starts)
    base = find_leaks(text, entities=trusted, sentence_starts=starts, names=names,
                      speakers=speakers)
    found_protected: list[list[tuple[int, int]]] = []

    def protected() -> list[tuple[int, int]]:  # find_leaks had them too: only when needed
        if not found_protected:
            found_protected.append(protected_spans(text, speakers))
        return found_protected[0]

    hints = [*_model_hints(text, tokens, starts), *doubtful]
    extra = [f for f in hints
             if not any(a <= f.start and f.end <= b for a, b in protected())] if hints else []
    if not allow_list:
        allowed = _allowed_spans(text)
        extra += [f for f in find_entities(text, entities)
                  if any(f.start < b and a < f.end for a, b in allowed)]
    found = merge_findings([*base, *extra], text) if extra else list(base)
    titles = [(s, e) for s, e, label in entities
              if str(label).upper() in NON_NAME_LABELS and " " in text[s:e].strip()]
    if titles:
        found = [f for f in found if not (f.confidence == "low" and any(
            a <= f.start and f.end <= b for a, b in titles))]
    found = merge_findings(_extend_heads(text, found), text)
    more = _same_name_elsewhere(text, found, protected)
    return merge_findings([*found, *more], text) if more else found
