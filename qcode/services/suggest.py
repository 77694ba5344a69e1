"""Code suggestions in a project: propose, list, accept, reject; and their evaluation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qcode.errors import InputError
from qcode.models import INTERVIEWER_ROLE, CodeInfo
from qcode.store import Store

SUGGEST_UNITS = ("sentence", "turn")
DEFAULT_MIN_SCORE = 0.35
MAX_PER_UNIT = 3


@dataclass(frozen=True)
class Suggestion:
    """A stored proposal: a code for a span, with why and how."""

    id: int
    document: str
    start: int
    end: int
    code: str
    score: float
    reason: str
    method: str
    pipeline: str
    status: str
    text: str = ""
    path: str = ""
    top: str = ""
    coding_id: int | None = None  # the coding an accepted suggestion became


def _targets(store: Store, codes: Sequence[str] | None, *, hierarchy: bool = False
             ) -> list[Any]:
    """The codes to propose: the given ones (each pooling its family), or every leaf code,
    or (``hierarchy``) every code, each pooling its family."""
    from qcode.nlp.suggest import CodeProfile, Target
    from qcode.services.coding import resolve_code

    all_codes = store.codes()
    by_id = {c.id: c for c in all_codes}
    children: dict[str, list[str]] = defaultdict(list)
    for c in all_codes:
        if c.parent_id:
            children[c.parent_id].append(c.id)

    def family(code_id: str) -> list[str]:
        out, stack = [code_id], list(children.get(code_id, []))
        while stack:
            cid = stack.pop()
            out.append(cid)
            stack.extend(children.get(cid, []))
        return out

    def member(c: CodeInfo) -> Any:
        text = "\n".join([c.name, c.definition, c.when_to_use, c.example,
                          " ".join(c.indicators)])
        return CodeProfile(c.id, c.name, text, c.when_not_to_use, tuple(c.indicators))

    if codes:
        chosen = list(dict.fromkeys(resolve_code(store, c).id for c in codes))
    elif hierarchy:
        chosen = [c.id for c in all_codes]
    else:
        chosen = [c.id for c in all_codes if not children.get(c.id)]
    if not chosen:
        raise InputError("no codes to suggest", "load a codebook first: qcode codebook load")
    targets = []
    for cid in chosen:
        fam = family(cid) if codes or hierarchy else [cid]
        members = tuple(member(by_id[f]) for f in fam)
        text = "\n".join(m.text for m in members)
        indicators = tuple(dict.fromkeys(i for m in members for i in m.indicators))
        targets.append(Target(cid, tuple(fam), text, indicators, members))
    return targets


def _code_tree(store: Store) -> tuple[dict[str, list[str]], list[str]]:
    """Children of every code, and the root codes, in codebook order."""
    children: dict[str, list[str]] = defaultdict(list)
    roots = []
    for c in store.codes():
        if c.parent_id:
            children[c.parent_id].append(c.id)
        else:
            roots.append(c.id)
    return children, roots


def most_specific(proposals: Sequence[Any], children: dict[str, list[str]],
                  roots: Sequence[str], min_score: float) -> list[Any]:
    """The most specific codes the evidence supports: from each root whose pooled score
    reaches ``min_score``, go down to the sub-codes that reach it too; where none does,
    the code itself is proposed (a parent stands for "one of these, not sure which")."""
    from qcode.nlp.suggest import Proposal

    scores = {p.code_id: p for p in proposals}
    out: list[Any] = []

    def walk(code: str) -> None:
        p = scores.get(code)
        if p is None or p.score < min_score:
            return
        kids = [c for c in children.get(code, ()) if c in scores
                and scores[c].score >= min_score]
        if kids:
            for c in kids:
                walk(c)
        elif children.get(code):
            out.append(Proposal(p.doc_id, p.start, p.end, p.code_id, p.score,
                                ["no single sub-code stands out; the evidence of its "
                                 "sub-codes together", *p.reasons], p.methods))
        else:
            out.append(p)

    for r in roots:
        walk(r)
    out.sort(key=lambda p: -p.score)
    return out


def _units(store: Store, doc: Any, unit: str, include_interviewer: bool) -> list[Any]:
    from qcode.nlp.suggest import Unit

    tokens = store.turn_tokens(doc.id)
    turns = {t.id: t for t in store.turns(doc.id)}
    if any(t.speaker for t in turns.values()):  # a transcript: its header is not talk
        turns = {i: t for i, t in turns.items() if t.speaker}
    out = []
    if unit == "turn":
        for t in turns.values():
            if t.id in tokens and (include_interviewer or t.role != INTERVIEWER_ROLE) \
                    and t.end > t.start:
                out.append(Unit(doc.id, t.id, t.start, t.end, doc.text, tokens[t.id]))
    else:
        for turn_id, start, end in store.sentences(doc.id):
            owner = turns.get(turn_id)
            if owner is None or turn_id not in tokens:
                continue
            if not include_interviewer and owner.role == INTERVIEWER_ROLE:
                continue
            out.append(Unit(doc.id, turn_id, start, end, doc.text, tokens[turn_id]))
    return out


def _examples(store: Store, targets: Sequence[Any], exclude_documents: set[int],
              coder: str | None) -> dict[str, list[tuple[int, list[str]]]]:
    """(document id, content lemmas) of coded excerpts per target (annotated documents)."""
    import bisect

    from qcode.nlp.suggest import content_lemmas

    owner: dict[str, list[str]] = defaultdict(list)
    for t in targets:
        for c in t.family:
            owner[c].append(t.code_id)
    out: dict[str, list[tuple[int, list[str]]]] = defaultdict(list)
    cache: dict[int, dict[int, Any]] = {}
    turns_cache: dict[int, list[Any]] = {}
    for k in store.codings(coder_id=coder):
        owners = owner.get(k.code_id)
        if not owners or k.document_id in exclude_documents:
            continue
        if k.document_id not in cache:
            cache[k.document_id] = store.turn_tokens(k.document_id)
            turns_cache[k.document_id] = store.turns(k.document_id)
        lemmas: list[str] = []
        for t in turns_cache[k.document_id]:
            if t.end <= k.start or t.start >= k.end or t.id not in cache[k.document_id]:
                continue
            arrays = cache[k.document_id][t.id]
            lo = bisect.bisect_left(arrays["start"], k.start)
            hi = bisect.bisect_left(arrays["start"], k.end)
            lemmas += content_lemmas(arrays, lo, hi)
        if lemmas:
            for target in owners:
                out[target].append((k.document_id, lemmas))
    return out


def _training(store: Store, targets: Sequence[Any], unit: str, exclude: set[int],
              coder: str | None) -> tuple[list[Any], dict[str, set[int]]]:
    """Units of coded documents (other than ``exclude``) labelled by overlapping codings."""
    owner: dict[str, list[str]] = defaultdict(list)
    for t in targets:
        for c in t.family:
            owner[c].append(t.code_id)
    units: list[Any] = []
    labels: dict[str, set[int]] = defaultdict(set)
    coded_docs = sorted({k.document_id for k in store.codings(coder_id=coder)} - exclude)
    annotated = store.annotated()
    for doc_id in coded_docs:
        if doc_id not in annotated:
            continue
        doc = store.document(doc_id)
        doc_units = _units(store, doc, unit, False)
        codings = [k for k in store.codings(document_id=doc_id, coder_id=coder)
                   if k.code_id in owner]
        for u in doc_units:
            i = len(units)
            units.append(u)
            for k in codings:
                if u.start < k.end and u.end > k.start:
                    for t in owner[k.code_id]:
                        labels[t].add(i)
    return units, labels


def _statistics_units(store: Store, docs: Sequence[Any], include_interviewer: bool
                      ) -> list[Any]:
    """Turns of every annotated current document (and of ``docs``): word and indicator
    frequencies come from the whole project, so a score does not depend on which
    documents one asks for."""
    annotated = store.annotated()
    seen = {d.id for d in docs}
    out = []
    for d in docs:
        out += _units(store, d, "turn", include_interviewer)
    for d in store.documents():
        if d.id not in seen and d.id in annotated:
            out += _units(store, store.document(d.id), "turn", include_interviewer)
    return out


def make_suggester(store: Store, targets: Sequence[Any], statistics: Sequence[Any],
                   examples: dict[str, list[tuple[int, list[str]]]], *,
                   variants: dict[str, list[str]] | None = None,
                   training: tuple[list[Any], dict[str, set[int]]] | None = None) -> Any:
    """A scorer for these targets, with the project's statistics and what it learned."""
    from qcode.nlp.suggest import Suggester

    suggester = Suggester(targets, statistics, examples, variants=variants)
    if training and training[0]:
        suggester.train(*training)
    return suggester


def propose(store: Store, targets: Sequence[Any], units: Sequence[Any],
            examples: dict[str, list[tuple[int, list[str]]]], *,
            variants: dict[str, list[str]] | None = None,
            min_score: float = DEFAULT_MIN_SCORE, per_unit: int = MAX_PER_UNIT,
            training: tuple[list[Any], dict[str, set[int]]] | None = None,
            suggester: Any = None,
            tree: tuple[dict[str, list[str]], list[str]] | None = None) -> list[Any]:
    """Score units and keep the best proposals (no storing; used by suggest and evaluate).

    With ``tree`` (children, roots) every code is a target and only the most specific
    codes the evidence supports are kept (see ``most_specific``).
    """
    if suggester is None:
        suggester = make_suggester(store, targets, units, examples, variants=variants,
                                   training=training)
    out = []
    for u in units:
        scored = suggester.score(u)
        if tree is not None:
            kept = most_specific(scored, tree[0], tree[1], min_score)[:per_unit]
        else:
            kept = [p for p in scored if p.score >= min_score][:per_unit]
        out.extend(kept)
    return out


def suggest(store: Store, *, documents: Sequence[str] | None = None, unit: str = "sentence",
            codes: Sequence[str] | None = None, min_score: float = DEFAULT_MIN_SCORE,
            coder: str | None = None, include_interviewer: bool = False) -> list[Suggestion]:
    """Propose codes for units of the documents (annotating first if needed) and store them.

    Nothing is coded: proposals wait for accept or reject. A span and code once
    rejected (or accepted) is never proposed again; spans the coder already coded
    with the code (or one of its sub-codes) are left out.
    """
    from qcode.nlp.pipeline import choose_pipeline, pipeline_id
    from qcode.services.nlp import annotate_documents

    if unit not in SUGGEST_UNITS:
        raise InputError(f"unknown unit {unit!r}", f"use one of {', '.join(SUGGEST_UNITS)}")
    docs = [store.document(d) for d in documents] if documents else \
        [store.document(d.id) for d in store.documents()]
    report = annotate_documents(store, [d.name for d in docs])
    pid = report.pipeline or pipeline_id(choose_pipeline())
    targets = _targets(store, codes, hierarchy=not codes)
    tree = None if codes else _code_tree(store)
    variants = store.get_setting("lemma_variants", {})
    examples = _examples(store, targets, set(), None)
    training = _training(store, targets, unit, set(), None)
    statistics = _statistics_units(store, docs, include_interviewer)
    suggester = make_suggester(store, targets, statistics, examples, variants=variants,
                               training=training)
    family = {t.code_id: set(t.family) for t in targets}
    stored_ids: list[int] = []
    for doc in docs:
        units = _units(store, doc, unit, include_interviewer)
        proposals = propose(store, targets, units, examples, min_score=min_score,
                            suggester=suggester, tree=tree)
        decided = store.decided(doc.id)
        mine = store.codings(document_id=doc.id, coder_id=coder)  # anyone's when no coder
        rows = []
        for p in proposals:
            if (p.start, p.end, p.code_id) in decided:
                continue
            if any(k.code_id in family[p.code_id] and k.start < p.end and k.end > p.start
                   for k in mine):
                continue
            rows.append((p.start, p.end, p.code_id, p.score, p.reason, p.method, pid))
        with store.transaction():
            stored_ids += store.replace_pending(doc.id, rows)
    return list_suggestions(store, ids=stored_ids)


def list_suggestions(store: Store, *, document: str | None = None, status: str | None = None,
                     ids: Sequence[int] | None = None) -> list[Suggestion]:
    """Stored suggestions with their text and code path."""
    doc_id = store.document(document).id if document else None
    codes = {c.id: c for c in store.codes()}
    texts: dict[int, str] = {}
    out = []
    for r in store.suggestions(document_id=doc_id, status=status, ids=ids):
        if r[1] not in texts:
            texts[r[1]] = store.document(r[1]).text
        info: CodeInfo | None = codes.get(r[5])
        path = info.path if info else r[5]
        out.append(Suggestion(id=r[0], document=r[2], start=r[3], end=r[4], code=r[5],
                              score=r[6], reason=r[7], method=r[8], pipeline=r[9],
                              status=r[10], text=texts[r[1]][r[3]:r[4]], path=path,
                              top=path.split("/")[0], coding_id=r[14]))
    return out


def accept_suggestions(store: Store, ids: Sequence[int], coder: str | None) -> list[int]:
    """Accept suggestions: each becomes a coding of the active coder (one undoable step;
    undoing it makes the suggestions pending again)."""
    from qcode.services.coding import SpanRequest, apply_codings, resolve_coder

    who = resolve_coder(store, coder)
    found = list_suggestions(store, ids=list(ids))
    missing = set(ids) - {s.id for s in found}
    if missing:
        raise InputError(f"no suggestion {sorted(missing)[0]}", "list them with 'qcode suggest "
                         "list'")
    pending = [s for s in found if s.status == "pending"]
    if not pending:
        raise InputError("these suggestions were decided already", "see 'qcode suggest list'")
    codings = apply_codings(store, [SpanRequest(document=s.document, code=s.code, start=s.start,
                                                end=s.end, memo=f"suggestion {s.id}: {s.reason}")
                                    for s in pending], who.id, kind="suggestion.accept")
    with store.transaction():
        for s, c in zip(pending, codings, strict=True):
            store.decide_suggestion(s.id, "accepted", who.id, c.id)
    return [c.id for c in codings]


def reject_suggestions(store: Store, ids: Sequence[int], coder: str | None) -> int:
    """Reject suggestions: never proposed again for the same span and code."""
    from qcode.services.coding import resolve_coder

    who = resolve_coder(store, coder)
    found = [s for s in list_suggestions(store, ids=list(ids)) if s.status == "pending"]
    with store.transaction():
        for s in found:
            store.decide_suggestion(s.id, "rejected", who.id, None)
        store.record_event(who.id, "suggestion.reject", {"ids": [s.id for s in found]})
    return len(found)


# -- evaluation ----------------------------------------------------------------------


def _unit_gold(store: Store, doc_id: int, coder: str, units: Sequence[Any],
               owner: dict[str, list[str]]) -> dict[str, set[int]]:
    gold: dict[str, set[int]] = defaultdict(set)
    for k in store.codings(document_id=doc_id, coder_id=coder):
        for t in owner.get(k.code_id, ()):
            for i, u in enumerate(units):
                if u.start < k.end and u.end > k.start:
                    gold[t].add(i)
    return gold


def evaluate_suggestions(store: Store, *, gold_coder: str, unit: str = "sentence",
                         codes: Sequence[str] | None = None, warm: bool = False,
                         thresholds: Sequence[float] = (DEFAULT_MIN_SCORE,),
                         kinds: Sequence[str] = ("interview", "focus_group", "survey"),
                         reference_coder: str | None = None, rollup: bool = False
                         ) -> dict[str, Any]:
    """Precision, recall and F1 per target code against a coder's codings, at unit level.

    Only documents the gold coder coded count. Cold: only the codebook (and the
    project's word statistics). Warm: also the gold coder's codings on the other
    documents (leave one document out). ``reference_coder``: score another coder's
    codings instead of suggestions (human agreement, the ceiling to compare with).
    ``rollup``: suggest as ``qcode suggest`` does without ``--codes`` (the most specific
    codes the evidence supports, at most three per unit) and count each for the
    evaluated code it belongs to.
    """
    from qcode.services.nlp import annotate_documents

    if unit not in SUGGEST_UNITS:
        raise InputError(f"unknown unit {unit!r}", f"use one of {', '.join(SUGGEST_UNITS)}")
    if store.coder(gold_coder) is None:
        raise InputError(f"no coder {gold_coder!r}", "list coders with 'qcode coders list'")
    coded = {k.document_id for k in store.codings(coder_id=gold_coder)}
    docs = [store.document(d.id) for d in store.documents() if d.kind in kinds and d.id in coded]
    if not docs:
        raise InputError(f"{gold_coder} has coded none of the documents",
                         "evaluate against a coder who has coded documents")
    annotate_documents(store, [d.name for d in docs])
    targets = _targets(store, codes or ["samarbeid", "praksislogikker", "prestisje"])
    owner: dict[str, list[str]] = defaultdict(list)
    for t in targets:
        for c in t.family:
            owner[c].append(t.code_id)
    scored = targets
    tree = None
    if rollup:
        children, roots = _code_tree(store)
        scored = [t for t in _targets(store, None, hierarchy=True) if t.code_id in owner]
        tree = (children, [r for r in roots if r in owner])
    variants = store.get_setting("lemma_variants", {})
    statistics = _statistics_units(store, docs, False)
    model: Any = None if reference_coder else make_suggester(store, scored, statistics, {},
                                                             variants=variants)
    counts = {t.code_id: {th: [0, 0, 0] for th in thresholds} for t in targets}  # tp fp fn
    base = {t.code_id: 0 for t in targets}
    n_units = 0
    for doc in docs:
        units = _units(store, doc, unit, False)
        n_units += len(units)
        gold = _unit_gold(store, doc.id, gold_coder, units, owner)
        predicted: dict[str, dict[float, set[int]]] = {
            t.code_id: {th: set() for th in thresholds} for t in targets}
        if reference_coder:
            other = _unit_gold(store, doc.id, reference_coder, units, owner)
            for t in targets:
                for th in thresholds:
                    predicted[t.code_id][th] = set(other[t.code_id])
        else:
            suggester = model
            if warm:
                suggester.set_examples(_examples(store, scored, {doc.id}, gold_coder))
                suggester.train(*_training(store, scored, unit, {doc.id}, gold_coder))
            for i, u in enumerate(units):
                scored_u = suggester.score(u)
                for th in thresholds:
                    kept = (most_specific(scored_u, tree[0], tree[1], th)[:MAX_PER_UNIT]
                            if tree is not None else [p for p in scored_u if p.score >= th])
                    for p in kept:
                        for t in owner.get(p.code_id, ()):
                            predicted[t][th].add(i)
        for t in targets:
            base[t.code_id] += len(gold[t.code_id])
            for th in thresholds:
                pred = predicted[t.code_id][th]
                c = counts[t.code_id][th]
                c[0] += len(pred & gold[t.code_id])
                c[1] += len(pred - gold[t.code_id])
                c[2] += len(gold[t.code_id] - pred)
    result: dict[str, Any] = {"unit": unit, "units": n_units, "warm": warm,
                              "gold_coder": gold_coder, "reference_coder": reference_coder,
                              "rollup": rollup, "documents": len(docs), "codes": {}}
    for code, by_th in counts.items():
        result["codes"][code] = {}
        for th, (tp, fp, fn) in by_th.items():
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            result["codes"][code][str(th)] = {"precision": round(p, 3), "recall": round(r, 3),
                                              "f1": round(f, 3), "tp": tp, "fp": fp, "fn": fn,
                                              "gold_units": base[code]}
    return result
