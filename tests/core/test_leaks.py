"""Leak detectors (qcode.nlp.leaks): every detector, the exclusions, and the V4 transcript."""

from __future__ import annotations

import ast
import gzip
import os
import random
import re
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcode.errors import InputError
from qcode.nlp import leaks
from qcode.nlp.leaks import (
    CONFIDENCES,
    KINDS,
    Finding,
    evaluate_name_detection,
    find_account_numbers,
    find_addresses,
    find_birth_dates,
    find_capitalised,
    find_emails,
    find_fodselsnummer,
    find_gazetteer_names,
    find_leaks,
    find_listed_names,
    find_phone_numbers,
    find_places,
    find_urls,
    is_valid_fodselsnummer,
    merge_findings,
    protected_spans,
)

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT / "corpora"
INTERVIEWS = CORPORA / "intervjuer"
NORNE_DEV = ROOT.parent / "shared" / "data" / "norne" / "ud-nob" / "no_bokmaal-ud-dev.conllu"
RANK = {"high": 3, "medium": 2, "low": 1}


def texts(findings: list[Finding]) -> list[str]:
    return [f.text for f in findings]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


# ---------------------------------------------------------------------------
# fødselsnummer and D-number: valid numbers are generated here, independently
# ---------------------------------------------------------------------------


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    rest = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    k = (11 - rest) % 11
    return None if k == 10 else k


def make_number(ddmmyy: str, start: int = 100) -> str:
    """The first valid 11-digit number for a date part, from individual number ``start``."""
    for individual in range(start, start + 100):
        nine = f"{ddmmyy}{individual:03d}"
        k1 = _check_digit(nine, (3, 7, 6, 1, 8, 9, 4, 5, 2))
        if k1 is None:
            continue
        k2 = _check_digit(nine + str(k1), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
        if k2 is not None:
            return f"{nine}{k1}{k2}"
    raise AssertionError("no valid number")


def with_wrong_check(number: str) -> str:
    return number[:10] + str((int(number[10]) + 1) % 10)


VALID_FNR = make_number("010190")
VALID_D = make_number("410190")  # day + 40
VALID_H = make_number("015190")  # month + 40
VALID_TENOR = make_number("018190")  # month + 80


def test_generated_numbers_and_the_v4_number_are_valid() -> None:
    for number in (VALID_FNR, VALID_D, VALID_H, VALID_TENOR, "14039127742"):
        assert is_valid_fodselsnummer(number), number
    assert is_valid_fodselsnummer("140391 27742")
    assert is_valid_fodselsnummer("140391.27742")


@pytest.mark.parametrize(
    "digits",
    [with_wrong_check(VALID_FNR), with_wrong_check("14039127742"), "14039127743",
     make_number("310290"),  # 31 February: check digits fine, date impossible
     make_number("011390"),  # month 13
     "1403912774", "140391277421", "abcdefghijk", "", "00000000000"],
)
def test_not_a_fodselsnummer(digits: str) -> None:
    assert not is_valid_fodselsnummer(digits)
    assert not [f for f in find_fodselsnummer(f"nr {digits} her")
                if f.kind in ("fodselsnummer", "d_number")]


@pytest.mark.parametrize(("sep", "before"), [("", " "), (" ", " "), (".", " "), ("", ": "),
                                             ("", "fnr."), ("", "\n")])
def test_fodselsnummer_found_with_separator(sep: str, before: str) -> None:
    number = VALID_FNR[:6] + sep + VALID_FNR[6:]
    f = only(find_fodselsnummer(f"Fødselsnummeret er{before}{number}."))
    assert (f.text, f.kind, f.confidence) == (number, "fodselsnummer", "high")
    assert "mod-11" in f.detail


def test_d_number_and_synthetic_numbers() -> None:
    d = only(find_fodselsnummer(f"D-nummer {VALID_D}"))
    assert (d.kind, d.confidence) == ("d_number", "high")
    h = only(find_fodselsnummer(f"test {VALID_H}"))
    assert (h.kind, h.confidence) == ("fodselsnummer", "medium") and "H-number" in h.detail
    t = only(find_fodselsnummer(f"test {VALID_TENOR}"))
    assert t.confidence == "medium" and "Tenor" in t.detail


def test_wrong_checksum_is_a_low_number_not_a_fodselsnummer() -> None:
    wrong = with_wrong_check(VALID_FNR)
    assert find_fodselsnummer(f"nr {wrong}") == []
    f = only(find_fodselsnummer(f"nr {wrong}", include_invalid=True))
    assert (f.kind, f.confidence) == ("number", "low")
    f = only(find_leaks(f"Nummeret var {wrong}, tror jeg."))
    assert (f.text, f.kind, f.confidence) == (wrong, "number", "low")


@pytest.mark.parametrize(
    "text",
    [f"1{VALID_FNR}", f"{VALID_FNR}9", f"12 {VALID_FNR}", f"{VALID_FNR} 45", f"0,{VALID_FNR}",
     f"{VALID_FNR}.5"],
)
def test_fodselsnummer_not_inside_longer_digit_runs(text: str) -> None:
    assert find_fodselsnummer(text) == []


# ---------------------------------------------------------------------------
# phone numbers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "confidence"),
    [("91234567", "high"), ("912 34 567", "high"), ("91 23 45 67", "high"),
     ("41234567", "high"), ("4123 4567", "high"), ("+47 912 34 567", "high"),
     ("0047 91234567", "high"), ("(+47) 91234567", "high"), ("+4791234567", "high"),
     ("+47 22 33 44 55", "high"), ("22 33 44 55", "medium"), ("55123456", "medium"),
     ("800 12 345", "medium"), ("tlf:91234567", "high"), ("tlf. 91234567", "high")],
)
def test_phone_formats(written: str, confidence: str) -> None:
    f = only(find_phone_numbers(f"Ring {written}, eller send en melding."))
    number = written.removeprefix("tlf:").removeprefix("tlf. ")
    assert (f.text, f.kind, f.confidence) == (number, "phone", confidence)


@pytest.mark.parametrize(
    "text",
    ["Vi møtes 12:30 i dag.", "kl. 12.30", "Det kostet 1 500 kr.", "12 345 678 kr i året",
     "fra 2019 2020 og utover", "kontonummer 1234.56.78901", "123456789", "912345678",
     "01234567", "19123456", "20190314", "14039127742", "00:12:31", "91234567890",
     "version 1.91234567", "12 34 56 78"],
)
def test_not_phone_numbers(text: str) -> None:
    assert find_phone_numbers(text) == []


def test_account_numbers_are_not_phones_but_numbers() -> None:
    f = only(find_account_numbers("konto 1234.56.78901 takk"))
    assert f.kind == "number" and f.text == "1234.56.78901"
    assert [x.kind for x in find_leaks("konto 1234.56.78901 takk")] == ["number"]


# ---------------------------------------------------------------------------
# e-mail, URLs, dates of birth, addresses
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["ola.nordmann@nav.no", "kari+test@example.com",
                                     "jobb_spesialist-2@kommune.oslo.no", "å.ø@æøå.no"])
def test_emails(address: str) -> None:
    f = only(find_emails(f"Skriv til {address}."))
    assert (f.text, f.confidence) == (address, "high")


@pytest.mark.parametrize("text", ["ola@", "@nav.no", "ola at nav dot no", "ola@nav", "a@b.c"])
def test_not_emails(text: str) -> None:
    assert find_emails(text) == []


@pytest.mark.parametrize(
    ("text", "url"),
    [("Se https://www.nav.no/ips.", "https://www.nav.no/ips"),
     ("Se www.example.no!", "www.example.no"),
     ("(http://a.no/x?y=1)", "http://a.no/x?y=1"),
     ("«https://eksempel.no/side»", "https://eksempel.no/side")],
)
def test_urls(text: str, url: str) -> None:
    f = only(find_urls(text))
    assert (f.text, f.kind, f.confidence) == (url, "url", "medium")


@pytest.mark.parametrize("text", ["wwwx.no", "www.", "http://", "nav.no", "e-post: ikke oppgitt"])
def test_not_urls(text: str) -> None:
    assert find_urls(text) == []


@pytest.mark.parametrize(
    ("text", "date", "confidence"),
    [("Hen er født 14.03.1991.", "14.03.1991", "high"),
     ("fødselsdato: 14. mars 1991", "14. mars 1991", "high"),
     ("Kari (f. 14.03.91) kom", "14.03.91", "high"),
     ("fødd den 1.2.1990", "1.2.1990", "high"),
     ("født 1991-03-14", "1991-03-14", "high"),
     ("hen er født 14. mars", "14. mars", "medium"),
     ("møtet 14.03.2024 gikk fint", "14.03.2024", "low"),
     ("den 14. mars 1991 var", "14. mars 1991", "low")],
)
def test_birth_dates(text: str, date: str, confidence: str) -> None:
    f = only(find_birth_dates(text))
    assert (f.text, f.kind, f.confidence) == (date, "birth_date", confidence)


@pytest.mark.parametrize(
    "text",
    ["født 31.02.1991", "jeg er født i 1991", "den 14.03", "14. mars", "kl. 14.30",
     "1234.56.78901", "født 32. mars 1991", "født 14.13.1991"],
)
def test_not_birth_dates(text: str) -> None:
    assert find_birth_dates(text) == []


def test_birth_word_in_another_sentence_does_not_count() -> None:
    f = only(find_birth_dates("Hen er født her. Møtet var 14.03.2024."))
    assert f.confidence == "low"


@pytest.mark.parametrize(
    ("text", "address"),
    [("Hen bor i Storgata 12, tror jeg.", "Storgata 12"),
     ("adressen er Kirkeveien 3B", "Kirkeveien 3B"),
     ("på Fjellvegen 7 a", "Fjellvegen 7 a"),
     ("i Karl Johans gate 5.", "Karl Johans gate 5"),
     ("Solbakken 14", "Solbakken 14"),
     ("sendt til 0150 Oslo", "0150 Oslo"),
     ("sendt til 2816 Gjøvik i dag", "2816 Gjøvik"),
     ("postnummer 4321 Fjellheim", "4321 Fjellheim")],
)
def test_addresses(text: str, address: str) -> None:
    f = only(find_addresses(text))
    assert (f.text, f.kind, f.confidence) == (address, "address", "high")


@pytest.mark.parametrize(
    "text",
    ["bodde i Storgata i 12 år", "Storgata 12 år", "Torget 3 ganger", "I 2019 Det var",
     "i 2020 Marius", "fra 1991 Han", "over gata 12", "Storgata 12,5 prosent", "Hagen 2",
     "VM i Italia 1990"],
)
def test_not_addresses(text: str) -> None:
    assert find_addresses(text) == []


# ---------------------------------------------------------------------------
# names: project list, gazetteer, places, capitalised words, entities
# ---------------------------------------------------------------------------


def test_listed_names_whole_word_any_case_possessive() -> None:
    text = ("Karis sak, KARI sa, kari kom. Karine og Skari er andre. "
            "Kari Nordmann\nog Kari  Nordmann.")
    found = find_listed_names(text, ["Kari", "Kari Nordmann", " "])
    assert texts(found) == ["Karis", "KARI", "kari", "Kari Nordmann", "Kari  Nordmann"]
    assert all((f.kind, f.confidence) == ("name_list", "high") for f in found)
    assert texts(find_listed_names("Marius' sak", ["Marius"])) == ["Marius"]
    assert find_listed_names("hei", []) == []


def test_gazetteer_pair_is_high_and_lone_name_medium() -> None:
    found = find_gazetteer_names("Vi snakket med Marius Fjellheim. Så sa Marius nei.")
    assert [(f.text, f.confidence) for f in found] == [("Marius Fjellheim", "high"),
                                                       ("Marius", "medium")]


def test_gazetteer_common_words_at_sentence_start() -> None:
    found = find_gazetteer_names("Per dag er det mye. Liv og røre. Vi ringte Per. "
                                 "Per Hansen kom. Marius kom også.")
    assert [(f.text, f.confidence) for f in found] == [
        ("Per", "medium"), ("Per Hansen", "high"), ("Marius", "medium")]


def test_gazetteer_uses_given_sentence_starts() -> None:
    text = "notat Per var der"
    assert texts(find_gazetteer_names(text)) == ["Per"]
    assert find_gazetteer_names(text, sentence_starts=[6]) == []


def test_places() -> None:
    found = find_places("Ski er gøy. Hen bodde på Ski og på Gjøvik, så i Mo i Rana.")
    assert [(f.text, f.confidence) for f in found] == [
        ("Ski", "medium"), ("Gjøvik", "medium"), ("Mo i Rana", "medium")]


def test_capitalised_words_not_at_sentence_start_and_not_known() -> None:
    text = ("Fjellheim er et navn. Vi møtte Fjellheim i går, «Brødrene» sa det. "
            "Han jobbet i Nav-kontoret med AAP og DPS-et. Jeg sa: Tullingen! "
            "(ler) Grunnmuren? – Xyzzy.")
    found = find_capitalised(text, (), {"er", "et", "navn", "vi", "møtte", "i", "går", "sa",
                                        "det", "han", "jobbet", "kontoret", "med", "og",
                                        "jeg", "brødrene"})
    assert [(f.text, f.kind, f.confidence) for f in found] == [
        ("Fjellheim", "capitalised", "low")]
    assert found[0].start == text.index("Fjellheim", 5)


def test_capitalised_with_packaged_lexicon() -> None:
    assert texts(find_capitalised("Vi var hos Brakstadholmen og Kontoret i går.")) == [
        "Brakstadholmen"]


def test_entities_from_the_pipeline() -> None:
    text = "Marius fra Gjøvik jobber i Rema 1000 og leser Aftenposten, (jobbsøker) i Nav Gjøvik."
    ents = [(0, 6, "PER"), (11, 17, "GPE_LOC"), (27, 36, "ORG"), (46, 57, "PROD"),
            (59, 69, "PER"), (73, 83, "GPE_ORG"), (80, 999, "LOC"), (5, 3, "PER")]
    found = find_leaks(text, entities=ents, use_gazetteer=False)
    got = [(f.text, f.kind, f.confidence) for f in found]
    assert ("Marius", "entity", "high") in got
    assert ("Gjøvik", "entity", "medium") in got
    assert ("Rema 1000", "entity", "medium") in got
    assert ("Aftenposten", "capitalised", "low") in got  # PROD ignored, the word is not
    assert not [g for g in got if "jobbsøker" in g[0]]
    assert got[-1][:2] == ("Gjøvik", "entity")  # "Nav" trimmed off, the LOC tail merged


# ---------------------------------------------------------------------------
# never flagged: placeholders, speaker ids, time stamps, the allow-list
# ---------------------------------------------------------------------------


PROTECTED_TEXT = """\
I: Hvordan var det med (veileder) og (Veileder)?

JS3: Det var (ekstern aktør) i (kommune), og (Ekstern Aktør Sør Vest) var med. (...) [uklart]
[00:12:31] V5: Vi snakket om Nav og NAV og IPS og Supported Employment, og Nav-kontoret.
(00:12:31) Intervjuer: Som JS3 sa, og som V5 sa.
00:00:01.000 --> 00:00:07.400
<v Intervjuer>ja det stemmer
<v JS3>ja
Moderator: JS12 og V7 sier det samme. Arena og Gosys.
"""


def test_placeholders_speakers_timestamps_allow_list_are_never_flagged() -> None:
    assert find_leaks(PROTECTED_TEXT) == []
    entities = [(m.start(), m.end(), "PER") for m in re.finditer(
        r"\([^)]*\)|JS3|V5|Intervjuer|Nav|IPS|Supported Employment", PROTECTED_TEXT)]
    assert find_leaks(PROTECTED_TEXT, entities=entities) == []


def test_protected_spans_cover_the_placeholders() -> None:
    text = "Hei (veileder), (Tre Ord Her Nå Fem) og (tlf 91234567) (ola@x.no)."
    spans = [text[s:e] for s, e in protected_spans(text)]
    assert "(veileder)" in spans
    assert not [s for s in spans if "Fem" in s or "912" in s or "@" in s]


def test_parenthesised_spans_with_digits_or_long_are_checked() -> None:
    found = find_leaks("Ring (tlf 91234567), (ola@x.no), (Marius Fjellheim sa det i går).")
    assert [f.kind for f in found] == ["phone", "email", "gazetteer"]


def test_speakers_passed_in_are_protected() -> None:
    text = "Marius: hei.\nMarius: ja."
    assert {f.text for f in find_leaks(text)} == {"Marius"}
    assert find_leaks(text, speakers=["Marius"]) == []


def test_sentence_start_after_notes_quotes_and_labels() -> None:
    lex = {"det", "var", "sa", "hun", "ja"}
    text = "V4: Ja.\n(ler) Det var sånn. Hun sa «Det var» – Ja. I: Det"
    assert find_capitalised(text, (), lex) == []


# ---------------------------------------------------------------------------
# merging, offsets, robustness
# ---------------------------------------------------------------------------


def test_merge_keeps_highest_confidence_and_most_specific_kind() -> None:
    text = "abcdefghij"
    merged = merge_findings([
        Finding(0, 4, "abcd", "capitalised", "low", "x"),
        Finding(2, 6, "cdef", "gazetteer", "high", "g"),
        Finding(3, 5, "de", "name_list", "high", "n"),
        Finding(6, 8, "gh", "url", "medium", "u"),  # adjacent: not merged
    ], text)
    assert merged == [Finding(0, 6, "abcdef", "name_list", "high", "n"),
                      Finding(6, 8, "gh", "url", "medium", "u")]


def test_offsets_are_code_points() -> None:
    text = "Æøå blåbærsyltetøy 😀 – «Marius Fjellheim» ringte fra 948 27 316 på Gjøvik."
    found = find_leaks(text)
    assert [f.text for f in found] == ["Marius Fjellheim", "948 27 316", "Gjøvik"]
    for f in found:
        assert text[f.start:f.end] == f.text
    assert found[0].start == text.index("Marius")


FRAGMENTS = ["Marius", "Fjellheim", "(veileder)", "948 27 316", "14039127742", "født",
             "14.03.1991", "Storgata 12", "0150 Oslo", "ola@nav.no", "www.nav.no", "I:", "JS3:",
             "[00:12:31]", "«", "»", "(", ")", ".", ":", "\n", " ", "-", "Per", "Gjøvik", "+47",
             "æøå", "ÆØÅ", "1", "12", "kr", "s", "'", "é", "\u0301", "😀"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=30),
       st.lists(st.tuples(st.integers(-5, 200), st.integers(-5, 200),
                          st.sampled_from(["PER", "LOC", "ORG", "MISC", "x"])), max_size=4),
       st.lists(st.integers(-5, 200), max_size=5))
def test_never_crashes_and_findings_are_sorted_and_in_bounds(
        parts: list[str], ents: list[tuple[int, int, str]], starts: list[int]) -> None:
    text = "".join(parts)
    found = find_leaks(text, entities=ents, sentence_starts=starts, names=["Kari", "("])
    previous_end = 0
    for f in found:
        assert 0 <= f.start < f.end <= len(text)
        assert f.start >= previous_end  # sorted and merged: no overlaps
        previous_end = f.end
        assert text[f.start:f.end] == f.text
        assert f.kind in KINDS and f.confidence in CONFIDENCES and f.detail


# ---------------------------------------------------------------------------
# the corpus: V4's deliberate leaks, and nothing high anywhere else
# ---------------------------------------------------------------------------


def leaks_table() -> list[tuple[str, int]]:
    rows = re.findall(r"^\| \d+ \| `([^`]+)` \|.*\| (\d+) \|$",
                      (CORPORA / "LEAKS.md").read_text(encoding="utf-8"), re.M)
    return [(s, int(line)) for s, line in rows]


EXPECTED_CONFIDENCE = {"Marius Fjellheim": "high", "Marius": "medium", "948 27 316": "high",
                       "14039127742": "high", "Gjøvik": "medium"}


def test_v4_leaks_are_all_found_with_their_confidence() -> None:
    table = leaks_table()
    assert {s for s, _ in table} == set(EXPECTED_CONFIDENCE)
    text = (INTERVIEWS / "V4.txt").read_text(encoding="utf-8")
    found = find_leaks(text)
    by_place = {(f.text, text.count("\n", 0, f.start) + 1): f for f in found}
    for string, line in table:
        f = by_place.get((string, line))
        assert f is not None, (string, line, found)
        assert f.confidence == EXPECTED_CONFIDENCE[string], f
    assert by_place[("14039127742", 29)].kind == "fodselsnummer"
    assert by_place[("948 27 316", 29)].kind == "phone"
    high = [f.text for f in found if f.confidence == "high"]
    assert sorted(high) == sorted(s for s, c in EXPECTED_CONFIDENCE.items() if c == "high")


@pytest.mark.parametrize("name", [f"{p}{i}" for p in ("JS", "V") for i in range(1, 7)])
def test_no_high_confidence_finding_in_the_other_interviews(name: str) -> None:
    text = (INTERVIEWS / f"{name}.txt").read_text(encoding="utf-8")
    found = find_leaks(text)
    if name == "V4":
        found = [f for f in found if f.text not in EXPECTED_CONFIDENCE]
    assert [f for f in found if f.confidence == "high"] == []


def test_no_high_confidence_finding_in_the_focus_group_and_recording() -> None:
    for path in (CORPORA / "fokusgruppe" / "fokusgruppe_sor.txt",
                 CORPORA / "opptak" / "oppfolging_JS3.vtt"):
        found = find_leaks(path.read_text(encoding="utf-8"))
        assert [f for f in found if f.confidence == "high"] == [], path


# ---------------------------------------------------------------------------
# evaluation helper, data files, import boundary
# ---------------------------------------------------------------------------

GOLD = """\
# sent_id = 1
# text = Vi møtte Marius Fjellheim i Gjøvik.
1\tVi\tvi\tPRON\t_\t_\t2\tnsubj\t_\tname=O
2\tmøtte\tmøte\tVERB\t_\t_\t0\troot\t_\tname=O
3\tMarius\tMarius\tPROPN\t_\t_\t2\tobj\t_\tname=B-PER
4\tFjellheim\tFjellheim\tPROPN\t_\t_\t3\tflat:name\t_\tname=I-PER
5\ti\ti\tADP\t_\t_\t6\tcase\t_\tname=O
6\tGjøvik\tGjøvik\tPROPN\t_\t_\t2\tobl\t_\tSpaceAfter=No|name=B-GPE_LOC
7\t.\t$.\tPUNCT\t_\t_\t2\tpunct\t_\tname=O

# sent_id = 2
# text = Det var Kontoret Nord.
1\tDet\tdet\tPRON\t_\t_\t2\tnsubj\t_\tname=O
2\tvar\tvære\tAUX\t_\t_\t0\troot\t_\tname=O
3\tKontoret\tkontor\tNOUN\t_\t_\t2\tobj\t_\tname=O
4\tNord\tNord\tPROPN\t_\t_\t3\tflat\t_\tSpaceAfter=No|name=B-ORG
5\t.\t$.\tPUNCT\t_\t_\t2\tpunct\t_\tname=O
"""


def test_evaluate_name_detection_counts_tokens(tmp_path: Path) -> None:
    gold = tmp_path / "gold.conllu"
    gold.write_text(GOLD, encoding="utf-8")
    fake = [Finding(8, 24, "Marius Fjellheim", "gazetteer", "high", ""),
            Finding(27, 33, "Gjøvik", "gazetteer", "medium", ""),
            Finding(0, 2, "Vi", "phone", "high", "")]  # not a name kind: ignored
    result = evaluate_name_detection(gold, lambda s: fake if s.startswith("Vi") else [])
    assert (result["sentences"], result["tokens"], result["gold_name_tokens"]) == (2, 12, 4)
    assert (result["tp"], result["fp"], result["fn"]) == (3, 0, 1)
    assert result["precision"] == 1.0 and result["recall"] == 0.75
    by = result["by_confidence"]
    assert isinstance(by, dict) and by["high"]["tp"] == 2 and by["medium"]["tp"] == 3
    real = evaluate_name_detection(gold, find_leaks)
    assert real["tp"] == 3 and real["fp"] == 0  # "Nord" is a known word: missed


def test_evaluate_name_detection_refuses_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        evaluate_name_detection(tmp_path / "missing.conllu", find_leaks)
    empty = tmp_path / "empty.conllu"
    empty.write_text("1\tx\n", encoding="utf-8")
    with pytest.raises(InputError):
        evaluate_name_detection(empty, find_leaks)
    with pytest.raises(InputError):
        evaluate_name_detection(empty, find_leaks, min_confidence="sure")


@pytest.mark.skipif(not NORNE_DEV.exists(), reason="NorNE data not available")
def test_rules_only_name_detection_on_norne_dev_does_not_regress() -> None:
    result = evaluate_name_detection(NORNE_DEV, find_leaks)
    assert float(str(result["precision"])) >= 0.88
    assert float(str(result["recall"])) >= 0.75


def test_data_files() -> None:
    data = Path(leaks.__file__).parent / "data"
    names = (data / "names-nb.txt").read_text(encoding="utf-8")
    assert names.startswith("#") and "NorNE" in names.split("\n\n")[0]
    assert "\nMarius\tgiven\n" in names and "\nHansen\tsurname\n" in names
    assert "Gjøvik" in (data / "places-nb.txt").read_text(encoding="utf-8").split("\n")
    words = set(gzip.decompress((data / "lexicon-nb.txt.gz").read_bytes()).decode().split())
    assert {"og", "jobbspesialist", "hen", "kontoret"} <= words
    assert not {"marius", "fjellheim", "gjøvik"} & words
    assert len(words) < 60_000


def test_leaks_module_imports_only_stdlib_and_qcode_errors() -> None:
    tree = ast.parse(Path(leaks.__file__).read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    modules = {a.name for n in top if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module or "" for n in top if isinstance(n, ast.ImportFrom)}
    assert {m for m in modules if m.startswith("qcode")} == {"qcode.errors"}
    every = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    every |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in every if m.split(".")[0] in {"spacy", "thinc"}}


def test_confidence_ranks_cover_every_level() -> None:
    assert set(RANK) == set(CONFIDENCES)


# ---------------------------------------------------------------------------
# the fast detectors find exactly what the straightforward ones found
# (tests/core/leaks_reference.py is a frozen copy of those: the oracle)
# ---------------------------------------------------------------------------

BENCH_TRANSCRIPTS = Path("/tmp/qcode-bench/S/src/intervjuer")
SAMENESS_EXAMPLES = int(os.environ.get("QCODE_LEAK_SAMENESS_EXAMPLES", "150"))


def assert_same_as_reference(text: str, *, starts: Sequence[int] = (),
                             speakers: Sequence[str] = (), names: Sequence[str] = (),
                             entities: Sequence[tuple[int, int, str]] = (),
                             tokens: Sequence[tuple[int, int, str]] = (),
                             lexicon: Container[str] | None = None,
                             places: Iterable[str] | None = None,
                             gazetteer: Mapping[str, frozenset[str]] | None = None) -> None:
    """Every public detector, ``find_leaks`` and ``find_all_leaks`` against the oracle."""
    from qcode.services import anonymize

    from . import leaks_reference as ref

    pairs: list[tuple[str, Callable[..., object], Callable[..., object], dict[str, Any]]] = [
        ("fodselsnummer", find_fodselsnummer, ref.find_fodselsnummer, {}),
        ("fodselsnummer+invalid", find_fodselsnummer, ref.find_fodselsnummer,
         {"include_invalid": True}),
        ("account", find_account_numbers, ref.find_account_numbers, {}),
        ("phone", find_phone_numbers, ref.find_phone_numbers, {}),
        ("email", find_emails, ref.find_emails, {}),
        ("url", find_urls, ref.find_urls, {}),
        ("birth_date", find_birth_dates, ref.find_birth_dates, {}),
        ("address", find_addresses, ref.find_addresses, {"lexicon": lexicon}),
        ("listed", find_listed_names, ref.find_listed_names, {"names": names}),
        ("gazetteer", find_gazetteer_names, ref.find_gazetteer_names,
         {"sentence_starts": starts, "lexicon": lexicon, "names": gazetteer}),
        ("places", find_places, ref.find_places,
         {"sentence_starts": starts, "lexicon": lexicon}),
        ("capitalised", find_capitalised, ref.find_capitalised,
         {"sentence_starts": starts, "lexicon": lexicon}),
        ("protected", protected_spans, ref.protected_spans, {"speakers": speakers}),
        ("find_leaks", find_leaks, ref.find_leaks,
         {"sentence_starts": starts, "speakers": speakers, "names": names,
          "entities": entities, "lexicon": lexicon}),
        ("find_leaks without gazetteer", find_leaks, ref.find_leaks,
         {"sentence_starts": starts, "speakers": speakers, "use_gazetteer": False}),
        ("find_all_leaks", anonymize.find_all_leaks, ref.find_all_leaks,
         {"sentence_starts": starts, "speakers": speakers, "names": names,
          "entities": entities, "tokens": tokens}),
        ("find_all_leaks without the allow-list", anonymize.find_all_leaks,
         ref.find_all_leaks, {"sentence_starts": starts, "speakers": speakers,
                              "entities": entities, "tokens": tokens, "allow_list": False}),
    ]
    if places is not None:
        pl = list(places)
        pairs.append(("places (given)", find_places, ref.find_places,
                      {"sentence_starts": starts, "lexicon": lexicon, "places": pl}))
        pairs.append(("address (given places)", find_addresses, ref.find_addresses,
                      {"lexicon": lexicon, "places": frozenset(pl)}))
    for name, fast, slow, kwargs in pairs:
        assert fast(text, **kwargs) == slow(text, **kwargs), (name, text, kwargs)


def corpus_text_files() -> list[Path]:
    out = []
    for path in sorted(p for p in CORPORA.rglob("*") if p.is_file()):
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        out.append(path)
    return out


def naive_sentence_starts(text: str) -> list[int]:
    """Sentence starts as a pipeline might give them (after . ! ? and line breaks)."""
    return [0, *(m.end() for m in re.finditer(r"[.!?]\s+|\n+", text))]


@pytest.mark.parametrize("path", corpus_text_files(), ids=lambda p: p.name)
def test_same_findings_as_the_reference_on_the_corpus(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert_same_as_reference(text)
    if path.suffix in (".txt", ".vtt"):  # transcripts: as a pipeline and the turns give them
        speakers = sorted(set(re.findall(r"^([A-ZÆØÅ][\wÆØÅæøå]{0,11}):", text, re.M)))
        assert_same_as_reference(text, starts=naive_sentence_starts(text), speakers=speakers)


@pytest.mark.skipif(not BENCH_TRANSCRIPTS.is_dir(), reason="benchmark transcripts not generated")
def test_same_findings_as_the_reference_on_the_benchmark_transcripts() -> None:
    for path in sorted(BENCH_TRANSCRIPTS.glob("*.txt")):
        assert_same_as_reference(path.read_text(encoding="utf-8"), speakers=["I"])


GAZ_NAMES = ["Marius", "Fjellheim", "Per", "Liv", "Hansen", "Anne-Lise", "Kari", "Karis",
             "Hansens", "Bakken", "Strand", "Ola", "Nordmann", "Jean-Louis", "Thorning-Schmidt",
             "Ahmed", "Aas", "Dag", "Tone", "Storm"]
PLACES = ["Gjøvik", "Oslo", "Mo i Rana", "Nord-Odal", "Sør-Fron", "Østre Toten", "Gamle Oslo",
          "Nordre Aker", "Aurskog-Høland", "Ski", "Sola", "Bø", "Bergen", "Bodø", "Alta",
          "Strømmen", "Innlandet", "Midt-Telemark", "Indre Østfold", "Mo", "Rana", "Toten"]
TRICKY = [
    # punctuation, quotes, notes, labels, time stamps
    ". ", "! ", "? ", ": ", "…", ", ", ";", "«", "»", "“", "”", "„", "‹", "›", '"', "'", "’",
    "–", "—", "-", "*", "(", ")", "[", "]", "(...)", "(…)", "(ler)", "(pause)", "(veileder)",
    "(ekstern aktør)", "(Tre Ord Her Nå Fem)", "[latter]", "[00:12:31]", "(00:12:31)",
    "00:00:01.000 --> 00:00:04.000", "00:01 \n--> 00:04", "-->", " --> ", "12:30", "I:",
    "I: ", "JS3:", "JS3", "V5", "V5:", "Intervjuer:", "Moderator", "<v JS3>", "<v.loud Marius>",
    "<v Intervjuer>", "<v\nJS3>", "<v", ">", "WEBVTT",
    "\n", "\n\n", "\r\n", "\t", " ", "  ", "\u00a0",
    # numbers
    "948 27 316", "91234567", "22 33 44 55", "+47", "+47 ", "0047", "(+47)", "(47)", "4791234567",
    "14039127742", "140391 27742", "140391.27742", "14039127743", "1234.56.78901",
    "1234 56 78901", "14.03.1991", "14/3-91", "1991-03-14", "14. mars", "3. mai 1990", "mars",
    "født", "Født", "fødd", "f.", "fødselsdato", "bursdag", "2019 2020", "20190314", "kr",
    "kroner", "%", "prosent", "år", "1", "12", "123", "1234", "12345", "0", "٣", "²", "½",
    # e-mail and web
    "ola@nav.no", "a.b+c@d-e.no", "@", "ola@", "www.nav.no", "WWW.Nav.NO/side", "https://x.no/a",
    "http://", "www.", "://",
    # addresses
    "Storgata 12", "Storgata", "Kirkeveien 3B", "Kirkeveien 3 B", "Karl Johans gate 5",
    "Ole Nordmanns vei 2", "Motbakken 3", "Torget 3", "Hagen 2", "gate", "vei", "Grünerløkka",
    "0150 Oslo", "2815 Gjøvik", "1990 Oslo", "2000 Lillestrøm", "Strandveien", " 7",
    # allow-listed and common words
    "Nav", "NAV", "Nav-kontoret", "IPS", "Supported Employment", "Arbeids- og velferdsetaten",
    "Norge", "EU", "EØS", "Arena", "AAP", "DPS-et", "DPS", "Det", "Og", "Jeg", "Hun", "Ja",
    "det", "og", "jobbspesialist", "hen", "kontoret", "Kontoret", "var", "sa", "i", "på",
    # capitalised unknown words and shapes
    "Xyzzy", "Bertelsen", "Brakstadholmen", "McDonald", "eBay", "O'Brien", "d'Artagnan",
    "Nav-Gjøvik", "Oslo-kontoret", "ÆØÅ", "æøå", "Ærlig", "Øystein", "s", "'s", "’s",
    # other scripts and odd letters
    "Ωμέγα", "Жанна", "ǅ", "ﬁ", "𝐀", "𝐀bc", "é", "e\u0301", "\u0301", "_", "ß", "ſ", "K",
    "😀", "a", "A", "B",
]
ALPHABET = [*GAZ_NAMES, *PLACES, *TRICKY]


@settings(max_examples=SAMENESS_EXAMPLES, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(ALPHABET), st.sampled_from([" ", " ", ". ", "\n"]),
                          st.text(max_size=3)), max_size=40),
       st.lists(st.integers(-2, 300), max_size=6),
       st.lists(st.sampled_from(["I", "JS3", "Marius", "i", "3", "", " V5 ", "Ola Nordmann",
                                 "(x", "Gjøvik", "𝐀"]), max_size=3),
       st.lists(st.tuples(st.integers(-5, 300), st.integers(-5, 300),
                          st.sampled_from(["PER", "LOC", "ORG", "PROD", "MISC"])), max_size=3),
       st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300),
                          st.sampled_from(["PROPN", "NOUN", ""])), max_size=4))
def test_same_findings_as_the_reference_on_tricky_texts(
        parts: list[str], starts: list[int], speakers: list[str],
        ents: list[tuple[int, int, str]], tokens: list[tuple[int, int, str]]) -> None:
    text = "".join(parts)
    assert_same_as_reference(text)
    assert_same_as_reference(text, starts=starts, speakers=speakers, entities=ents,
                             tokens=sorted(tokens))


@settings(max_examples=max(20, SAMENESS_EXAMPLES // 5), deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=30),
       st.lists(st.sampled_from(["Gjøvik", "Mo i Rana", "oslo", "", "Nord-Odal", "1990",
                                 "Ski", "𝐀bc", "Ωμέγα", "Sør", "Sør-Fron"]), max_size=4),
       st.frozensets(st.sampled_from(["det", "og", "ski", "sola", "storgata", "marius", "per",
                                      "motbakken", "nav", "xyzzy", "fjellheim", ""]),
                     max_size=6))
def test_same_findings_as_the_reference_with_given_word_lists(
        parts: list[str], places: list[str], lexicon: frozenset[str]) -> None:
    text = "".join(parts)
    gazetteer = {"Marius": frozenset({"given"}), "Hansen": frozenset({"surname"}),
                 "Per": frozenset({"given"}), "Anne": frozenset({"given"}),
                 "Lise": frozenset({"given", "surname"})}
    assert_same_as_reference(text, places=places, lexicon=lexicon, gazetteer=gazetteer,
                             names=["Kari", "Marius Fjellheim"])


def test_character_tests_agree_with_the_regex_classes() -> None:
    """The candidate scans and the character tests mean what the detectors' regexes mean."""
    words, numbers = leaks._scanners()
    letter, word_char = re.compile(r"[^\W\d_]"), re.compile(r"\w")
    chars = [chr(i) for i in [*range(0x10000), *range(0x10000, 0x110000, 97)]]
    for c in chars:
        assert leaks._is_letter(c) == bool(letter.fullmatch(c)), hex(ord(c))
        assert leaks._is_word_char(c) == bool(word_char.fullmatch(c)), hex(ord(c))
        assert (words.fullmatch(c) is not None) == leaks._cap_first(c), hex(ord(c))
        assert (numbers.fullmatch(c) is not None) == c.isdecimal(), hex(ord(c))


@settings(max_examples=SAMENESS_EXAMPLES, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(ALPHABET), st.text(max_size=3)), max_size=40))
def test_capitalised_words_and_their_positions_are_those_of_the_scan(parts: list[str]) -> None:
    text = "".join(parts)
    scan = leaks.TextScan(text)
    expected = {(m.start(), m.group()) for m in leaks._scanners()[0].finditer(text)}
    assert scan.words == {w for _, w in expected}
    assert {(p, w) for w in scan.words for p in scan.positions(w)} == expected


@pytest.mark.parametrize("limit", [0, 10_000])
def test_same_findings_with_the_spans_and_positions_of_the_whole_text_or_of_parts(
        monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """Few look-ups find the protected spans of the lines around a finding and the
    positions of a word with str.find, many those of the whole text: both give the same."""
    monkeypatch.setattr(leaks, "_LOCAL_LOOKUPS", limit)
    monkeypatch.setattr(leaks, "_FIND_WORDS", limit)
    rng = random.Random(limit)
    for _ in range(30):
        text = "".join(rng.choice(ALPHABET) for _ in range(60))
        assert_same_as_reference(text, speakers=["I", "JS3", "Ola Nordmann"])
    text = (INTERVIEWS / "V4.txt").read_text(encoding="utf-8")
    assert_same_as_reference(text, speakers=["I", "V4"])


@settings(max_examples=SAMENESS_EXAMPLES, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(ALPHABET), st.sampled_from(["\n", " "])),
                max_size=40),
       st.lists(st.sampled_from(["I", "JS3", "Ola Nordmann", "i", "A\nB", "Marius"]),
                max_size=2),
       st.integers(0, 400), st.integers(0, 60))
def test_protected_spans_near_a_place_are_those_of_the_whole_text(
        parts: list[str], speakers: list[str], at: int, length: int) -> None:
    text = "".join(parts)
    a = min(at, len(text))
    b = min(a + length, len(text))
    scan = leaks.TextScan(text)
    everywhere = protected_spans(text, speakers)
    near = scan.protected_near(a, b, speakers)
    assert set(near) <= set(everywhere)
    assert {(s, e) for s, e in everywhere if s <= b and a <= e} <= set(near)
    transparent = leaks.TextScan(text).transparent
    near_t = scan.transparent_near(a, b)
    assert set(near_t) <= set(transparent)
    assert {(s, e) for s, e in transparent if s <= b and a <= e} <= set(near_t)


def test_same_findings_as_the_reference_on_a_corpus_seeded_with_leaks() -> None:
    rng = random.Random(20260901)
    words = (INTERVIEWS / "JS1.txt").read_text(encoding="utf-8").split(" ")
    for _ in range(3):
        out = []
        for w in words:
            out.append(w)
            if rng.random() < 0.15:
                out.append(rng.choice(ALPHABET))
        text = " ".join(out)
        assert_same_as_reference(text, speakers=["I", "JS1"])
        assert_same_as_reference(text, starts=naive_sentence_starts(text))
