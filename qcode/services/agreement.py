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

import itertools
import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from qcode.errors import InputError
from qcode.models import INTERVIEWER_ROLE
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
                        documents: Sequence[str] | None) -> list[Any]:
    docs = [store.document(d) for d in documents] if documents else \
        [store.document(d.id) for d in store.documents()]
    coded = [{k.document_id for k in store.codings(coder_id=c)} for c in coders]
    return [d for d in docs if all(d.id in s for s in coded)]


def _units(store: Store, doc: Any, unit: str, include_interviewer: bool) -> list[tuple[
        int, int, str | None]]:
    """(start, end, role) of the units of one document."""
    turns = [t for t in store.turns(doc.id) if t.end > t.start
             and (include_interviewer or t.role != INTERVIEWER_ROLE)]
    if any(t.speaker for t in turns):  # a transcript: its header is not talk
        turns = [t for t in turns if t.speaker]
    if unit == "document":
        return [(0, len(doc.text), None)] if turns else []
    if unit == "turn":
        return [(t.start, t.end, t.role) for t in turns]
    if unit == "paragraph":
        out = []
        for t in turns:
            pos = t.start
            for line in doc.text[t.start:t.end].split("\n"):
                if line.strip():
                    out.append((pos, pos + len(line), t.role))
                pos += len(line) + 1
        return out
    if unit == "sentence":
        stored = store.sentences(doc.id)
        if not stored:
            from qcode.query.engine import TurnRow, _rule_sentences

            rows = [TurnRow(t.id, doc.id, t.index, t.start, t.end, t.speaker, t.role,
                            t.time_start, t.label) for t in turns]
            spans = _rule_sentences(doc.text, rows)
            role = {(t.start, t.end): t.role for t in turns}
            return [(s, e, next((r for (ts, te), r in role.items() if ts <= s < te), None))
                    for s, e in spans]
        keep = {t.id: t.role for t in turns}
        return [(s, e, keep[tid]) for tid, s, e in stored if tid in keep]
    raise InputError(f"unknown unit {unit!r}", f"use one of {', '.join(AGREEMENT_UNITS)}")


def _stats(values: list[list[int | None]], coders: Sequence[str], bootstrap: int
           ) -> tuple[float, float | None, float | None, float | None, float]:
    from qcode import agreement as ag

    alpha = ag.krippendorff_alpha(values, "nominal")
    low = high = None
    if bootstrap and not math.isnan(alpha):
        low, high = ag.bootstrap_alpha(values, "nominal", n_boot=bootstrap, seed=BOOTSTRAP_SEED)
    kappa = ag.cohen_kappa(values[0], values[1]) if len(coders) == 2 else None
    if len(coders) == 2:
        percent = ag.percent_agreement(values[0], values[1])
    else:
        units = list(zip(*values, strict=True))
        percent = sum(1 for u in units if len(set(u)) == 1) / len(units) if units else math.nan
    return alpha, low, high, kappa, percent


def _char_stats(spans: list[dict[str, list[tuple[int, int]]]], regions: list[list[tuple[
        int, int]]], coders: Sequence[str]) -> tuple[int, dict[str, int], float, float | None,
                                                         float]:
    """Alpha (and kappa for two coders) with every character of the regions as a unit."""
    m = len(coders)
    o = [[0.0, 0.0], [0.0, 0.0]]
    total = 0
    coded = dict.fromkeys(coders, 0)
    table = [[0, 0], [0, 0]]
    for doc_spans, doc_regions in zip(spans, regions, strict=True):
        for lo, hi in doc_regions:
            cuts = {lo, hi}
            for c in coders:
                for s, e in doc_spans.get(c, []):
                    if s < hi and e > lo:
                        cuts.update((max(s, lo), min(e, hi)))
            bounds = sorted(cuts)
            for a, b in itertools.pairwise(bounds):
                length = b - a
                if length <= 0:
                    continue
                flags = [any(s <= a and e >= b for s, e in doc_spans.get(c, [])) for c in coders]
                k = sum(flags)
                total += length
                for c, f in zip(coders, flags, strict=True):
                    coded[c] += length * f
                o[1][1] += length * k * (k - 1) / (m - 1)
                o[0][0] += length * (m - k) * (m - k - 1) / (m - 1)
                o[0][1] += length * k * (m - k) / (m - 1)
                o[1][0] += length * k * (m - k) / (m - 1)
                if m == 2:
                    table[int(flags[0])][int(flags[1])] += length
    n0, n1 = o[0][0] + o[0][1], o[1][0] + o[1][1]
    n = n0 + n1
    alpha = 1 - (n - 1) * (o[0][1] + o[1][0]) / (2 * n0 * n1) if n0 and n1 else math.nan
    kappa = None
    if m == 2 and total:
        p_o = (table[0][0] + table[1][1]) / total
        pa1, pb1 = (table[1][0] + table[1][1]) / total, (table[0][1] + table[1][1]) / total
        p_e = pa1 * pb1 + (1 - pa1) * (1 - pb1)
        kappa = (p_o - p_e) / (1 - p_e) if p_e < 1 else math.nan
    percent = (table[0][0] + table[1][1]) / total if m == 2 and total else math.nan
    return total, coded, alpha, kappa, percent


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
    """Agreement per code between coders at the declared unit (optionally per document/role)."""
    from qcode import agreement as ag
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
    all_codes = store.codes()
    chosen = [resolve_code(store, c) for c in codes] if codes else \
        [c for c in all_codes if c.depth <= 1]
    docs = _compared_documents(store, coders, documents)
    report = AgreementReport(coders, unit, [d.name for d in docs], [], include_interviewer,
                             rollup)
    if not docs:
        report.notes.append("no document is coded by all of these coders")
        return report
    codings = {d.id: store.codings(document_id=d.id) for d in docs}
    for code in chosen:
        family = _family(store, code.id, rollup)
        per_doc = []
        for d in docs:
            spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
            for k in codings[d.id]:
                if k.code_id in family and k.coder_id in coders:
                    spans[k.coder_id].append((k.start, k.end))
            per_doc.append((d, {c: _merge(v) for c, v in spans.items()}))
        groups: dict[str, list[Any]] = defaultdict(list)
        if unit in ("character", "unitized"):
            for d, spans in per_doc:
                regions = [(s, e, r) for s, e, r in _units(store, d, "turn", include_interviewer)]
                key = d.name if by == "document" else "all"
                if by == "role":
                    for s, e, r in regions:
                        groups[r or "(no role)"].append((d, spans, [(s, e)]))
                else:
                    groups[key].append((d, spans, [(s, e) for s, e, _ in regions]))
            for group, items in sorted(groups.items()):
                if unit == "character":
                    total, coded, alpha, kappa, percent = _char_stats(
                        [i[1] for i in items], [i[2] for i in items], coders)
                    report.rows.append(AgreementRow(code.id, code.path, group, total, coded,
                                                    alpha, None, None, kappa, percent,
                                                    ag.interpret_alpha(alpha)))
                else:
                    offset = 0
                    continuum: dict[Hashable, list[tuple[int, int, Hashable]]] = {
                        c: [] for c in coders}
                    for d, spans, _regions in items:
                        for c in coders:
                            continuum[c] += [(offset + s, offset + e, "x")
                                             for s, e in spans.get(c, [])]
                        offset += len(d.text)
                    result = ag.unitized_alpha(offset, continuum, "binary")
                    value = result.per_code.get("x", result.overall)
                    coded = {str(c): sum(e - s for s, e, _ in v) for c, v in continuum.items()}
                    report.rows.append(AgreementRow(code.id, code.path, group, offset, coded,
                                                    value, None, None, None, math.nan,
                                                    ag.interpret_alpha(value)))
            continue
        for d, spans in per_doc:
            for s, e, role in _units(store, d, unit, include_interviewer):
                group = d.name if by == "document" else (role or "(no role)") \
                    if by == "role" else "all"
                groups[group].append([int(any(a < e and b > s for a, b in spans.get(c, [])))
                                      for c in coders])
        for group, rows in sorted(groups.items()):
            values: list[list[int | None]] = [[r[i] for r in rows] for i in range(len(coders))]
            coded = {c: sum(r[i] for r in rows) for i, c in enumerate(coders)}
            if sum(coded.values()) == 0:
                alpha, low, high, kappa, percent = math.nan, None, None, None, 1.0
            else:
                alpha, low, high, kappa, percent = _stats(values, coders, bootstrap)
            report.rows.append(AgreementRow(code.id, code.path, group, len(rows), coded, alpha,
                                            low, high, kappa, percent,
                                            ag.interpret_alpha(alpha)))
    return report


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
    family = _family(store, info.id, rollup)
    decided = _decided(store)
    out = []
    for d in _compared_documents(store, coders, None):
        spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for k in store.codings(document_id=d.id):
            if k.code_id in family and k.coder_id in coders:
                spans[k.coder_id].append((k.start, k.end))
        units = _units(store, d, unit, include_interviewer)
        for i, (s, e, _role) in enumerate(units):
            values = {c: any(a < e and b > s for a, b in spans.get(c, [])) for c in coders}
            if len(set(values.values())) > 1:
                before = " ".join(d.text[a:b] for a, b, _ in units[max(0, i - context):i])
                after = " ".join(d.text[a:b] for a, b, _ in units[i + 1:i + 1 + context])
                out.append(Disagreement(info.id, d.name, s, e, d.text[s:e], values, before,
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
