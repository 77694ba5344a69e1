"""Running a parsed query over a project: spans, filters, relations, units, coverage.

Every term evaluates to a list of spans (document, start, end, and the coding
it came from, if any):

- a code selects the codings of that code (and its descendants, by default);
- a text term selects the matches in turns (FTS5 finds candidate turns);
- a filter on its own selects the turns it accepts (a ``coder`` filter: the
  codings); combined with ``AND`` it keeps the other side's spans whose turn
  (speaker, role, attributes; the turn the span starts in), document or coder
  it accepts. Filters joined by ``AND``, ``OR`` and ``NOT`` act as one filter;
- ``A AND B`` keeps the spans of either side that overlap a span of the other
  (text coded with both); ``A AND NOT B`` keeps A's spans that overlap none of
  B's (or that B's filter rejects); ``NOT A`` alone is the turns that overlap
  none of A's; ``OR`` is the union;
- ``A overlaps B``, ``A inside B``, ``A within N turns|sentences of B`` and
  ``A followed by B [within N turns]`` keep A's spans related to some B span.

Hits that start in an interviewer turn are left out unless a filter selects the
interviewer role or an interviewer speaker (``=``/``in``, not negated), or the
caller asks for them. An excerpt hit is one stretch of text with every coding
of exactly that text. Coverage counts distinct informants (non-interviewer
speakers) whose turns the hits touch, of those with turns in the corpus that
the top-level ``AND`` filters leave. docs/query-language.md#semantics has the
details.

Spans are evaluated as numpy columns kept with the corpus (``qcode.query.columns``,
built on the first query of a data version); text search, sentence positions and
``followed by`` work span by span and convert at the boundary.
"""

from __future__ import annotations

import bisect
import copy
import difflib
import json
import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from qcode.errors import QueryError
from qcode.models import INTERVIEWER_ROLE
from qcode.query import ast
from qcode.store import Store

if TYPE_CHECKING:
    from qcode.query.columns import Bools, CorpusColumns, Ints, SpanArray

UNITS = ("excerpt", "turn", "document")
BUILTIN_FIELDS = {"document", "doc", "speaker", "role", "coder", "kind"}
DEFAULT_FUZZY = 80


class Span(NamedTuple):
    """A stretch of a document's text, with the coding it came from (or None)."""

    doc: int
    start: int
    end: int
    coding: int | None = None


class TurnRow(NamedTuple):
    """A turn as the engine sees it."""

    id: int
    doc: int
    idx: int
    start: int
    end: int
    speaker: str | None
    role: str | None
    time: float | None
    label: str | None


class CodingRow(NamedTuple):
    """A coding as the engine sees it."""

    id: int
    doc: int
    start: int
    end: int
    code: str
    coder: str
    memo: str


class Corpus:
    """Everything a query needs from a project, loaded once.

    A corpus is a snapshot: build it with :func:`corpus_for`, which reuses the last
    one loaded for the same project and coders while the project's data version
    (``Store.data_version``) is unchanged.
    """

    def __init__(self, store: Store, coders: Sequence[str] | None = None) -> None:
        self.store = store
        self.docs: dict[int, dict[str, Any]] = {
            r[0]: {"name": r[1], "kind": r[2], "uid": r[3], "words": r[4]}
            for r in store.query_documents()}
        self.doc_by_name = {v["name"]: k for k, v in self.docs.items()}
        self.turns: dict[int, list[TurnRow]] = defaultdict(list)
        self.turn_by_id: dict[int, TurnRow] = {}
        for r in store.query_turns():
            t = TurnRow._make(r)
            self.turns[t.doc].append(t)
            self.turn_by_id[t.id] = t
        self._turn_starts = {d: [t.start for t in ts] for d, ts in self.turns.items()}
        self._turn_ends: dict[int, list[int] | None] = {}
        for d, ts in self.turns.items():
            ends = [t.end for t in ts]  # turns do not overlap: ends are sorted too
            self._turn_ends[d] = ends if all(a <= b for a, b in pairwise(ends)) else None
        self._roles = {t.speaker: t.role for t in self.turn_by_id.values()}
        self.codings = [CodingRow._make(r) for r in store.query_codings()
                        if coders is None or r[5] in coders]  # blind coding hides others
        self.coding_by_id = {c.id: c for c in self.codings}
        codes = store.codes()
        self.code_paths = {c.id: c.path for c in codes}
        self.code_parent = {c.id: c.parent_id for c in codes}
        self._children: dict[str, list[str]] = defaultdict(list)
        for cid, parent in self.code_parent.items():
            if parent:
                self._children[parent].append(cid)
        self.speaker_attrs = store.attributes("speaker")
        self.doc_attrs = store.attributes("document")
        self.speaker_types = store.attribute_types("speaker")
        self.doc_types = store.attribute_types("document")
        # filled on first use; shared by every copy ``bind`` makes
        self._texts: dict[int, str] = {}
        self._lazy: dict[str, Any] = {}

    def bind(self, store: Store) -> Corpus:
        """This corpus reading lazily loaded parts (texts, sentences) through ``store``."""
        if store is self.store:
            return self
        other = copy.copy(self)
        other.store = store
        return other

    # -- look-ups --------------------------------------------------------------------

    def text(self, doc: int) -> str:
        """A document's text (loaded on first use)."""
        found = self._texts.get(doc)
        if found is None:
            self._texts.update(self.store.document_texts([doc]))
            found = self._texts[doc]
        return found

    def load_texts(self, docs: Iterable[int]) -> None:
        """Load the texts of several documents in one read."""
        missing = [d for d in set(docs) if d not in self._texts]
        for i in range(0, len(missing), 500):
            self._texts.update(self.store.document_texts(missing[i:i + 500]))

    def turn_at(self, doc: int, pos: int) -> TurnRow | None:
        """The turn containing position ``pos`` (or the nearest one before it)."""
        starts = self._turn_starts.get(doc)
        if not starts:
            return None
        i = bisect.bisect_right(starts, pos) - 1
        return self.turns[doc][max(i, 0)]

    def turns_overlapping(self, span: Span) -> list[TurnRow]:
        """Turns that share text with a span (and an empty turn starting where it starts)."""
        turns = self.turns.get(span.doc)
        if not turns:
            return []
        end = max(span.end, span.start + 1)
        ends = self._turn_ends[span.doc]
        if ends is None:  # overlapping turns (never made by qcode's importers): scan
            return [t for t in turns
                    if (t.start < end and t.end > span.start) or t.start == span.start]
        starts = self._turn_starts[span.doc]
        lo = bisect.bisect_right(ends, span.start)  # first turn ending after span.start
        hi = bisect.bisect_left(starts, end)  # turns starting before the span's end
        first = bisect.bisect_left(starts, span.start)  # empty turns at span.start count
        if first < lo:
            extra = [t for t in turns[first:lo] if t.start == span.start]
            if extra:
                return extra + turns[lo:hi]
        return turns[lo:hi]

    def document_rank(self) -> dict[int, int]:
        """Document id -> its place in the order hits are listed in (name, case-folded)."""
        found: dict[int, int] | None = self._lazy.get("document_rank")
        if found is None:
            ordered = sorted(self.docs, key=lambda d: (self.docs[d]["name"].casefold(), d))
            found = self._lazy["document_rank"] = {d: i for i, d in enumerate(ordered)}
        return found

    def line_of(self, doc: int, pos: int) -> int:
        """The 1-based line of a position in a document's text."""
        lines = self._lazy.setdefault("newlines", {})
        offsets = lines.get(doc)
        if offsets is None:
            text = self.text(doc)
            offsets = lines[doc] = [m.start() for m in re.finditer("\n", text)]
        return bisect.bisect_left(offsets, pos) + 1

    def descendants(self, code: str) -> list[str]:
        """Ids of a code's descendants."""
        out: list[str] = []
        stack = list(self._children.get(code, []))
        while stack:
            cid = stack.pop()
            out.append(cid)
            stack.extend(self._children.get(cid, []))
        return out

    def sentences(self) -> dict[int, list[tuple[int, int]]]:
        """Stored sentences per document, or rule-based ones where none are stored."""
        found = self._lazy.get("sentences")
        if found is None:
            found = defaultdict(list)
            for doc, start, end in self.store.all_sentences():
                found[doc].append((start, end))
            for doc in self.docs:
                if doc not in found:
                    found[doc] = _rule_sentences(self.text(doc), self.turns.get(doc, []))
            found = self._lazy["sentences"] = dict(found)
        return found

    def sentence_starts(self, doc: int) -> list[int]:
        """Start offsets of a document's sentences (see ``sentences``), in order."""
        starts: dict[int, list[int]] = self._lazy.setdefault("sentence_starts", {})
        if doc not in starts:
            starts[doc] = sorted(s for s, _ in self.sentences().get(doc, []))
        return starts[doc]

    def role_of(self, speaker: str | None) -> str | None:
        """The role of a speaker id."""
        return self._roles.get(speaker)

    def informant_turns(self) -> dict[tuple[int, str], list[TurnRow]]:
        """The turns of each (document, informant) that coverage scopes are tested on.

        A filter other than ``coder`` looks at a span's document and at the turn it
        starts in (``turn_at``), so it answers alike for every turn of a speaker whose
        ``turn_at`` is that speaker's own turn: one of those stands for all of them. (An
        empty turn shares its start with the next turn, whose speaker ``turn_at``
        finds; such turns are kept apart by that speaker.)
        """
        found: dict[tuple[int, str], list[TurnRow]] | None = self._lazy.get("informant_turns")
        if found is None:
            seen: dict[tuple[int, str], dict[str | None, TurnRow]] = {}
            for doc, turns in self.turns.items():
                for t in turns:
                    if t.speaker and t.role != INTERVIEWER_ROLE:
                        at = self.turn_at(doc, t.start)
                        seen.setdefault((doc, t.speaker), {}).setdefault(
                            at.speaker if at else None, t)
            found = {pair: list(by.values()) for pair, by in seen.items()}
            self._lazy["informant_turns"] = found
        return found

    def interviewer_codings(self) -> set[int]:
        """Ids of the codings that start in an interviewer turn."""
        found: set[int] | None = self._lazy.get("interviewer_codings")
        if found is None:
            found = self._lazy["interviewer_codings"] = {
                k.id for k in self.codings
                if (self.turn_at(k.doc, k.start) or _NO_TURN).role == INTERVIEWER_ROLE}
        return found

    def columns(self) -> CorpusColumns:
        """The codings and turns as arrays, for evaluating queries (built on first use)."""
        found: CorpusColumns | None = self._lazy.get("columns")
        if found is None:
            from qcode.query.columns import CorpusColumns

            found = self._lazy["columns"] = CorpusColumns(self)
        return found

    def informant_groups(self, by: str) -> dict[tuple[int, str], str]:
        """(document, informant) -> the coverage group (role or attribute value) by ``by``."""
        cache: dict[str, dict[tuple[int, str], str]] = self._lazy.setdefault("groups", {})
        found = cache.get(by)
        if found is None:
            found = cache[by] = {pair: _group_value(self, pair[1], turns[0], by)
                                 for pair, turns in self.informant_turns().items()}
        return found

    def vocabulary(self) -> dict[str, list[int]]:
        """Lower-cased word forms (``\\w+(?:-\\w+)*``) -> ids of the turns they occur in."""
        found = self._lazy.get("vocabulary")
        if found is None:
            found = defaultdict(list)
            word = _FUZZY_WORD
            self.load_texts(self.turns)
            for doc, turns in self.turns.items():
                text = self.text(doc)
                for t in turns:
                    for form in {w.lower() for w in word.findall(text, t.start, t.end)}:
                        found[form].append(t.id)
            found = self._lazy["vocabulary"] = dict(found)
        return found


_CACHE: OrderedDict[tuple[str, tuple[str, ...] | None], tuple[int, Corpus]] = OrderedDict()
_CACHE_SIZE = 2
_CACHE_LOCK = threading.Lock()


def corpus_for(store: Store, coders: Sequence[str] | None = None) -> Corpus:
    """The corpus of a project for these coders, reused while its data is unchanged.

    Keyed by the project file and ``Store.data_version`` (a counter every change to
    the rows a corpus holds increments, in any connection or program), so a query
    after a change always sees it; the TUI's workers, which open their own
    connections, share one corpus.
    """
    key = (str(store.path.resolve()), tuple(sorted(coders)) if coders is not None else None)
    with store.read_snapshot():  # the version and the rows loaded belong together
        version = store.data_version()
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
            if cached is not None and cached[0] == version:
                _CACHE.move_to_end(key)
                return cached[1].bind(store)
        corpus = Corpus(store, coders)
    with _CACHE_LOCK:
        _CACHE[key] = (version, corpus)
        _CACHE.move_to_end(key)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return corpus


#: A rule sentence: text up to . ! ? … (with closing quotes or brackets) or a line break.
#: The transcription mark for left-out speech, ``(...)`` or ``(…)``, does not end one.
_SENTENCE = re.compile(r"(?:\((?:\.\.\.|…)\)|[^.!?…\n])+(?:[.!?…]+[»”\"')\]]*|\n|$)")


def _rule_sentences(text: str, turns: Sequence[TurnRow]) -> list[tuple[int, int]]:
    out = []
    for t in turns:
        for m in _SENTENCE.finditer(text, t.start, t.end):
            s, e = m.start(), m.end()
            while s < e and text[s].isspace():
                s += 1
            while e > s and text[e - 1].isspace():
                e -= 1
            if e > s:
                out.append((s, e))
    return out


# -- evaluation ----------------------------------------------------------------------


class _Eval:
    """Evaluates a query's nodes to spans (as columns, see ``qcode.query.columns``)."""

    def __init__(self, corpus: Corpus, query: str) -> None:
        self.c = corpus
        self.query = query
        self.warnings: list[str] = []
        self._tests: dict[int, tuple[_Reader, Callable[[Any], bool]]] = {}
        self._accepted: dict[int, Bools] = {}

    @property
    def cols(self) -> CorpusColumns:
        return self.c.columns()

    def error(self, node: Any, message: str, hint: str | None = None) -> QueryError:
        return QueryError(message, self.query, getattr(node, "pos", 0), hint)

    def check(self, node: ast.Node) -> None:
        """Refuse unknown fields and badly typed values anywhere in the tree, up front."""
        for n in ast.walk(node):
            if isinstance(n, ast.Filter):
                self.filter_test(n)

    # spans of a node
    def spans(self, node: ast.Node) -> SpanArray:
        if _is_filter_expr(node):
            base = self.base_spans(coded=_has_coder(node))
            return base.take(self.accepts(node, base))
        if isinstance(node, ast.CodeRef):
            return self.cols.of_codes(list(dict.fromkeys(self.codes_of(node))))
        if isinstance(node, ast.Text):
            return self.cols.from_spans(self.text_spans(node))
        if isinstance(node, ast.Or):
            return self.spans(node.left).concat(self.spans(node.right)).unique()
        if isinstance(node, ast.And):
            return self.conjunction(node)
        if isinstance(node, ast.Not):
            return self.without(self.base_spans(coded=False), node.operand)
        if isinstance(node, ast.Relation):
            return self.relation(node)
        raise self.error(node, f"cannot evaluate {type(node).__name__}")

    def base_spans(self, *, coded: bool) -> SpanArray:
        """Every coding (``coded``) or every non-empty turn: what a filter on its own selects."""
        return self.cols.all_codings() if coded else self.cols.turn_spans

    def conjunction(self, node: ast.And) -> SpanArray:
        from qcode.query.columns import Index

        left, right = node.left, node.right
        # a side made of filters only is a condition on the other side's spans
        if _is_filter_expr(right):
            spans = self.spans(left)
            return spans.take(self.accepts(right, spans))
        if _is_filter_expr(left):
            spans = self.spans(right)
            return spans.take(self.accepts(left, spans))
        if isinstance(right, ast.Not):
            return self.without(self.spans(left), right.operand)
        if isinstance(left, ast.Not):
            return self.without(self.spans(right), left.operand)
        a, b = self.spans(left), self.spans(right)
        return a.take(Index(b).overlaps(a)).concat(b.take(Index(a).overlaps(b))).unique()

    def without(self, spans: SpanArray, operand: ast.Node) -> SpanArray:
        from qcode.query.columns import Index

        if _is_filter_expr(operand):
            return spans.take(~self.accepts(operand, spans))
        return spans.take(~Index(self.spans(operand)).overlaps(spans))

    def accepts(self, node: ast.Node, spans: SpanArray) -> Bools:
        """Which spans a filter expression (filters joined by AND, OR, NOT) accepts."""
        if isinstance(node, ast.Filter):
            return self.filter_mask(node, spans)
        if isinstance(node, ast.Not):
            return ~self.accepts(node.operand, spans)
        if isinstance(node, ast.And):
            return self.accepts(node.left, spans) & self.accepts(node.right, spans)
        if isinstance(node, ast.Or):
            return self.accepts(node.left, spans) | self.accepts(node.right, spans)
        raise self.error(node, "not a filter expression")

    def relation(self, node: ast.Relation) -> SpanArray:
        import numpy as np

        from qcode.query.columns import Index, within

        a, b = self.spans(node.left), self.spans(node.right)
        if node.kind == "overlaps":
            return a.take(Index(b).overlaps(a))
        if node.kind == "inside":
            return a.take(Index(b).contains(a))
        n = node.n if node.n is not None else (2 if node.kind == "followed_by" else 0)
        a_pos, b_pos = self.positions(a, node.unit), self.positions(b, node.unit)
        if node.kind == "within":
            return a.take(within(a, a_pos, b, b_pos, n))
        # followed by: a span of B at most n turns (sentences) on that starts after A ends
        later: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for doc, pos, start in zip(b.doc.tolist(), b_pos.tolist(), b.start.tolist(),
                                   strict=True):
            later[doc].append((pos, start))
        keep = [any(here <= pos <= here + n and start >= end for pos, start in later[doc])
                if doc in later else False
                for doc, here, end in zip(a.doc.tolist(), a_pos.tolist(), a.end.tolist(),
                                          strict=True)]
        return a.take(np.array(keep, dtype=bool))

    def positions(self, spans: SpanArray, unit: str | None) -> Ints:
        """The turn (or, for ``sentences``, sentence) number of each span's start."""
        import numpy as np

        if unit != "sentences":
            return self.cols.positions(spans)
        return np.fromiter((self.sentence_index(doc, start) for doc, start in
                            zip(spans.doc.tolist(), spans.start.tolist(), strict=True)),
                           dtype=np.int64, count=len(spans))

    def sentence_index(self, doc: int, start: int) -> int:
        starts = self.c.sentence_starts(doc)
        return max(bisect.bisect_right(starts, start) - 1, 0)

    # codes
    def codes_of(self, node: ast.CodeRef) -> list[str]:
        code = self.resolve(node)
        if node.mode == "exact":
            return [code]
        below = self.c.descendants(code)
        return below if node.mode == "children" else [code, *below]

    def resolve(self, node: ast.CodeRef) -> str:
        parts = [p for p in node.path.split("/") if p]
        if not parts:
            raise self.error(node, "empty code path")
        for cid, path in self.c.code_paths.items():
            if path == node.path or (len(parts) == 1 and cid == parts[0]):
                return cid
        for cid, path in self.c.code_paths.items():
            segs = path.split("/")
            if segs[-1] == parts[-1] and _in_order(parts, segs):
                return cid
        close = difflib.get_close_matches(parts[-1], list(self.c.code_paths), n=3)
        raise self.error(node, f"no code {node.path!r}",
                         f"did you mean {', '.join(close)}?" if close
                         else "list codes with 'qcode codebook show'")

    # filters
    def filter_mask(self, node: ast.Filter, spans: SpanArray) -> Bools:
        """Which spans a filter accepts: its test is run once per distinct value it reads."""
        import numpy as np

        reader, test = self.filter_test(node)
        cols = self.cols
        accepted = self._accepted.get(id(node))
        if reader[0] == "coder":
            if accepted is None:
                accepted = self._accepted[id(node)] = np.array(
                    [test(coder) for coder in cols.coders], dtype=bool)
            return cols.coder_mask(spans, accepted)
        ids, values = cols.table(reader, lambda turn, doc: _context_value(self.c, reader, turn,
                                                                          doc))
        if accepted is None:
            accepted = self._accepted[id(node)] = np.fromiter(
                (test(v) for v in values), dtype=bool, count=len(values))
        result: Bools = accepted[ids[cols.contexts(spans)]]
        return result

    def filter_test(self, node: ast.Filter) -> tuple[_Reader, Callable[[Any], bool]]:
        """What a filter reads (see ``_context_value``; a coding's coder for ``coder``) and the
        test it puts on that value; built once per filter node."""
        found = self._tests.get(id(node))
        if found is None:
            found = self._tests[id(node)] = self._make_test(node)
        return found

    def _make_test(self, node: ast.Filter) -> tuple[_Reader, Callable[[Any], bool]]:
        name = _field(node)
        c = self.c

        def as_text(value: Any) -> bool:
            return _compare(value, node, text=True)

        if name in ("document", "doc"):
            return ("document", ""), as_text
        if name in ("kind", "coder", "speaker", "role"):
            return (name, ""), as_text
        if name in c.speaker_types:
            kind = c.speaker_types[name]
            typed = self.typed(node, kind)
            return ("speaker attribute", name), lambda v: _compare(v, typed, text=kind == "text")
        if name in c.doc_types:
            kind = c.doc_types[name]
            typed = self.typed(node, kind)
            return ("document attribute", name), lambda v: _compare(v, typed,
                                                                    text=kind == "text")
        known = sorted(BUILTIN_FIELDS | set(c.speaker_types) | set(c.doc_types))
        close = difflib.get_close_matches(name, known, n=2)
        raise self.error(node, f"unknown field or attribute {name!r}",
                         f"did you mean {', '.join(close)}?" if close
                         else f"fields: {', '.join(known)}")

    def typed(self, node: ast.Filter, kind: str) -> ast.Filter:
        """The filter with values fit for a number or date attribute; refuses values that
        cannot be compared with it (they would otherwise compare as text, silently)."""
        if kind == "number":
            if any(_as_number(v) is None for v in node.values):
                raise self.error(node, f"{node.field} is a number attribute",
                                 f"compare it with a number, such as {node.field} >= 40")
            return node
        if kind == "date":
            values: list[ast.FilterValue] = []
            for v in node.values:
                iso = _iso_date(v)
                if iso is None:
                    raise self.error(node, f"{node.field} is a date attribute",
                                     f"write a date such as {node.field} >= 2026-03-01 "
                                     'or "01.03.2026"')
                values.append(iso)
            return replace(node, values=tuple(values))
        return node

    # text search
    def text_spans(self, node: ast.Text) -> list[Span]:
        value = node.value.strip()
        if not value:
            raise self.error(node, "empty search term")
        if node.kind == "lemma":
            return self.lemma_spans(node, value)
        if node.kind == "fuzzy":
            return self.fuzzy_spans(node, value)
        words = re.findall(r"\w+", value)
        if not words:
            raise self.error(node, f"nothing to search for in {value!r}",
                             "search for words or a phrase")
        quoted = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        if node.kind == "prefix":
            match = quoted + "*"
            pattern = r"\b" + r"\W+".join(map(re.escape, words)) + r"\w*"
        elif node.kind == "phrase":
            match = '"' + " ".join(words).replace('"', '""') + '"'
            pattern = r"\b" + r"\W+".join(map(re.escape, words)) + r"\b"
        else:
            match = quoted
            pattern = r"\b" + r"\W+".join(map(re.escape, words)) + r"\b"
        rx = re.compile(pattern, re.IGNORECASE)
        out: list[Span] = []
        for turn_id in self.c.store.fts_turns(match):
            turn = self.c.turn_by_id.get(turn_id)
            if turn is None:
                continue
            text = self.c.text(turn.doc)
            out.extend(Span(turn.doc, m.start(), m.end())
                       for m in rx.finditer(text, turn.start, turn.end))
        return out

    def lemma_spans(self, node: ast.Text, value: str) -> list[Span]:
        tokens = self.c.store.all_tokens()
        if not tokens:
            raise self.error(node, "lemma search needs language annotations",
                             "run 'qcode nlp annotate' first")
        from qcode.nlp.lemmatizer import LemmaLookup

        annotated = {doc for doc, _data in tokens}
        missing = [d for d, ts in self.c.turns.items()
                   if d not in annotated and any(t.end > t.start for t in ts)]
        if missing:
            self.warnings.append(
                f"lemma:{value} searched only the {len(annotated)} annotated documents; "
                f"{len(missing)} are not annotated (run 'qcode nlp annotate')")
        wanted = {value.lower()} | {r.lower() for r in LemmaLookup.default().readings(value)}
        out: list[Span] = []
        for doc, data in tokens:
            arrays = json.loads(data)
            for s, e, lemma in zip(arrays["start"], arrays["end"], arrays["lemma"],
                                   strict=True):
                if str(lemma).lower() in wanted:
                    out.append(Span(doc, s, e))
        return out

    def fuzzy_spans(self, node: ast.Text, value: str) -> list[Span]:
        """Words spelt like ``value``: rapidfuzz ``ratio`` of the lower-cased forms at least
        the threshold. A phrase of n words is compared with runs of 1 to n words of a turn
        (so ``~"felles møter"`` also finds *fellesmøter*)."""
        from rapidfuzz import fuzz, process

        threshold = DEFAULT_FUZZY if node.threshold is None else node.threshold
        wanted = " ".join(value.lower().split())
        most = max(len(value.split()), 1)
        word = _FUZZY_WORD
        if most == 1:  # one word: score the project's distinct forms, then find them
            known = self.c.vocabulary()
            forms = {form for form, _score, _ in process.extract(
                wanted, list(known), scorer=fuzz.ratio, score_cutoff=threshold, limit=None)}
            out: list[Span] = []
            for turn_id in sorted({t for form in forms for t in known[form]}):
                turn = self.c.turn_by_id[turn_id]
                text = self.c.text(turn.doc)
                out.extend(Span(turn.doc, m.start(), m.end())
                           for m in word.finditer(text, turn.start, turn.end)
                           if m.group().lower() in forms)
            return out
        vocabulary: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for doc, turns in self.c.turns.items():
            text = self.c.text(doc)
            for t in turns:
                found = list(word.finditer(text, t.start, t.end))
                for size in range(1, most + 1):
                    for i in range(len(found) - size + 1):
                        run = found[i:i + size]
                        form = " ".join(m.group() for m in run).lower()
                        vocabulary[form].append((doc, run[0].start(), run[-1].end()))
        hits = process.extract(wanted, list(vocabulary),
                               scorer=fuzz.ratio, score_cutoff=threshold, limit=None)
        return [Span(doc, s, e) for form, _score, _ in hits for doc, s, e in vocabulary[form]]


_NO_TURN = TurnRow(-1, -1, 0, 0, 0, None, None, None, None)
#: A word as fuzzy search sees it: hyphenated compounds (NAV-veilederen) stay whole.
_FUZZY_WORD = re.compile(r"\w+(?:-\w+)*")


def _field(node: ast.Filter) -> str:
    return node.field.lower() if node.field.lower() in BUILTIN_FIELDS else node.field


#: What a filter reads: ("document" | "kind" | "coder" | "speaker" | "role", "") or
#: ("speaker attribute" | "document attribute", name).
_Reader = tuple[str, str]


def _context_value(corpus: Corpus, reader: _Reader, turn: TurnRow | None, doc: int) -> Any:
    """The value a filter (other than ``coder``) reads for a span in ``doc`` whose start is in
    ``turn`` (``Corpus.turn_at``; None in a document without turns): the document's name,
    kind or attribute, or the turn's speaker, role or speaker attribute (else the
    document's attribute of that name)."""
    what, name = reader
    if what == "document":
        return corpus.docs[doc]["name"]
    if what == "kind":
        return corpus.docs[doc]["kind"]
    if what == "speaker":
        return (turn or _NO_TURN).speaker
    if what == "role":
        return (turn or _NO_TURN).role
    if what == "speaker attribute":
        value = corpus.speaker_attrs.get(turn.speaker or "", {}).get(name) if turn else None
        if value is None:
            value = corpus.doc_attrs.get(corpus.docs[doc]["uid"], {}).get(name)
        return value
    return corpus.doc_attrs.get(corpus.docs[doc]["uid"], {}).get(name)


def _is_filter_expr(node: ast.Node) -> bool:
    """A filter, or filters joined by AND, OR and NOT: a condition rather than spans."""
    if isinstance(node, ast.Filter):
        return True
    if isinstance(node, ast.Not):
        return _is_filter_expr(node.operand)
    if isinstance(node, ast.And | ast.Or):
        return _is_filter_expr(node.left) and _is_filter_expr(node.right)
    return False


def _has_coder(node: ast.Node) -> bool:
    return any(isinstance(n, ast.Filter) and _field(n) == "coder" for n in ast.walk(node))


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_NO_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", re.ASCII)


def _iso_date(value: ast.FilterValue) -> str | None:
    """``2026-03-01`` or ``1.3.2026`` as ``2026-03-01``; None if it is not a valid date."""
    if not isinstance(value, str):
        return None
    for rx, (y, m, d) in ((_ISO_DATE, (1, 2, 3)), (_NO_DATE, (3, 2, 1))):
        found = rx.fullmatch(value.strip())
        if found:
            try:
                return date(int(found[y]), int(found[m]), int(found[d])).isoformat()
            except ValueError:
                return None
    return None


def _in_order(parts: Sequence[str], segs: Sequence[str]) -> bool:
    it = iter(segs)
    return all(any(p == s for s in it) for p in parts)


def _as_number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        return None


def _as_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _compare(actual: Any, node: ast.Filter, *, text: bool) -> bool:
    if actual is None:
        return node.op in ("!=", "not in")
    if hasattr(actual, "isoformat"):
        actual = actual.isoformat()
    values = list(node.values)
    if node.op in ("=", "!=", "in", "not in"):
        if text or not all(_as_number(v) is not None for v in values):
            hit = _as_text(actual).casefold() in {_as_text(v).casefold() for v in values}
        else:
            num = _as_number(actual)
            hit = num is not None and num in {_as_number(v) for v in values}
        return hit if node.op in ("=", "in") else not hit
    target = values[0]
    a_num, t_num = _as_number(actual), _as_number(target)
    left: Any
    right: Any
    if a_num is not None and t_num is not None and not text:
        left, right = a_num, t_num
    else:
        left, right = _as_text(actual), _as_text(target)
    return bool({"<": left < right, "<=": left <= right, ">": left > right,
                 ">=": left >= right}[node.op])


# -- results -------------------------------------------------------------------------


@dataclass
class Hit:
    """One result: an excerpt, a turn or a document, with where it stands."""

    document: str
    start: int
    end: int
    text: str
    turn: int | None
    line: int
    time: float | None
    speaker: str | None
    role: str | None
    codes: list[str]
    coders: list[str]
    coding_ids: list[int]
    context_before: str = ""
    context_after: str = ""
    #: Informants (non-interviewer speakers in the query's scope) whose turns the hit's
    #: spans touch: what the hit adds to the coverage.
    informants: list[str] = field(default_factory=list)


@dataclass
class Coverage:
    """How many informants the hits cover, of how many, for one group."""

    group: str
    informants: list[str]
    total: int

    @property
    def count(self) -> int:
        """Informants covered."""
        return len(self.informants)

    def sentence(self, noun: str = "informants") -> str:
        """"7 of 9 jobbspesialist informants"."""
        return f"{self.count} of {self.total} {self.group} {noun}".replace("  ", " ")


@dataclass
class QueryResult:
    """Hits of a query with their coverage."""

    query: str
    unit: str
    hits: Sequence[Hit]
    coverage: list[Coverage]
    coverage_by: str
    include_interviewer: bool
    warnings: list[str] = field(default_factory=list)


def _mentions_interviewer(node: ast.Node, corpus: Corpus, negated: bool = False) -> bool:
    """Whether a filter selects the interviewer role or an interviewer speaker: with
    ``=`` or ``in`` outside NOT (or ``!=``/``not in`` under NOT)."""
    if isinstance(node, ast.Not):
        return _mentions_interviewer(node.operand, corpus, not negated)
    if isinstance(node, ast.Filter):
        if (node.op in ("=", "in")) == negated:
            return False
        wanted = {str(v).casefold() for v in node.values}
        if _field(node) == "role":
            return INTERVIEWER_ROLE in wanted
        if _field(node) == "speaker":
            return any(role == INTERVIEWER_ROLE and speaker.casefold() in wanted
                       for speaker, role in corpus._roles.items() if speaker)
        return False
    return any(_mentions_interviewer(n, corpus, negated) for n in ast.children(node))


def _scope_filters(node: ast.Node) -> list[ast.Node]:
    """Filter expressions that restrict the whole query (the top-level AND chain)."""
    if isinstance(node, ast.And):
        return _scope_filters(node.left) + _scope_filters(node.right)
    return [node] if _is_filter_expr(node) else []


def run_query(store: Store, query: str, *, unit: str = "excerpt", context: int = 0,
              include_interviewer: bool = False, coverage_by: str = "role",
              corpus: Corpus | None = None) -> QueryResult:
    """Parse and run a query; hits in document order with coverage per group."""
    from qcode.query.parser import parse

    if unit not in UNITS:
        raise QueryError(f"unknown unit {unit!r}", query, 0, f"use one of {', '.join(UNITS)}")
    corpus = corpus or corpus_for(store)
    attributes = set(corpus.speaker_types) | set(corpus.doc_types)
    node = parse(query, codes=[c for c in corpus.code_paths if c not in attributes])
    ev = _Eval(corpus, query)
    ev.check(node)
    spans = ev.spans(node)
    with_interviewer = include_interviewer or _mentions_interviewer(node, corpus)
    if not with_interviewer:
        spans = spans.take(~ev.cols.interviewer(spans))
    speakers = _SpanSpeakers(corpus)
    scope = [f for f in _scope_filters(node) if not _has_coder(f)]
    coverage = _coverage(corpus, ev, spans, scope, coverage_by, query)
    counted = {s for c in coverage for s in c.informants}
    if unit == "excerpt":
        hits = _excerpt_hits(corpus, spans, context, speakers, counted)
    else:
        hits = _hits(corpus, ev.cols.to_spans(spans), unit, context, with_interviewer,
                     speakers, counted)
    return QueryResult(query, unit, hits, coverage, coverage_by, with_interviewer,
                       ev.warnings)


class _SpanSpeakers:
    """The informants (non-interviewer speakers) whose turns a span touches, as
    (document, speaker) pairs, for building hits (coverage counts them on columns)."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus

    def pairs(self, span: Span) -> tuple[tuple[int, str], ...]:
        return tuple(dict.fromkeys((t.doc, t.speaker)
                                   for t in self.corpus.turns_overlapping(span)
                                   if t.speaker and t.role != INTERVIEWER_ROLE))

    def informants(self, spans: Iterable[Span]) -> list[str]:
        """The informants of spans (each stretch of text looked up once), sorted."""
        places = dict.fromkeys(Span(s.doc, s.start, s.end) for s in spans)
        return sorted({speaker for s in places for _doc, speaker in self.pairs(s)})


class Hits(Sequence[Hit]):
    """The hits of a query in document order, each built when it is first read.

    Grouping and ordering are done up front (so ``len`` and the order are known at
    once); a hit's text, line, context and codings are worked out on first access,
    so a screen that shows the first hundred of twelve thousand pays for a hundred.
    Reads like a list (index, slice, iterate, compare with a list).
    """

    def __init__(self, keys: Sequence[Any], build: Callable[[Any], Hit]) -> None:
        self._keys = keys
        self._build = build
        self._built: list[Hit | None] = [None] * len(keys)

    def __len__(self) -> int:
        return len(self._keys)

    def _get(self, i: int) -> Hit:
        hit = self._built[i]
        if hit is None:
            hit = self._built[i] = self._build(self._keys[i])
        return hit

    @overload
    def __getitem__(self, index: int) -> Hit: ...

    @overload
    def __getitem__(self, index: slice) -> list[Hit]: ...

    def __getitem__(self, index: int | slice) -> Hit | list[Hit]:
        if isinstance(index, slice):
            return [self._get(i) for i in range(*index.indices(len(self._keys)))]
        if index < 0:
            index += len(self._keys)
        if not 0 <= index < len(self._keys):
            raise IndexError("hit index out of range")
        return self._get(index)

    def __iter__(self) -> Iterator[Hit]:
        return (self._get(i) for i in range(len(self._keys)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other,
                                                                          strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Hits({len(self)} hits)"


def _hits(corpus: Corpus, spans: list[Span], unit: str, context: int,
          with_interviewer: bool = False, speakers: _SpanSpeakers | None = None,
          counted: set[str] | None = None) -> Hits:
    """Hits grouped by unit; ``counted``: the informants the coverage counts (a hit's
    ``informants`` are those of its spans among them; all of them when None)."""
    speakers = speakers or _SpanSpeakers(corpus)
    groups: dict[Any, list[Span]] = defaultdict(list)
    for s in spans:
        if unit == "excerpt":  # one hit per stretch of text, with all its codings
            groups[(s.doc, s.start, s.end)].append(s)
        elif unit == "turn":  # every turn the span touches (interviewer turns as asked)
            turns = [t for t in corpus.turns_overlapping(s)
                     if with_interviewer or t.role != INTERVIEWER_ROLE]
            turns = turns or [corpus.turn_at(s.doc, s.start) or _NO_TURN]
            for t in turns:
                groups[(s.doc, t.id)].append(s)
        else:
            groups[(s.doc,)].append(s)

    def bounds(key: Any) -> tuple[int, int]:
        if unit == "excerpt":
            return key[1], key[2]
        if unit == "turn":
            turn = corpus.turn_by_id.get(key[1])
            members = groups[key]
            return (turn.start, turn.end) if turn else (members[0].start, members[0].end)
        return 0, len(corpus.text(key[0]))

    corpus.load_texts(key[0] for key in groups)  # hits are built later, maybe store closed
    rank = corpus.document_rank()
    if unit == "excerpt":  # keys are (document, start, end): documents in order, then keys
        per_doc: dict[int, list[Any]] = defaultdict(list)
        for key in groups:
            per_doc[key[0]].append(key)
        ordered = [k for d in sorted(per_doc, key=rank.__getitem__) for k in sorted(per_doc[d])]
    else:
        ordered = sorted(groups, key=lambda k: (rank[k[0]], *bounds(k)))

    def build(key: Any) -> Hit:
        members = groups[key]
        return _make_hit(corpus, unit, context, counted, key[0], *bounds(key), members,
                         speakers.informants(members))

    return Hits(ordered, build)


def _excerpt_hits(corpus: Corpus, spans: SpanArray, context: int, speakers: _SpanSpeakers,
                  counted: set[str] | None) -> Hits:
    """Excerpt hits (as ``_hits`` makes them) of spans as columns: sorted and grouped by
    (document, start, end) up front, each hit built from its group's slice when read."""
    import numpy as np

    from qcode.query.columns import distinct

    cols = corpus.columns()
    order, bounds = cols.excerpt_groups(spans)
    corpus.load_texts(distinct(spans.doc).tolist())  # hits are built later, maybe store closed
    doc, start, end = spans.doc[order], spans.start[order], spans.end[order]
    rows = spans.row[order]
    coding = np.where(rows >= 0, cols.c_id[np.maximum(rows, 0)], -1) if len(cols.c_id) \
        else rows
    # the turns each stretch touches: a range of turns where ``turns_overlapping`` is one
    first = spans.take(order[bounds[:-1]])
    turns_lo, turns_hi, empty_at = cols.turn_ranges(first)
    in_range = cols.regular(first)
    if empty_at is not None:
        in_range &= empty_at >= turns_lo

    def build(i: int) -> Hit:
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        d, s, e = int(doc[lo]), int(start[lo]), int(end[lo])
        members = [Span(d, s, e, k if k >= 0 else None) for k in coding[lo:hi].tolist()]
        if in_range[i]:
            informants = sorted({cols.pairs[p][1] for p in
                                 cols.t_pair[turns_lo[i]:turns_hi[i]].tolist() if p >= 0})
        else:
            informants = speakers.informants(members)
        return _make_hit(corpus, "excerpt", context, counted, d, s, e, members, informants)

    return Hits(range(len(bounds) - 1), build)


def _make_hit(corpus: Corpus, unit: str, context: int, counted: set[str] | None, doc: int,
              start: int, end: int, members: list[Span], informants: list[str]) -> Hit:
    """The hit of one unit of text (``start``-``end`` of ``doc``), the spans in it and the
    informants whose turns they touch."""
    text = corpus.text(doc)
    turn = corpus.turn_at(doc, start)
    codings = [corpus.coding_by_id[m.coding] for m in members if m.coding is not None]
    before = after = ""
    if context and turn is not None:
        siblings = corpus.turns[doc]
        i = max(bisect.bisect_right(corpus._turn_starts[doc], start) - 1, 0)
        before = "\n".join(text[t.start:t.end] for t in siblings[max(0, i - context):i])
        after = "\n".join(text[t.start:t.end] for t in siblings[i + 1:i + 1 + context])
    return Hit(
        document=corpus.docs[doc]["name"], start=start, end=end,
        text=text[start:end] if unit != "document" else "", turn=turn.idx if turn else None,
        line=corpus.line_of(doc, start), time=turn.time if turn else None,
        speaker=turn.speaker if turn and unit != "document" else None,
        role=turn.role if turn and unit != "document" else None,
        codes=sorted({k.code for k in codings}), coders=sorted({k.coder for k in codings}),
        coding_ids=sorted({k.id for k in codings}), context_before=before,
        context_after=after,
        informants=informants if counted is None else [
            s for s in informants if s in counted])


def _group_value(corpus: Corpus, speaker: str, turn: TurnRow, by: str) -> str:
    if by == "role":
        return turn.role or "(no role)"
    value = corpus.speaker_attrs.get(speaker, {}).get(by)
    if value is None:
        value = corpus.doc_attrs.get(corpus.docs[turn.doc]["uid"], {}).get(by)
    if value is None:
        return "(none)"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _coverage(corpus: Corpus, ev: _Eval, spans: SpanArray, scope: list[ast.Node], by: str,
              query: str) -> list[Coverage]:
    """Per group: the informants whose turns the spans touch, of those in scope (with a
    turn that every ``scope`` filter accepts). Informants are counted as (group, speaker)."""
    import numpy as np

    from qcode.query.columns import distinct

    if by != "role" and by not in corpus.speaker_types and by not in corpus.doc_types:
        raise QueryError(f"cannot count coverage by {by!r}: no such attribute", query, 0,
                         "use role or an attribute name")
    cols = ev.cols
    group_of, names = cols.pair_groups(by, corpus.informant_groups(by))
    if scope:
        reps = cols.reps
        accepted = np.ones(len(reps), dtype=bool)
        for f in scope:
            accepted &= ev.accepts(f, reps)
        in_scope = np.flatnonzero(np.bincount(cols.rep_pair[accepted],
                                              minlength=len(cols.pairs)))
    else:
        in_scope = np.arange(len(cols.pairs), dtype=np.int64)
    n_speakers = max(len(cols.speakers), 1)

    def members(pairs: Ints) -> Ints:
        """(group, speaker) of each pair, as one number, distinct and sorted."""
        return distinct(group_of[pairs] * n_speakers + cols.pair_speaker[pairs])

    scoped = members(in_scope)
    covered = members(cols.touched_pairs(spans))
    if scope:
        at = np.minimum(np.searchsorted(scoped, covered), max(len(scoped) - 1, 0))
        covered = covered[scoped[at] == covered] if len(scoped) else scoped
    totals = np.bincount(scoped // n_speakers, minlength=len(names))
    # groups by name, those of the same name by their first pair in scope (a stable sort)
    first = np.full(len(names), len(cols.pairs), dtype=np.int64)
    np.minimum.at(first, group_of[in_scope], in_scope)
    present = np.flatnonzero(totals)
    order = sorted(present[np.argsort(first[present], kind="stable")].tolist(),
                   key=lambda g: names[g].casefold())
    found: dict[int, list[str]] = defaultdict(list)
    for g, speaker in zip((covered // n_speakers).tolist(), (covered % n_speakers).tolist(),
                          strict=True):
        found[g].append(cols.speakers[speaker])
    return [Coverage(names[g], sorted(found.get(g, [])), int(totals[g])) for g in order]
