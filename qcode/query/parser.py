"""The query parser: a hand-written tokenizer and a recursive-descent parser.

``parse(text)`` returns a ``qcode.query.ast.Node`` or raises ``QueryError`` with
the code-point position of the offending token; nothing else escapes. The
grammar, with examples, is in ``docs/query-language.md``. Precedence, from
loosest to tightest: ``OR``, ``AND``, relations (``overlaps``, ``inside``,
``within``, ``followed by``), ``NOT``, terms. Keywords are case-insensitive and
have Norwegian aliases (``OG``, ``ELLER``, ``IKKE``, ``overlapper``, ``inni``,
``innen N turer fra``, ``etterfulgt av``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, NoReturn, TypeVar

from qcode.errors import QueryError
from qcode.query.ast import (
    BUILTIN_FIELDS,
    NUMBER_LIKE,
    And,
    CodeRef,
    Filter,
    FilterOp,
    FilterValue,
    Node,
    Not,
    Or,
    Relation,
    RelationKind,
    RelationUnit,
    Text,
    TextKind,
    is_text_word,
    is_word_char,
)

__all__ = ["MAX_DEPTH", "parse"]

#: Deepest tree (and deepest nesting of parentheses) a query may have.
MAX_DEPTH = 200
MAX_DISTANCE = 100_000

CODE_PATH = re.compile(r"[a-z0-9][a-z0-9_-]*(?:/[a-z0-9][a-z0-9_-]*)*")
FIELD_NAME = re.compile(r"[A-Za-zæøåÆØÅ_][\w-]*")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)
INTEGER = re.compile(r"\d+", re.ASCII)

AND_WORDS = frozenset({"and", "og"})
OR_WORDS = frozenset({"or", "eller"})
NOT_WORDS = frozenset({"not", "ikke"})
RELATION_WORDS: dict[str, RelationKind] = {
    "overlaps": "overlaps", "overlapper": "overlaps",
    "inside": "inside", "inni": "inside",
    "within": "within", "innen": "within",
    "followed": "followed_by", "etterfulgt": "followed_by",
}
#: The word that must follow the first word of a two-word operator.
SECOND_WORD = {"followed": "by", "etterfulgt": "av", "within": "of", "innen": "fra"}
OF_WORDS = frozenset({"of", "fra"})
UNITS: dict[str, RelationUnit] = {
    "turn": "turns", "turns": "turns", "tur": "turns", "turer": "turns",
    "sentence": "sentences", "sentences": "sentences",
    "setning": "sentences", "setninger": "sentences",
}
#: Words that cannot be a bare code id: they start or join expressions.
RESERVED = AND_WORDS | OR_WORDS | NOT_WORDS | frozenset(RELATION_WORDS)
#: What a misspelt operator is compared with, and how the suggestion is written.
OPERATOR_SPELLINGS = {
    "and": "and", "og": "og", "or": "or", "eller": "eller",
    "overlaps": "overlaps", "overlapper": "overlapper", "inside": "inside", "inni": "inni",
    "within": "within", "innen": "innen", "followed": "followed by",
    "etterfulgt": "etterfulgt av",
}
TEXT_PREFIXES: dict[str, TextKind] = {"text": "word", "tekst": "word", "lemma": "lemma"}
COMPARISONS: tuple[FilterOp, ...] = ("=", "!=", "<", "<=", ">", ">=")
CHARACTER_HINTS = {
    "“": 'write phrases in "straight quotes" or «guillemets»',
    "”": 'write phrases in "straight quotes" or «guillemets»',
    "„": 'write phrases in "straight quotes" or «guillemets»',
    "'": 'write phrases in "double quotes" or «guillemets»',
    "’": 'write phrases in "straight quotes" or «guillemets»',
    "»": "open the phrase with «",
    "&": "write AND",
    "|": "write OR",
    "!": "write NOT, or != in a comparison",
    "+": "terms are joined with AND or OR",
    "[": "group with ( and )",
    "]": "group with ( and )",
    "{": "group with ( and )",
    "}": "group with ( and )",
}

_N = TypeVar("_N", And, Or, Not, Relation)

TokenKind = Literal["word", "string", "(", ")", ",", "op", "~", "*", ":", "other", "end"]


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str  # as written (for strings: the unescaped content)
    pos: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()


def parse(text: str, *, codes: Collection[str] = ()) -> Node:
    """Parse a query into its syntax tree; raise ``QueryError`` if it is not well formed.

    ``codes`` may name code ids that are not attribute names: a comparison on
    one of them (``prestisje = 3``) is then refused as "a code cannot be
    compared". Without it only comparisons that are written as code references
    (``samarbeid/relasjoner = 3``, ``=prestisje = 3``) are refused.
    """
    try:
        return _Parser(text, codes).parse()
    except RecursionError:  # guarded by MAX_DEPTH; never expected
        raise QueryError("query is nested too deeply", text, 0,
                         f"use at most {MAX_DEPTH} levels of parentheses and operators") from None


# ---------------------------------------------------------------------------
# tokenizer
# ---------------------------------------------------------------------------


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token at ``len(text)``."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            j, value = _double_quoted(text, i)
            tokens.append(Token("string", value, i, j))
            i = j
        elif ch == "«":
            j = text.find("»", i + 1)
            if j < 0:
                raise QueryError("unterminated phrase", text, i, "close it with »")
            tokens.append(Token("string", text[i + 1 : j], i, j + 1))
            i = j + 1
        elif ch in "(),~*:":
            kind: TokenKind = ch  # type: ignore[assignment]
            tokens.append(Token(kind, ch, i, i + 1))
            i += 1
        elif ch in "<>" or (ch in "!=" and text.startswith("=", i + 1)) or ch == "=":
            width = 2 if text.startswith("=", i + 1) and ch in "<>!" else 1
            tokens.append(Token("op", text[i : i + width], i, i + width))
            i += width
        elif is_word_char(ch):
            j = i + 1
            while j < n and is_word_char(text[j]):
                j += 1
            tokens.append(Token("word", text[i:j], i, j))
            i = j
        else:
            tokens.append(Token("other", ch, i, i + 1))
            i += 1
    tokens.append(Token("end", "", n, n))
    return tokens


def _double_quoted(text: str, start: int) -> tuple[int, str]:
    """The end (after the closing quote) and the unescaped content of ``"..."``."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return i + 1, "".join(out)
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise QueryError("unterminated phrase", text, start, 'close it with "')


def _show(text: str, limit: int = 30) -> str:
    """``text`` fit for a one-line message: short, no control or line-break characters."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


# ---------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, codes: Collection[str]) -> None:
        self.text = text
        self.codes = frozenset(codes)
        self.tokens: list[Token] = []
        self.i = 0
        self.open_parens: list[int] = []  # positions of the unclosed "("
        self.depths: dict[int, int] = {}  # id(node) -> depth of its subtree
        self.last_primary: tuple[Node, bool] = (CodeRef("", "tree", 0), False)

    # -- helpers -----------------------------------------------------------

    def fail(self, message: str, pos: int, hint: str | None = None) -> NoReturn:
        raise QueryError(message, self.text, pos, hint)

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def previous(self) -> Token | None:
        return self.tokens[self.i - 1] if self.i > 0 else None

    def is_word(self, words: Collection[str], tok: Token | None = None) -> bool:
        tok = tok or self.tok
        return tok.kind == "word" and tok.lower in words

    def node(self, node: _N, *parts: Node) -> _N:
        depth = 1 + max((self.depths.get(id(p), 1) for p in parts), default=0)
        if depth > MAX_DEPTH:
            self.fail("query is nested too deeply", node.pos,
                      f"use at most {MAX_DEPTH} levels of parentheses and operators")
        self.depths[id(node)] = depth
        return node

    # -- expressions ---------------------------------------------------------

    def parse(self) -> Node:
        if not self.text.strip():
            self.fail("empty query", 0, "write a code, a text search or a comparison, "
                      "such as prestisje AND office = Nord")
        self.tokens = tokenize(self.text)
        node = self.expression()
        tok = self.tok
        if tok.kind != "end":
            self.after_term_error(tok)
        return node

    def expression(self) -> Node:
        left = self.conjunction()
        while self.is_word(OR_WORDS):
            op = self.advance()
            right = self.conjunction()
            left = self.node(Or(left, right, op.pos), left, right)
        return left

    def conjunction(self) -> Node:
        left = self.relation()
        while self.is_word(AND_WORDS):
            op = self.advance()
            right = self.relation()
            left = self.node(And(left, right, op.pos), left, right)
        return left

    def relation(self) -> Node:
        left, left_is_code = self.unary()
        if not self.is_word(RELATION_WORDS):
            return left
        op = self.advance()
        kind = RELATION_WORDS[op.lower]
        name = self.operator_name(op)
        if not left_is_code:
            self.not_a_code_operand(left, name, "left")
        n: int | None = None
        unit: RelationUnit | None = None
        if kind == "within":
            n, unit = self.distance(op)
            self.expect_word(OF_WORDS, SECOND_WORD[op.lower],
                             f"{name} {n} {self.unit_word(op, unit, n)}")
        elif kind == "followed_by":
            self.expect_word({SECOND_WORD[op.lower]}, SECOND_WORD[op.lower], op.text)
        right, right_is_code = self.unary()
        if not right_is_code:
            self.not_a_code_operand(right, name, "right")
        if kind == "followed_by" and self.is_word({"within", "innen"}):
            within = self.advance()
            n, unit = self.distance(within)
            if self.is_word(OF_WORDS):
                self.fail(f"'{name} ... {within.text}' takes no '{self.tok.text}'", self.tok.pos,
                          f"write A {name} B {within.text} {n} "
                          f"{self.unit_word(within, unit, n)}")
        node = self.node(Relation(kind, left, right, n, unit, op.pos), left, right)
        if self.is_word(RELATION_WORDS):
            following = self.operator_name(self.tok)
            self.fail("relations cannot be chained", self.tok.pos,
                      f"add parentheses: (A {name} B) {following} C")
        return node

    def operator_name(self, op: Token) -> str:
        second = SECOND_WORD.get(op.lower)
        if second and op.lower in ("followed", "etterfulgt"):
            return f"{op.text} {second.upper() if op.text.isupper() else second}"
        return op.text

    def unit_word(self, op: Token, unit: RelationUnit, n: int) -> str:
        norwegian = op.lower == "innen"
        if unit == "turns":
            word = ("tur" if n == 1 else "turer") if norwegian else ("turn" if n == 1 else "turns")
        else:
            word = ("setning" if n == 1 else "setninger") if norwegian else (
                "sentence" if n == 1 else "sentences")
        return word

    def distance(self, op: Token) -> tuple[int, RelationUnit]:
        example = "innen 2 turer fra" if op.lower == "innen" else "within 2 turns of"
        tok = self.tok
        if tok.kind == "end":
            self.fail(f"'{op.text}' needs a number", tok.pos, f"write {example}")
        if tok.kind != "word" or not NUMBER_LIKE.fullmatch(tok.text):
            if tok.kind == "word" and re.fullmatch(r"\d+[^\W\d]+", tok.text):
                number = re.match(r"\d+", tok.text)
                assert number is not None
                self.fail("missing space after the number", tok.pos,
                          f"write {number.group()} {tok.text[number.end():]}")
            self.fail(f"'{op.text}' needs a number", tok.pos, f"write {example}")
        if not INTEGER.fullmatch(tok.text) or (self.peek().kind == "," and
                                               self.peek().pos == tok.end):
            self.fail(f"invalid distance '{_show(tok.text)}'", tok.pos,
                      "the distance is a whole number of turns or sentences, such as 2")
        if len(tok.text) > 6 or int(tok.text) > MAX_DISTANCE:
            self.fail(f"distance {_show(tok.text)} is too large", tok.pos,
                      f"use at most {MAX_DISTANCE}")
        n = int(tok.text)
        self.advance()
        unit_tok = self.tok
        if unit_tok.kind != "word" or unit_tok.lower not in UNITS:
            if unit_tok.kind == "word" and unit_tok.lower not in OF_WORDS:
                close = difflib.get_close_matches(unit_tok.lower, list(UNITS), n=1, cutoff=0.7)
                if close:
                    self.fail(f"unknown unit '{_show(unit_tok.text)}'", unit_tok.pos,
                              f"did you mean {close[0]}?")
                self.fail(f"unknown unit '{_show(unit_tok.text)}'", unit_tok.pos,
                          "use turns or sentences, in Norwegian turer or setninger")
            self.fail(f"'{op.text} {n}' needs a unit", unit_tok.pos,
                      f"write {n} turns or {n} sentences")
        self.advance()
        return n, UNITS[unit_tok.lower]

    def expect_word(self, words: Collection[str], wanted: str, written: str) -> None:
        tok = self.tok
        if self.is_word(words):
            self.advance()
            return
        where = "end of query" if tok.kind == "end" else f"'{_show(tok.text)}'"
        self.fail(f"expected '{wanted}' after '{_show(written)}', found {where}", tok.pos,
                  f"write {written} {wanted} ...")

    def not_a_code_operand(self, node: Node, name: str, side: str) -> NoReturn:
        while isinstance(node, Not):
            node = node.operand
        what = "a text search" if isinstance(node, Text) else "a comparison"
        self.fail(f"'{name}' needs a code on its {side}, not {what}", node.pos,
                  "write a code such as prestisje, or put the term in parentheses")

    def unary(self) -> tuple[Node, bool]:
        """A term with any NOTs before it, and whether it is a code or in parentheses."""
        nots: list[Token] = []
        while self.is_word(NOT_WORDS):
            nots.append(self.advance())
        node, is_code = self.primary()
        for op in reversed(nots):
            node = self.node(Not(node, op.pos), node)
        return node, is_code

    def primary(self) -> tuple[Node, bool]:
        grouped = self.tok.kind == "("
        node, is_code = self.primary_term()
        self.last_primary = (node, grouped)
        return node, is_code

    def primary_term(self) -> tuple[Node, bool]:
        tok = self.tok
        if tok.kind == "(":
            return self.group(), True
        if tok.kind == "string":
            self.advance()
            return self.phrase(tok, tok.pos), False
        if tok.kind == "~":
            return self.fuzzy(), False
        if tok.kind == "op" and tok.text == "=":
            return self.exact_code(), True
        if tok.kind == "word":
            return self.word_term()
        self.term_error(tok)

    def group(self) -> Node:
        opened = self.advance()
        if len(self.open_parens) >= MAX_DEPTH:
            self.fail("query is nested too deeply", opened.pos,
                      f"use at most {MAX_DEPTH} levels of parentheses")
        self.open_parens.append(opened.pos)
        node = self.expression()
        tok = self.tok
        if tok.kind == "end":
            self.fail("missing closing parenthesis", tok.pos,
                      f"close the parenthesis opened at position {opened.pos + 1}")
        if tok.kind != ")":
            self.after_term_error(tok)
        self.advance()
        self.open_parens.pop()
        return node

    # -- terms ---------------------------------------------------------------

    def phrase(self, tok: Token, pos: int, kind: TextKind = "phrase") -> Text:
        if not tok.text.strip():
            self.fail("empty phrase", tok.pos, "write the words to search for between the quotes")
        return Text(kind, _nfc(tok.text), pos)

    def fuzzy(self) -> Text:
        tilde = self.advance()
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            value = self.phrase(tok, tilde.pos).value
        elif tok.kind == "word":
            self.advance()
            value = self.text_word(tok, "~")
            if self.tok.kind == "*" and self.tok.pos == tok.end:
                self.fail("a fuzzy search cannot end with *", self.tok.pos,
                          f"write ~{_show(tok.text)} or {_show(tok.text)}*")
        else:
            where = "the end" if tok.kind == "end" else f"'{_show(tok.text)}'"
            self.fail(f"'~' must be followed by a word, found {where}", tok.pos,
                      "write ~teamfølelse, or ~teamfølelse:80 for a threshold")
        threshold: int | None = None
        if self.tok.kind == ":":
            colon = self.advance()
            number = self.tok
            if number.kind != "word" or not INTEGER.fullmatch(number.text) or (
                    self.peek().kind == "," and self.peek().pos == number.end) or (
                    len(number.text) > 3 or int(number.text) > 100):
                self.fail("invalid threshold", number.pos if number.kind != "end" else colon.end,
                          "write a whole number from 0 to 100, such as ~teamfølelse:80")
            self.advance()
            threshold = int(number.text)
        return Text("fuzzy", value, tilde.pos, threshold)

    def text_word(self, tok: Token, prefix: str) -> str:
        """The NFC value of a searched word, or an error if ``tok`` is not one."""
        value = _nfc(tok.text)
        if is_text_word(value):
            return value
        if "/" in value:
            self.fail(f"'{_show(value)}' is not a word", tok.pos,
                      "a searched word cannot contain /; write a phrase in quotes")
        self.fail(f"'{_show(value)}' is not a word", tok.pos,
                  f"write a word with letters or digits after {prefix}")

    def exact_code(self) -> CodeRef:
        eq = self.advance()
        tok = self.tok
        if tok.kind != "word":
            where = "the end" if tok.kind == "end" else f"'{_show(tok.text)}'"
            self.fail(f"'=' must be followed by a code, found {where}", tok.pos,
                      "write =prestisje for the code alone, without its subcodes")
        self.advance()
        if self.tok.kind == "*" and self.tok.pos == tok.end:
            self.fail("'=' and '*' cannot be combined", eq.pos,
                      f"write ={tok.text.rstrip('/')} or {tok.text.rstrip('/')}/*")
        path = self.code_path(tok)
        return CodeRef(path, "exact", eq.pos)

    def code_path(self, tok: Token) -> str:
        text = _nfc(tok.text)
        if CODE_PATH.fullmatch(text):
            return text
        shown = _show(text)
        if text.endswith("/") and CODE_PATH.fullmatch(text[:-1]):
            self.fail(f"code path '{shown}' ends with /", tok.pos,
                      f"write {_show(text[:-1])}/* for the codes below it")
        if CODE_PATH.fullmatch(text.lower()):
            self.fail(f"'{shown}' is not a code id", tok.pos,
                      f"code ids are lowercase: {_show(text.lower())}; "
                      f"to search the text, write text:{shown}")
        if text.startswith("-") and CODE_PATH.fullmatch(text[1:]):
            self.fail(f"'{shown}' is not a code id", tok.pos,
                      f"write NOT {_show(text[1:])} to leave a code out")
        if is_text_word(text):
            self.fail(f"'{shown}' is not a code id", tok.pos,
                      f"to search the text, write text:{shown} or \"{shown}\"")
        self.fail(f"'{shown}' is not a code path", tok.pos,
                  "write code ids in lowercase a-z, 0-9, _ and -, separated by /")

    def word_term(self) -> tuple[Node, bool]:
        tok = self.tok
        nxt = self.peek()
        # a word with * attached: a prefix search, or the codes below a path
        if nxt.kind == "*" and nxt.pos == tok.end:
            self.advance()
            self.advance()
            if "/" in tok.text:
                if tok.text.endswith("/"):
                    return CodeRef(self.code_path(Token("word", tok.text[:-1], tok.pos,
                                                        tok.end - 1)),
                                   "children", tok.pos), True
                path = tok.text.rsplit("/", 1)[0]
                self.fail(f"'{_show(tok.text)}*' mixes a code path and a word prefix", tok.pos,
                          f"write {_show(path)}/* for the codes below {_show(path)}")
            return Text("prefix", self.text_word(tok, "*"), tok.pos), False
        # text:, tekst:, lemma:
        if nxt.kind == ":":
            return self.prefixed_text(), False
        if tok.lower in RESERVED:
            self.term_error(tok)
        # a comparison
        if nxt.kind == "op" or self.is_word({"in"}, nxt) or (
                self.is_word(NOT_WORDS, nxt) and self.is_word({"in"}, self.peek(2))):
            return self.comparison(), False
        self.advance()
        return CodeRef(self.code_path(tok), "tree", tok.pos), True

    def prefixed_text(self) -> Text:
        tok = self.advance()
        colon = self.advance()
        kind = TEXT_PREFIXES.get(tok.lower)
        if kind is None:
            name = tok.lower if tok.lower != "doc" else "document"
            if name in BUILTIN_FIELDS or (FIELD_NAME.fullmatch(tok.text)
                                          and self.tok.kind in ("word", "string")):
                shown = self.tok.text if self.tok.kind == "word" else '"…"'
                self.fail(f"unknown prefix '{_show(tok.text)}:'", tok.pos,
                          f"to compare, write {_show(tok.text)} = {_show(shown)}; "
                          "text:, tekst: and lemma: search the text")
            self.fail(f"unknown prefix '{_show(tok.text)}:'", tok.pos,
                      "use text:, tekst: or lemma:")
        value = self.tok
        if value.kind == "string" and kind == "word":
            self.advance()
            return self.phrase(value, tok.pos)
        if value.kind != "word":
            where = "the end" if value.kind == "end" else f"'{_show(value.text)}'"
            self.fail(f"'{_show(tok.text)}:' must be followed by a word, found {where}",
                      value.pos if value.kind != "end" else colon.end,
                      f"write {tok.lower}:samarbeid")
        self.advance()
        word = self.text_word(value, f"{tok.lower}:")
        if self.tok.kind == "*" and self.tok.pos == value.end:
            star = self.advance()
            if kind == "lemma":
                self.fail("a lemma search cannot end with *", star.pos,
                          f"write lemma:{_show(word)} or {_show(word)}*")
            return Text("prefix", word, tok.pos)
        return Text(kind, word, tok.pos)

    def comparison(self) -> Filter:
        tok = self.advance()
        name = _nfc(tok.text)
        op_tok = self.tok
        if "/" in name and CODE_PATH.fullmatch(name.rstrip("/")):
            self.cannot_compare_code(op_tok, name.rstrip("/"))
        if not FIELD_NAME.fullmatch(name):
            self.fail(f"'{_show(name)}' is not a field name", tok.pos,
                      "fields are document, speaker, role, coder, kind "
                      "or an attribute such as office")
        if name.lower() in BUILTIN_FIELDS or name.lower() == "doc":
            name = "document" if name.lower() == "doc" else name.lower()
        elif name in self.codes:
            self.cannot_compare_code(op_tok, name)
        op: FilterOp
        if op_tok.kind == "op":
            self.advance()
            op = op_tok.text  # type: ignore[assignment]
            if self.tok.kind == "(":
                replacement = "in" if op == "=" else "not in" if op == "!=" else None
                self.fail(f"'{op}' compares with one value", self.tok.pos,
                          f"for a list, write {_show(name)} {replacement} (…)" if replacement
                          else "compare with one value, such as age > 40")
            if self.tok.kind == "op" and self.tok.pos == op_tok.end:
                self.fail(f"unknown operator '{op}{self.tok.text}'", op_tok.pos,
                          "use one of = != < <= > >=")
            return Filter(name, op, (self.value(op_tok, in_list=False),), tok.pos)
        if self.is_word(NOT_WORDS):
            self.advance()
            op = "not in"
        else:
            op = "in"
        in_tok = self.advance()
        opened = self.tok
        if opened.kind != "(":
            first = opened.text if opened.kind in ("word", "string") else "A"
            self.fail(f"'{op}' needs a list in parentheses", opened.pos,
                      f"write {_show(name)} {op} ({_show(first)}, …)")
        self.advance()
        values: list[FilterValue] = []
        while True:
            if self.tok.kind == ")" and not values:
                self.fail("empty list", opened.pos,
                          "put at least one value between the parentheses")
            values.append(self.value(in_tok, in_list=True))
            sep = self.tok
            if sep.kind == ")":
                self.advance()
                break
            if sep.kind == "end":
                self.fail("missing closing parenthesis", sep.pos,
                          f"close the list opened at position {opened.pos + 1}")
            if sep.kind != ",":
                self.fail(f"expected ',' or ')', found '{_show(sep.text)}'", sep.pos,
                          "separate the values with commas")
            self.advance()
        return Filter(name, op, tuple(values), tok.pos)

    def cannot_compare_code(self, op_tok: Token, name: str) -> NoReturn:
        self.fail("a code cannot be compared", op_tok.pos,
                  f"did you mean an attribute? A code stands alone: {_show(name)}")

    def value(self, op: Token, *, in_list: bool) -> FilterValue:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return _nfc(tok.text)
        if tok.kind != "word":
            where = "the end" if tok.kind == "end" else f"'{_show(tok.text)}'"
            after = self.previous() or op
            self.fail(f"expected a value after '{after.text}', found {where}", tok.pos,
                      "write a word, a number or a quoted text, such as Nord, 40 or \"Sør\"")
        self.advance()
        text = _nfc(tok.text)
        nxt = self.tok
        if nxt.kind == "," and nxt.pos == tok.end and INTEGER.fullmatch(text.lstrip("-")) and (
                NUMBER_LIKE.fullmatch(text)):
            digits = self.peek()
            if digits.kind == "word" and digits.pos == nxt.end and INTEGER.fullmatch(digits.text):
                if in_list:
                    self.fail(f"'{text},{digits.text}' is ambiguous in a list", tok.pos,
                              f"write {text}.{digits.text} for a decimal, "
                              f"or {text}, {digits.text} for two values")
                self.advance()
                self.advance()
                text = f"{text}.{digits.text}"
                return self.number(text, tok)
            if not in_list:
                self.fail(f"invalid number '{_show(text)},'", tok.pos,
                          "write a decimal number such as 40,5 or 40.5")
        if NUMBER.fullmatch(text):
            return self.number(text, tok)
        if NUMBER_LIKE.fullmatch(text):
            self.fail(f"invalid number '{_show(text)}'", tok.pos,
                      "write a number such as 40 or 40.5, or put text in quotes")
        return text

    def number(self, text: str, tok: Token) -> float:
        value = float(text)
        if abs(value) == float("inf") or len(text) > 30:
            self.fail(f"number '{_show(text)}' is too large", tok.pos,
                      "write at most 30 digits, or put it in quotes as text")
        return value

    # -- errors --------------------------------------------------------------

    def term_error(self, tok: Token) -> NoReturn:
        """``tok`` stands where a term should begin."""
        prev = self.previous()
        after = f" after '{_show(prev.text)}'" if prev else ""
        if tok.kind == "end":
            if prev and prev.kind == "(":
                self.fail("unexpected end of query", tok.pos,
                          f"add a term and close the parenthesis opened at position {prev.pos + 1}")
            self.fail("unexpected end of query", tok.pos,
                      f"add a term{after}" if prev else "write a term")
        if tok.kind == ")":
            if prev and prev.kind == "(":
                self.fail("empty parentheses", prev.pos, "put a term inside or remove them")
            if not self.open_parens:
                self.fail("unmatched ')'", tok.pos, "remove it, or add '(' where the group starts")
            self.fail(f"missing term before ')'{after}", tok.pos, f"add a term{after}")
        if tok.kind == "word":
            word = tok.lower
            if word in RESERVED:
                shown = self.operator_name(tok) if word in RELATION_WORDS else tok.text
                if word in RELATION_WORDS:
                    self.fail(f"missing code before '{_show(shown)}'", tok.pos,
                              f"write A {_show(shown)} B, such as prestisje {_show(shown)} "
                              f"samarbeid")
                if prev is None or prev.kind == "(":
                    self.fail(f"missing term before '{_show(shown)}'", tok.pos,
                              f"add a term before {_show(shown)}, or remove it")
                self.fail(f"missing term between '{_show(prev.text)}' and '{_show(shown)}'",
                          tok.pos, "add a term, or remove one of the operators")
        if tok.kind == "*":
            self.fail("'*' must follow a word", tok.pos,
                      "write samarbeid* for the words that start with samarbeid")
        if tok.kind == "op":
            self.fail(f"'{tok.text}' cannot start a term", tok.pos,
                      "a comparison needs a field first, such as age >= 40")
        if tok.kind == ",":
            self.fail("',' cannot start a term", tok.pos, "commas separate values in in (…)")
        if tok.kind == ":":
            self.fail("':' cannot start a term", tok.pos, "write text:samarbeid or lemma:samarbeid")
        hint = CHARACTER_HINTS.get(tok.text, "write a code, a phrase in quotes or a comparison")
        self.fail(f"'{_show(tok.text)}' cannot start a term", tok.pos, hint)

    def after_term_error(self, tok: Token) -> NoReturn:
        """``tok`` follows a complete term where an operator, ')' or the end should be."""
        prev = self.previous()
        assert prev is not None
        if tok.kind == ")":
            self.fail("unmatched ')'", tok.pos, "remove it, or add '(' where the group starts")
        if tok.kind == "word":
            word = tok.lower
            if word in NOT_WORDS:
                joined = "OG IKKE" if word == "ikke" else "AND NOT"
                joined = joined if tok.text.isupper() else joined.lower()
                self.fail(f"'{_show(tok.text)}' cannot join two terms", tok.pos,
                          f"write {joined}")
            if word in OF_WORDS or word in ("by", "av"):
                self.fail(f"unexpected '{_show(tok.text)}'", tok.pos,
                          "write within 2 turns of, or followed by")
            if word == "in":
                self.comparison_error(tok)
            close = difflib.get_close_matches(word, list(OPERATOR_SPELLINGS), n=1, cutoff=0.75)
            if close:
                suggestion = OPERATOR_SPELLINGS[close[0]]
                suggestion = suggestion.upper() if tok.text.isupper() else suggestion
                self.fail(f"unknown operator '{_show(tok.text)}'", tok.pos,
                          f"did you mean {suggestion}?")
            self.fail(f"missing operator before '{_show(tok.text)}'", tok.pos,
                      "join terms with AND or OR")
        if tok.kind in ("string", "~", "("):
            shown = "(" if tok.kind == "(" else "~" if tok.kind == "~" else "the phrase"
            self.fail(f"missing operator before {shown}", tok.pos, "join terms with AND or OR")
        if tok.kind == "op":
            nxt = self.peek()
            if tok.text == "=" and nxt.kind == "word" and nxt.pos == tok.end and (
                    prev.end < tok.pos and CODE_PATH.fullmatch(nxt.text)
                    and not NUMBER_LIKE.fullmatch(nxt.text)):
                # "prestisje =samarbeid": an exact code after a term, without an operator
                self.fail("missing operator before '='", tok.pos, "join terms with AND or OR")
            self.comparison_error(tok)
        if tok.kind == "*":
            if prev.end == tok.pos:
                self.fail("'*' cannot follow this term", tok.pos,
                          "only words take *, such as samarbeid*")
            self.fail("'*' must be attached to a word", tok.pos,
                      "write samarbeid* without a space")
        if tok.kind == ",":
            self.fail("unexpected ','", tok.pos,
                      "commas separate values in in (…); join terms with AND or OR")
        if tok.kind == ":":
            self.fail("unexpected ':'", tok.pos,
                      "a colon follows text, tekst or lemma, or ~word before a threshold")
        hint = CHARACTER_HINTS.get(tok.text, "join terms with AND or OR")
        self.fail(f"unexpected '{_show(tok.text)}'", tok.pos, hint)

    def comparison_error(self, tok: Token) -> NoReturn:
        """A comparison operator (or ``in``) after something that cannot be compared."""
        node, grouped = self.last_primary
        if grouped:
            self.fail("an expression in parentheses cannot be compared", tok.pos,
                      "compare a field, such as office = Nord")
        if isinstance(node, Text):
            self.fail("a text search cannot be compared", tok.pos,
                      "compare a field, such as office = Nord")
        if isinstance(node, CodeRef):
            self.cannot_compare_code(tok, node.path)
        self.fail("comparisons cannot be chained", tok.pos,
                  "join comparisons with AND, such as age > 30 AND age < 50")
