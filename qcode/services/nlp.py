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

    from qcode.store.nlp import TurnAnnotation

    tokens_of = TokenArrays(nlp)
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
        tokens = tokens_of(spacy_doc, offset)
        sents = []
        document_text = work[di][0].text
        for sent in spacy_doc.sents:
            # sent.text, sliced from the text spaCy was given (Span.text joins its tokens)
            text = document_text[offset + sent.start_char:offset + sent.end_char]
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


class TokenArrays:
    """The stored token arrays of a spaCy ``Doc``: start, end, lemma, pos, stop (no spaces).

    Read with ``Doc.to_array`` (one call a turn) and strings looked up once a run
    in a cache, instead of a ``Token`` object and its attributes for every token.
    The result is the same as from the tokens: lemma is ``lemma_`` or else
    ``lower_``, pos is ``pos_``, stop is 1 for a stop word (by ``lower_``) or
    punctuation; offsets are ``offset + idx`` and ``offset + idx + len(text)``.
    """

    def __init__(self, nlp: Any) -> None:
        import importlib

        from qcode.nlp.stopwords import STOP_WORDS

        self._columns = ["IDX", "LENGTH", "LEMMA", "LOWER", "POS", "IS_SPACE", "IS_PUNCT"]
        self._strings = nlp.vocab.strings
        # what Token.pos_ looks up (a compiled module without type information)
        self._pos_names: dict[int, str] = dict(
            importlib.import_module("spacy.parts_of_speech").NAMES)
        self._stop_words = STOP_WORDS
        self._text: dict[int, str] = {}  # string hash -> string
        self._stop: dict[int, int] = {}  # hash of the lower-case form -> 1 if a stop word

    def _string(self, key: int) -> str:
        text = self._text.get(key)
        if text is None:
            text = self._text[key] = str(self._strings[key])
        return text

    def _is_stop(self, lower: int) -> int:
        flag = self._stop[lower] = int(self._string(lower) in self._stop_words)
        return flag

    def __call__(self, doc: Any, offset: int) -> dict[str, list[Any]]:
        """The arrays of one turn's ``Doc``; offsets are moved by ``offset``."""
        if not len(doc):
            return {"start": [], "end": [], "lemma": [], "pos": [], "stop": []}
        rows = doc.to_array(self._columns)  # one row a token, numpy uint64
        if rows[:, 5].any():  # whitespace tokens are not stored
            rows = rows[rows[:, 5] == 0]
        idx = rows[:, 0]
        lemma, lower, pos, punct = (rows[:, c].tolist() for c in (2, 3, 4, 6))
        cached, string, stop, names = self._text.get, self._string, self._stop, self._pos_names
        return {
            "start": (idx + offset).tolist(),
            "end": (idx + rows[:, 1] + offset).tolist(),
            "lemma": [(cached(h) or string(h)) or (cached(w) or string(w))
                      for h, w in zip(lemma, lower, strict=True)],
            "pos": [names.get(p, "") for p in pos],
            "stop": [(stop[w] if w in stop else self._is_stop(w)) | p
                     for w, p in zip(lower, punct, strict=True)],
        }


def require_annotations(store: Store, document_ids: Sequence[int]) -> None:
    """Refuse to go on when documents lack annotations (callers annotate first)."""
    done = store.annotated()
    missing = [i for i in document_ids if i not in done]
    if missing:
        raise InputError(f"{len(missing)} documents are not annotated yet",
                         "run 'qcode nlp annotate' first")
