"""Code suggestions: proposing, storing, accepting, rejecting, warm start, and the evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcode import services
from qcode.nlp.lemmatizer import LemmaLookup
from qcode.nlp.matching import IndicatorMatcher
from qcode.nlp.suggest import CodeProfile, Suggester, Target, Unit
from qcode.services.coding import SpanRequest
from qcode.store import Store

from ..conftest import REPO

CODEBOOKS = [REPO / "codebooks" / f"{b}.yaml" for b in ("samarbeid", "praksislogikker",
                                                         "prestisje")]
TOP = ["samarbeid", "praksislogikker", "prestisje"]

INTERVIEW = "\n\n".join([
    "I: Hvordan er samarbeidet med veilederne, og hvordan er teamfølelsen?",
    "JS9: Vi har et veldig godt samarbeid, vi jobber sammen om felles brukere hver dag. "
    "Vi sitter på samme gang og tar en kaffe sammen. Ingen kaller oss eliten her.",
    "I: Blir dere sett på som eliten på huset?",
    "JS9: Noen kaller oss spydspissen og eliten, og det handler nok om status og prestisje. "
    "Jeg liker ikke de merkelappene.",
    "I: Og brukerne?",
    "JS9: Mange sier at brukeren må stabiliseres først, at hen ikke er arbeidsklar ennå. "
    "Jeg tror heller på arbeid først med oppfølging.",
    "I: Takk.",
    "JS9: Takk selv. Det var hyggelig å prate.",
]) + "\n"


@pytest.fixture(autouse=True)
def blank(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QCODE_NLP_PIPELINE", "blank")
    monkeypatch.setenv("QCODE_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("QCODE_CODER", "coder-a")


@pytest.fixture
def project(store: Store, tmp_path: Path) -> Store:
    """A fresh project with one interview and only the shipped codebooks."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "JS9.txt").write_text(INTERVIEW, encoding="utf-8")
    services.import_paths(store, [folder], services.import_options(store), actor="tester")
    for path in CODEBOOKS:
        services.load_codebook_file(store, path, actor="tester")
    return store


def _turn_of(store: Store, doc: str, needle: str) -> tuple[int, int]:
    d = store.document(doc)
    at = d.text.index(needle)
    turn = next(t for t in store.turns(d.id) if t.start <= at < t.end)
    return turn.start, turn.end


def test_cold_start_proposes_the_right_top_codes(project: Store) -> None:
    found = services.suggest(project, unit="turn", codes=TOP)
    by_turn: dict[tuple[int, int], set[str]] = {}
    for s in found:
        by_turn.setdefault((s.start, s.end), set()).add(s.code)
    assert "samarbeid" in by_turn[_turn_of(project, "JS9", "godt samarbeid")]
    assert "prestisje" in by_turn[_turn_of(project, "JS9", "spydspissen")]
    assert "praksislogikker" in by_turn[_turn_of(project, "JS9", "arbeidsklar")]
    assert (_turn_of(project, "JS9", "Takk selv")) not in by_turn


def test_proposals_are_stored_pending_with_method_pipeline_and_score(project: Store) -> None:
    found = services.suggest(project, unit="sentence")
    assert found
    text = project.document("JS9").text
    for s in found:
        assert s.status == "pending" and s.coding_id is None
        assert 0.35 <= s.score <= 1
        assert s.method and set(s.method.split("+")) <= {
            "indicator", "codebook", "fuzzy", "context", "similarity", "calibrated"}
        assert s.pipeline.startswith("blank-nb/")
        assert s.text == text[s.start:s.end] and s.text.strip() == s.text
    stored = services.list_suggestions(project, status="pending")
    assert [s.id for s in stored] == sorted(s.id for s in found) or \
        {s.id for s in stored} == {s.id for s in found}


def test_reasons_are_human_readable(project: Store) -> None:
    found = services.suggest(project, unit="turn", codes=TOP)
    prestige = next(s for s in found if s.code == "prestisje")
    assert "indicator «spydspiss» of «Merkelapper»: «spydspissen»" in prestige.reason
    assert "words of the codebook text of «" in prestige.reason
    assert all(s.reason and "«" in s.reason for s in found)


def test_default_proposes_the_most_specific_supported_code(project: Store) -> None:
    found = services.suggest(project, unit="turn")
    codes = {s.code for s in found if (s.start, s.end) == _turn_of(project, "JS9",
                                                                      "spydspissen")}
    assert "merkelapper" in codes  # a leaf, not only «prestisje»
    paths = {s.code: s.path for s in found}
    assert paths["merkelapper"] == "prestisje/merkelapper"
    assert all(len([x for x in found if (x.start, x.end) == (s.start, s.end)]) <= 3
               for s in found)


def test_accept_makes_codings_of_the_active_coder_and_undo_reopens(project: Store) -> None:
    found = services.suggest(project, unit="turn", codes=TOP)
    chosen = [s for s in found if s.code == "prestisje"][:1]
    coding_ids = services.accept_suggestions(project, [s.id for s in chosen], None)
    coding = project.coding(coding_ids[0])
    assert coding.coder_id == "coder-a" and coding.code_id == "prestisje"
    assert (coding.start, coding.end) == (chosen[0].start, chosen[0].end)
    after = services.list_suggestions(project, ids=[chosen[0].id])[0]
    assert after.status == "accepted" and after.coding_id == coding.id
    with pytest.raises(Exception, match="decided already"):
        services.accept_suggestions(project, [chosen[0].id], None)
    services.undo(project, "coder-a")
    assert not project.codings(coder_id="coder-a")
    again = services.list_suggestions(project, ids=[chosen[0].id])[0]
    assert again.status == "pending" and again.coding_id is None


def test_rejected_span_and_code_is_never_proposed_again(project: Store) -> None:
    first = services.suggest(project, unit="sentence")
    victim = first[0]
    assert services.reject_suggestions(project, [victim.id], None) == 1
    second = services.suggest(project, unit="sentence")
    assert (victim.start, victim.end, victim.code) not in {(s.start, s.end, s.code)
                                                           for s in second}
    rejected = services.list_suggestions(project, status="rejected")
    assert [s.id for s in rejected] == [victim.id]


def test_already_coded_spans_are_not_proposed_again(project: Store) -> None:
    first = services.suggest(project, unit="turn", codes=TOP)
    target = next(s for s in first if s.code == "samarbeid")
    services.apply_codings(project, [SpanRequest("JS9", "relasjoner", target.start,
                                                 target.end)], "coder-a")
    second = services.suggest(project, unit="turn", codes=TOP, coder="coder-a")
    assert not any(s.code == "samarbeid" and s.start < target.end and s.end > target.start
                   for s in second)
    # another coder still gets it: coders code independently
    third = services.suggest(project, unit="turn", codes=TOP, coder="coder-b")
    assert any(s.code == "samarbeid" and (s.start, s.end) == (target.start, target.end)
               for s in third)


def test_interviewer_turns_are_left_out_by_default(project: Store) -> None:
    doc = project.document("JS9")
    asking = [(t.start, t.end) for t in project.turns(doc.id) if t.is_interviewer]

    def inside(s: services.Suggestion) -> bool:
        return any(a <= s.start and s.end <= b for a, b in asking)

    plain = services.suggest(project, unit="sentence", min_score=0.05)
    assert plain and not any(inside(s) for s in plain)
    withi = services.suggest(project, unit="sentence", min_score=0.05,
                             include_interviewer=True)
    assert any(inside(s) for s in withi)


def test_warm_start_changes_scores_after_coding(project: Store) -> None:
    def score_of(found: list[services.Suggestion], needle: str, code: str) -> float:
        span = _turn_of(project, "JS9", needle)
        return next((s.score for s in found if (s.start, s.end) == span and s.code == code),
                    0.0)

    cold = services.suggest(project, unit="turn", codes=TOP, min_score=0.0)
    before = score_of(cold, "godt samarbeid", "prestisje")
    services.apply_codings(project, [SpanRequest("JS9", "prestisje", *_turn_of(
        project, "JS9", "spydspissen"))], "coder-a")
    warm = services.suggest(project, unit="turn", codes=TOP, min_score=0.0, coder="coder-b")
    after = score_of(warm, "godt samarbeid", "prestisje")
    assert after > before  # it shares «kalle» and «elite» with the coded turn
    assert any("like excerpts already coded with it" in s.reason for s in warm)


def test_evaluate_reports_precision_recall_per_code(project: Store) -> None:
    services.apply_codings(project, [SpanRequest("JS9", "prestisje", *_turn_of(
        project, "JS9", "spydspissen"))], "coder-a")
    result = services.evaluate_suggestions(project, gold_coder="coder-a", unit="turn",
                                           thresholds=(0.35,))
    row = result["codes"]["prestisje"]["0.35"]
    assert row["gold_units"] == 1 and row["recall"] == 1.0
    human = services.evaluate_suggestions(project, gold_coder="coder-a", unit="turn",
                                          reference_coder="coder-a")
    assert human["codes"]["prestisje"]["0.35"]["f1"] == 1.0


# -- the evidence, without a project ---------------------------------------------------


def _tokens(text: str, lemmas: dict[str, str]) -> dict[str, list[object]]:
    import re

    words = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\w+(?:-\w+)*", text)]
    return {"start": [s for s, _e, _w in words], "end": [e for _s, e, _w in words],
            "lemma": [lemmas.get(w, w.lower()) for _s, _e, w in words],
            "stop": [0] * len(words)}


def test_indicators_match_by_lemma_and_inside_compounds() -> None:
    lookup = LemmaLookup.default()
    text = ("Samarbeidet er godt. Samarbeidsmøtene hjelper. Veilederen ringte. "
            "Avdelingslederen bestemte. Vi ble sekretærer.")
    lemmas = {w: lookup.lemma(w) for w in text.replace(".", "").split()}
    lemmas["sekretærer"] = "sekretære"  # a tagging error: read as a verb
    matcher = IndicatorMatcher({"samarbeid": ["samarbeid"], "ledelse": ["leder"],
                                "makt": ["sekretær"]})
    found = {(m.form, m.code_id, m.kind) for m in matcher.match(text, _tokens(text, lemmas))}
    assert ("Samarbeidet", "samarbeid", "lemma") in found
    assert ("Samarbeidsmøtene", "samarbeid", "compound") in found
    assert ("Avdelingslederen", "ledelse", "compound") in found
    assert not any(form == "Veilederen" for form, _c, _k in found)  # vei|leder is no compound
    assert ("sekretærer", "makt", "lemma") in found


def _suggester(text: str, indicators: dict[str, list[str]]) -> tuple[Suggester, Unit]:
    lookup = LemmaLookup.default()
    tokens = _tokens(text, {})
    tokens["lemma"] = [lookup.lemma(text[s:e]) for s, e in zip(  # type: ignore[arg-type]
        tokens["start"], tokens["end"], strict=True)]
    targets = [Target(c, (c,), "", tuple(i), (CodeProfile(c, c.title(), " ".join(i), "",
                                                          tuple(i)),))
               for c, i in indicators.items()]
    unit = Unit(1, 1, 0, len(text), text, tokens)
    return Suggester(targets, [unit], {}), unit


def test_fuzzy_matches_misspellings_of_indicators() -> None:
    sg, unit = _suggester("Det er god teamfølesen her, og samarbeidt går fint.",
                          {"vi": ["teamfølelse"], "sam": ["samarbeidet"]})
    by_code = {p.code_id: p for p in sg.score(unit)}
    assert "fuzzy" in by_code["vi"].method
    assert "«teamfølesen» looks like the indicator «teamfølelse»" in by_code["vi"].reason
    assert "«samarbeidt» looks like the indicator «samarbeidet»" in by_code["sam"].reason


def test_known_words_are_not_fuzzy_matches() -> None:
    sg, unit = _suggester("Vi har et samarbeid om arbeidet.", {"x": ["samarbeidet"]})
    assert not any("looks like" in p.reason for p in sg.score(unit))


def test_ubiquitous_indicators_count_less() -> None:
    lookup = LemmaLookup.default()
    texts = ["Vi snakker om samarbeid hver dag."] * 30 + ["De kalte oss spydspissen."]
    units = []
    for i, text in enumerate(texts):
        tokens = _tokens(text, {})
        tokens["lemma"] = [lookup.lemma(w) for w in text.rstrip(".").split()]
        units.append(Unit(1, i, 0, len(text), text, tokens))
    targets = [Target(c, (c,), "", (i,), (CodeProfile(c, c, i, "", (i,)),))
               for c, i in (("a", "samarbeid"), ("b", "spydspiss"))]
    sg = Suggester(targets, units, {})
    assert 0.0 < sg.specificity("samarbeid") < 0.2 < 0.6 < sg.specificity("spydspiss") <= 1.0
    weak = next(p for p in sg.score(units[0]) if p.code_id == "a")
    strong = next(p for p in sg.score(units[-1]) if p.code_id == "b")
    assert weak.score < strong.score
