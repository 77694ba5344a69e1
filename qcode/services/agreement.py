"""Intercoder agreement on a coded project, disagreement review and consensus coding.

Units are declared in every result: ``turn``, ``sentence``, ``paragraph`` or
``document`` (a code is present or absent per unit and coder), ``character``
(every character of informant text, as NVivo counts), or ``unitized``
(Krippendorff's |uα over the text as a continuum). Only documents that every
compared coder has coded are compared, so a document one coder never opened
does not count as agreement on absence. Interviewer turns are left out by
default.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from qcode.errors import InputError
from qcode.models import INTERVIEWER_ROLE, Document
from qcode.store import Store

AGREEMENT_UNITS = ("turn", "sentence", "paragraph", "document", "character", "unitized")
CONSENSUS = "consensus"
DECISIONS = ("a", "b", "both", "neither", "discuss")
BOOTSTRAP_SEED = 20261122


@dataclass(frozen=True)
class AgreementRow:
    """Agreement on one code (and group): units, who coded what, the statistics."""

    code: str
    path: str
    group: str
    n_units: int
    coded_by: dict[str, int]
    alpha: float
    ci_low: float | None
    ci_high: float | None
    kappa: float | None
    percent: float
    reading: str


@dataclass
class AgreementReport:
    """Agreement per code for a set of coders at a declared unit."""

    coders: list[str]
    unit: str
    documents: list[str]
    rows: list[AgreementRow]
    include_interviewer: bool
    rollup: bool
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Disagreement:
    """A unit where coders disagree on a code, with each coder's value."""

    code: str
    document: str
    start: int
    end: int
    text: str
    values: dict[str, bool]
    context_before: str = ""
    context_after: str = ""
    decided: str | None = None


def _family(store: Store, code: str, rollup: bool) -> set[str]:
    return {code, *(store.descendants(code) if rollup else [])}


def _compared_documents(store: Store, coders: Sequence[str],
                        documents: Sequence[str] | None) -> list[Document]:
    """The documents (without their text) that every one of the coders has coded."""
    if documents:
        named = [store.document(d) for d in documents]
        docs = list({d.id: replace(d, text="") for d in named}.values())
    else:
        docs = store.documents()
    coded: dict[int, set[str]] = defaultdict(set)
    for doc_id, coder in store.document_coders(coders):
        coded[doc_id].add(coder)
    return [d for d in docs if len(coded[d.id]) == len(coders)]


class _Units:
    """The units of the compared documents, numbered across documents.

    ``spans[i]`` is (start, end, group) of unit i; the units of the document at
    position p are ``spans[base[p]:base[p + 1]]``, in document order. ``overlapping``
    finds the units a stretch of text overlaps by binary search when a document's
    units are in order of start and end (the usual case), by a scan otherwise.
    """

    def __init__(self, per_document: list[list[tuple[int, int, str]]]) -> None:
        self.spans: list[tuple[int, int, str]] = []
        self.base: list[int] = []
        self._starts: list[list[int]] = []
        self._ends: list[list[int]] = []
        self._ordered: list[bool] = []
        for units in per_document:
            self.base.append(len(self.spans))
            self.spans += units
            starts = [s for s, _, _ in units]
            ends = [e for _, e, _ in units]
            self._starts.append(starts)
            self._ends.append(ends)
            self._ordered.append(all(a <= b for a, b in itertools.pairwise(starts))
                                 and all(a <= b for a, b in itertools.pairwise(ends)))
        self.base.append(len(self.spans))

    def overlapping(self, position: int, start: int, end: int) -> Iterable[int]:
        """Numbers of the units of document ``position`` with s < end and e > start."""
        base = self.base[position]
        starts, ends = self._starts[position], self._ends[position]
        if self._ordered[position]:
            return range(base + bisect.bisect_right(ends, start),
                         base + bisect.bisect_left(starts, end))
        return [base + i for i, (s, e) in enumerate(zip(starts, ends, strict=True))
                if s < end and e > start]

    def sizes(self) -> Counter[str]:
        """Units per group."""
        return Counter(g for _, _, g in self.spans)


def _document_units(store: Store, docs: Sequence[Document], unit: str,
                    include_interviewer: bool, group_by: str | None,
                    texts: dict[int, str]) -> list[list[tuple[int, int, str]]]:
    """Per document, (start, end, group) of its units; ``texts`` is filled as needed.

    The group is "all", the document's name or the unit's role, as ``group_by`` says.
    """
    from qcode.query.engine import TurnRow, _rule_sentences

    wanted = {d.id for d in docs}
    turns: dict[int, list[TurnRow]] = defaultdict(list)
    for row in store.query_turns():  # id, document, idx, start, end, speaker, role, ...
        if row[1] in wanted and row[4] > row[3] and \
                (include_interviewer or row[6] != INTERVIEWER_ROLE):
            turns[row[1]].append(TurnRow(*row))
    if unit in ("paragraph", "sentence", "document"):
        texts.update(store.document_texts([d.id for d in docs if d.id not in texts]))
    out = []
    for d in docs:
        kept = sorted(turns.get(d.id, []), key=lambda t: t.idx)
        if any(t.speaker for t in kept):  # a transcript: its header is not talk
            kept = [t for t in kept if t.speaker]
        units: list[tuple[int, int, str | None]] = []
        if unit == "document":
            units = [(0, len(texts[d.id]), None)] if kept else []
        elif unit == "turn":
            units = [(t.start, t.end, t.role) for t in kept]
        elif unit == "paragraph":
            text = texts[d.id]
            for t in kept:
                pos = t.start
                for line in text[t.start:t.end].split("\n"):
                    if line.strip():
                        units.append((pos, pos + len(line), t.role))
                    pos += len(line) + 1
        elif unit == "sentence":
            stored = store.sentences(d.id)
            if stored:
                roles = {t.id: t.role for t in kept}
                units = [(s, e, roles[tid]) for tid, s, e in stored if tid in roles]
            else:
                units = [(s, e, t.role) for t in kept
                         for s, e in _rule_sentences(texts[d.id], [t])]
        else:
            raise InputError(f"unknown unit {unit!r}",
                             f"use one of {', '.join(AGREEMENT_UNITS)}")
        out.append([(s, e, d.name if group_by == "document" else (role or "(no role)")
                     if group_by == "role" else "all") for s, e, role in units])
    return out


_Coding = tuple[int, int, int, int, list[int]]  # document position, start, end, coder, families


def _codings(store: Store, docs: Sequence[Document], coders: Sequence[str],
             families: Sequence[set[str]]) -> list[_Coding]:
    """The compared coders' codings on the compared documents, read once without text.

    Each comes with the indexes of the code families (``families``) its code is in.
    """
    position = {d.id: p for p, d in enumerate(docs)}
    coder_index = {c: j for j, c in enumerate(coders)}
    families_of: dict[str, list[int]] = defaultdict(list)
    for i, family in enumerate(families):
        for code in family:
            families_of[code].append(i)
    out = []
    for doc_id, start, end, code, coder in store.coding_spans(coders):
        p = position.get(doc_id)
        if p is not None and code in families_of:
            out.append((p, start, end, coder_index[coder], families_of[code]))
    return out


def _family_spans(codings: list[_Coding], n_families: int, n_coders: int
                  ) -> list[dict[int, list[list[tuple[int, int]]]]]:
    """Per code family, per document position, per coder: the spans coded (not merged)."""
    out: list[dict[int, list[list[tuple[int, int]]]]] = [{} for _ in range(n_families)]
    for p, start, end, j, families in codings:
        for i in families:
            per_coder = out[i].get(p)
            if per_coder is None:
                per_coder = out[i][p] = [[] for _ in range(n_coders)]
            per_coder[j].append((start, end))
    return out


def _unit_masks(units: _Units, codings: list[_Coding], n_families: int) -> list[dict[int, int]]:
    """Per code family, per unit that any coder marked: a mask of the coders (bit j: coder j).

    The units a coding overlaps are looked up once, for all the families of its code.
    """
    masks: list[dict[int, int]] = [{} for _ in range(n_families)]
    for p, start, end, j, families in codings:
        bit = 1 << j
        overlapped = units.overlapping(p, start, end)
        for i in families:
            family_masks = masks[i]
            for u in overlapped:
                family_masks[u] = family_masks.get(u, 0) | bit
    return masks


def _family_events(codings: list[_Coding], n_families: int, n_coders: int
                   ) -> list[dict[int, list[int]]]:
    """Per code family, per document position: where each coder's codings start and end.

    An event is one integer, ``offset << shift | coder << 1 | is_start``, so that a
    plain sort puts a document's events in order of offset.
    """
    shift = (2 * n_coders).bit_length()
    out: list[dict[int, list[int]]] = [{} for _ in range(n_families)]
    for p, start, end, j, families in codings:
        opens, closes = start << shift | j << 1 | 1, end << shift | j << 1
        for i in families:
            events = out[i].get(p)
            if events is None:
                events = out[i][p] = []
            events += (opens, closes)
    return out


def _character_masks(regions: _Units, events: dict[int, list[int]], n_coders: int
                     ) -> Counter[tuple[str, int]]:
    """Characters of the regions per (group, mask of the coders who coded them), mask > 0.

    One sweep per document over the sorted starts and ends of the codings, counting
    each coder's codings open at each point; every stretch between two events that
    some coder covers is clipped to the regions it overlaps.
    """
    shift = (2 * n_coders).bit_length()
    low = (1 << shift) - 1
    out: Counter[tuple[str, int]] = Counter()
    for p, doc_events in events.items():
        doc_events.sort()
        open_codings = [0] * n_coders
        mask = previous = 0
        for event in doc_events:
            pos = event >> shift
            if mask and pos > previous:
                for r in regions.overlapping(p, previous, pos):
                    lo, hi, group = regions.spans[r]
                    out[group, mask] += min(hi, pos) - max(lo, previous)
            j = (event & low) >> 1
            if event & 1:
                open_codings[j] += 1
                mask |= 1 << j
            else:
                open_codings[j] -= 1
                if not open_codings[j]:
                    mask &= ~(1 << j)
            previous = pos
    return out


def _coded(by_mask: Counter[int], coders: Sequence[str]) -> dict[str, int]:
    """Units (or characters) each coder marked."""
    return {c: sum(n for mask, n in by_mask.items() if mask >> j & 1)
            for j, c in enumerate(coders)}


def _by_k(by_mask: Counter[int], total: int, m: int) -> list[int]:
    """Units marked by exactly k of the m coders, k = 0..m."""
    by_k = [0] * (m + 1)
    for mask, n in by_mask.items():
        by_k[mask.bit_count()] += n
    by_k[0] += total - sum(by_mask.values())
    return by_k


def _binary_row(code: Any, group: str, n_units: int, by_mask: Counter[int],
                coders: Sequence[str], bootstrap: int) -> AgreementRow:
    """A row from how many units each set of coders marked (``by_mask``, masks > 0)."""
    from qcode import agreement as ag

    m = len(coders)
    coded = _coded(by_mask, coders)
    if sum(coded.values()) == 0:
        return AgreementRow(code.id, code.path, group, n_units, coded, math.nan, None, None,
                            None, 1.0, ag.interpret_alpha(math.nan))
    by_k = _by_k(by_mask, n_units, m)
    alpha = ag.binary_alpha_from_counts(by_k)
    low = high = None
    if bootstrap and not math.isnan(alpha):
        low, high = ag.bootstrap_binary_alpha(by_k, n_boot=bootstrap, seed=BOOTSTRAP_SEED)
    kappa = ag.cohen_kappa_from_table(_two_by_two(by_mask, n_units)) if m == 2 else None
    percent = (by_k[0] + by_k[m]) / n_units
    return AgreementRow(code.id, code.path, group, n_units, coded, alpha, low, high, kappa,
                        percent, ag.interpret_alpha(alpha))


def _character_row(code: Any, group: str, n_chars: int, by_mask: Counter[int],
                   coders: Sequence[str]) -> AgreementRow:
    """A row with every character as a unit (percent agreement for two coders only)."""
    from qcode import agreement as ag

    alpha, kappa, percent = math.nan, None, math.nan
    if n_chars:
        alpha = ag.binary_alpha_from_counts(_by_k(by_mask, n_chars, len(coders)))
        if len(coders) == 2:
            table = _two_by_two(by_mask, n_chars)
            kappa = ag.cohen_kappa_from_table(table)
            percent = (table[0][0] + table[1][1]) / n_chars
    return AgreementRow(code.id, code.path, group, n_chars, _coded(by_mask, coders), alpha,
                        None, None, kappa, percent, ag.interpret_alpha(alpha))


def _two_by_two(by_mask: Counter[int], total: int) -> list[list[int]]:
    """table[a][b]: units the first coder marked a (0/1) and the second b."""
    return [[total - by_mask[1] - by_mask[2] - by_mask[3], by_mask[2]],
            [by_mask[1], by_mask[3]]]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def compute_agreement(store: Store, coders: Sequence[str], *, unit: str = "turn",
                      codes: Sequence[str] | None = None, rollup: bool = True,
                      by: str | None = None, documents: Sequence[str] | None = None,
                      include_interviewer: bool = False, bootstrap: int = 1000
                      ) -> AgreementReport:
    """Agreement per code between coders at the declared unit (optionally per document/role).

    Everything is read once: the documents each coder touched, the codings without
    their text, the units of each document. A code's value per unit and coder comes
    from binary searches of the units its codings overlap, and the statistics from
    counts of units by which coders marked them.
    """
    from qcode.services.coding import resolve_code

    coders = list(dict.fromkeys(coders))
    if len(coders) < 2:
        raise InputError("agreement needs at least two coders", "e.g. --coders coder-a,coder-b")
    for c in coders:
        if store.coder(c) is None:
            raise InputError(f"no coder {c!r}", "list coders with 'qcode coders list'")
    if unit not in AGREEMENT_UNITS:
        raise InputError(f"unknown unit {unit!r}", f"use one of {', '.join(AGREEMENT_UNITS)}")
    if by not in (None, "document", "role"):
        raise InputError(f"cannot group by {by!r}", "use document or role")
    chosen = [resolve_code(store, c) for c in codes] if codes else \
        [c for c in store.codes() if c.depth <= 1]
    docs = _compared_documents(store, coders, documents)
    report = AgreementReport(coders, unit, [d.name for d in docs], [], include_interviewer,
                             rollup)
    if not docs:
        report.notes.append("no document is coded by all of these coders")
        return report
    codings = _codings(store, docs, coders, [_family(store, c.id, rollup) for c in chosen])
    texts: dict[int, str] = {}
    if unit == "unitized":
        spans = _family_spans(codings, len(chosen), len(coders))
        report.rows += _unitized_rows(store, docs, coders, chosen, spans, by,
                                      include_interviewer)
    elif unit == "character":
        events = _family_events(codings, len(chosen), len(coders))
        regions = _Units(_document_units(store, docs, "turn", include_interviewer, by, texts))
        totals: Counter[str] = Counter()
        if by != "role":  # a document without informant text still gives its row
            for d in docs:
                totals[d.name if by == "document" else "all"] += 0
        for s, e, group in regions.spans:
            totals[group] += e - s
        for code, code_events in zip(chosen, events, strict=True):
            by_group: dict[str, Counter[int]] = defaultdict(Counter)
            for (group, mask), n in _character_masks(regions, code_events, len(coders)).items():
                by_group[group][mask] += n
            report.rows += [_character_row(code, group, totals[group], by_group[group], coders)
                            for group in sorted(totals)]
    else:
        units = _Units(_document_units(store, docs, unit, include_interviewer, by, texts))
        sizes = units.sizes()
        for code, masks in zip(chosen, _unit_masks(units, codings, len(chosen)), strict=True):
            by_group = defaultdict(Counter)
            if len(sizes) == 1:
                by_group[next(iter(sizes))] = Counter(masks.values())
            else:
                for u, mask in masks.items():
                    by_group[units.spans[u][2]][mask] += 1
            report.rows += [_binary_row(code, group, sizes[group], by_group[group], coders,
                                        bootstrap) for group in sorted(sizes)]
    return report


def _unitized_rows(store: Store, docs: Sequence[Document], coders: Sequence[str],
                   chosen: Sequence[Any], spans: list[dict[int, list[list[tuple[int, int]]]]],
                   by: str | None, include_interviewer: bool) -> list[AgreementRow]:
    """|uα per code with the compared documents' texts one after another as the continuum."""
    from qcode import agreement as ag

    texts = store.document_texts([d.id for d in docs])
    groups: dict[str, list[int]] = defaultdict(list)  # group -> document positions
    if by == "role":
        per_document = _document_units(store, docs, "turn", include_interviewer, "role", texts)
        for p, units in enumerate(per_document):
            for _s, _e, role in units:
                groups[role].append(p)
    else:
        for p, d in enumerate(docs):
            groups[d.name if by == "document" else "all"].append(p)
    rows = []
    for code, code_spans in zip(chosen, spans, strict=True):
        for group, positions in sorted(groups.items()):
            offset = 0
            continuum: dict[Hashable, list[tuple[int, int, Hashable]]] = {c: [] for c in coders}
            for p in positions:
                per_coder = code_spans.get(p)
                if per_coder:
                    for c, coder_spans in zip(coders, per_coder, strict=True):
                        continuum[c] += [(offset + s, offset + e, "x")
                                         for s, e in _merge(coder_spans)]
                offset += len(texts[docs[p].id])
            result = ag.unitized_alpha(offset, continuum, "binary")
            value = result.per_code.get("x", result.overall)
            coded = {str(c): sum(e - s for s, e, _ in v) for c, v in continuum.items()}
            rows.append(AgreementRow(code.id, code.path, group, offset, coded, value, None,
                                     None, None, math.nan, ag.interpret_alpha(value)))
    return rows


def _decided(store: Store) -> dict[tuple[str, str, int, int], str]:
    out = {}
    for e in reversed(store.events()):
        if e["kind"] == "review.decide":
            p = e["payload"]
            out[(p["code"], p["document"], p["start"], p["end"])] = p["decision"]
    return out


def disagreements(store: Store, coders: Sequence[str], code: str, unit: str = "turn", *,
                  rollup: bool = True, include_interviewer: bool = False,
                  context: int = 1) -> list[Disagreement]:
    """Units where the coders disagree on a code, side by side with context."""
    from qcode.services.coding import resolve_code

    if unit not in ("turn", "sentence", "paragraph", "document"):
        raise InputError(f"review works on turn, sentence, paragraph or document units, "
                         f"not {unit!r}", "e.g. --unit turn")
    info = resolve_code(store, code)
    coders = list(dict.fromkeys(coders))
    docs = _compared_documents(store, coders, None)
    if not docs:
        return []
    codings = _codings(store, docs, coders, [_family(store, info.id, rollup)])
    texts = store.document_texts([d.id for d in docs])
    units = _Units(_document_units(store, docs, unit, include_interviewer, None, texts))
    [masks] = _unit_masks(units, codings, 1)
    everyone = (1 << len(coders)) - 1
    decided = _decided(store)
    out = []
    for p, d in enumerate(docs):
        text = texts[d.id]
        doc_units = units.spans[units.base[p]:units.base[p + 1]]
        for i, (s, e, _group) in enumerate(doc_units):
            mask = masks.get(units.base[p] + i, 0)
            if mask in (0, everyone):
                continue
            values = {c: bool(mask >> j & 1) for j, c in enumerate(coders)}
            before = " ".join(text[a:b] for a, b, _ in doc_units[max(0, i - context):i])
            after = " ".join(text[a:b] for a, b, _ in doc_units[i + 1:i + 1 + context])
            out.append(Disagreement(info.id, d.name, s, e, text[s:e], values, before,
                                    after, decided.get((info.id, d.name, s, e))))
    return out


def resolve_disagreement(store: Store, item: Disagreement, decision: str, note: str = "", *,
                         coders: Sequence[str] | None = None, rollup: bool = True,
                         actor: str | None = None) -> int:
    """Write the consensus coder's codings for a unit: keep A, B, both, neither, or discuss.

    Returns the number of consensus codings written. The decision is an event.
    """
    from qcode.services.coding import SpanRequest, add_coder, apply_codings
    from qcode.services.projects import default_actor

    if decision not in DECISIONS:
        raise InputError(f"unknown decision {decision!r}", f"use one of {', '.join(DECISIONS)}")
    actor = actor or default_actor()
    coders = list(coders or item.values)
    if decision in ("a", "b") and len(coders) < 2:
        raise InputError("keep A/B needs two coders", "name them with --coders")
    if store.coder(CONSENSUS) is None:
        add_coder(store, CONSENSUS, "Konsensus", actor=actor)
    family = _family(store, item.code, rollup)
    doc = store.document(item.document)
    take = {"a": coders[:1], "b": coders[1:2], "both": coders, "neither": [],
            "discuss": []}[decision]
    requests = []
    for k in store.codings(document_id=doc.id):
        if k.coder_id in take and k.code_id in family and k.start < item.end \
                and k.end > item.start:
            requests.append(SpanRequest(document=doc.name, code=k.code_id, start=k.start,
                                        end=k.end, memo=f"consensus ({decision}) from "
                                        f"{k.coder_id}" + (f": {note}" if note else "")))
    written = 0
    if requests:
        written = len(apply_codings(store, requests, CONSENSUS, actor=actor,
                                    kind="review.consensus"))
    with store.transaction():
        store.record_event(actor, "review.decide", {
            "code": item.code, "document": item.document, "start": item.start,
            "end": item.end, "decision": decision, "note": note, "coders": coders,
            "written": written})
    return written


def resolve_by_keeping(store: Store, item: Disagreement, keep: Sequence[str], note: str = "",
                       *, coders: Sequence[str] | None = None, rollup: bool = True,
                       actor: str | None = None) -> int:
    """Resolve a disagreement by keeping the codings of any of the compared coders.

    With two coders this is ``resolve_disagreement`` with a, b, both or neither;
    with more, the kept coders' codings of the unit become consensus codings and
    the decision is recorded as ``keep:ID,ID``. Returns the codings written.
    """
    from qcode.services.coding import SpanRequest, add_coder, apply_codings
    from qcode.services.projects import default_actor

    coders = list(coders or item.values)
    unknown = [c for c in keep if c not in coders]
    if unknown:
        raise InputError(f"{', '.join(unknown)} is not among the compared coders",
                         f"keep some of {', '.join(coders)}")
    kept = [c for c in coders if c in set(keep)]
    simple = "neither" if not kept else "both" if kept == coders else \
        ("a" if kept == coders[:1] else "b") if len(coders) == 2 else None
    if simple is not None:
        return resolve_disagreement(store, item, simple, note, coders=coders, rollup=rollup,
                                    actor=actor)
    actor = actor or default_actor()
    decision = "keep:" + ",".join(kept)
    family = _family(store, item.code, rollup)
    doc = store.document(item.document)
    requests = [SpanRequest(document=doc.name, code=k.code_id, start=k.start, end=k.end,
                            memo=f"consensus (keep {', '.join(kept)}) from {k.coder_id}"
                            + (f": {note}" if note else ""))
                for k in store.codings(document_id=doc.id)
                if k.coder_id in kept and k.code_id in family and k.start < item.end
                and k.end > item.start]
    with store.transaction():
        if store.coder(CONSENSUS) is None:
            add_coder(store, CONSENSUS, "Konsensus", actor=actor)
        written = len(apply_codings(store, requests, CONSENSUS, actor=actor,
                                    kind="review.consensus")) if requests else 0
        store.record_event(actor, "review.decide", {
            "code": item.code, "document": item.document, "start": item.start,
            "end": item.end, "decision": decision, "note": note, "coders": coders,
            "kept": kept, "written": written})
    return written


def save_agreement_report(store: Store, name: str, report: AgreementReport,
                          actor: str | None = None) -> int:
    """Store an agreement result like other reports (parameters and rows)."""
    import json
    from dataclasses import asdict

    from qcode.services.projects import default_actor
    from qcode.store.db import utc_now

    actor = actor or default_actor()
    params = {"type": "agreement", "coders": report.coders, "unit": report.unit,
              "rollup": report.rollup, "include_interviewer": report.include_interviewer}
    rows = [{k: (None if isinstance(v, float) and math.isnan(v) else v)
             for k, v in asdict(r).items()} for r in report.rows]
    result = {"type": "agreement", "documents": report.documents, "rows": rows,
              "notes": report.notes, "hits": [], "coverage": [], "unit": report.unit}
    query = f"agreement {','.join(report.coders)} unit={report.unit}"
    with store.transaction():
        rid = store.insert_report(name, query, json.dumps(params),
                                  json.dumps(result, allow_nan=False), actor, utc_now())
        store.record_event(actor, "report.create", {"report": rid, "name": name,
                                                     "query": query})
    return rid
