"""The anonymisation leak check and pseudonymisation of documents.

Checking combines the rule detectors of ``qcode.nlp.leaks`` (identifiers,
addresses, the name and place gazetteers, capitalised words) with what the
language pipeline knows when it has a model: its named entities, and its
part-of-speech tags (a word tagged as a proper noun is a low-confidence hint;
a capitalised unknown word shaped like a Norwegian surname or farm name,
``Fjellheim``, ``Bertelsen``, is a medium one). Capitalised words inside a
multi-word title the model calls a product, event or work (``Guitar Hero``)
are not hints. A name found with medium or high confidence makes its other
occurrences in the same text findings too.

The findings of each document version are kept in the project (made at import or at
first use) together with a fingerprint of everything the check read; exports and the
TUI's leak counts read them, and a check whose fingerprint no longer matches (new rules
or word lists, a new annotation) runs again. Checks with a list of names are never kept.

Applying replaces chosen findings with consistent placeholders in a new
version of the document; the key (original -> placeholder) goes to a separate
file outside the project, readable by its owner only, and never into the
project or an export. The previous version, which holds the originals, is
removed from the project, and the file is rewritten so no copy of them stays
in its free pages.
"""

from __future__ import annotations

import json
import os
import re
import threading
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qcode.errors import InputError, NotFound
from qcode.models import Document
from qcode.store import Store

if TYPE_CHECKING:
    from qcode.nlp.leaks import Finding, TextScan

PLACEHOLDERS = {
    "fodselsnummer": "(fødselsnummer)", "d_number": "(fødselsnummer)", "number": "(nummer)",
    "phone": "(telefonnummer)", "email": "(e-post)", "url": "(nettadresse)",
    "birth_date": "(dato)", "address": "(adresse)",
}
NUMBERED = {"name_list": "person", "entity": "navn", "gazetteer": "navn",
            "capitalised": "navn"}
NON_NAME_LABELS = frozenset({"PROD", "EVT", "DRV", "MISC", "WORK_OF_ART", "PRODUCT", "EVENT"})
# Norwegian surnames and farm or place names end like this (Bertelsen, Fjellheim, Bjørndalen)
NAME_SHAPE = re.compile(
    r"(?:s?sen|son|stad|rud|dal|dalen|dahl|heim|vik|berg|land|haug|haugen|lie|bakken|moen|"
    r"nes|strand|holm|aas|seth|seter|gård|gaard|rød|hagen|lund|bråten|myr|sæter|vold|voll|"
    r"eide|rem|stuen|gjerde|bø|tveit|skog|fjord|fjell|sund|øy|ås|ness|borg|by)$")
# lower-case words that belong to the name before them (Glemmen skole, Gjøvik kommune)
INSTITUTION_HEADS = frozenset({
    "skole", "skule", "barneskole", "ungdomsskole", "videregående", "vgs", "barnehage",
    "barnehjem", "sykehus", "sykehjem", "klinikk", "legekontor", "kirke", "menighet", "gate",
    "gata", "vei", "veien", "allé", "plass", "torg", "park", "senter", "kommune", "fylke",
    "bydel", "stasjon", "politistasjon", "lensmannskontor", "universitet", "høgskole",
    "bibliotek", "museum", "hotell", "bru", "idrettslag"})
_HEAD = re.compile(r"[ \u00a0](\w+)")  # the word after a name
_BEFORE_ENTITY = " \t«»“”„\"'‹›(–—-"  # looked through for a sentence start before an entity


@dataclass(frozen=True)
class DocumentFinding:
    """A finding in a stored document (offsets into its text)."""

    document: str
    start: int
    end: int
    text: str
    kind: str
    confidence: str
    detail: str


def read_names(path: Path | None) -> list[str]:
    """Names to look for, one per line, from a file kept outside the project."""
    if path is None:
        return []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the name list: {exc}".splitlines()[0],
                         "a UTF-8 text file with one name per line") from exc
    return [unicodedata.normalize("NFC", n.strip()) for n in lines
            if n.strip() and not n.startswith("#")]


# -- finding names with the model's help ----------------------------------------------


@lru_cache(maxsize=1)
def _vocabulary() -> Any:
    from qcode.nlp.lemmatizer import LemmaLookup
    from qcode.nlp.matching import Vocabulary

    return Vocabulary(LemmaLookup.default())


def _model_hints(text: str, tokens: Sequence[tuple[int, int, str]],
                 sentence_starts: Iterable[int]) -> list[Finding]:
    """Proper-noun tags (low) and name-shaped unknown capitalised words (medium)."""
    from qcode.nlp.leaks import Finding

    known = _vocabulary().known
    starts = set(sentence_starts)
    out = []
    for s, e, pos in tokens:
        form = text[s:e]
        if len(form) < 2 or not form[:1].isupper() or not any(c.isalpha() for c in form):
            continue
        lower = form.lower()
        if form.isalpha() and len(form) >= 4 and NAME_SHAPE.search(lower) and not known(lower):
            out.append(Finding(s, e, form, "capitalised", "medium",
                               "capitalised unknown word shaped like a surname or place name"))
        elif pos == "PROPN" and not (s in starts and known(lower)):
            out.append(Finding(s, e, form, "capitalised", "low",
                               "tagged as a proper noun by the language model"))
    return out


def _sort_entities(text: str, entities: Sequence[tuple[int, int, str]],
                   sentence_starts: Sequence[int]) -> tuple[list[tuple[int, int, str]],
                                                            list[Finding]]:
    """Entities to trust, and low-confidence hints for those that are only ordinary words
    at the start of a sentence (the model's «Hen» or «Intervju» as a person)."""
    from qcode.nlp.leaks import WORD, Finding

    known = _vocabulary().known
    starts = set(sentence_starts)
    trusted, doubtful = [], []
    n = len(text)
    for s, e, label in entities:
        words = WORD.findall(text[s:e])
        j = min(s, n) if s >= 0 else max(0, n + s)  # len(text[:s])
        while j and text[j - 1] in _BEFORE_ENTITY:  # text[:s].rstrip(_BEFORE_ENTITY)
            j -= 1
        at_start = not j or text[j - 1] in "\n.!?:…" or any(
            k in starts for k in range(j, s + 1))
        if words and at_start and all(known(w.lower()) for w in words):
            doubtful.append(Finding(s, e, text[s:e], "capitalised", "low",
                                    f"{str(label).upper()} entity, but an ordinary word at "
                                    "the start of a sentence"))
        else:
            trusted.append((s, e, label))
    return trusted, doubtful


def _extend_heads(text: str, findings: Sequence[Finding]) -> list[Finding]:
    from qcode.nlp.leaks import NAME_KINDS, Finding

    out = []
    for f in findings:
        m = _HEAD.match(text, f.end) if f.kind in NAME_KINDS else None
        if m and m.group(1) in INSTITUTION_HEADS:
            end = m.end()
            f = Finding(f.start, end, text[f.start:end], f.kind, f.confidence, f.detail)
        out.append(f)
    return out


def _overlaps(spans: Sequence[tuple[int, int]], ends: Sequence[int], s: int, e: int) -> bool:
    """``[s, e)`` overlaps one of the sorted, disjoint ``spans`` (``ends``: their ends)."""
    i = bisect_right(ends, s)
    return i < len(spans) and spans[i][0] < e


def _protected(near: Callable[[int, int], Sequence[tuple[int, int]]], s: int, e: int) -> bool:
    """``[s, e)`` (not empty) lies inside a protected span; ``near``: a look-up of the
    protected spans that meet a stretch of text (``TextScan.protected_of``)."""
    return any(a <= s and e <= b for a, b in near(s, e))


def _same_name_elsewhere(text: str, findings: Sequence[Finding], scan: TextScan,
                         speakers: Sequence[str]) -> list[Finding]:
    """Other occurrences of words found as names with medium or high confidence.

    ``findings``: sorted and merged (no overlaps); ``scan``: a ``TextScan`` of ``text``.
    """
    from qcode.nlp.leaks import NAME_KINDS, WORD, Finding

    known = _vocabulary().known
    words: dict[str, Finding] = {}
    for f in findings:
        if f.kind in NAME_KINDS and f.confidence in ("high", "medium"):
            for m in WORD.finditer(f.text):
                w = m.group()
                if len(w) >= 3 and w[:1].isupper() and not known(w.lower()):
                    words.setdefault(w, f)
    if not words:
        return []
    covered = [(f.start, f.end) for f in findings]
    covered_ends = [b for _, b in covered]
    out = []
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, sorted(words, key=len,
                                                                            reverse=True)))
                         + r")(?:s)?(?![\w-])")
    starts = scan.literal_starts(words, with_s=True)  # where a capitalised word begins so
    matches = list(pattern.finditer(text)) if starts is None else scan.finditer(pattern, starts)
    near = scan.protected_of(speakers, len(matches))
    for m in matches:
        s, e = m.span()
        if _overlaps(covered, covered_ends, s, e) or _protected(near, s, e):
            continue
        src = words.get(m.group()) or words.get(m.group()[:-1])
        if src is None:
            continue
        out.append(Finding(s, e, m.group(), src.kind, "medium",
                           f"the same name as «{src.text}» found elsewhere in the text"))
    return out


def find_all_leaks(text: str, *, entities: Sequence[tuple[int, int, str]] = (),
                   tokens: Sequence[tuple[int, int, str]] = (),
                   sentence_starts: Iterable[int] = (), names: Sequence[str] = (),
                   speakers: Iterable[str] = (), allow_list: bool = True) -> list[Finding]:
    """The rule detectors plus the model's entities and hints, merged.

    ``tokens``: ``(start, end, UPOS)`` of the pipeline's tokens. ``allow_list=False``
    also reports model entities on the allow-listed names (Norge, Nav ...): for
    measuring name detection, never for checking documents.
    """
    from qcode.nlp.leaks import (
        ALLOWED_TERMS,
        TextScan,
        find_entities,
        find_leaks,
        merge_findings,
    )

    starts = list(sentence_starts)
    speakers = list(speakers)
    scan = TextScan(text)  # shared by the detectors: each part is found once
    trusted, doubtful = _sort_entities(text, entities, starts)
    base = find_leaks(text, entities=trusted, sentence_starts=starts, names=names,
                      speakers=speakers, scan=scan)

    hints = [*_model_hints(text, tokens, starts), *doubtful]
    extra = []
    if hints:
        near = scan.protected_of(speakers, len(hints))
        extra = [f for f in hints if not _protected(near, f.start, f.end)]
    if not allow_list:
        allowed = scan.literal_spans(frozenset(ALLOWED_TERMS), after_hyphen=False)
        extra += [f for f in find_entities(text, entities)
                  if any(f.start < b and a < f.end for a, b in allowed)]
    found = merge_findings([*base, *extra], text) if extra else list(base)
    titles = [(s, e) for s, e, label in entities
              if str(label).upper() in NON_NAME_LABELS and " " in text[s:e].strip()]
    if titles:
        found = [f for f in found if not (f.confidence == "low" and any(
            a <= f.start and f.end <= b for a, b in titles))]
    found = merge_findings(_extend_heads(text, found), text)
    more = _same_name_elsewhere(text, found, scan, speakers)
    return merge_findings([*found, *more], text) if more else found


def check_text(text: str, *, names: Sequence[str] = (), speakers: Iterable[str] = (),
               use_pipeline: bool = True, allow_list: bool = True) -> list[Finding]:
    """Leak findings in a plain text (the pipeline's entities and tags when it has them)."""
    entities: list[tuple[int, int, str]] = []
    tokens: list[tuple[int, int, str]] = []
    starts: list[int] = []
    if use_pipeline:
        from qcode.nlp.pipeline import load_pipeline

        nlp = load_pipeline()
        doc = nlp(text)
        entities = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        tokens = [(t.idx, t.idx + len(t.text), t.pos_) for t in doc if not t.is_space]
        starts = [s.start_char for s in doc.sents]
    return find_all_leaks(text, entities=entities, tokens=tokens, sentence_starts=starts,
                          names=names, speakers=speakers, allow_list=allow_list)


def check_file(path: Path, *, names: Sequence[str] = ()) -> tuple[str, list[Finding]]:
    """Check a plain-text file before import; offsets are into its text as read (UTF-8, NFC)."""
    from qcode.ingest import read_bytes
    from qcode.ingest.hygiene import decode_bytes

    raw = read_bytes(path, 200 * 2**20)
    text = unicodedata.normalize("NFC", decode_bytes(raw, str(path)).text)
    return text, check_text(text, names=names)


def check_document(store: Store, ref: str, *, names: Sequence[str] = (),
                   annotate: bool = True) -> list[DocumentFinding]:
    """Check a stored document using its stored annotations (annotating first if needed).

    Without ``names`` the findings are kept in the project per document version and
    reused while everything the check reads is unchanged (see ``leak_rules_version``);
    a list of names (kept outside the project on purpose) is always checked afresh.
    """
    doc = store.document(ref)
    if annotate and doc.id not in store.annotated():
        from qcode.services.nlp import annotate_documents

        annotate_documents(store, [doc.name])
    if names:
        return _run_check(store, doc, names)
    return _findings(store, {doc.id: doc.name}, loaded=doc)[doc.id]


def _run_check(store: Store, doc: Document, names: Sequence[str] = (),
               speakers: Sequence[str] | None = None) -> list[DocumentFinding]:
    """The check itself: every detector over the text of one document version
    (``speakers``: its speaker ids, when the caller has read them already)."""
    entities = [(s, e, label) for _t, s, e, label in store.entities(doc.id)]
    starts = [s for _t, s, _e in store.sentences(doc.id)]
    tokens = [(s, e, str(p)) for arrays in store.turn_tokens(doc.id).values()
              for s, e, p in zip(arrays["start"], arrays["end"],
                                 arrays.get("pos", [""] * len(arrays["start"])), strict=True)]
    if speakers is None:
        speakers = store.speaker_ids_by_document([doc.id]).get(doc.id, [])
    findings = find_all_leaks(doc.text, entities=entities, tokens=sorted(tokens),
                              sentence_starts=starts, names=names, speakers=speakers)
    return [DocumentFinding(doc.name, f.start, f.end, f.text, f.kind, f.confidence, f.detail)
            for f in findings]


# -- stored findings ------------------------------------------------------------------

# Bump when the check changes in a way the fingerprint below cannot see.
LEAK_RULES_VERSION = 1
# What the check's results depend on besides the document: the detectors' code and the
# word lists they read (gazetteers, lexicon, the lemma tables behind "a known word").
_RULE_MODULES = ("qcode.nlp.leaks", "qcode.nlp.matching", "qcode.nlp.lemmatizer",
                 "qcode.services.anonymize")
_RULE_DATA = ("names-nb.txt", "places-nb.txt", "lexicon-nb.txt.gz", "lemmas-ordbank.json.gz",
              "lemmas-treebank.json.gz")


@lru_cache(maxsize=1)
def leak_rules_version() -> str:
    """A fingerprint of the leak check's rules: its version, code and word lists."""
    import hashlib
    import importlib.util

    digest = hashlib.sha256(f"qcode-leak-rules {LEAK_RULES_VERSION}".encode())
    data = Path(__file__).resolve().parent.parent / "nlp" / "data"
    files = [(name, getattr(importlib.util.find_spec(name), "origin", None))
             for name in _RULE_MODULES] + [(name, str(data / name)) for name in _RULE_DATA]
    for name, origin in files:
        digest.update(f"\0{name}\0".encode())
        try:
            digest.update(Path(str(origin)).read_bytes())
        except OSError:  # no source to read (a frozen build): the version number decides
            digest.update(b"-")
    return digest.hexdigest()[:16]


def _inputs(store: Store, document_ids: Sequence[int],
            speakers: Mapping[int, Sequence[str]] | None = None) -> dict[int, str]:
    """The fingerprint of everything the check of each document version reads: the
    rules, the stored annotation (pipeline, when, how much) and the speaker ids (read
    here unless given)."""
    import hashlib

    rules = leak_rules_version()
    stamps = store.annotation_stamps(document_ids)
    if speakers is None:
        speakers = store.speaker_ids_by_document(document_ids)
    return {d: hashlib.sha256(json.dumps([rules, stamps.get(d), speakers.get(d, [])],
                                         ensure_ascii=False).encode()).hexdigest()[:32]
            for d in document_ids}


def _check_and_store(store: Store, document_id: int, inputs: str,
                     loaded: Document | None = None,
                     speakers: Sequence[str] | None = None) -> list[DocumentFinding]:
    """Run the check on a document version and keep its findings (best effort: a project
    another program is writing to gets them next time)."""
    from qcode.errors import ProjectError

    doc = loaded if loaded is not None and loaded.id == document_id else \
        store.document(document_id)
    found = _run_check(store, doc, speakers=speakers)
    try:
        with store.transaction():
            store.save_leak_check(document_id, inputs, [
                (f.start, f.end, f.text, f.kind, f.confidence, f.detail) for f in found])
    except ProjectError:
        pass
    return found


def _findings(store: Store, documents: dict[int, str], confidence: str | None = None, *,
              loaded: Document | None = None) -> dict[int, list[DocumentFinding]]:
    """The findings (of one confidence, if given) of document versions (id -> name):
    stored ones where their check is current, the others checked now and stored."""
    ids = list(documents)
    inputs = _inputs(store, ids)
    stored = store.leak_checks(ids)
    out: dict[int, list[DocumentFinding]] = {i: [] for i in ids}
    current = [i for i in ids if i in stored and stored[i].inputs == inputs[i]]
    for f in store.leak_findings(current, confidence):
        out[f.document_id].append(DocumentFinding(documents[f.document_id], f.start, f.end,
                                                  f.text, f.kind, f.confidence, f.detail))
    for i in ids:
        if i not in current:
            out[i] = [f for f in _check_and_store(store, i, inputs[i], loaded)
                      if confidence is None or f.confidence == confidence]
    return out


def leak_counts(store: Store, document_ids: Sequence[int] | None = None, *,
                on_count: Callable[[int, int], object] | None = None,
                cancel: threading.Event | None = None,
                compute: bool = True) -> dict[int, int]:
    """High-confidence findings per document version (id -> count), all current ones
    by default: stored counts where the stored check is current (first, and cheap), the
    others checked now and stored (left out with ``compute=False``). ``on_count(id,
    high)`` hears each as it is known."""
    if document_ids is None:
        document_ids = [d.id for d in store.documents()]
    ids = list(dict.fromkeys(document_ids))
    inputs = _inputs(store, ids)
    stored = store.leak_checks(ids)
    counts: dict[int, int] = {}
    for i in ids:
        check = stored.get(i)
        if check is not None and check.inputs == inputs[i]:
            counts[i] = check.high
            if on_count is not None:
                on_count(i, check.high)
    for i in ids:
        if i in counts or not compute:
            continue
        if cancel is not None and cancel.is_set():
            break
        try:
            found = _check_and_store(store, i, inputs[i])
        except NotFound:  # removed since the list was made
            continue
        counts[i] = sum(1 for f in found if f.confidence == "high")
        if on_count is not None:
            on_count(i, counts[i])
    return counts


def leaks_in_spans(store: Store, spans: Sequence[tuple[str, int, int]],
                   names: Sequence[str] = ()) -> list[DocumentFinding]:
    """High-confidence findings inside the given (document, start, end) spans."""
    by_doc: dict[str, list[tuple[int, int]]] = {}
    for name, start, end in spans:
        by_doc.setdefault(name, []).append((start, end))
    if names:
        found = {name: [f for f in check_document(store, name, names=names, annotate=False)
                        if f.confidence == "high"] for name in by_doc}
    else:
        current = {d.name: d.id for d in store.documents()}
        ids = {name: current[name] if name in current else store.document(name).id
               for name in by_doc}
        stored = _findings(store, {i: name for name, i in ids.items()}, "high")
        found = {name: stored[ids[name]] for name in by_doc}
    flagged = []
    for name, ranges in by_doc.items():
        for f in found[name]:
            if any(f.start < e and f.end > s for s, e in ranges):
                flagged.append(f)
    return flagged


def record_import_findings(store: Store, document_ids: Sequence[int],
                           actor: str) -> dict[str, int]:
    """The check right after import: stores the findings, warns and records counts
    (never the text) in the event log."""
    counts: dict[str, int] = {}
    speakers = store.speaker_ids_by_document(document_ids)
    inputs = _inputs(store, document_ids, speakers)
    with store.transaction():
        for doc_id in document_ids:
            found = _check_and_store(store, doc_id, inputs[doc_id],
                                     speakers=speakers.get(doc_id, []))
            high = [f for f in found if f.confidence == "high"]
            if high:
                counts[high[0].document] = len(high)
                store.record_event(actor, "anonymize.findings", {
                    "document_id": doc_id, "high": len(high),
                    "spans": [[f.start, f.end, f.kind] for f in high]})
    return counts


# -- measuring name detection -----------------------------------------------------------


def name_detector(*, allow_list: bool = False) -> Callable[[str], list[Finding]]:
    """A ``predict`` for ``qcode.nlp.leaks.evaluate_name_detection``: the pipeline's
    entities and tags, the rules and the gazetteers, as the check uses them."""
    from qcode.nlp.pipeline import load_pipeline

    nlp = load_pipeline()

    def predict(text: str) -> list[Finding]:
        doc = nlp(text)
        return find_all_leaks(
            text, entities=[(e.start_char, e.end_char, e.label_) for e in doc.ents],
            tokens=[(t.idx, t.idx + len(t.text), t.pos_) for t in doc if not t.is_space],
            sentence_starts=[s.start_char for s in doc.sents], allow_list=allow_list)

    return predict


def evaluate_names(gold: Path, *, allow_list: bool = False,
                   min_confidence: str = "low") -> dict[str, object]:
    """Token-level precision and recall of name findings on a NorNE CoNLL-U file.

    ``allow_list=False`` (name detection) counts every name NorNE marks; with the
    allow-list, country names and Nav are left out as the check leaves them out.
    """
    from qcode.nlp.leaks import evaluate_name_detection
    from qcode.nlp.pipeline import choose_pipeline, pipeline_id

    result = evaluate_name_detection(gold, name_detector(allow_list=allow_list),
                                     min_confidence=min_confidence)
    result["pipeline"] = pipeline_id(choose_pipeline())
    result["allow_list"] = allow_list
    return result


# -- apply ---------------------------------------------------------------------------


@dataclass
class ApplyReport:
    """What pseudonymisation changed."""

    document: str
    version: int
    replaced: int
    key_file: Path
    codings_moved: int
    placeholders: list[str] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)  # older copies that hold originals


def _load_key(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a qcode key file", "give a new or an existing key "
                         "file written by 'qcode anonymize apply'") from exc
    if not isinstance(data, dict) or "mapping" not in data:
        raise InputError(f"{path}: not a qcode key file", "give a new or an existing key "
                         "file written by 'qcode anonymize apply'")
    mapping = data.get("mapping", {})
    return {str(k): str(v) for k, v in mapping.items()}


def _write_key(path: Path, mapping: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"qcode_key": 1, "note": "original -> placeholder; keep apart from the data",
                   "mapping": mapping}, fh, ensure_ascii=False, indent=1, sort_keys=True)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    os.chmod(path, 0o600)


def _category(kind: str, detail: str) -> str:
    """The placeholder's stem: person, sted (place), organisasjon or navn."""
    if kind == "name_list":
        return "person"
    d = detail.upper()
    if kind == "entity":
        if d.startswith("PER"):
            return "person"
        if d.startswith(("GPE_LOC", "LOC", "GPE ")):
            return "sted"
        if d.startswith(("ORG", "GPE_ORG")):
            return "organisasjon"
    if kind == "gazetteer":
        return "sted" if "PLACE" in d else "person"
    return NUMBERED.get(kind, "navn")


def _placeholder(kind: str, original: str, mapping: dict[str, str], detail: str = "") -> str:
    key = " ".join(original.split()).casefold()
    if key in mapping:
        return mapping[key]
    if kind in PLACEHOLDERS:
        value = PLACEHOLDERS[kind]
    else:
        parts = key.split()
        # the same person: «Marius» after «Marius Fjellheim» (or the other way round)
        value = next((v for k, v in mapping.items() if v.startswith("(") and " " in v and (
            (len(parts) == 1 and parts[0] in k.split()) or
            (len(parts) > 1 and k in parts))), "")
        if not value:
            stem = _category(kind, detail)
            used = {v for v in mapping.values() if v.startswith(f"({stem} ")}
            value = f"({stem} {len(used) + 1})"
    mapping[key] = value
    return value


def _check_key_path(store: Store, key_file: Path) -> Path:
    from qcode.store.db import backup_dir

    key_file = Path(key_file).expanduser().resolve()
    project = store.path.resolve()
    backups = backup_dir(project).resolve()
    if key_file == project or key_file.suffix == ".qcode" or \
            key_file.is_relative_to(backups) or key_file.name.startswith(project.name):
        raise InputError(f"{key_file}: the key must not be a project file or lie in its "
                         "backups", "name a separate file, e.g. ~/nokler/studie-nokkel.json")
    if not key_file.parent.is_dir():
        raise InputError(f"{key_file.parent}: no such folder",
                         "create the folder for the key file first")
    return key_file


def _replace_words(text: str, mapping: dict[str, str]) -> str:
    """Whole-word replacement of the key's originals (memos, stored reports)."""
    if not text or not mapping:
        return text
    keys = sorted(mapping, key=len, reverse=True)
    pat = re.compile(r"(?<![\w])(?:" + "|".join(r"\s+".join(map(re.escape, k.split()))
                                                 for k in keys) + r")(?![\w])", re.I)
    return pat.sub(lambda m: mapping.get(" ".join(m.group().split()).casefold(),
                                         m.group()), text)


def apply_pseudonyms(store: Store, ref: str, key_file: Path, *,
                     confidence: Sequence[str] = ("high",), kinds: Sequence[str] | None = None,
                     names: Sequence[str] = (), actor: str | None = None) -> ApplyReport:
    """Replace findings with consistent placeholders as a new version of the document.

    Codings and decided suggestions move to the new version, anchored on the same
    words. The previous version (with the originals) is removed, the originals are
    replaced in memos and stored reports too, and the file is compacted so no copy
    stays in it. The key goes to ``key_file`` (owner-only), never into the project.
    """
    from qcode.ingest.common import sha256_text
    from qcode.ingest.hygiene import count_words
    from qcode.models import ParsedDocument, Segment
    from qcode.services.projects import default_actor
    from qcode.store.db import backup_dir

    key_file = _check_key_path(store, key_file)
    doc = store.document(ref)
    chosen = [f for f in check_document(store, ref, names=names)
              if f.confidence in confidence and (kinds is None or f.kind in kinds)]
    if not chosen:
        raise InputError(f"{doc.name}: nothing to replace at confidence "
                         f"{'/'.join(confidence)}", "see 'qcode anonymize check'")
    mapping = _load_key(key_file)
    pieces: list[str] = []
    shifts: list[tuple[int, int, int]] = []  # old start, old end, new length
    replaced: dict[str, str] = {}
    pos = 0
    for f in sorted(chosen, key=lambda f: f.start):
        if f.start < pos:
            continue
        replacement = _placeholder(f.kind, f.text, mapping, f.detail)
        replaced[" ".join(f.text.split()).casefold()] = replacement
        pieces.append(doc.text[pos:f.start])
        pieces.append(replacement)
        shifts.append((f.start, f.end, len(replacement)))
        pos = f.end
    pieces.append(doc.text[pos:])
    new_text = "".join(pieces)

    def moved(offset: int, *, is_end: bool) -> int:
        delta = 0
        for s, e, n in shifts:
            if offset >= e:
                delta += n - (e - s)
            elif s < offset < e:  # inside a replaced span: snap to its edge
                return s + delta + (n if is_end else 0)
            elif offset == s and is_end:
                break
        return offset + delta

    def span(start: int, end: int) -> tuple[int, int]:
        a = moved(start, is_end=False)
        return a, max(moved(end, is_end=True), a + 1)

    turns = store.turns(doc.id)
    segments = tuple(Segment(moved(t.start, is_end=False), moved(t.end, is_end=True),
                             t.speaker, t.time_start, t.time_end, t.label) for t in turns)
    parsed = ParsedDocument(name=doc.name, text=new_text, segments=segments,
                            kind=doc.kind,  # type: ignore[arg-type]
                            source_name=doc.source_name, source_format=doc.source_format,
                            source_sha256=sha256_text(new_text))
    actor = actor or default_actor()
    codings = 0
    conn = store.conn
    with store.transaction():
        new_id = store.insert_document(
            parsed, kind=doc.kind, sha256=sha256_text(new_text),
            word_count=sum(count_words(new_text[s.start:s.end]) for s in segments),
            actor=actor, previous=doc)
        for coding_id, start, end in store.codings_on(doc.id):
            store.move_coding(coding_id, new_id, *span(start, end))
            codings += 1
        conn.execute("DELETE FROM suggestions WHERE document_id = ? AND status = 'pending'",
                     (doc.id,))
        for sid, start, end in conn.execute(
                'SELECT id, start, "end" FROM suggestions WHERE document_id = ?',
                (doc.id,)).fetchall():
            a, b = span(start, end)
            conn.execute('UPDATE suggestions SET document_id = ?, start = ?, "end" = ? '
                         "WHERE id = ?", (new_id, a, b, sid))
        removed = [r[0] for r in conn.execute(
            "SELECT id FROM documents WHERE uid = ? AND id <> ? ORDER BY version",
            (doc.uid, new_id)).fetchall()]
        for old_id in removed:  # the previous version and any older ones hold the originals
            _remove_version(store, old_id)
        for table, column in (("memos", "body"), ("codings", "memo"), ("reports", "result")):
            for rid, value in conn.execute(f"SELECT id, {column} FROM {table}").fetchall():
                new = _replace_words(value or "", replaced)
                if new != value:
                    conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (new, rid))
        store.record_event(actor, "anonymize.apply", {
            "document": doc.name, "from_id": doc.id, "to_id": new_id,
            "replaced": len(shifts), "codings_moved": codings,
            "versions_removed": len(removed)})
    _write_key(key_file, mapping)
    _compact(store)
    folder = backup_dir(store.path)
    backups = sorted(folder.glob("*.qcode")) if folder.is_dir() else []
    return ApplyReport(doc.name, doc.version + 1, len(shifts), key_file, codings,
                       sorted(set(replaced.values())), backups)


def _remove_version(store: Store, doc_id: int) -> None:
    """Delete a superseded document version with everything that still points to it
    (oldest first, so no other version's ``superseded_by`` points to it)."""
    conn = store.conn
    text = conn.execute("SELECT text FROM documents WHERE id = ?", (doc_id,)).fetchone()[0]
    turns = conn.execute('SELECT id, start, "end" FROM turns WHERE document_id = ?',
                         (doc_id,)).fetchall()
    for table in ("nlp_entities", "nlp_sentences", "nlp_tokens", "nlp_documents",
                  "suggestions", "codings"):
        conn.execute(f"DELETE FROM {table} WHERE document_id = ?", (doc_id,))
    for turn_id, start, end in turns:
        conn.execute("INSERT INTO turns_fts (turns_fts, rowid, text) VALUES ('delete', ?, ?)",
                     (turn_id, text[start:end]))
    conn.execute("DELETE FROM turns WHERE document_id = ?", (doc_id,))
    conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))


def _compact(store: Store) -> None:
    """Rewrite the project file so deleted text leaves no trace in free pages or the WAL."""
    conn = store.conn
    with store.transaction():
        conn.execute("INSERT INTO turns_fts (turns_fts) VALUES ('optimize')")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
