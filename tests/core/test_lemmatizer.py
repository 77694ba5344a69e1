"""The lookup lemmatiser and the stop-word list, on the packaged tables (no NorNE needed)."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from qcode.nlp.lemmatizer import LemmaLookup, decode_forms, encode_form
from qcode.nlp.stopwords import STOP_WORDS, mark_stop_words


@pytest.fixture(scope="module")
def lookup() -> LemmaLookup:
    return LemmaLookup.default()


@pytest.mark.parametrize(("form", "upos", "lemma"), [
    ("veilederne", None, "veileder"),
    ("veilederne", "NOUN", "veileder"),
    ("arbeidsgivere", None, "arbeidsgiver"),
    ("arbeidsgivere", "NOUN", "arbeidsgiver"),
    ("gikk", None, "gå"),
    ("gikk", "VERB", "gå"),
    ("samarbeidet", "NOUN", "samarbeid"),
    ("samarbeidet", "VERB", "samarbeide"),
    ("opplevde", None, "oppleve"),
])
def test_bokmaal_inflections(lookup: LemmaLookup, form: str, upos: str | None,
                             lemma: str) -> None:
    assert lookup.lemma(form, upos) == lemma


@pytest.mark.parametrize(("form", "lemma"), [
    ("jobbspesialistene", "jobbspesialist"),
    ("Jobbspesialistene", "jobbspesialist"),
    ("samarbeidsmøtene", "samarbeidsmøte"),
    ("NAV-veilederen", "NAV-veileder"),
    ("IPS-metoden", "IPS-metode"),
])
def test_compound_and_hyphen_fallback(lookup: LemmaLookup, form: str, lemma: str) -> None:
    assert lookup.lemma(form) == lemma
    assert lookup.lemma(form, "NOUN") == lemma


def test_case_handling(lookup: LemmaLookup) -> None:
    assert lookup.lemma("Veilederne") == "veileder"  # sentence-initial common noun
    assert lookup.lemma("Kari", "PROPN") == "Kari"  # names keep their case
    assert lookup.lemma("Grünerløkka") == "Grünerløkka"  # unknown capitalised word
    assert lookup.lemma("xqzzyv") == "xqzzyv"  # unknown lower-case word: identity
    assert lookup.lemma("") == ""


def test_readings_cover_every_table(lookup: LemmaLookup) -> None:
    assert {"samarbeid", "samarbeide"} <= lookup.readings("samarbeid")
    assert {"leder", "lede"} <= lookup.readings("leder")
    assert lookup.readings("") == frozenset()


def test_lookup_pickles_for_multiprocessing(lookup: LemmaLookup) -> None:
    clone = pickle.loads(pickle.dumps(lookup))
    assert clone.lemma("veilederne") == "veileder"


def test_suffix_code_round_trip() -> None:
    for lemma, form in [("gå", "gikk"), ("veileder", "veilederne"), ("møte", "møtene"),
                        ("chargé d'affaires", "chargé d'affaires")]:
        assert decode_forms(lemma, encode_form(lemma, form)) == [form]


def test_component_on_blank_pipeline() -> None:
    spacy = pytest.importorskip("spacy")
    from qcode.nlp.lemmatizer import register

    register()
    nlp = spacy.blank("nb")
    nlp.add_pipe("qcode_lemmatizer")
    doc = nlp("Jobbspesialistene ringte arbeidsgivere og veilederne gikk hjem.")
    assert [t.lemma_ for t in doc][:5] == ["jobbspesialist", "ringe", "arbeidsgiver", "og",
                                           "veileder"]


def test_importing_the_lookup_does_not_import_spacy() -> None:
    code = ("import sys; from qcode.nlp.lemmatizer import LemmaLookup; "
            "import qcode.nlp.stopwords, qcode.nlp.evaluate; print('spacy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_stop_words_for_spoken_bokmaal() -> None:
    for content_word in ("leder", "kontakt", "mennesker", "personer", "grunn", "viktig",
                         "tror", "mener"):
        assert content_word not in STOP_WORDS
    for filler in ("eh", "ehm", "øh", "mm", "mhm", "altså", "liksom", "jo", "sånn", "vel",
                   "nei", "ja", "ok", "ikke sant", "på en måte"):
        assert filler in STOP_WORDS
    assert all(w == w.lower() for w in STOP_WORDS)
    words = ["Eh", ",", "det", "var", "ikke", "sant", "på", "en", "måte", "viktig"]
    assert mark_stop_words(words) == [True, False, True, True, True, True, True, True, True,
                                      False]
