"""The query parser: every construct, precedence, aliases, round trips, errors, fuzzing."""

from __future__ import annotations

import functools
import unicodedata
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import qcode.query.parser as parser_module
from qcode.errors import QueryError
from qcode.query.ast import (
    And,
    CodeRef,
    Filter,
    Node,
    Not,
    Or,
    Relation,
    Text,
    equal_ignoring_pos,
    to_text,
    walk,
)
from qcode.query.parser import MAX_DEPTH, parse


def same(query: str, expected: Node) -> None:
    node = parse(query)
    assert equal_ignoring_pos(node, expected), f"{query!r} parsed as {node}"


def code(path: str, mode: str = "tree") -> CodeRef:
    return CodeRef(path, mode, 0)  # type: ignore[arg-type]


def text(kind: str, value: str, threshold: int | None = None) -> Text:
    return Text(kind, value, 0, threshold)  # type: ignore[arg-type]


def where(field: str, op: str, *values: str | float) -> Filter:
    return Filter(field, op, tuple(values), 0)  # type: ignore[arg-type]


P, S, V = code("prestisje"), code("samarbeid"), code("vurdering")


# ---------------------------------------------------------------------------
# terms
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("prestisje", code("prestisje")),
        ("=prestisje", code("prestisje", "exact")),
        ("= prestisje", code("prestisje", "exact")),
        ("praksislogikker/*", code("praksislogikker", "children")),
        ("samarbeid/relasjoner", code("samarbeid/relasjoner")),
        ("=samarbeid/forutsetninger/vi-folelse", code("samarbeid/forutsetninger/vi-folelse",
                                                      "exact")),
        ("samarbeid/forutsetninger/*", code("samarbeid/forutsetninger", "children")),
        ("aldri-henvist", code("aldri-henvist")),
        ("kode_2", code("kode_2")),
        ("  prestisje\t", code("prestisje")),
    ],
)
def test_code_references(query: str, expected: Node) -> None:
    same(query, expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"felles møter"', text("phrase", "felles møter")),
        ("«felles møter»", text("phrase", "felles møter")),
        ("«Æ ØRLIG Å»", text("phrase", "Æ ØRLIG Å")),
        ('"hun sa \\"nei\\" til Nav"', text("phrase", 'hun sa "nei" til Nav')),
        ('"en \\\\ skråstrek"', text("phrase", "en \\ skråstrek")),
        ('"ikke \\n en escape"', text("phrase", "ikke \\n en escape")),
        ('«sa "ja"»', text("phrase", 'sa "ja"')),
        ('text:"felles møter"', text("phrase", "felles møter")),
        ("text:samarbeid", text("word", "samarbeid")),
        ("TEXT:Samarbeid", text("word", "Samarbeid")),
        ("tekst:teamfølelse", text("word", "teamfølelse")),
        ("text:IPS-metoden", text("word", "IPS-metoden")),
        ("text:og", text("word", "og")),
        ("text:samarb*", text("prefix", "samarb")),
        ("samarbeid*", text("prefix", "samarbeid")),
        ("Jobbspes*", text("prefix", "Jobbspes")),
        ("før*", text("prefix", "før")),
        ("and*", text("prefix", "and")),
        ("lemma:samarbeid", text("lemma", "samarbeid")),
        ("lemma:møte", text("lemma", "møte")),
        ("~teamfølelse", text("fuzzy", "teamfølelse")),
        ("~teamfølelse:80", text("fuzzy", "teamfølelse", 80)),
        ("~Teamfølelse:0", text("fuzzy", "Teamfølelse", 0)),
        ("~«felles møter»:90", text("fuzzy", "felles møter", 90)),
        # NFC: an å written as a + combining ring is stored composed
        ('"a\u030a"', text("phrase", "å")),
        ("text:ga\u030a", text("word", "gå")),
    ],
)
def test_text_terms(query: str, expected: Node) -> None:
    same(query, expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("office = Nord", where("office", "=", "Nord")),
        ("office != Sør", where("office", "!=", "Sør")),
        ("office=Sør", where("office", "=", "Sør")),
        ("age < 40", where("age", "<", 40.0)),
        ("age <= 40.5", where("age", "<=", 40.5)),
        ("age > 40,5", where("age", ">", 40.5)),
        ("age >= -3", where("age", ">=", -3.0)),
        ("interview_date >= 2026-02-10", where("interview_date", ">=", "2026-02-10")),
        ("document = JS1", where("document", "=", "JS1")),
        ("doc = V6", where("document", "=", "V6")),
        ("DOC = V6", where("document", "=", "V6")),
        ("Speaker = JS3", where("speaker", "=", "JS3")),
        ("role = jobbspesialist", where("role", "=", "jobbspesialist")),
        ("coder = anne", where("coder", "=", "anne")),
        ("kind = focus_group", where("kind", "=", "focus_group")),
        ('education = "master i sosialt arbeid"', where("education", "=",
                                                         "master i sosialt arbeid")),
        ("education = «sosionom»", where("education", "=", "sosionom")),
        ('document = "12"', where("document", "=", "12")),
        ("område = Sør", where("område", "=", "Sør")),
        ("Erfaring_år >= 5", where("Erfaring_år", ">=", 5.0)),
        ("office in (Nord, Sør)", where("office", "in", "Nord", "Sør")),
        ("office in (Nord)", where("office", "in", "Nord")),
        ("office IN (Nord,Sør)", where("office", "in", "Nord", "Sør")),
        ("office not in (Nord, «Sør»)", where("office", "not in", "Nord", "Sør")),
        ("office NOT IN (Nord)", where("office", "not in", "Nord")),
        ("office ikke in (Nord)", where("office", "not in", "Nord")),
        ("age in (34, 41.5, -2)", where("age", "in", 34.0, 41.5, -2.0)),
        ("document in (JS1, V6)", where("document", "in", "JS1", "V6")),
    ],
)
def test_filters(query: str, expected: Node) -> None:
    same(query, expected)


# ---------------------------------------------------------------------------
# boolean operators, precedence, relations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("prestisje AND samarbeid", And(P, S, 0)),
        ("prestisje and samarbeid", And(P, S, 0)),
        ("prestisje OG samarbeid", And(P, S, 0)),
        ("prestisje Og samarbeid", And(P, S, 0)),
        ("prestisje OR samarbeid", Or(P, S, 0)),
        ("prestisje ELLER samarbeid", Or(P, S, 0)),
        ("NOT prestisje", Not(P, 0)),
        ("IKKE prestisje", Not(P, 0)),
        ("ikke ikke prestisje", Not(Not(P, 0), 0)),
        ("prestisje OG IKKE samarbeid", And(P, Not(S, 0), 0)),
        # NOT > AND > OR, left associative
        ("prestisje OR samarbeid AND vurdering", Or(P, And(S, V, 0), 0)),
        ("prestisje AND samarbeid OR vurdering", Or(And(P, S, 0), V, 0)),
        ("NOT prestisje AND samarbeid", And(Not(P, 0), S, 0)),
        ("NOT (prestisje AND samarbeid)", Not(And(P, S, 0), 0)),
        ("prestisje AND (samarbeid OR vurdering)", And(P, Or(S, V, 0), 0)),
        ("prestisje AND samarbeid AND vurdering", And(And(P, S, 0), V, 0)),
        ("prestisje OR samarbeid OR vurdering", Or(Or(P, S, 0), V, 0)),
        ("((prestisje))", P),
        ("prestisje AND office = Nord", And(P, where("office", "=", "Nord"), 0)),
        ("NOT office = Nord", Not(where("office", "=", "Nord"), 0)),
        ('"felles møter" ELLER ~teamfølelse',
         Or(text("phrase", "felles møter"), text("fuzzy", "teamfølelse"), 0)),
    ],
)
def test_boolean_operators_and_precedence(query: str, expected: Node) -> None:
    same(query, expected)


def rel(kind: str, left: Node, right: Node, n: int | None = None,
        unit: str | None = None) -> Relation:
    return Relation(kind, left, right, n, unit, 0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("prestisje overlaps samarbeid", rel("overlaps", P, S)),
        ("prestisje OVERLAPPER samarbeid", rel("overlaps", P, S)),
        ("prestisje inside samarbeid", rel("inside", P, S)),
        ("prestisje inni samarbeid", rel("inside", P, S)),
        ("prestisje within 2 turns of samarbeid", rel("within", P, S, 2, "turns")),
        ("prestisje within 1 turn of samarbeid", rel("within", P, S, 1, "turns")),
        ("prestisje within 0 turns of samarbeid", rel("within", P, S, 0, "turns")),
        ("prestisje within 1 sentence of samarbeid", rel("within", P, S, 1, "sentences")),
        ("prestisje within 3 sentences of samarbeid", rel("within", P, S, 3, "sentences")),
        ("prestisje innen 2 turer fra samarbeid", rel("within", P, S, 2, "turns")),
        ("prestisje innen 1 tur fra samarbeid", rel("within", P, S, 1, "turns")),
        ("prestisje innen 1 setning fra samarbeid", rel("within", P, S, 1, "sentences")),
        ("prestisje innen 4 setninger fra samarbeid", rel("within", P, S, 4, "sentences")),
        ("prestisje followed by samarbeid", rel("followed_by", P, S)),
        ("prestisje FOLLOWED BY samarbeid", rel("followed_by", P, S)),
        ("prestisje etterfulgt av samarbeid", rel("followed_by", P, S)),
        ("prestisje followed by samarbeid within 3 turns",
         rel("followed_by", P, S, 3, "turns")),
        ("prestisje etterfulgt av samarbeid innen 1 setning",
         rel("followed_by", P, S, 1, "sentences")),
        ("=prestisje overlaps praksislogikker/*",
         rel("overlaps", code("prestisje", "exact"), code("praksislogikker", "children"))),
        # relations bind tighter than AND/OR and looser than NOT
        ("prestisje overlaps samarbeid AND vurdering", And(rel("overlaps", P, S), V, 0)),
        ("vurdering OR prestisje inside samarbeid", Or(V, rel("inside", P, S), 0)),
        ("NOT prestisje overlaps samarbeid", rel("overlaps", Not(P, 0), S)),
        ("prestisje overlaps NOT samarbeid", rel("overlaps", P, Not(S, 0))),
        ("(prestisje OR vurdering) overlaps samarbeid", rel("overlaps", Or(P, V, 0), S)),
        ("prestisje overlaps (samarbeid AND role = veileder)",
         rel("overlaps", P, And(S, where("role", "=", "veileder"), 0))),
        ('prestisje within 2 turns of ("felles møter")',
         rel("within", P, text("phrase", "felles møter"), 2, "turns")),
        ("(prestisje overlaps samarbeid) inside vurdering",
         rel("inside", rel("overlaps", P, S), V)),
    ],
)
def test_relations(query: str, expected: Node) -> None:
    same(query, expected)


def test_positions_point_at_terms_and_operators() -> None:
    node = parse("NOT prestisje AND office = Nord")
    assert isinstance(node, And) and node.pos == 14
    assert isinstance(node.left, Not) and node.left.pos == 0
    assert node.left.operand.pos == 4
    assert node.right.pos == 18
    relation = parse("=prestisje within 2 turns of samarbeid/*")
    assert isinstance(relation, Relation)
    assert (relation.pos, relation.left.pos, relation.right.pos) == (11, 0, 29)
    fuzzy = parse('(«x» OR ~teamfølelse:80)')
    assert isinstance(fuzzy, Or) and (fuzzy.left.pos, fuzzy.pos, fuzzy.right.pos) == (1, 5, 8)
    # code points, not bytes: æøå count once
    assert parse("«æøå» AND prestisje").pos == 6


def test_walk_yields_every_node_parents_first() -> None:
    node = parse("NOT prestisje overlaps samarbeid OR office = Nord")
    kinds = [type(n).__name__ for n in walk(node)]
    assert kinds == ["Or", "Relation", "Not", "CodeRef", "CodeRef", "Filter"]


def test_equal_ignoring_pos() -> None:
    assert equal_ignoring_pos(parse("prestisje  AND samarbeid"), parse("prestisje OG samarbeid"))
    assert not equal_ignoring_pos(parse("prestisje AND samarbeid"),
                                  parse("prestisje OR samarbeid"))
    assert not equal_ignoring_pos(parse("=prestisje"), parse("prestisje"))
    assert not equal_ignoring_pos(parse("age = 40"), parse('age = "40"'))
    assert parse("prestisje") != parse(" prestisje")  # plain equality compares pos too


# ---------------------------------------------------------------------------
# to_text and the round trip
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "normalised"),
    [
        ("prestisje og ikke samarbeid", "prestisje AND NOT samarbeid"),
        ("(prestisje ELLER samarbeid) OG vurdering", "(prestisje OR samarbeid) AND vurdering"),
        ("prestisje eller (samarbeid og vurdering)", "prestisje OR samarbeid AND vurdering"),
        ("prestisje OR (samarbeid OR vurdering)", "prestisje OR (samarbeid OR vurdering)"),
        ("«felles møter»", '"felles møter"'),
        ('«sa "ja"»', '"sa \\"ja\\""'),
        ("~teamfølelse:80", "~teamfølelse:80"),
        ("~«felles møter»", '~"felles møter"'),
        ("tekst:samarb*", "samarb*"),
        ("doc=JS1", "document = JS1"),
        ("age >= 40,5", "age >= 40.5"),
        ("age in (40, 41)", "age in (40, 41)"),
        ('document = "12"', 'document = "12"'),
        ("education = «master i sosialt arbeid»", 'education = "master i sosialt arbeid"'),
        ("office IKKE IN (Nord,Sør)", "office not in (Nord, Sør)"),
        ("a innen 1 setning fra b", "a within 1 sentence of b"),
        ("a etterfulgt av b innen 2 turer", "a followed by b within 2 turns"),
        ("NOT (a overlaps b)", "NOT (a overlaps b)"),
        ("(a overlaps b) inside c", "(a overlaps b) inside c"),
        ("a overlaps (b)", "a overlaps b"),
        ("a inside (text:b)", "a inside (text:b)"),
    ],
)
def test_to_text_normalises(query: str, normalised: str) -> None:
    assert to_text(parse(query)) == normalised


ROUND_TRIP = [
    "prestisje", "=prestisje", "praksislogikker/*", '"felles møter"', "«felles møter»",
    '"hun sa \\"nei\\""', '"\\\\"', "text:samarbeid", "samarbeid*", "lemma:samarbeid",
    "~teamfølelse", "~teamfølelse:80", '~"a/b"', "office = Nord", "age >= 40,5",
    "age < 0.000001", "age > 123456789012345678901234567890", "age != -3",
    'office = "40"', 'office = ""', "office = 1-2", 'office = "1.2.3"',
    "interview_date >= 2026-02-10", "office not in (Nord, «Sør»)",
    "prestisje OG IKKE (samarbeid ELLER vurdering)", "NOT NOT prestisje",
    "NOT prestisje within 2 turns of samarbeid AND office = Nord",
    "a followed by b within 1 turn OR c inside (d OR e)",
    "(a overlaps b) inside (c overlaps d)", "a overlaps (NOT b)",
    "a overlaps (office = Nord)", "(a OR b) AND (c OR d)", "a AND (b AND c)",
]


@pytest.mark.parametrize("query", ROUND_TRIP)
def test_round_trip_through_to_text(query: str) -> None:
    node = parse(query)
    rendered = to_text(node)
    again = parse(rendered)
    assert equal_ignoring_pos(node, again), (rendered, node, again)
    assert to_text(again) == rendered


def test_to_text_renders_built_trees() -> None:
    """Trees built by hand (not by the parser) render to queries that parse back."""
    trees: list[Node] = [
        Or(P, Or(S, V, 0), 0),
        And(P, And(S, V, 0), 0),
        Not(And(P, S, 0), 0),
        rel("inside", text("phrase", "felles møter"), where("office", "=", "Nord")),
        rel("overlaps", Not(Not(P, 0), 0), Not(text("word", "x"), 0)),
        rel("within", rel("overlaps", P, S), V, 1, "sentences"),
        And(rel("followed_by", P, S, 2, "turns"), rel("followed_by", P, S), 0),
        where("office", "in", "Nord", "Sør øst", 4.25, "x\"y"),
        text("fuzzy", "felles møter", 75),
    ]
    for tree in trees:
        assert equal_ignoring_pos(parse(to_text(tree)), tree), to_text(tree)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "position", "message", "hint"),
    [
        ("", 0, "empty query", "prestisje"),
        ("   ", 0, "empty query", "prestisje"),
        ("prestisje AND", 13, "unexpected end", "after 'AND'"),
        ("prestisje ANDD samarbeid", 10, "unknown operator 'ANDD'", "did you mean AND?"),
        ("prestisje ogg samarbeid", 10, "unknown operator", "did you mean og?"),
        ("prestisje overlap samarbeid", 10, "unknown operator", "did you mean overlaps?"),
        ("prestisje folowed by samarbeid", 10, "unknown operator", "did you mean followed by?"),
        ("prestisje samarbeid", 10, "missing operator", "AND or OR"),
        ("(prestisje AND (samarbeid OR vurdering)", 39, "missing closing parenthesis",
         "close the parenthesis opened at position 1"),
        ("prestisje AND (samarbeid", 24, "missing closing parenthesis",
         "close the parenthesis opened at position 15"),
        ("prestisje)", 9, "unmatched ')'", "remove it"),
        ("()", 0, "empty parentheses", "put a term inside"),
        ('prestisje AND "felles møter', 14, "unterminated phrase", 'close it with "'),
        ('"sa \\"ja\\"', 0, "unterminated phrase", 'close it with "'),
        ("x OR «felles møter", 5, "unterminated phrase", "close it with »"),
        ("a within turns of b", 9, "'within' needs a number", "within 2 turns of"),
        ("a innen turer fra b", 8, "'innen' needs a number", "innen 2 turer fra"),
        ("a within 2 of b", 11, "needs a unit", "2 turns or 2 sentences"),
        ("a within 2", 10, "needs a unit", "2 turns"),
        ("a within 2 turnz of b", 11, "unknown unit 'turnz'", "did you mean turn"),
        ("a within 2.5 turns of b", 9, "invalid distance", "whole number"),
        ("a within 2turns of b", 9, "missing space", "2 turns"),
        ("a within 2 turns b", 17, "expected 'of'", "within 2 turns of"),
        ("a followed b", 11, "expected 'by'", "followed by"),
        ("a followed by b within 3 turns of c", 31, "takes no 'of'", "within 3 turns"),
        ("a overlaps b inside c", 13, "cannot be chained", "(A overlaps B) inside C"),
        ("age > 40.5.3", 6, "invalid number '40.5.3'", "40.5"),
        ("age > 40,", 6, "invalid number", "40,5"),
        ("age in (34,41)", 8, "ambiguous", "34.41 for a decimal, or 34, 41"),
        ("office in Nord", 10, "'in' needs a list in parentheses", "office in (Nord, …)"),
        ("office not in Nord", 14, "'not in' needs a list", "office not in (Nord"),
        ("office in ()", 10, "empty list", "at least one value"),
        ("office in (Nord Sør)", 16, "expected ',' or ')'", "commas"),
        ("office in (Nord,", 16, "expected a value after ','", "Nord"),
        ("office in (Nord", 15, "missing closing parenthesis", "opened at position 11"),
        ("office = (Nord, Sør)", 9, "compares with one value", "office in (…)"),
        ("office =", 8, "expected a value", "Nord"),
        ("office == Nord", 7, "unknown operator '=='", "= != < <= > >="),
        ("samarbeid/relasjoner = 3", 21, "a code cannot be compared",
         "did you mean an attribute?"),
        ("=prestisje = 3", 11, "a code cannot be compared", "did you mean an attribute?"),
        ("praksislogikker/* >= 3", 18, "a code cannot be compared", "attribute"),
        ("samarbeid/relasjoner in (a)", 21, "a code cannot be compared", "attribute"),
        ('"felles" = 3', 9, "a text search cannot be compared", "office = Nord"),
        ("(a OR b) = 3", 9, "expression in parentheses cannot be compared", "field"),
        ("office = Nord = Sør", 14, "comparisons cannot be chained", "AND"),
        ("@prestisje", 0, "'@' cannot start a term", "code"),
        ("prestisje AND “felles”", 14, "'“' cannot start a term", "straight quotes"),
        ("prestisje & samarbeid", 10, "unexpected '&'", "write AND"),
        ("prestisje NOT samarbeid", 10, "cannot join two terms", "write AND NOT"),
        ("prestisje ikke samarbeid", 10, "cannot join two terms", "write og ikke"),
        ("Prestisje", 0, "not a code id", "lowercase: prestisje"),
        ("teamfølelse", 0, "not a code id", "text:teamfølelse"),
        ("-prestisje", 0, "not a code id", "NOT prestisje"),
        ("prestisje/", 0, "ends with /", "prestisje/*"),
        ("samarbeid/rel*", 0, "mixes a code path and a word prefix", "samarbeid/*"),
        ("=praksislogikker/*", 0, "cannot be combined", "praksislogikker/*"),
        ("AND prestisje", 0, "missing term before 'AND'", "remove it"),
        ("prestisje AND OR samarbeid", 14, "missing term between", "remove one"),
        ('prestisje overlaps "felles"', 19, "needs a code on its right, not a text search",
         "parentheses"),
        ("office = Nord inside samarbeid", 0, "needs a code on its left, not a comparison",
         "prestisje"),
        ("overlaps samarbeid", 0, "missing code before 'overlaps'", "prestisje overlaps"),
        ("~", 1, "'~' must be followed by a word", "~teamfølelse"),
        ("~teamfølelse:120", 13, "invalid threshold", "0 to 100"),
        ("~teamfølelse:", 13, "invalid threshold", "~teamfølelse:80"),
        ("~teamf*", 6, "cannot end with *", "~teamf"),
        ("lemma:samar*", 11, "lemma search cannot end with *", "lemma:samar"),
        ('lemma:"felles møter"', 6, "must be followed by a word", "lemma:samarbeid"),
        ("text:", 5, "must be followed by a word", "text:samarbeid"),
        ("text:a/b", 5, "not a word", "/"),
        ("speaker:JS1", 0, "unknown prefix 'speaker:'", "speaker = JS1"),
        ("tema:x", 0, "unknown prefix", "tema = x"),
        ("prestisje *", 10, "'*' must be attached", "samarbeid*"),
        ('"felles"*', 8, "'*' cannot follow this term", "samarbeid*"),
        ("*", 0, "'*' must follow a word", "samarbeid*"),
        ("prestisje =samarbeid x", 21, "missing operator", "AND or OR"),
        ("prestisje «felles»", 10, "missing operator before the phrase", "AND or OR"),
        ("NOT", 3, "unexpected end", "after 'NOT'"),
        ("(", 1, "unexpected end", "close the parenthesis opened at position 1"),
        ("prestisje ,", 10, "unexpected ','", "AND or OR"),
        ("a.b = 3", 0, "not a field name", "office"),
        ("x'y", 1, "unexpected", "double quotes"),
        ("age = 999999999999999999999999999999999", 6, "too large", "30 digits"),
        ("a within 9999999 turns of b", 9, "too large", "at most"),
        ("a\nANDD b", 2, "unknown operator", "did you mean AND?"),
    ],
)
def test_errors_name_the_position(query: str, position: int, message: str, hint: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(query)
    error = info.value
    assert error.position == position, error.one_line()
    assert message in error.message, error.one_line()
    assert error.hint and hint in error.hint, error.one_line()
    assert error.query == query
    assert len(error.one_line().splitlines()) == 1
    assert error.caret().splitlines()[-1] == " " * position + "^" or "\n" in query


def test_one_line_reports_a_one_based_position() -> None:
    with pytest.raises(QueryError) as info:
        parse("prestisje ANDD samarbeid")
    assert info.value.one_line() == (
        "unknown operator 'ANDD' at position 11 (did you mean AND?)")


def test_comparing_a_known_code_is_refused_when_the_codes_are_given() -> None:
    codes = {"prestisje", "samarbeid"}
    with pytest.raises(QueryError) as info:
        parse("office = Nord AND prestisje = 3", codes=codes)
    assert (info.value.position, info.value.message) == (28, "a code cannot be compared")
    assert info.value.hint and "did you mean an attribute?" in info.value.hint
    with pytest.raises(QueryError):
        parse("samarbeid in (a, b)", codes=codes)
    # without the code ids the parser cannot tell a code from an attribute
    same("prestisje = 3", where("prestisje", "=", 3.0))
    # built-in fields are never codes
    same("role = veileder", parse("role = veileder", codes={"role"}))


def test_messages_stay_short_and_on_one_line() -> None:
    long_word = "x" * 500
    for query in (f"prestisje {long_word}", f"{long_word.upper()}", 'a "b\nc" d',
                  f"a \u2028{long_word}"):
        with pytest.raises(QueryError) as info:
            parse(query)
        line = info.value.one_line()
        assert len(line.splitlines()) == 1
        assert len(line) < 200


@pytest.mark.parametrize(
    "query",
    [
        "(" * 5000 + "a" + ")" * 5000,
        "NOT " * 5000 + "a",
        " OR ".join(["a"] * 5000),
        " AND ".join(["a"] * 5000),
        "a overlaps " + "(" * 300 + "b" + ")" * 300,
    ],
    ids=["parens", "nots", "ors", "ands", "relation"],
)
def test_deep_queries_are_refused_not_crashed(query: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(query)
    assert "nested too deeply" in info.value.message


def test_the_depth_limit_leaves_room_for_real_queries() -> None:
    node = parse(" OR ".join(f"document = JS{i}" for i in range(MAX_DEPTH)))
    assert sum(isinstance(n, Filter) for n in walk(node)) == MAX_DEPTH
    assert equal_ignoring_pos(parse(to_text(node)), node)


# ---------------------------------------------------------------------------
# fuzzing: only a Node or a QueryError, with the position in range
# ---------------------------------------------------------------------------


class _CheckedQueryError(QueryError):
    """A QueryError that refuses an out-of-range position instead of clamping it."""

    def __init__(self, message: str, query: str, position: int, hint: str | None = None) -> None:
        assert 0 <= position <= len(query), (message, query, position)
        assert hint, message
        super().__init__(message, query, position, hint)


PIECES = [
    "prestisje", "samarbeid/relasjoner", "praksislogikker/", "=", "*", "(", ")", ",", ":", "~",
    '"', '\\"', "«", "»", "AND", "og", "OR", "ELLER", "NOT", "ikke", "overlaps", "overlapper",
    "inside", "inni", "within", "innen", "followed", "by", "etterfulgt", "av", "of", "fra",
    "turns", "turn", "sentence", "setninger", "turer", "in", "text", "lemma", "tekst",
    "office", "age", "doc", "role", "Nord", "Sør", "Æøå", "40", "40,5", "40.5", "-3",
    "2026-02-10", "1.2.3", "!=", "<", "<=", ">", ">=", "!", "2", "80", "teamfølelse",
    "felles møter", "a\u030a", "٣", "\u2028", "'", "“", "@", " ", " ", "\n",
]
QUERIES = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=16).map(" ".join),
    st.lists(st.sampled_from(PIECES), max_size=16).map("".join),
    st.text(max_size=40),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(QUERIES)
def test_fuzz_only_nodes_or_query_errors(query: str) -> None:
    with mock.patch.object(parser_module, "QueryError", _CheckedQueryError):
        try:
            node = parse(query)
        except QueryError as error:
            assert 0 <= error.position <= len(query)
            assert len(error.one_line().splitlines()) == 1
            return
    for n in walk(node):
        assert 0 <= n.pos <= len(query)
    rendered = to_text(node)
    again = parse(rendered)
    assert equal_ignoring_pos(node, again), (query, rendered)
    assert to_text(again) == rendered


# ---------------------------------------------------------------------------
# generated trees: to_text renders every well-formed tree so that it parses back
# ---------------------------------------------------------------------------

RESERVED = {"and", "og", "or", "eller", "not", "ikke", "overlaps", "overlapper", "inside",
            "inni", "within", "innen", "followed", "etterfulgt"}
IDS = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True).filter(
    lambda s: s not in RESERVED)
WORDS = st.from_regex(r"[A-Za-zæøåÆØÅ0-9][A-Za-zæøåÆØÅ0-9_-]{0,8}", fullmatch=True)
FIELDS = st.from_regex(r"[A-Za-zæøåÆØÅ_][A-Za-z0-9æøå_-]{0,8}", fullmatch=True).filter(
    lambda s: s.lower() not in RESERVED | {"doc", "document", "speaker", "role", "coder", "kind"})
VALUES = st.one_of(st.text(max_size=12), st.integers(-10**6, 10**6).map(lambda i: i / 100))
LEAVES: st.SearchStrategy[Node] = st.one_of(
    st.builds(CodeRef, st.lists(IDS, min_size=1, max_size=3).map("/".join),
              st.sampled_from(["tree", "exact", "children"]), st.just(0)),
    st.builds(Text, st.sampled_from(["word", "prefix", "lemma"]), WORDS, st.just(0)),
    st.builds(Text, st.just("phrase"), st.text(min_size=1, max_size=12).filter(str.strip),
              st.just(0)),
    st.builds(Text, st.just("fuzzy"), st.text(min_size=1, max_size=12).filter(str.strip),
              st.just(0), st.none() | st.integers(0, 100)),
    st.builds(Filter, FIELDS, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
              st.tuples(VALUES), st.just(0)),
    st.builds(Filter, FIELDS, st.sampled_from(["in", "not in"]),
              st.lists(VALUES, min_size=1, max_size=3).map(tuple), st.just(0)),
)


def _relations(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    distance = st.tuples(st.integers(0, 50), st.sampled_from(["turns", "sentences"]))
    return st.one_of(
        st.builds(lambda k, a, b: rel(k, a, b), st.sampled_from(["overlaps", "inside"]),
                  children, children),
        st.builds(lambda a, b, d: rel("within", a, b, *d), children, children, distance),
        st.builds(lambda a, b, d: rel("followed_by", a, b, *(d or (None, None))),
                  children, children, st.none() | distance),
    )


TREES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.builds(And, children, children, st.just(0)),
        st.builds(Or, children, children, st.just(0)),
        st.builds(Not, children, st.just(0)),
        _relations(children),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_generated_trees_round_trip(tree: Node) -> None:
    rendered = to_text(tree)
    assert equal_ignoring_pos(parse(unicodedata.normalize("NFC", rendered)),
                              _nfc_tree(tree)), rendered


def _nfc_tree(node: Node) -> Node:
    """The tree with its strings in NFC, as the parser stores them."""
    nfc = functools.partial(unicodedata.normalize, "NFC")
    if isinstance(node, Text):
        return Text(node.kind, nfc(node.value), node.pos, node.threshold)
    if isinstance(node, Filter):
        values = tuple(nfc(v) if isinstance(v, str) else v for v in node.values)
        return Filter(node.field, node.op, values, node.pos)
    if isinstance(node, And | Or):
        return type(node)(_nfc_tree(node.left), _nfc_tree(node.right), node.pos)
    if isinstance(node, Not):
        return Not(_nfc_tree(node.operand), node.pos)
    if isinstance(node, Relation):
        return Relation(node.kind, _nfc_tree(node.left), _nfc_tree(node.right), node.n,
                        node.unit, node.pos)
    return node
