"""The query engine on a tiny project whose answers can be checked by eye.

The three transcripts of the shared ``transcript_dir`` fixture, their sidecar
(JS1 jobbspesialist, Nord, 34; V1 veileder, Nord, 31; V2 veileder, Sør, 44,
interviewed 12.03.2026), the three shipped codebooks and these codings
(``[a]`` coder-a, ``[b]`` coder-b)::

    JS1  turn 3 (JS1)   tilfredshet [a]  "Det går bra. ... (...) synes jeg."   (the whole turn)
                        relasjoner [a]   "Vi sitter på samme gang"             (nested in it)
                        vi-folelse [a]   "«vi-følelsen» er sterk"              (nested in it)
         turns 3 to 5   gjensidig-laering [a]  "synes jeg. ... løser ting sammen."
                                         (across the interviewer's turn 4)
         turn 5 (JS1)   definisjonsmakt [b]  "Det er nærhet som gjør det."
    V1   turn 1 (I)     innsoking [a]    "Hva tenker du om innsøkingen?"       (an interviewer)
         turn 2 (V1)    innsoking [a] and [b]  "Den er tungvint, ærlig talt."  (the same span)
                        arbeidsmengde [a]  "Skjemaene tar tid"
                        dokumentasjon [a]  ", og jeg må dokumentere alt."     (touching it)
    V2   turn 2 (V2)    goodwill-ressurser [a]  "Jobbspesialistene får ressursene, føler jeg."
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qcode import services
from qcode.errors import QueryError
from qcode.query.engine import QueryResult
from qcode.resources import codebook_dir
from qcode.store import Store

ACTOR = "tester"
CODINGS = [  # document, code, quote, coder
    ("JS1", "tilfredshet", "Det går bra. Vi sitter på samme gang, så vi snakker sammen hver "
     "dag.\nOg «vi-følelsen» er sterk (...) synes jeg.", "coder-a"),
    ("JS1", "relasjoner", "Vi sitter på samme gang", "coder-a"),
    ("JS1", "vi-folelse", "«vi-følelsen» er sterk", "coder-a"),
    ("JS1", "gjensidig-laering", "synes jeg.\n\nI: Kan du si mer?\n\nJS1: Ja, (veileder) og jeg "
     "løser ting sammen.", "coder-a"),
    ("JS1", "definisjonsmakt", "Det er nærhet som gjør det.", "coder-b"),
    ("V1", "innsoking", "Hva tenker du om innsøkingen?", "coder-a"),
    ("V1", "innsoking", "Den er tungvint, ærlig talt.", "coder-a"),
    ("V1", "innsoking", "Den er tungvint, ærlig talt.", "coder-b"),
    ("V1", "arbeidsmengde", "Skjemaene tar tid", "coder-a"),
    ("V1", "dokumentasjon", ", og jeg må dokumentere alt.", "coder-a"),
    ("V2", "goodwill-ressurser", "Jobbspesialistene får ressursene, føler jeg.", "coder-a"),
]
_BUILT: dict[str, Path] = {}


def _build(transcripts: Path, sidecar: Path, folder: Path) -> Path:
    path = services.init_project(folder / "small.qcode", actor=ACTOR)
    store = services.open_project(path)
    try:
        report = services.import_paths(store, [transcripts], services.import_options(store),
                                       attributes=sidecar, actor=ACTOR)
        assert not report.failed
        for name in ("samarbeid", "praksislogikker", "prestisje"):
            services.load_codebook_file(store, codebook_dir() / f"{name}.yaml", actor=ACTOR)
        services.add_coder(store, "coder-b", "Coder B", actor=ACTOR)
        for doc, code, quote, coder in CODINGS:
            services.apply_coding(store, services.SpanRequest(doc, code, quote=quote), coder)
    finally:
        store.close()
    return path


@pytest.fixture
def small_path(transcript_dir: Path, informants_csv: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project, built on first use and shared by the tests of this module."""
    if "path" not in _BUILT:
        _BUILT["path"] = _build(transcript_dir, informants_csv, tmp_path_factory.mktemp("small"))
    return _BUILT["path"]


@pytest.fixture
def small(small_path: Path) -> Iterator[Store]:
    store = services.open_project(small_path)
    yield store
    store.close()


@pytest.fixture
def changed(small: Store, tmp_path: Path) -> Iterator[Store]:
    """A private copy, for tests that change the project."""
    target = sqlite3.connect(tmp_path / "copy.qcode")
    small.conn.backup(target)
    target.close()
    store = services.open_project(tmp_path / "copy.qcode")
    yield store
    store.close()


def q(store: Store, query: str, **options: Any) -> QueryResult:
    return services.run_query(store, query, **options)


def texts(result: QueryResult) -> list[str]:
    return [h.text for h in result.hits]


def cov(result: QueryResult) -> dict[str, tuple[int, int]]:
    return {c.group: (c.count, c.total) for c in result.coverage}


def test_the_project(small: Store) -> None:
    assert [(t.index, t.speaker) for t in small.turns(small.document("JS1").id)] == [
        (1, None), (2, "I"), (3, "JS1"), (4, "I"), (5, "JS1")]
    assert len(small.codings()) == len(CODINGS)


# -- codes and coverage -----------------------------------------------------------------


def test_a_code(small: Store) -> None:
    result = q(small, "relasjoner")
    assert texts(result) == ["Vi sitter på samme gang"]
    hit = result.hits[0]
    assert (hit.document, hit.turn, hit.line, hit.speaker, hit.role) == (
        "JS1", 3, 5, "JS1", "jobbspesialist")
    assert (hit.codes, hit.coders, hit.informants) == (["relasjoner"], ["coder-a"], ["JS1"])
    assert cov(result) == {"jobbspesialist": (1, 1), "veileder": (0, 2)}
    assert [c.sentence() for c in result.coverage] == [
        "1 of 1 jobbspesialist informants", "0 of 2 veileder informants"]


def test_a_code_tree_in_document_order(small: Store) -> None:
    result = q(small, "samarbeid")
    assert [(h.document, h.codes) for h in result.hits] == [
        ("JS1", ["tilfredshet"]), ("JS1", ["relasjoner"]), ("JS1", ["vi-folelse"]),
        ("JS1", ["gjensidig-laering"]), ("V1", ["innsoking"]), ("V1", ["arbeidsmengde"])]
    assert cov(result) == {"jobbspesialist": (1, 1), "veileder": (1, 2)}
    assert texts(q(small, "prestisje")) == ["Det er nærhet som gjør det.",
                                            "Jobbspesialistene får ressursene, føler jeg."]
    assert cov(q(small, "prestisje")) == {"jobbspesialist": (1, 1), "veileder": (1, 2)}


def test_the_same_span_twice_is_one_hit(small: Store) -> None:
    [hit] = q(small, "innsoking").hits
    assert hit.text == "Den er tungvint, ærlig talt."
    assert hit.coders == ["coder-a", "coder-b"] and len(hit.coding_ids) == 2
    assert q(small, "innsoking AND coder = coder-b").hits[0].coders == ["coder-b"]


def test_empty_results(small: Store) -> None:
    result = q(small, "merkelapper")
    assert result.hits == []
    assert cov(result) == {"jobbspesialist": (0, 1), "veileder": (0, 2)}
    none = q(small, "prestisje AND role = jobbspesialist AND office = Sør")
    assert none.hits == [] and none.coverage == []  # no jobbspesialist at Sør
    assert q(small, '"finnes ikke"').hits == []
    assert q(small, "=samarbeid").hits == []


# -- the interviewer --------------------------------------------------------------------


def test_a_coding_by_an_interviewer(small: Store) -> None:
    assert texts(q(small, "innsoking")) == ["Den er tungvint, ærlig talt."]
    both = q(small, "innsoking", include_interviewer=True)
    assert texts(both) == ["Hva tenker du om innsøkingen?", "Den er tungvint, ærlig talt."]
    assert both.hits[0].role == "interviewer" and both.hits[0].informants == []
    # the interviewer never counts for coverage
    assert cov(both) == cov(q(small, "innsoking")) == {"jobbspesialist": (0, 1),
                                                      "veileder": (1, 2)}
    named = q(small, "innsoking AND role = interviewer")
    assert texts(named) == ["Hva tenker du om innsøkingen?"] and named.coverage == []
    assert texts(q(small, "innsoking AND speaker = I")) == ["Hva tenker du om innsøkingen?"]
    assert texts(q(small, "innsoking AND speaker != I")) == ["Den er tungvint, ærlig talt."]
    freq = {r.code: r for r in services.frequencies(small)}
    with_i = {r.code: r for r in services.frequencies(small, include_interviewer=True)}
    assert (freq["innsoking"].codings, with_i["innsoking"].codings) == (2, 3)
    assert freq["innsoking"].informants == with_i["innsoking"].informants == 1
    m = services.matrix(small, "codes", "role", codes=["innsoking"], include_interviewer=True)
    assert m.cells["innsoking"] == {"interviewer": 1, "jobbspesialist": 0, "veileder": 2}


def test_text_in_interviewer_turns(small: Store) -> None:
    assert q(small, "text:innsøkingen").hits == []
    assert texts(q(small, "text:innsøkingen", include_interviewer=True)) == ["innsøkingen"]
    assert texts(q(small, "text:Takk AND role = interviewer")) == ["Takk"]


# -- nested, touching and cross-turn codings ---------------------------------------------


def test_nested_codings(small: Store) -> None:
    assert texts(q(small, "relasjoner inside tilfredshet")) == ["Vi sitter på samme gang"]
    assert q(small, "tilfredshet inside relasjoner").hits == []
    assert [h.codes for h in q(small, "tilfredshet AND relasjoner").hits] == [
        ["tilfredshet"], ["relasjoner"]]
    assert [h.codes for h in q(small, "tilfredshet overlaps relasjoner").hits] == [
        ["tilfredshet"]]
    assert q(small, "tilfredshet AND NOT relasjoner").hits == []
    assert q(small, "relasjoner AND NOT vi-folelse").hits[0].codes == ["relasjoner"]
    # the whole turn is inside itself
    assert [h.codes for h in q(small, "tilfredshet inside tilfredshet").hits] == [
        ["tilfredshet"]]


def test_touching_codings_do_not_overlap(small: Store) -> None:
    [a] = q(small, "arbeidsmengde").hits
    [b] = q(small, "dokumentasjon").hits
    assert a.end == b.start
    assert q(small, "arbeidsmengde AND dokumentasjon").hits == []
    assert q(small, "arbeidsmengde overlaps dokumentasjon").hits == []
    assert q(small, "arbeidsmengde inside samarbeid/*").hits[0].codes == ["arbeidsmengde"]
    assert texts(q(small, "arbeidsmengde followed by dokumentasjon")) == ["Skjemaene tar tid"]
    assert q(small, "dokumentasjon followed by arbeidsmengde").hits == []
    assert texts(q(small, "arbeidsmengde within 0 turns of dokumentasjon")) == [
        "Skjemaene tar tid"]
    assert texts(q(small, "dokumentasjon within 0 sentences of arbeidsmengde")) == [
        ", og jeg må dokumentere alt."]
    # "Den er tungvint, ærlig talt." is the sentence before
    assert q(small, "innsoking within 0 sentences of arbeidsmengde").hits == []
    assert len(q(small, "innsoking within 1 sentence of arbeidsmengde").hits) == 1


def test_a_coding_across_turns(small: Store) -> None:
    [hit] = q(small, "gjensidig-laering").hits
    assert hit.text.startswith("synes jeg.") and hit.text.endswith("løser ting sammen.")
    assert (hit.turn, hit.speaker) == (3, "JS1")
    # it touches turns 3, 4 (the interviewer) and 5; a turn unit leaves the interviewer out
    turns = q(small, "gjensidig-laering", unit="turn")
    assert [h.turn for h in turns.hits] == [3, 5]
    assert [h.turn for h in q(small, "gjensidig-laering", unit="turn",
                              include_interviewer=True).hits] == [3, 4, 5]
    # its place is where it starts: turn 3, two turns before definisjonsmakt in turn 5
    assert q(small, "gjensidig-laering within 1 turn of definisjonsmakt").hits == []
    assert len(q(small, "gjensidig-laering within 2 turns of definisjonsmakt").hits) == 1
    # followed by: the default distance is two turns (the informant's next answer)
    assert len(q(small, "gjensidig-laering followed by definisjonsmakt").hits) == 1
    assert q(small, "gjensidig-laering followed by definisjonsmakt within 1 turn").hits == []
    assert len(q(small, "gjensidig-laering followed by definisjonsmakt within 2 turns")
               .hits) == 1
    assert q(small, "gjensidig-laering overlaps definisjonsmakt").hits == []
    assert len(q(small, "gjensidig-laering overlaps tilfredshet").hits) == 1
    freq = {r.code: r for r in services.frequencies(small)}
    assert freq["gjensidig-laering"].informants == 1
    # every word of its text: the interviewer's question and the labels "I" and "JS1" too
    assert freq["gjensidig-laering"].words == 15
    m = services.matrix(small, "codes", "role", codes=["gjensidig-laering"], measure="turns")
    assert m.cells["gjensidig-laering"] == {"jobbspesialist": 2, "veileder": 0}
    m = services.matrix(small, "codes", "role", codes=["gjensidig-laering"], measure="turns",
                        include_interviewer=True)
    assert m.cells["gjensidig-laering"]["jobbspesialist"] == 3


# -- filters ----------------------------------------------------------------------------


def test_filters(small: Store) -> None:
    def speakers(query: str) -> list[tuple[str, int | None]]:
        return [(h.document, h.turn) for h in q(small, query).hits]
    assert speakers("office = Nord") == [("JS1", 3), ("JS1", 5), ("V1", 2)]
    assert speakers("office = nord") == speakers("office = Nord")  # any case
    assert speakers("age >= 40") == [("V2", 2)]
    assert speakers("age < 34") == [("V1", 2)]
    assert speakers("age in (31, 44)") == [("V1", 2), ("V2", 2)]
    # a missing value is "not in": the title line (turn 1) has no speaker
    assert speakers("age not in (31, 44)") == [("JS1", 1), ("JS1", 3), ("JS1", 5)]
    # the sidecar wrote 12.03.2026; either spelling compares as a date
    assert speakers("interview_date >= 2026-03-01") == [("V2", 2)]
    assert speakers('interview_date = "12.03.2026"') == [("V2", 2)]
    assert speakers("interview_date < 2026-02-11") == [("JS1", 3), ("JS1", 5)]
    # the title line has no speaker: no role, no office
    assert speakers("role != veileder") == [("JS1", 1), ("JS1", 3), ("JS1", 5)]
    assert speakers("document = V2") == [("V2", 2)]
    assert texts(q(small, "samarbeid AND office = Nord AND age < 34")) == [
        "Den er tungvint, ærlig talt.", "Skjemaene tar tid"]


def test_coverage_is_counted_in_the_filtered_corpus(small: Store) -> None:
    assert cov(q(small, "samarbeid AND office = Nord")) == {"jobbspesialist": (1, 1),
                                                           "veileder": (1, 1)}
    assert cov(q(small, "prestisje AND office = Sør")) == {"veileder": (1, 1)}
    assert cov(q(small, "prestisje AND NOT office = Sør")) == {"jobbspesialist": (1, 1),
                                                              "veileder": (0, 1)}
    assert cov(q(small, "prestisje", coverage_by="office")) == {"Nord": (1, 2), "Sør": (1, 1)}
    assert cov(q(small, "prestisje AND age > 40", coverage_by="office")) == {"Sør": (1, 1)}


def test_coverage_counts_only_informants_in_scope(changed: Store, tmp_path: Path) -> None:
    # a focus group where one coding runs from V1's turn into JS1's
    group = tmp_path / "fokus.txt"
    group.write_text("I: Hva synes dere?\n\nV1: Vi deler kontor.\n\nJS1: Og kaffemaskin.\n",
                     encoding="utf-8")
    services.import_paths(changed, [group], services.import_options(changed), actor=ACTOR)
    services.apply_coding(changed, services.SpanRequest(
        "fokus", "relasjoner", quote="Vi deler kontor.\n\nJS1: Og kaffemaskin."), "coder-a")
    everyone = q(changed, "relasjoner AND document = fokus")
    assert cov(everyone) == {"jobbspesialist": (1, 1), "veileder": (1, 1)}
    assert everyone.hits[0].informants == ["JS1", "V1"]
    # JS1's part does not count where only veiledere are in scope
    veiledere = q(changed, "relasjoner AND document = fokus AND role = veileder")
    assert cov(veiledere) == {"veileder": (1, 1)}
    assert veiledere.hits[0].informants == ["V1"]


# -- text -------------------------------------------------------------------------------


def test_text_search(small: Store) -> None:
    assert texts(q(small, "text:gang")) == ["gang"]
    assert texts(q(small, '"samme gang"')) == ["samme gang"]
    assert texts(q(small, "«sammen hver dag»")) == ["sammen hver dag"]
    assert texts(q(small, "samm*")) == ["samme", "sammen", "sammen"]
    assert texts(q(small, "text:vi-følelsen")) == ["vi-følelsen"]
    assert texts(q(small, "text:folelsen")) == []
    assert texts(q(small, "~vi-folelsen")) == ["vi-følelsen"]  # one hyphenated word
    assert texts(q(small, "~folelsen")) == []  # too far from vi-følelsen
    assert texts(q(small, "text:føler")) == ["føler"]
    assert texts(q(small, "~jobbspesialister")) == ["Jobbspesialistene"]
    # a text match inside a coding, with AND: both
    assert [h.codes for h in q(small, '"samme gang" AND relasjoner').hits] == [
        ["relasjoner"], []]


# -- units, context ---------------------------------------------------------------------


def test_units_and_context(small: Store) -> None:
    doc_hits = q(small, "samarbeid", unit="document").hits
    assert [(h.document, h.text, h.speaker) for h in doc_hits] == [("JS1", "", None),
                                                                   ("V1", "", None)]
    assert doc_hits[1].codes == ["arbeidsmengde", "innsoking"]
    assert doc_hits[1].informants == ["V1"]
    [turn] = q(small, "goodwill-ressurser", unit="turn", context=1).hits
    assert turn.text == "Vi har mange brukere. Jobbspesialistene får ressursene, føler jeg."
    assert (turn.time, turn.context_before, turn.context_after) == (
        9.0, "Fortell om kontoret.", "")


def test_errors(small: Store) -> None:
    with pytest.raises(QueryError) as info:
        q(small, "samarbeid AND kontor = Nord")
    assert info.value.position == 14 and info.value.hint == (
        "fields: age, coder, doc, document, interview_date, kind, office, role, speaker")
    with pytest.raises(QueryError):
        q(small, "lemma:samarbeid")


# -- counts -----------------------------------------------------------------------------


def test_frequency_table(small: Store) -> None:
    rows = {r.code: r for r in services.frequencies(small)}
    assert (rows["relasjoner"].codings, rows["relasjoner"].words) == (1, 5)
    assert (rows["innsoking"].codings, rows["innsoking"].words) == (2, 5)  # the same words
    assert (rows["prestisje"].codings, rows["prestisje"].own_codings) == (2, 0)
    assert rows["prestisje"].words == 6 + 5
    assert (rows["prestisje"].documents, rows["prestisje"].informants) == (2, 2)
    samarbeid = rows["samarbeid"]
    assert (samarbeid.codings, samarbeid.documents, samarbeid.informants) == (7, 2, 2)
    # tilfredshet holds relasjoner and vi-folelse (vi-følelsen is one word);
    # gjensidig-laering shares "synes jeg" with it and adds 13 words
    assert rows["vurdering"].words == rows["tilfredshet"].words == 20
    assert samarbeid.words == 20 + 13 + 5 + 3
    assert rows["merkelapper"].codings == 0
    only_b = {r.code: r for r in services.frequencies(small, coders=["coder-b"])}
    assert (only_b["innsoking"].codings, only_b["prestisje"].codings) == (1, 1)


def test_matrices(small: Store) -> None:
    m = services.matrix(small, "codes", "role", depth=0)
    assert m.rows == ["samarbeid", "praksislogikker", "prestisje"]
    assert m.cells == {"samarbeid": {"jobbspesialist": 4, "veileder": 3},
                       "praksislogikker": {"jobbspesialist": 0, "veileder": 1},
                       "prestisje": {"jobbspesialist": 1, "veileder": 1}}
    assert m.column_totals == {"jobbspesialist": 5, "veileder": 5}
    informants = services.matrix(small, "codes", "role", depth=0, measure="informants")
    assert informants.cells["samarbeid"] == {"jobbspesialist": 1, "veileder": 1}
    office = services.matrix(small, "codes", "office", depth=0, measure="documents")
    assert office.cells["prestisje"] == {"Nord": 1, "Sør": 1}
    assert office.cells["samarbeid"] == {"Nord": 2, "Sør": 0}
    co = services.matrix(small, "codes", "codes", codes=["tilfredshet", "relasjoner",
                                                         "vi-folelse", "arbeidsmengde",
                                                         "dokumentasjon"])
    assert co.cells["tilfredshet"] == {"relasjoner": 1, "vi-folelse": 1, "tilfredshet": 1,
                                       "arbeidsmengde": 0, "dokumentasjon": 0}
    assert co.cells["arbeidsmengde"]["dokumentasjon"] == 0  # touching only
    assert co.cells["relasjoner"]["vi-folelse"] == 0


# -- a report and its exports -------------------------------------------------------------


def test_report_and_exports(changed: Store, tmp_path: Path) -> None:
    rid = services.create_report(changed, "Innsøking", "innsoking OR prestisje",
                                 actor=ACTOR)
    data = services.report_data(changed, rid)
    assert [s.code for s in data.sections] == ["innsoking", "goodwill-ressurser",
                                               "definisjonsmakt"]  # codebook order
    lines = {s.code: [(c.group, c.count, c.total) for c in s.coverage] for s in data.sections}
    assert lines["innsoking"] == [("jobbspesialist", 0, 1), ("veileder", 1, 2)]
    assert lines["definisjonsmakt"] == [("jobbspesialist", 1, 1), ("veileder", 0, 2)]
    md = services.export_report(changed, rid, tmp_path / "r.md").read_text("utf-8")
    assert "*0 av 1 jobbspesialist, 1 av 2 veiledere*" in md
    assert "| «Den er tungvint, ærlig talt.» | V1 | veileder | V1, tur 2, linje 3 |" in md
    table = list(csv.DictReader(io.StringIO(
        services.export_report(changed, rid, tmp_path / "r.csv").read_text("utf-8"))))
    assert [(r["code"], r["coders"]) for r in table] == [
        ("innsoking", "coder-a; coder-b"), ("goodwill-ressurser", "coder-a"),
        ("definisjonsmakt", "coder-b")]
    assert table[1]["time"] == "00:00:09"
    # code V2's first sentence too, then rerun
    services.apply_coding(changed, services.SpanRequest(
        "V2", "goodwill-ressurser", quote="Vi har mange brukere."), "coder-b")
    _new, diff = services.rerun_report(changed, rid, actor=ACTOR)
    assert [h["text"] for h in diff["added"]] == ["Vi har mange brukere."]
    assert diff["removed"] == []


# -- the corpus cache ---------------------------------------------------------------------


def test_the_corpus_is_reused_until_the_project_changes(changed: Store) -> None:
    from qcode.query.engine import corpus_for

    first = corpus_for(changed)
    assert corpus_for(changed) is first  # nothing changed: no second load
    other = services.open_project(changed.path)  # another connection shares it ...
    try:
        assert corpus_for(other).codings is first.codings
        # ... and its changes are seen by this one
        services.apply_coding(other, services.SpanRequest("V2", "arbeidsmengde",
                                                          quote="føler jeg"), "coder-a")
    finally:
        other.close()
    assert texts(q(changed, "arbeidsmengde")) == ["Skjemaene tar tid", "føler jeg"]
    assert corpus_for(changed) is not first
    stamp = changed.data_version()
    services.undo(changed, "coder-a")
    assert changed.data_version() != stamp
    assert texts(q(changed, "arbeidsmengde")) == ["Skjemaene tar tid"]


def test_blind_and_open_corpora_are_kept_apart(changed: Store) -> None:
    from qcode.query.engine import corpus_for

    everyone, only_b = corpus_for(changed), corpus_for(changed, ["coder-b"])
    assert {k.coder for k in everyone.codings} == {"coder-a", "coder-b"}
    assert {k.coder for k in only_b.codings} == {"coder-b"}
    assert corpus_for(changed) is everyone


def test_the_data_version_follows_every_change_the_corpus_holds(changed: Store) -> None:
    seen = {changed.data_version()}

    def changed_again() -> bool:
        stamp = changed.data_version()
        fresh = stamp not in seen
        seen.add(stamp)
        return fresh

    coding = services.apply_coding(changed, services.SpanRequest(
        "V2", "arbeidsmengde", quote="føler jeg"), "coder-a")
    assert changed_again()
    services.remove_codings(changed, [str(coding.id)], actor="coder-a")
    assert changed_again()
    services.edit_code(changed, "arbeidsmengde", {"name": "Arbeidsmengda"}, actor=ACTOR)
    assert changed_again()
    before = changed.data_version()
    with pytest.raises(RuntimeError), changed.transaction():
        changed.conn.execute("UPDATE speakers SET role = 'veileder' WHERE id = 'JS1'")
        raise RuntimeError("rolled back")
    assert changed.data_version() == before  # nothing changed after all
    assert q(changed, "role = jobbspesialist").hits


def test_fuzzy_search_of_one_word_matches_a_scan_of_every_word(small: Store) -> None:
    """The vocabulary short cut finds exactly what comparing every word finds."""
    import re

    from rapidfuzz import fuzz

    from qcode.query.engine import corpus_for

    corpus = corpus_for(small)
    for word, threshold in (("sammen", 80), ("veilder", 75), ("vi-følelsen", 80),
                            ("Dokumentre", 85), ("tungvint", 100)):
        expected = set()
        for doc, turns in corpus.turns.items():
            text = corpus.text(doc)
            for t in turns:
                if t.role == "interviewer":
                    continue
                for m in re.finditer(r"\w+(?:-\w+)*", text[:t.end]):
                    if m.start() >= t.start and fuzz.ratio(word.lower(),
                                                           m.group().lower()) >= threshold:
                        expected.add((corpus.docs[doc]["name"], m.start(), m.end()))
        got = {(h.document, h.start, h.end)
               for h in q(small, f"~{word}:{threshold}").hits}
        assert got == expected, word
        assert expected, word


def test_word_bounds_on_code_points_equal_the_pattern() -> None:
    """The array-based word bounds are exactly the matches of the word pattern, also with
    joining marks in runs, digits, underscores and letters outside the Basic Plane."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from qcode.query import aggregate

    alphabet = st.sampled_from([*"abø1_ -’'.\n«»", "\U0001d518", "\U0001f600", "\u0301", "Å"])

    @settings(max_examples=400, deadline=None)
    @given(st.text(alphabet, max_size=40))
    def check(text: str) -> None:
        starts, ends = aggregate.word_bounds(text)
        expected = [m.span() for m in aggregate._WORD.finditer(text)]
        assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == expected

    check()


def test_words_counted_from_word_bounds_match_the_pattern_on_the_slices() -> None:
    """The frequency table's word count by binary search equals scanning the merged
    stretches (one range: the slice; several, overlapping or touching: their union)."""
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from qcode.query import aggregate

    class Texts:
        def __init__(self, texts: dict[int, str]) -> None:
            self._texts, self._lazy, self.docs = texts, {}, dict.fromkeys(texts)

        def text(self, doc: int) -> str:
            return self._texts[doc]

        def load_texts(self, docs: object) -> None:
            pass

    alphabet = st.sampled_from(list("abø1 -’'.\n«»_"))

    @settings(max_examples=400, deadline=None)
    @given(st.lists(st.text(alphabet, max_size=40), min_size=1, max_size=3), st.data())
    def check(texts: list[str], data: st.DataObject) -> None:
        corpus = Texts({i * 2 + 1: t for i, t in enumerate(texts)})
        ranges = []
        for _ in range(data.draw(st.integers(1, 4))):
            doc = data.draw(st.sampled_from(sorted(corpus.docs)))
            n = len(corpus.text(doc))
            s = data.draw(st.integers(0, n))
            ranges.append((doc, s, data.draw(st.integers(s, n))))
        expected = 0
        for doc in corpus.docs:
            merged: list[list[int]] = []
            for _, s, e in sorted(r for r in ranges if r[0] == doc):
                if merged and s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            expected += sum(len(aggregate._WORD.findall(corpus.text(doc), s, e))
                            for s, e in merged)
        docs, starts, ends = (np.array(c, dtype=np.int64) for c in zip(*ranges, strict=True))
        assert aggregate._merged_words(corpus, docs, starts, ends) == expected  # type: ignore[arg-type]

    check()
