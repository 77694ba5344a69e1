"""Read models the screens build from ``qcode.services``.

A few listings have no service yet (coders, code counts, saved queries); each
helper here prefers the service when it exists and otherwise reads the one
public ``Store`` method the CLI uses for the same listing, so the TUI and the
CLI show the same numbers. Nothing here writes.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qcode import services
from qcode.models import INTERVIEWER_ROLE, Coder
from qcode.store import Store


def list_coders(store: Store) -> list[Coder]:
    """The project's coders."""
    service = getattr(services, "list_coders", None)
    if service is not None:
        found = service(store)
        return [c if isinstance(c, Coder) else Coder(c["id"], c.get("name", c["id"]))
                for c in found]
    return store.coders()


def code_stats(store: Store) -> dict[str, tuple[int, int]]:
    """Per code id: (codings, informants covered), as ``qcode codebook show`` counts them."""
    service = getattr(services, "code_stats", None)
    if service is not None:
        return dict(service(store))
    return store.code_stats()


@dataclass(frozen=True)
class SavedQuery:
    """A named query."""

    name: str
    query: str


def saved_queries(store: Store) -> list[SavedQuery]:
    """Saved queries by name."""
    service = getattr(services, "list_saved_queries", None)
    rows: Sequence[Any] = service(store) if service is not None else store.saved_queries()
    out = []
    for r in rows:
        if isinstance(r, dict):
            out.append(SavedQuery(str(r["name"]), str(r["query"])))
        else:
            out.append(SavedQuery(str(r[0]), str(r[1])))
    return out


def codable_turns(turns: Sequence[Any]) -> list[Any]:
    """Turns worth coding: not the interviewer's, not empty."""
    return [t for t in turns if t.role != INTERVIEWER_ROLE and t.end > t.start]


def turns_coded(turns: Sequence[Any], codings: Sequence[Any]) -> int:
    """How many of ``turns`` overlap at least one of ``codings``."""
    spans = sorted((k.start, k.end) for k in codings)
    starts = [s for s, _e in spans]
    reach = list(itertools.accumulate((e for _s, e in spans), max))  # furthest end so far
    n = 0
    for t in turns:
        i = bisect.bisect_left(starts, t.end)  # the spans that start before the turn ends
        if i and reach[i - 1] > t.start:
            n += 1
    return n


class _Stretch:
    """A turn or coding as ``codable_turns`` and ``turns_coded`` read it."""

    __slots__ = ("end", "role", "start")

    def __init__(self, start: int, end: int, role: str | None = None) -> None:
        self.start, self.end, self.role = start, end, role


def coding_progress(store: Store) -> dict[str, dict[str, tuple[int, int]]]:
    """Per document name and coder: (turns coded, codable turns).

    Read in three bulk queries of offsets (the query engine's reads: current documents,
    their turns and codings, no texts), not document by document."""
    names = {row[0]: row[1] for row in store.query_documents()}
    turns: dict[int, list[_Stretch]] = defaultdict(list)
    for _id, doc, _idx, start, end, _speaker, role, *_rest in store.query_turns():
        turns[doc].append(_Stretch(start, end, role))
    codings: dict[int, dict[str, list[_Stretch]]] = defaultdict(lambda: defaultdict(list))
    for _id, doc, start, end, _code, coder, _memo in store.query_codings():
        codings[doc][coder].append(_Stretch(start, end))
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for doc, name in names.items():
        coders = codings.get(doc)
        if not coders:
            out[name] = {}
            continue
        codable = codable_turns(turns.get(doc, []))
        out[name] = {coder: (turns_coded(codable, ks), len(codable))
                     for coder, ks in sorted(coders.items())}
    return out


def project_visible_coders(store: Store, coder: str | None) -> list[str] | None:
    """Coders the project lets ``coder`` see (blind coding), or None when all may be seen."""
    service = getattr(services, "visible_coders", None)
    blind = getattr(services, "is_blind", None)
    if service is None or blind is None or not blind(store):
        return None
    return list(service(store, coder))
