"""Queries, frequency tables, matrices, saved queries and stored reports."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qcode.errors import InputError, NotFound
from qcode.models import INTERVIEWER_ROLE
from qcode.services.projects import default_actor
from qcode.store import Store

if TYPE_CHECKING:
    from qcode.export.report import ReportData
    from qcode.query.aggregate import FrequencyRow, Matrix
    from qcode.query.engine import QueryResult


def run_query(store: Store, query: str, *, unit: str = "excerpt", context: int = 0,
              include_interviewer: bool = False, coverage_by: str = "role") -> QueryResult:
    """Run a query (or ``@name`` of a saved one) and return hits with coverage."""
    from qcode.query import engine

    text = resolve_saved(store, query)
    corpus = engine.corpus_for(store, _visible(store))
    return engine.run_query(store, text, unit=unit, context=context,
                            include_interviewer=include_interviewer, coverage_by=coverage_by,
                            corpus=corpus)


def _visible(store: Store) -> list[str] | None:
    """With blind coding on, only the active coder's codings are visible."""
    from qcode.config import configured_coder
    from qcode.services.teamwork import is_blind, visible_coders

    return visible_coders(store, configured_coder()) if is_blind(store) else None


def resolve_saved(store: Store, query: str) -> str:
    """``@name`` stands for a saved query."""
    if query.startswith("@"):
        saved = store.saved_query(query[1:])
        if saved is None:
            raise NotFound(f"no saved query {query[1:]!r}",
                           "list them with 'qcode queries list'")
        return saved
    return query


def save_query(store: Store, name: str, query: str, actor: str | None = None) -> None:
    """Save a query under a name (checked by parsing it first)."""
    from qcode.query.parser import parse
    from qcode.store.db import utc_now

    if not name or name.startswith("@") or any(c.isspace() for c in name):
        raise InputError(f"{name!r} is not a usable query name", "one word, e.g. prestisje-v")
    parse(query)
    with store.transaction():
        store.save_query(name, query, actor or default_actor(), utc_now())
        store.record_event(actor or default_actor(), "query.save", {"name": name,
                                                                     "query": query})


def delete_saved_query(store: Store, name: str, actor: str | None = None) -> None:
    """Delete a saved query."""
    with store.transaction():
        if not store.delete_saved_query(name):
            raise NotFound(f"no saved query {name!r}", "list them with 'qcode queries list'")
        store.record_event(actor or default_actor(), "query.delete", {"name": name})


def frequencies(store: Store, *, coders: Sequence[str] | None = None,
                include_interviewer: bool = False) -> list[FrequencyRow]:
    """The code frequency table (codings, documents, informants, words), rolled up."""
    from qcode.query.aggregate import frequency_table

    return frequency_table(store, coders=coders, include_interviewer=include_interviewer)


def matrix(store: Store, rows: str, columns: str, *, codes: Sequence[str] | None = None,
           depth: int | None = None, measure: str = "codings",
           coders: Sequence[str] | None = None,
           include_interviewer: bool = False) -> Matrix:
    """``codes x ATTRIBUTE`` (role, office, document ...) or ``codes x codes`` (co-occurrence)."""
    from qcode.query.aggregate import code_attribute_matrix, cooccurrence_matrix

    if rows != "codes":
        raise InputError(f"matrix rows must be 'codes', not {rows!r}",
                         "e.g. qcode matrix codes role, or qcode matrix codes codes")
    if columns == "codes":
        return cooccurrence_matrix(store, codes=codes, depth=depth, measure=measure,
                                   coders=coders, include_interviewer=include_interviewer)
    return code_attribute_matrix(store, columns, codes=codes, depth=depth, measure=measure,
                                 coders=coders, include_interviewer=include_interviewer)


def matrix_columns(store: Store) -> list[str]:
    """Columns a ``codes x COLUMN`` matrix can have: role, document, speaker, attributes, codes."""
    names = ["role", "document", "speaker"]
    for scope in ("speaker", "document"):
        names += [n for n in store.attribute_types(scope) if n not in names]
    return [*names, "codes"]


# -- reports -------------------------------------------------------------------------


def _hit_key(hit: dict[str, Any]) -> tuple[Any, ...]:
    return (hit["document"], hit["start"], hit["end"], tuple(hit["codes"]))


def _snapshot(result: QueryResult) -> dict[str, Any]:
    return {"hits": [asdict(h) for h in result.hits],
            "coverage": [{"group": c.group, "informants": c.informants, "total": c.total}
                         for c in result.coverage],
            "unit": result.unit, "coverage_by": result.coverage_by,
            "include_interviewer": result.include_interviewer}


def create_report(store: Store, name: str, query: str, *, unit: str = "excerpt",
                  context: int = 0, include_interviewer: bool = False,
                  coverage_by: str = "role", actor: str | None = None) -> int:
    """Run a query and store it as a report with its parameters and a snapshot of its rows."""
    from qcode.store.db import utc_now

    text = resolve_saved(store, query)
    result = run_query(store, text, unit=unit, context=context,
                       include_interviewer=include_interviewer, coverage_by=coverage_by)
    params = {"unit": unit, "context": context, "include_interviewer": include_interviewer,
              "coverage_by": coverage_by,
              "coders": sorted({c for h in result.hits for c in h.coders}),
              "codebook_revisions": {b["name"]: b["revisions"]
                                     for b in _codebooks(store)}}
    actor = actor or default_actor()
    with store.transaction():
        report_id = store.insert_report(name, text, json.dumps(params, ensure_ascii=False),
                                        json.dumps(_snapshot(result), ensure_ascii=False),
                                        actor, utc_now())
        store.record_event(actor, "report.create", {"report": report_id, "name": name,
                                                     "query": text, "hits": len(result.hits)})
    return report_id


def _codebooks(store: Store) -> list[dict[str, Any]]:
    from qcode.services.coding import list_codebooks

    return list_codebooks(store)


def get_report(store: Store, report_id: int) -> dict[str, Any]:
    """A stored report with its parameters and snapshot."""
    row = store.report(report_id)
    if row is None:
        raise NotFound(f"no report {report_id}", "list them with 'qcode report list'")
    return {"id": row[0], "name": row[1], "query": row[2], "params": json.loads(row[3]),
            "result": json.loads(row[4]), "created_at": row[5], "created_by": row[6]}


def list_reports(store: Store) -> list[dict[str, Any]]:
    """Stored reports, newest first."""
    out = []
    for rid, name, query, created, by in store.reports():
        out.append({"id": rid, "name": name, "query": query, "created_at": created,
                    "created_by": by})
    return out


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Hits added and removed between two report snapshots."""
    before = {_hit_key(h): h for h in old["result"]["hits"]}
    after = {_hit_key(h): h for h in new["result"]["hits"]}
    return {"added": [after[k] for k in after if k not in before],
            "removed": [before[k] for k in before if k not in after]}


def rerun_report(store: Store, report_id: int, actor: str | None = None) -> tuple[int,
                                                                                 dict[str, Any]]:
    """Run a stored report again (same query and parameters); returns the new id and a diff."""
    old = get_report(store, report_id)
    p = old["params"]
    new_id = create_report(store, old["name"], old["query"], unit=p["unit"],
                           context=p.get("context", 0),
                           include_interviewer=p.get("include_interviewer", False),
                           coverage_by=p.get("coverage_by", "role"), actor=actor)
    return new_id, diff_reports(old, get_report(store, new_id))


def report_data(store: Store, report_id: int, *, full_text: bool = False) -> ReportData:
    """Build the exporter's view of a stored report: hits grouped by code, with coverage."""
    from qcode.export.report import CodeSection, ReportData
    from qcode.query.engine import Coverage, Hit

    rep = get_report(store, report_id)
    hits = [Hit(**h) for h in rep["result"]["hits"]]
    totals = {c["group"]: c["total"] for c in rep["result"]["coverage"]}
    by = rep["result"].get("coverage_by", "role")
    codes = store.codes()
    order = {c.id: i for i, c in enumerate(codes)}
    info = {c.id: c for c in codes}
    speakers = {s.id: s.role for s in store.speakers()}
    attrs = store.attributes("speaker")
    doc_attrs = store.attributes("document")
    doc_uids = {d.name: d.uid for d in store.documents()}
    grouped: dict[str, list[Hit]] = defaultdict(list)
    for h in hits:
        for code in h.codes:
            grouped[code].append(h)

    def group_of(hit: Hit, speaker: str) -> str:
        """The coverage group of an informant, as the engine counts it."""
        if by == "role":
            return speakers.get(speaker) or "(no role)"
        value = attrs.get(speaker, {}).get(by)
        if value is None:
            value = doc_attrs.get(doc_uids.get(hit.document, ""), {}).get(by)
        if value is None:
            return "(none)"
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    def informants(hit: Hit) -> list[str]:
        if hit.informants:
            return hit.informants
        return [hit.speaker] if hit.speaker and hit.role != INTERVIEWER_ROLE else []

    sections = []
    for code in sorted(grouped, key=lambda c: order.get(c, 10**6)):
        covered: dict[str, set[str]] = defaultdict(set)
        for h in grouped[code]:
            for speaker in informants(h):
                covered[group_of(h, speaker)].add(speaker)
        coverage = [Coverage(g, sorted(covered.get(g, set())), n) for g, n in totals.items()]
        c = info.get(code)
        sections.append(CodeSection(code=code, path=c.path if c else code,
                                    name=c.name if c else code,
                                    color=c.color if c else "#888888",
                                    hits=grouped[code], coverage=coverage))
    return ReportData(
        title=rep["name"], query=rep["query"], unit=rep["result"]["unit"],
        created_at=rep["created_at"], coders=rep["params"].get("coders", []),
        codebook_revisions=rep["params"].get("codebook_revisions", {}), sections=sections,
        ungrouped=[h for h in hits if not h.codes],
        coverage=[Coverage(c["group"], c["informants"], c["total"])
                  for c in rep["result"]["coverage"]],
        full_text=full_text, documents=[d.name for d in store.documents()],
        speakers=speakers)


def export_report(store: Store, report_id: int, out: Path, fmt: str | None = None, *,
                  full_text: bool = False, excel_bom: bool = False,
                  xlsx_layout: str = "per-code", presence_by: str = "document",
                  allow_leaks: bool = False) -> Path:
    """Write a stored report; refuses text the leak check flags unless ``allow_leaks``."""
    from qcode.export.report import write_report

    data = report_data(store, report_id, full_text=full_text)
    if not allow_leaks:
        check_export_for_leaks(store, [h for s in data.sections for h in s.hits] +
                               list(data.ungrouped))
    return write_report(data, out, fmt, excel_bom=excel_bom,
                        xlsx_layout=xlsx_layout,  # type: ignore[arg-type]
                        presence_by=presence_by)  # type: ignore[arg-type]


def check_export_for_leaks(store: Store, hits: Sequence[Any]) -> None:
    """Refuse to export excerpts in which the leak check finds high-confidence leaks."""
    from qcode.services.anonymize import leaks_in_spans

    spans = {(h.document, h.start, h.end) for h in hits}
    flagged = leaks_in_spans(store, sorted(spans))
    if flagged:
        first = flagged[0]
        by_doc: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for f in flagged:
            by_doc[f.document].append((f.start, f.end))
        excerpts = sum(1 for doc, start, end in spans if any(
            s < end and e > start for s, e in by_doc.get(doc, ())))
        which = "1 exported excerpt contains" if excerpts == 1 else \
            f"{excerpts} exported excerpts contain"
        found = "a possible leak" if len(flagged) == 1 else f"{len(flagged)} possible leaks"
        raise InputError(f"{which} {found}, e.g. {first.kind} {first.text!r} in "
                         f"{first.document}",
                         "anonymise them ('qcode anonymize check') or pass --allow-leaks")


def list_saved_queries(store: Store) -> list[tuple[str, str, str, str]]:
    """(name, query, created_at, created_by) of saved queries."""
    return store.saved_queries()
