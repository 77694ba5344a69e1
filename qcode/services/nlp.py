"""The language layer in a project: pipeline status and turn-wise annotation."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from qcode.errors import InputError
from qcode.store import Store

NlpProgress = Callable[[int, int, str], None]  # words done, words in all, document


@dataclass(frozen=True)
class NlpStatus:
    """Which tier is in use, what it can do, and what is lost."""

    tier: int
    tier_name: str
    pipeline: str
    location: str
    reason: str
    has_entities: bool
    has_pos: bool
    components: tuple[str, ...]
    warnings: tuple[str, ...]


def nlp_status(setting: str | None = None) -> NlpStatus:
    """Load the chosen pipeline and describe it (``qcode nlp status``)."""
    from qcode.nlp.pipeline import TIER_NAMES, choose_pipeline, load_pipeline, pipeline_id

    choice = choose_pipeline(setting)
    nlp = load_pipeline(choice)
    has_ner = nlp.has_pipe("ner")
    has_pos = any(nlp.has_pipe(p) for p in ("morphologizer", "tagger"))
    warnings = list(choice.warnings)
    if not has_ner and choice.tier != 3:
        warnings.append("this pipeline has no named-entity recogniser: the leak check uses "
                        "patterns only")
    return NlpStatus(choice.tier, TIER_NAMES[choice.tier], pipeline_id(choice, nlp),
                     choice.location, choice.reason, has_ner, has_pos,
                     tuple(nlp.pipe_names), tuple(warnings))


@dataclass
class AnnotateReport:
    """What an annotation run did."""

    pipeline: str
    tier: int
    annotated: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    words: int = 0
    tokens: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    warnings: list[str] = field(default_factory=list)


def annotate_documents(
    store: Store,
    documents: Sequence[str] | None = None,
    *,
    force: bool = False,
    setting: str | None = None,
    progress: NlpProgress | None = None,
    cancel: threading.Event | None = None,
    n_process: int = 1,
    batch_size: int = 64,
) -> AnnotateReport:
    """Annotate turns of current documents that are not yet annotated by this pipeline.

    Each turn's text (never the speaker label or time stamp) goes through
    ``nlp.pipe``; each document is stored in its own transaction, so a cancel
    leaves finished documents annotated and the rest untouched.
    """
    import time

    from qcode.nlp.pipeline import choose_pipeline, load_pipeline, pipeline_id

    choice = choose_pipeline(setting)
    nlp = load_pipeline(choice)
    pid = pipeline_id(choice, nlp)
    report = AnnotateReport(pid, choice.tier, warnings=list(choice.warnings))
    docs = [store.document(d) for d in documents] if documents else \
        [store.document(d.id) for d in store.documents()]
    done = store.annotated()
    todo = []
    for doc in docs:
        if not force and done.get(doc.id, ("", 0))[0] == pid:
            report.up_to_date.append(doc.name)
        else:
            todo.append(doc)
    work: list[tuple[Any, list[Any]]] = [(d, [t for t in store.turns(d.id) if t.end > t.start])
                                         for d in todo]
    total = sum(d.word_count for d in todo)
    started = time.perf_counter()
    if not todo:
        return report

    def items() -> Iterator[tuple[str, tuple[int, int]]]:
        for di, (doc, turns) in enumerate(work):
            for ti, turn in enumerate(turns):
                yield doc.text[turn.start:turn.end], (di, ti)

    from qcode.nlp.stopwords import STOP_WORDS
    from qcode.store.nlp import TurnAnnotation

    current: list[TurnAnnotation] = []
    current_doc = -1
    expected = {di: len(turns) for di, (_, turns) in enumerate(work)}

    def flush(di: int) -> None:
        doc = work[di][0]
        with store.transaction():
            store.save_annotation(doc.id, pid, choice.tier, current)
        report.annotated.append(doc.name)
        report.words += doc.word_count
        if progress:
            progress(report.words, total, doc.name)

    for doc, turns in work:
        if not turns:  # nothing to annotate, but record that it was seen
            with store.transaction():
                store.save_annotation(doc.id, pid, choice.tier, [])
            report.annotated.append(doc.name)
    stream = nlp.pipe(items(), as_tuples=True, batch_size=batch_size, n_process=n_process)
    for spacy_doc, (di, ti) in stream:
        if cancel is not None and cancel.is_set():
            report.cancelled = True
            break
        if di != current_doc:
            current, current_doc = [], di
        turn = work[di][1][ti]
        offset = turn.start
        tokens: dict[str, list[Any]] = {"start": [], "end": [], "lemma": [], "pos": [],
                                        "stop": []}
        for tok in spacy_doc:
            if tok.is_space:
                continue
            tokens["start"].append(offset + tok.idx)
            tokens["end"].append(offset + tok.idx + len(tok.text))
            tokens["lemma"].append(tok.lemma_ or tok.lower_)
            tokens["pos"].append(tok.pos_ or "")
            tokens["stop"].append(int(tok.lower_ in STOP_WORDS or tok.is_punct))
        sents = []
        for sent in spacy_doc.sents:
            text = sent.text
            lead = len(text) - len(text.lstrip())
            trail = len(text.rstrip())
            if trail > lead:
                sents.append((offset + sent.start_char + lead, offset + sent.start_char + trail))
        ents = [(offset + e.start_char, offset + e.end_char, e.label_) for e in spacy_doc.ents]
        report.tokens += len(tokens["start"])
        current.append(TurnAnnotation(turn.id, tokens, sents, ents))
        if len(current) == expected[di]:
            flush(di)
    report.seconds = time.perf_counter() - started
    return report


def require_annotations(store: Store, document_ids: Sequence[int]) -> None:
    """Refuse to go on when documents lack annotations (callers annotate first)."""
    done = store.annotated()
    missing = [i for i in document_ids if i not in done]
    if missing:
        raise InputError(f"{len(missing)} documents are not annotated yet",
                         "run 'qcode nlp annotate' first")
