"""The syntax tree of a parsed query: frozen dataclasses, ``walk``, ``to_text``.

Every node carries ``pos``, the code-point index into the query text where the
node was written, for error messages from later stages:

- ``CodeRef``: the first character of the reference (the ``=`` of ``=prestisje``);
- ``Text``: the first character of the term (the quote, ``~``, ``text:``, ``lemma:``);
- ``Filter``: the first character of the field name;
- ``And``, ``Or``, ``Relation``: the operator keyword (``AND``, ``overlaps``, ``within`` ...);
- ``Not``: the ``NOT`` keyword.

Parentheses leave no node behind. ``to_text`` renders a normalised query (English
keywords, ``"..."`` phrases, parentheses only where needed) that parses back to
an equal tree, positions aside (see ``equal_ignoring_pos``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

CodeMode = Literal["tree", "exact", "children"]
TextKind = Literal["phrase", "word", "prefix", "lemma", "fuzzy"]
FilterOp = Literal["=", "!=", "<", "<=", ">", ">=", "in", "not in"]
RelationKind = Literal["overlaps", "inside", "within", "followed_by"]
RelationUnit = Literal["turns", "sentences"]
FilterValue: TypeAlias = str | float

#: Fields that are not attributes. ``doc`` is parsed as ``document``.
BUILTIN_FIELDS: tuple[str, ...] = ("document", "speaker", "role", "coder", "kind")


@dataclass(frozen=True, slots=True)
class CodeRef:
    """A code by its path: ``prestisje`` (tree), ``=prestisje`` (exact), ``a/b/*`` (children)."""

    path: str
    mode: CodeMode
    pos: int


@dataclass(frozen=True, slots=True)
class Text:
    """A text search: a phrase, a word, a prefix, a lemma, or a fuzzy word.

    ``threshold`` is set only for fuzzy terms written with one (``~teamfølelse:80``).
    """

    kind: TextKind
    value: str
    pos: int
    threshold: int | None = None


@dataclass(frozen=True, slots=True)
class Filter:
    """A comparison of a field (built-in or attribute) with one value, or a list for ``in``.

    Bare numerals are floats (``40``, ``40.5``, ``40,5``); everything else, quoted
    values and ISO dates included, is a string.
    """

    field: str
    op: FilterOp
    values: tuple[FilterValue, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    pos: int


@dataclass(frozen=True, slots=True)
class Relation:
    """``left overlaps|inside right``, ``left within n unit of right``,
    ``left followed by right [within n unit]``.

    ``n`` and ``unit`` are both set for ``within``, both ``None`` for ``overlaps``
    and ``inside``, and both set or both ``None`` for ``followed_by``.
    """

    kind: RelationKind
    left: Node
    right: Node
    n: int | None
    unit: RelationUnit | None
    pos: int


Node: TypeAlias = CodeRef | Text | Filter | And | Or | Not | Relation


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-nodes of a node, left to right."""
    if isinstance(node, And | Or | Relation):
        return (node.left, node.right)
    if isinstance(node, Not):
        return (node.operand,)
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children, left to right."""
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def equal_ignoring_pos(a: object, b: object) -> bool:
    """Whether two trees are equal in everything but ``pos``."""
    pairs: list[tuple[object, object]] = [(a, b)]
    while pairs:
        x, y = pairs.pop()
        if type(x) is not type(y):
            return False
        if is_dataclass(x) and not isinstance(x, type):
            pairs.extend((getattr(x, f.name), getattr(y, f.name))
                         for f in fields(x) if f.name != "pos")
        elif x != y:
            return False
    return True


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------

_OR, _AND, _REL, _NOT = 1, 2, 3, 4
#: A bare value that reads as a number (and is then a float, or refused if malformed).
NUMBER_LIKE = re.compile(r"-?[\d.]*\d[\d.]*", re.ASCII)


def is_word_char(ch: str) -> bool:
    """Characters of a bare word: letters, digits, combining marks, ``_ - . /``."""
    return ch.isalnum() or ch in "_-./" or unicodedata.category(ch).startswith("M")


def is_bare_word(text: str) -> bool:
    """Whether ``text`` reads back as one bare word."""
    return bool(text) and all(is_word_char(ch) for ch in text)


def is_text_word(text: str) -> bool:
    """Whether ``text`` can be a searched word: a bare word with a letter or digit, no ``/``."""
    return is_bare_word(text) and "/" not in text and any(ch.isalnum() for ch in text)


def to_text(node: Node) -> str:
    """A normalised query string that parses back to this tree (positions aside)."""
    return _render(node, _OR)


def _render(node: Node, level: int) -> str:
    if isinstance(node, Or):
        text = f"{_render(node.left, _OR)} OR {_render(node.right, _AND)}"
        return f"({text})" if level > _OR else text
    if isinstance(node, And):
        text = f"{_render(node.left, _AND)} AND {_render(node.right, _REL)}"
        return f"({text})" if level > _AND else text
    if isinstance(node, Relation):
        text = f"{_operand(node.left)} {_relation(node)}"
        return f"({text})" if level > _REL else text
    if isinstance(node, Not):
        return f"NOT {_render(node.operand, _NOT)}"
    return _term(node)


def _relation(node: Relation) -> str:
    right = _operand(node.right)
    distance = ""
    if node.n is not None and node.unit is not None:
        unit = node.unit if node.n != 1 else node.unit[:-1]
        distance = f"{node.n} {unit}"
    if node.kind == "overlaps":
        return f"overlaps {right}"
    if node.kind == "inside":
        return f"inside {right}"
    if node.kind == "within":
        return f"within {distance} of {right}"
    return f"followed by {right}" + (f" within {distance}" if distance else "")


def _operand(node: Node) -> str:
    """A relation operand: a code, NOT before one, or anything else in parentheses."""
    if isinstance(node, CodeRef):
        return _term(node)
    if isinstance(node, Not):
        return f"NOT {_operand(node.operand)}"
    return f"({_render(node, _OR)})"


def _term(node: CodeRef | Text | Filter) -> str:
    if isinstance(node, CodeRef):
        if node.mode == "exact":
            return f"={node.path}"
        if node.mode == "children":
            return f"{node.path}/*"
        return node.path
    if isinstance(node, Text):
        if node.kind == "phrase":
            return quote(node.value)
        if node.kind == "word":
            return f"text:{node.value}"
        if node.kind == "prefix":
            return f"{node.value}*"
        if node.kind == "lemma":
            return f"lemma:{node.value}"
        value = node.value if is_text_word(node.value) else quote(node.value)
        return f"~{value}" + (f":{node.threshold}" if node.threshold is not None else "")
    if node.op in ("in", "not in"):
        listed = ", ".join(_value(v) for v in node.values)
        return f"{node.field} {node.op} ({listed})"
    return f"{node.field} {node.op} {_value(node.values[0])}"


def _value(value: FilterValue) -> str:
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if is_bare_word(value) and not NUMBER_LIKE.fullmatch(value):
        return value
    return quote(value)


def quote(value: str) -> str:
    """``value`` as a ``"..."`` phrase, with ``\\`` and ``"`` escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
