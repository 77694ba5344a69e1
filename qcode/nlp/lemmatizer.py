"""Three-level lookup lemmatiser for Norwegian Bokmål, and its spaCy component.

``LemmaLookup().lemma(form, upos=None)`` tries, in order:

1. **Treebank table**: the most frequent lemma of the form in the NorNE/NDT *train* split
   (for ``(form, upos)`` when a UPOS tag is given and the pair was seen), exact case
   first, then lower-cased.
2. **Norsk Ordbank** full-form tables (from ``spacy-lookups-data``): the table is chosen by
   UPOS (NOUN/PROPN → noun, VERB/AUX → verb, ADJ → adj, ADV → adv); without a tag,
   noun > verb > adj > adv.
3. **Compound and hyphen fallback**: ``NAV-veilederen → NAV-veileder`` (lemmatise the part
   after the last hyphen, keep the rest), ``jobbspesialistene → jobbspesialist`` (the
   longest suffix that is a known Ordbank noun/verb form is lemmatised, the prefix kept).
4. Otherwise the form itself, lower-cased, except for proper nouns (UPOS PROPN, or no tag
   and a capitalised form no table knows), which keep their case.

``readings(form)`` returns every lemma any level gives for the form (all tags), for
matching codebook indicators: ``readings("samarbeid") ⊇ {"samarbeid", "samarbeide"}``.

Importing this module does **not** import spaCy: ``LemmaLookup`` is plain Python. The spaCy
factory ``qcode_lemmatizer`` is registered by calling ``register()`` (it is also registered
automatically on import when spaCy has already been imported). Call ``register()`` before
``spacy.load`` of a pipeline that contains the component (``nb_qcode_sm`` does).

Package data (``qcode/nlp/data``, built by ``scripts/nlp/build_lemma_tables.py``; see
``data/NOTICE.md`` for sources and licences). Both files are gzip-compressed UTF-8 JSON:

``lemmas-treebank.json.gz``::

    {"format": "qcode-lemmas-treebank/1", "source": "...",
     "forms": {FORM: LEMMA | {"": LEMMA, UPOS: LEMMA, ...}}}

  ``FORM`` is case-sensitive as in the treebank. A plain string means every UPOS agreed;
  otherwise ``""`` holds the most frequent lemma over all tags and each UPOS its own most
  frequent lemma.

``lemmas-ordbank.json.gz``::

    {"format": "qcode-lemmas-ordbank/1", "source": "...", "licence": "CC BY 4.0",
     "tables": {"noun"|"verb"|"adj"|"adv": {LEMMA: "CODE|CODE|..."}}}

  Each ``CODE`` encodes one full form of ``LEMMA``: ``=`` is the lemma itself;
  ``[N]+SUFFIX`` is the lemma with its last ``N`` characters removed (N omitted when 0)
  and ``SUFFIX`` appended (``veileder: "=|+en|+e|+ne"``, ``gå: "=|1+ikk|1+år|..."``). Codes are
  separated by ``|`` (forms may contain spaces: ``chargé d'affaires``).
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc

DATA_DIR = Path(__file__).resolve().parent / "data"
TREEBANK_FILE = DATA_DIR / "lemmas-treebank.json.gz"
ORDBANK_FILE = DATA_DIR / "lemmas-ordbank.json.gz"
# Identifies the packaged tables plus lookup rules; bump when either changes, so stored
# annotations can tell which lemmatiser produced them.
TABLES_VERSION = "1"
TREEBANK_FORMAT = "qcode-lemmas-treebank/1"
ORDBANK_FORMAT = "qcode-lemmas-ordbank/1"

ORDBANK_POS = ("noun", "verb", "adj", "adv")
UPOS_TO_ORDBANK = {"NOUN": "noun", "PROPN": "noun", "VERB": "verb", "AUX": "verb",
                   "ADJ": "adj", "ADV": "adv"}
# Tables the compound fallback may use for the head (last part) of a compound.
COMPOUND_TABLES: dict[str | None, tuple[str, ...]] = {
    None: ("noun", "verb"), "NOUN": ("noun",), "PROPN": ("noun",), "VERB": ("verb",),
    "AUX": ("verb",), "ADJ": ("adj",)}
MIN_PREFIX = 2  # shortest first part of a closed compound
MIN_SUFFIX = 4  # shortest known last part of a closed compound

TreebankEntry = str | dict[str, str]


def decode_forms(lemma: str, codes: str) -> list[str]:
    """The full forms of ``lemma`` encoded in ``codes`` (see the module docstring)."""
    forms = []
    for code in codes.split("|"):
        if code == "=":
            forms.append(lemma)
            continue
        strip, _, suffix = code.partition("+")
        n = int(strip) if strip else 0
        forms.append((lemma[:-n] if n else lemma) + suffix)
    return forms


def encode_form(lemma: str, form: str) -> str:
    """Inverse of ``decode_forms`` for one form."""
    if form == lemma:
        return "="
    k = 0
    while k < min(len(lemma), len(form)) and lemma[k] == form[k]:
        k += 1
    strip = len(lemma) - k
    return (str(strip) if strip else "") + "+" + form[k:]


def _read_json_gz(path: Path, expected_format: str) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: rebuild it with scripts/nlp/build_lemma_tables.py")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    if data.get("format") != expected_format:
        raise ValueError(f"{path}: unexpected format {data.get('format')!r}")
    return data


def _is_titlecase(form: str) -> bool:
    return form[:1].isupper() and not form[1:2].isupper()


class LemmaLookup:
    """The three-level Bokmål lemma lookup. Tables load on first use and are cached.

    One shared instance is returned by ``LemmaLookup.default()``; it is safe to use from
    several threads (loading is locked; lookups only read).
    """

    _default: LemmaLookup | None = None
    _default_lock = threading.Lock()

    def __init__(self, treebank_path: Path = TREEBANK_FILE,
                 ordbank_path: Path = ORDBANK_FILE, *, cache_size: int = 200_000) -> None:
        self.treebank_path = treebank_path
        self.ordbank_path = ordbank_path
        self._treebank: dict[str, TreebankEntry] | None = None
        self._ordbank: dict[str, dict[str, tuple[str, ...]]] | None = None
        self._lock = threading.Lock()
        self._cache_size = cache_size
        self._cached_lemma: Callable[[str, str | None, bool], str] = lru_cache(cache_size)(
            self._lemma)

    def __getstate__(self) -> dict[str, Any]:
        # for multiprocessing with the spawn start method: tables and cache reload lazily
        return {"treebank_path": self.treebank_path, "ordbank_path": self.ordbank_path,
                "cache_size": self._cache_size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["treebank_path"], state["ordbank_path"],  # type: ignore[misc]
                      cache_size=state["cache_size"])

    @classmethod
    def default(cls) -> LemmaLookup:
        """The process-wide instance on the packaged tables."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    # --- tables ------------------------------------------------------------------------------

    @property
    def treebank(self) -> Mapping[str, TreebankEntry]:
        """Level 1: form -> lemma, or form -> {"" or UPOS: lemma}."""
        if self._treebank is None:
            with self._lock:
                if self._treebank is None:
                    self._treebank = _read_json_gz(self.treebank_path, TREEBANK_FORMAT)[
                        "forms"]
        return self._treebank

    @property
    def ordbank(self) -> Mapping[str, Mapping[str, tuple[str, ...]]]:
        """Level 2: Ordbank table name -> form -> lemmas (usually one)."""
        if self._ordbank is None:
            with self._lock:
                if self._ordbank is None:
                    self._ordbank = self._load_ordbank()
        return self._ordbank

    def _load_ordbank(self) -> dict[str, dict[str, tuple[str, ...]]]:
        tables = _read_json_gz(self.ordbank_path, ORDBANK_FORMAT)["tables"]
        out: dict[str, dict[str, tuple[str, ...]]] = {}
        for pos in ORDBANK_POS:
            index: dict[str, tuple[str, ...]] = {}
            for lemma, codes in tables.get(pos, {}).items():
                for form in decode_forms(lemma, codes):
                    old = index.get(form)
                    if old is None:
                        index[form] = (lemma,)
                    elif lemma not in old:
                        index[form] = (*old, lemma)
            out[pos] = index
        return out

    def load(self) -> LemmaLookup:
        """Load both tables now (otherwise they load on first use). Returns ``self``."""
        _ = self.treebank, self.ordbank
        return self

    # --- lookups -----------------------------------------------------------------------------

    def lemma(self, form: str, upos: str | None = None, *, genitive: bool = False) -> str:
        """The lemma of ``form``.

        ``upos`` (a UD tag such as ``NOUN``) narrows the choice; ``genitive=True`` (from
        the morphology ``Case=Gen``) lets an unknown name lose its genitive ``-s``
        (``Clintons -> Clinton``).
        """
        if not form:
            return form
        return self._cached_lemma(form, upos or None, genitive and upos == "PROPN")

    def _lemma(self, form: str, upos: str | None, genitive: bool = False) -> str:
        if upos == "PROPN":
            return self._proper_noun_lemma(form, genitive)
        found = self._treebank_lemma(form, upos)
        if found is None:
            found = self._ordbank_lemma(form, upos)
        if found is None:
            found = self._fallback_lemma(form, upos)
        if found is not None:
            return found
        if upos == "PROPN" or (upos is None and form[:1].isupper()):
            return form
        return form.lower()

    def _proper_noun_lemma(self, form: str, genitive: bool = False) -> str:
        """Names keep their form, unless the treebank saw this form as a name with another
        lemma, or it is a name + hyphen + common noun (Oslo-området -> Oslo-område)."""
        entry = self.treebank.get(form)
        if entry is None and genitive and form[-1:] == "s":
            entry = self.treebank.get(form[:-1])
            if entry is not None and not isinstance(entry, str) and "PROPN" not in entry:
                entry = None
        if isinstance(entry, dict) and "PROPN" in entry:
            return entry["PROPN"]
        if isinstance(entry, str) and entry[:1] == form[:1]:
            return entry
        head, sep, tail = form.rpartition("-")
        if sep and head and tail[:1].islower():
            found = self._fallback_lemma(form, "NOUN")
            if found is not None:
                return found
        if genitive and len(form) > 2:
            for suffix in ("'s", "s", "'"):
                if form.endswith(suffix):
                    return form[: -len(suffix)]
        return form

    def _treebank_lemma(self, form: str, upos: str | None) -> str | None:
        table = self.treebank
        for key in (form, form.lower()) if form != form.lower() else (form,):
            entry = table.get(key)
            if entry is None:
                continue
            if isinstance(entry, str):
                if upos == "PROPN" and entry != form:
                    return None  # seen only as a common word: a name keeps its form
                return entry
            if upos is None:
                return entry[""]
            if upos in entry:
                return entry[upos]
            if upos == "PROPN":
                return None
            pos = UPOS_TO_ORDBANK.get(upos)
            if pos is None or self._ordbank_lemma(form, upos) is None:
                return entry[""]
            return None  # seen with other tags only: let Ordbank decide for this tag
        return None

    def _ordbank_lemma(self, form: str, upos: str | None) -> str | None:
        if upos is not None:
            pos = UPOS_TO_ORDBANK.get(upos)
            tables: tuple[str, ...] = (pos,) if pos else ()
        else:
            tables = ORDBANK_POS
        keep_case = upos == "PROPN"
        for pos in tables:
            index = self.ordbank[pos]
            lemmas = index.get(form)
            if lemmas is None and form != form.lower():
                lemmas = index.get(form.lower())
                if lemmas is not None and keep_case:
                    return form
            if lemmas is not None:
                return lemmas[0]
        return None

    def _fallback_lemma(self, form: str, upos: str | None) -> str | None:
        # hyphenated: NAV-veilederen -> NAV-veileder
        head, sep, tail = form.rpartition("-")
        if sep and head and tail:
            tail_lemma = self._treebank_lemma(tail, upos) or self._ordbank_lemma(tail, upos)
            if tail_lemma is None:
                tail_lemma = self._compound_lemma(tail, upos)
            if tail_lemma is not None:
                if upos != "PROPN" and tail_lemma[:1].isupper() and tail[:1].islower():
                    tail_lemma = tail_lemma.lower()
                return head + "-" + tail_lemma
            return None
        genitive = self._genitive_lemma(form, upos)
        if genitive is not None:
            return genitive
        return self._compound_lemma(form, upos)

    def _genitive_lemma(self, form: str, upos: str | None) -> str | None:
        """lovens -> lov, alliansens -> allianse: Ordbank lists no genitive forms."""
        if upos not in (None, "NOUN") or len(form) < 4 or form[-1] != "s":
            return None
        stem = form[:-2] if form.endswith("'s") else form[:-1]
        found = self._treebank_lemma(stem, "NOUN") or self._ordbank_lemma(stem, "NOUN")
        if found is None:
            found = self._compound_lemma(stem, "NOUN")
        return found

    def _compound_lemma(self, form: str, upos: str | None) -> str | None:
        """jobbspesialistene -> jobbspesialist: the longest known last part is lemmatised.

        A capitalised form (a name, or a sentence-initial word) is split only when its
        first part is a known word too (optionally + linking s/e: ``samarbeids-``), so
        names such as ``Orheim`` are not taken apart.
        """
        tables = COMPOUND_TABLES.get(upos)
        if not tables or len(form) < MIN_PREFIX + MIN_SUFFIX:
            return None
        low = form.lower()
        prefix_case = form if (upos == "PROPN" or not _is_titlecase(form)) else low
        check_prefix = form[:1].isupper()
        ordbank = self.ordbank
        for i in range(MIN_PREFIX, len(low) - MIN_SUFFIX + 1):
            part = low[i:]
            for pos in tables:
                lemmas = ordbank[pos].get(part)
                if lemmas is None or (check_prefix and not self._known_word(low[:i])):
                    continue
                return prefix_case[:i] + lemmas[0]
        return None

    def _known_word(self, word: str) -> bool:
        """Whether ``word`` (or ``word`` minus a linking s/e) is in any table."""
        candidates = [word, word[:-1]] if len(word) > 3 and word[-1] in "se" else [word]
        ordbank = self.ordbank
        return any(c in self.treebank or any(c in ordbank[pos] for pos in ORDBANK_POS)
                   for c in candidates)

    def readings(self, form: str) -> frozenset[str]:
        """Every lemma any table gives for ``form``, under any tag (and the default one)."""
        out: set[str] = set()
        if not form:
            return frozenset()
        keys = (form, form.lower()) if form != form.lower() else (form,)
        for key in keys:
            entry = self.treebank.get(key)
            if isinstance(entry, str):
                out.add(entry)
            elif entry is not None:
                out.update(entry.values())
            for pos in ORDBANK_POS:
                out.update(self.ordbank[pos].get(key, ()))
        for upos in (None, "NOUN", "VERB", "ADJ", "ADV"):
            out.add(self.lemma(form, upos))
        return frozenset(out)

    def lemmatize(self, forms: Iterable[str], upos: Iterable[str | None] | None = None
                  ) -> list[str]:
        """Lemmas for a sequence of forms (and, optionally, their UPOS tags)."""
        if upos is None:
            return [self.lemma(f) for f in forms]
        return [self.lemma(f, p) for f, p in zip(forms, upos, strict=True)]

    def cache_info(self) -> Any:
        """Statistics of the lemma cache (``functools.lru_cache``)."""
        return self._cached_lemma.cache_info()  # type: ignore[attr-defined]


# --- spaCy component ---------------------------------------------------------------------------

FACTORY_NAME = "qcode_lemmatizer"


class QcodeLemmatizer:
    """spaCy component: sets ``token.lemma_`` with ``LemmaLookup``.

    The UPOS tag (``token.pos_``) is used when the doc has POS annotation, i.e. when a
    morphologizer or tagger ran before this component; otherwise lookups are untagged.
    """

    def __init__(self, name: str = FACTORY_NAME, *, use_pos: bool = True,
                 overwrite: bool = True, lookup: LemmaLookup | None = None) -> None:
        self.name = name
        self.use_pos = use_pos
        self.overwrite = overwrite
        self.lookup = lookup or LemmaLookup.default()

    def __call__(self, doc: Doc) -> Doc:
        tagged = self.use_pos and doc.has_annotation("POS")
        lemma = self.lookup.lemma
        for token in doc:
            if not self.overwrite and token.lemma != 0:
                continue
            if tagged:
                pos = token.pos_ or None
                genitive = pos == "PROPN" and "Gen" in token.morph.get("Case", [])
                token.lemma_ = lemma(token.text, pos, genitive=genitive)
            else:
                token.lemma_ = lemma(token.text)
        return doc

    def initialize(self, get_examples: Callable[[], Iterable[Any]] | None = None,
                   *, nlp: Language | None = None) -> None:
        """Load the tables (so the first doc is not slow)."""
        self.lookup.load()

    # Stateless: the tables are package data, nothing to serialise.
    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return b""

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> QcodeLemmatizer:
        return self

    def to_disk(self, path: Any, *, exclude: Iterable[str] = ()) -> None:
        return None

    def from_disk(self, path: Any, *, exclude: Iterable[str] = ()) -> QcodeLemmatizer:
        return self


def make_qcode_lemmatizer(nlp: Language, name: str, use_pos: bool, overwrite: bool
                          ) -> QcodeLemmatizer:
    """spaCy factory function for ``qcode_lemmatizer``."""
    return QcodeLemmatizer(name, use_pos=use_pos, overwrite=overwrite)


def register() -> None:
    """Register the ``qcode_lemmatizer`` factory with spaCy (imports spaCy; idempotent)."""
    from spacy.language import Language

    if Language.has_factory(FACTORY_NAME):
        return
    Language.factory(
        FACTORY_NAME,
        default_config={"use_pos": True, "overwrite": True},
        assigns=["token.lemma"],
        requires=[],
    )(make_qcode_lemmatizer)


if "spacy" in sys.modules:  # spaCy is loaded anyway: make the factory available at once
    register()
