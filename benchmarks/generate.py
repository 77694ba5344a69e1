"""Seeded synthetic qcode projects for the benchmarks, recombined from our own sample corpus.

    uv run python -m benchmarks.generate S            # 18 interviews, ~150k words, 2 coders
    uv run python -m benchmarks.generate M            # + 5,000 survey answers, ~2M words, 3 coders
    uv run python -m benchmarks.generate L            # 1,000 interviews, ~10M words (slow)
    uv run python -m benchmarks.generate M --force    # rebuild even if cached

Projects are cached under ``/tmp/qcode-bench/<scale>/`` (``--out`` to change) with a
``manifest.json``; a cached project is reused when the generator version and seed match.

What is generated, and from what:

- **Text.** Sentences of the informant turns of the sample interviews and the focus group
  (``corpora/``; ``V4.txt`` is left out because it holds the deliberate anonymisation leaks)
  are recombined into new answers: runs of consecutive sentences from a source turn, then a
  jump to another. Interviewer questions are the sample's interviewer turns. Survey answers
  recombine the sample survey's answers and short informant sentences.
- **Turn lengths.** Interviewer turns are sample questions (median 8 words). Informant turns:
  15 % short replies (1-12 words), otherwise log-normal with a median of 85 words (sigma 0.55,
  15-600 words); 5 % of long answers span two paragraphs. This follows the sample corpus
  (informant median 73, p90 117 words) with the longer tail of real one-hour interviews.
  One interview per scale is a 20,000-word transcript (for the TUI measurement).
- **Informants.** ``JSnnn`` (jobbspesialist) and ``Vnnn`` (veileder) with office, age,
  experience, education and interview date in a sidecar ``informants.csv``; the survey
  waves carry ``rolle``, ``kontor`` and ``ansiennitet_ar`` columns.
- **Codings.** A reference coding of each document, then one noisy copy per coder. Coding
  lengths are drawn from the 776 codings of ``corpora/koding/`` (median 21 words) and extended
  to whole sentences, 12 % are whole turns; code frequencies follow the same files (smoothed
  so every code is used); 20 % of spans get a second code. Each coder keeps 82 % of the
  reference codings, moves a boundary by a sentence in 20 % of them, swaps the code for its
  parent or a sibling in 8 %, and adds 18 % codings of their own. Survey answers are coded
  whole (65 %) or one sentence (35 %).

Everything goes through ``qcode.services``: ``init_project``, ``import_paths`` (with the
sidecar), ``load_codebook_file`` for the three shipped codebooks, ``add_coder`` and
``apply_codings`` with one call per document and coder.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import re
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpora"
CODEBOOKS = REPO / "codebooks"
#: Where projects, results and profiles go; $QCODE_BENCH_DIR moves them (e.g. to keep a
#: copy migrated by a newer qcode apart from the one older checkouts use).
DEFAULT_OUT = Path(os.environ.get("QCODE_BENCH_DIR", "/tmp/qcode-bench"))
GENERATOR_VERSION = 3
DEFAULT_SEED = 20260901
CODERS = ("coder-a", "coder-b", "coder-c")
LONG_WORDS = 20_000
OFFICES = ("Nord", "Sør", "Øst", "Vest")
EDUCATIONS = ("sosionom", "vernepleier", "sykepleier", "pedagog", "barnevernspedagog",
              "ergoterapeut", "master i sosialt arbeid", "bachelor i offentlig administrasjon",
              "master i arbeids- og velferdsfag")
SURVEY_QUESTIONS = ("samarbeid_fungerer", "forbedringer")
RESPONDENTS_PER_WAVE = 1_250  # x 2 questions = 2,500 answers per wave


@dataclass(frozen=True)
class Scale:
    """How big a generated project is."""

    name: str
    interviews: int
    interview_words: int  # all interviews together (labels included), the long one too
    survey_waves: int  # each wave: RESPONDENTS_PER_WAVE respondents x 2 questions
    coders: int
    codings: int  # target over all coders

    @property
    def survey_answers(self) -> int:
        return self.survey_waves * RESPONDENTS_PER_WAVE * len(SURVEY_QUESTIONS)


SCALES = {
    "S": Scale("S", 18, 153_000, 0, 2, 2_000),
    "M": Scale("M", 200, 1_960_000, 2, 3, 100_000),
    "L": Scale("L", 1_000, 9_900_000, 8, 3, 500_000),
}
# Codings per survey answer per coder (the rest of the target goes to the interviews).
SURVEY_CODINGS_PER_ANSWER = {"S": 0.0, "M": 1.3, "L": 1.6}
KEEP, MOVE, SWAP, EXTRA, DOUBLE, WHOLE_TURN = 0.82, 0.20, 0.08, 0.18, 0.20, 0.12

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])\s+(?=[A-ZÆØÅ«(])")
_SENTENCE = re.compile(r"\S.*?(?:[.!?…]+[»”\"')\]]*(?=\s)|$)", re.S)


def project_dir(out: Path, scale: str) -> Path:
    """Where a scale's project, sources and manifest live."""
    return Path(out) / scale


def project_path(out: Path, scale: str) -> Path:
    """The .qcode file of a generated scale."""
    return project_dir(out, scale) / f"bench-{scale}.qcode"


# -- the sample corpus, taken apart ---------------------------------------------------------


@dataclass
class Pools:
    """Material recombined into new text."""

    answer_turns: list[list[str]]  # informant turns as lists of sentences
    short_replies: list[str]
    questions: list[str]
    survey_sentences: list[str]
    coding_words: list[int]  # word counts of the sample codings
    code_weights: dict[str, float]


def _split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT.split(" ".join(text.split())) if s.strip()]


def build_pools() -> Pools:
    """Take the sample corpus apart into sentences, questions, answers and distributions."""
    import yaml

    from qcode.ingest.hygiene import clean_text, count_words
    from qcode.ingest.turns import TurnDetector

    detector = TurnDetector.from_patterns([])
    sources = [p for p in sorted((CORPUS / "intervjuer").glob("*.txt")) if p.stem != "V4"]
    sources.append(CORPUS / "fokusgruppe" / "fokusgruppe_sor.txt")
    answers: list[list[str]] = []
    short: list[str] = []
    questions: list[str] = []
    for path in sources:
        text = clean_text(path.read_text(encoding="utf-8"))
        for seg in detector.segments(text):
            if seg.speaker is None:
                continue
            body = " ".join(text[seg.start:seg.end].split())
            if seg.speaker == "I":
                questions.append(body)
            elif count_words(body) <= 12:
                short.append(body)
            else:
                answers.append(_split_sentences(body))
    survey: list[str] = []
    with (CORPUS / "survey" / "personalundersokelse.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for col in SURVEY_QUESTIONS:
                survey.extend(_split_sentences(row.get(col) or ""))
    coding_words: list[int] = []
    counts: dict[str, int] = defaultdict(int)
    for name in ("coder-a", "coder-b"):
        data = yaml.safe_load((CORPUS / "koding" / f"{name}.yaml").read_text(encoding="utf-8"))
        for c in data["codings"]:
            coding_words.append(count_words(c["quote"]))
            counts[c["code"]] += 1
    all_codes: list[str] = []
    for book in ("samarbeid", "praksislogikker", "prestisje"):
        all_codes += re.findall(r"^\s*- id: ([a-z0-9_-]+)\s*$",
                                (CODEBOOKS / f"{book}.yaml").read_text(encoding="utf-8"),
                                re.M)
    weights = {c: counts.get(c, 0) + 3.0 for c in all_codes}
    return Pools(answers, short, questions, survey, coding_words, weights)


# -- text ------------------------------------------------------------------------------------


def _answer(rng: random.Random, pools: Pools, words: int) -> str:
    from qcode.ingest.hygiene import count_words

    out: list[str] = []
    total = 0
    while total < words:
        turn = rng.choice(pools.answer_turns)
        i = rng.randrange(len(turn))
        for sentence in turn[i:i + rng.randint(2, 6)]:
            out.append(sentence)
            total += count_words(sentence)
            if total >= words:
                break
    return " ".join(out)


def _answer_length(rng: random.Random) -> int:
    if rng.random() < 0.15:
        return 0  # a short reply
    return int(min(600, max(15, rng.lognormvariate(math.log(85), 0.55))))


def interview_text(rng: random.Random, pools: Pools, number: int, informant: str, role: str,
                   office: str, words: int) -> str:
    """One transcript: a header line, then alternating I: and informant turns."""
    from qcode.ingest.hygiene import count_words

    parts = [f"Intervju {number} – {role} {informant}, kontor {office}"]
    total = 0
    while total < words:
        question = rng.choice(pools.questions)
        parts.append(f"I: {question}")
        length = _answer_length(rng)
        if length == 0:
            answer = rng.choice(pools.short_replies)
            parts.append(f"{informant}: {answer}")
        else:
            answer = _answer(rng, pools, length)
            if length > 120 and rng.random() < 0.05:
                sentences = _split_sentences(answer)
                cut = len(sentences) // 2
                parts.append(f"{informant}: {' '.join(sentences[:cut])}")
                parts.append(" ".join(sentences[cut:]))
            else:
                parts.append(f"{informant}: {answer}")
        total += count_words(question) + count_words(answer)
    return "\n\n".join(parts) + "\n"


def survey_answer(rng: random.Random, pools: Pools) -> str:
    """One open survey answer: 1-4 sentences, median about 14 words."""
    from qcode.ingest.hygiene import count_words

    target = int(min(80, max(3, rng.lognormvariate(math.log(14), 0.6))))
    out: list[str] = []
    total = 0
    while total < target and len(out) < 4:
        pool = pools.survey_sentences if rng.random() < 0.5 else rng.choice(pools.answer_turns)
        sentence = rng.choice(pool)
        out.append(sentence)
        total += count_words(sentence)
    return " ".join(out)


@dataclass
class Sources:
    """Generated source files and their totals."""

    interviews: Path
    survey: Path | None
    attributes: Path
    interview_words: int
    survey_answers: int
    long_document: str


def write_sources(scale: Scale, pools: Pools, seed: int, src: Path) -> Sources:
    """Write the transcripts, survey waves and informants.csv of a scale."""
    from qcode.ingest.hygiene import count_words

    if src.exists():
        shutil.rmtree(src)
    (src / "intervjuer").mkdir(parents=True)
    rng = random.Random(f"{seed}-{scale.name}-people")
    rows = []
    total_words = 0
    per_interview = (scale.interview_words - LONG_WORDS) / max(scale.interviews - 1, 1)
    long_name = ""
    for n in range(1, scale.interviews + 1):
        kind = "JS" if n % 2 else "V"
        informant = f"{kind}{(n + 1) // 2:03d}"
        role = "jobbspesialist" if kind == "JS" else "veileder"
        office = rng.choice(OFFICES)
        doc_rng = random.Random(f"{seed}-{scale.name}-interview-{n}")
        words = LONG_WORDS if n == 1 else int(max(3_000, doc_rng.gauss(per_interview,
                                                                       per_interview * 0.18)))
        text = interview_text(doc_rng, pools, n, informant, role, office, words)
        name = f"intervju-{n:04d}-{informant}" + ("-lang" if n == 1 else "")
        if n == 1:
            long_name = name
        (src / "intervjuer" / f"{name}.txt").write_text(text, encoding="utf-8")
        total_words += count_words(text)
        rows.append([informant, role, office, rng.randint(25, 64), rng.randint(0, 30),
                     rng.choice(EDUCATIONS),
                     f"2026-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}"])
    attributes = src / "informants.csv"
    with attributes.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["informant", "role", "office", "age", "experience_years", "education",
                    "interview_date"])
        w.writerows(rows)
    survey_dir = None
    answers = 0
    if scale.survey_waves:
        survey_dir = src / "survey"
        survey_dir.mkdir()
        for wave in range(1, scale.survey_waves + 1):
            wrng = random.Random(f"{seed}-{scale.name}-survey-{wave}")
            with (survey_dir / f"undersokelse-{wave:02d}.csv").open(
                    "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["respondent", "rolle", "kontor", "ansiennitet_ar",
                            *SURVEY_QUESTIONS])
                for r in range(1, RESPONDENTS_PER_WAVE + 1):
                    w.writerow([f"W{wave:02d}R{r:04d}",
                                wrng.choice(("veileder", "veileder", "jobbspesialist")),
                                wrng.choice(OFFICES), wrng.randint(0, 30),
                                *(survey_answer(wrng, pools) for _ in SURVEY_QUESTIONS)])
                    answers += len(SURVEY_QUESTIONS)
    return Sources(src / "intervjuer", survey_dir, attributes, total_words, answers, long_name)


# -- codings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefCoding:
    """A reference coding: sentences i..j (inclusive) of one turn, with a code."""

    turn: int
    first: int
    last: int
    code: str


def turn_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of the sentences of one turn, as offsets into the document."""
    return [(start + m.start(), start + m.end()) for m in _SENTENCE.finditer(text[start:end])]


def _code_family(store: Any) -> tuple[dict[str, str | None], dict[str | None, list[str]]]:
    parent: dict[str, str | None] = {}
    children: dict[str | None, list[str]] = defaultdict(list)
    for c in store.codes():
        parent[c.id] = c.parent_id
        children[c.parent_id].append(c.id)
    return parent, children


def reference_codings(rng: random.Random, pools: Pools, sentences: list[list[tuple[int, int]]],
                      words: list[int], n: int, survey: bool) -> list[RefCoding]:
    """``n`` reference codings over the informant turns of one document."""
    codes = list(pools.code_weights)
    weights = list(pools.code_weights.values())
    turns = [i for i, s in enumerate(sentences) if s]
    if not turns:
        return []
    turn_weights = [1.0 if survey else float(words[i]) for i in turns]
    out: list[RefCoding] = []
    while len(out) < n:
        t = rng.choices(turns, turn_weights)[0]
        sents = sentences[t]
        if survey:
            if rng.random() < 0.65:
                i, j = 0, len(sents) - 1
            else:
                i = j = rng.randrange(len(sents))
        elif rng.random() < WHOLE_TURN:
            i, j = 0, len(sents) - 1
        else:
            target = rng.choice(pools.coding_words)
            i = j = rng.randrange(len(sents))
            got = 0
            while True:
                got += max(1, round((sents[j][1] - sents[j][0]) / 6))  # ~6 characters a word
                if got >= target or j + 1 >= len(sents):
                    break
                j += 1
        picked = rng.choices(codes, weights, k=2)
        out.append(RefCoding(t, i, j, picked[0]))
        if rng.random() < DOUBLE and picked[1] != picked[0]:
            out.append(RefCoding(t, i, j, picked[1]))
    return out


def coder_variant(rng: random.Random, ref: list[RefCoding], sentences: list[list[tuple[int, int]]],
                  extra: list[RefCoding], parent: dict[str, str | None],
                  children: dict[str | None, list[str]]) -> list[RefCoding]:
    """One coder's version of the reference: some dropped, moved, recoded; some added."""
    out = []
    for r in ref:
        if rng.random() >= KEEP:
            continue
        first, last, code = r.first, r.last, r.code
        if rng.random() < MOVE:
            n = len(sentences[r.turn])
            move = rng.choice(("first-", "first+", "last-", "last+"))
            if move == "first-" and first > 0:
                first -= 1
            elif move == "first+" and first < last:
                first += 1
            elif move == "last-" and last > first:
                last -= 1
            elif move == "last+" and last + 1 < n:
                last += 1
        if rng.random() < SWAP:
            options = [c for c in children.get(parent.get(code), []) if c != code]
            if parent.get(code):
                options.append(parent[code])  # type: ignore[arg-type]
            if options:
                code = rng.choice(options)
        out.append(RefCoding(r.turn, first, last, code))
    return out + extra


def apply_project_codings(store: Any, pools: Pools, scale: Scale, seed: int,
                          log: Any = print) -> int:
    """Generate and apply every coder's codings, one apply_codings call per document+coder."""
    from qcode import services
    from qcode.models import INTERVIEWER_ROLE

    coders = list(CODERS[:scale.coders])
    for c in coders:
        services.add_coder(store, c, f"Koder {c[-1].upper()}", actor=c)
    parent, children = _code_family(store)
    docs = [services.get_document(store, d.name) for d in store.documents()]
    interview_words = sum(d.word_count for d, _ in docs if d.kind != "survey")
    answers = sum(sum(1 for t in turns if t.speaker) for d, turns in docs if d.kind == "survey")
    per_coder = scale.codings / scale.coders
    survey_rate = SURVEY_CODINGS_PER_ANSWER[scale.name]
    interview_rate = (per_coder - answers * survey_rate) / max(interview_words, 1)
    applied = 0
    started = time.perf_counter()
    for number, (doc, turns) in enumerate(docs, start=1):
        rng = random.Random(f"{seed}-{scale.name}-codings-{doc.name}")
        informant = [t for t in turns if t.speaker and t.role != INTERVIEWER_ROLE
                     and t.end > t.start]
        sentences = [turn_sentences(doc.text, t.start, t.end) for t in informant]
        words = [max(1, (t.end - t.start) // 6) for t in informant]
        survey = doc.kind == "survey"
        expected = len(informant) * survey_rate if survey else doc.word_count * interview_rate
        n_ref = max(1, round(expected / (KEEP + EXTRA)))
        ref = reference_codings(rng, pools, sentences, words, n_ref, survey)
        for coder in coders:
            crng = random.Random(f"{seed}-{scale.name}-{doc.name}-{coder}")
            extra = reference_codings(crng, pools, sentences, words, round(n_ref * EXTRA),
                                      survey)
            mine = coder_variant(crng, ref, sentences, extra, parent, children)
            spans = sorted({(sentences[r.turn][r.first][0], sentences[r.turn][r.last][1], r.code)
                            for r in mine})
            if not spans:
                continue
            requests = [services.SpanRequest(document=doc.name, code=code, start=s, end=e)
                        for s, e, code in spans]
            applied += len(services.apply_codings(store, requests, coder, actor=coder))
        if number % 25 == 0 or number == len(docs):
            log(f"  codings: {number}/{len(docs)} documents, {applied:,} codings, "
                f"{time.perf_counter() - started:.0f} s")
    return applied


# -- the project -----------------------------------------------------------------------------


def manifest_path(out: Path, scale: str) -> Path:
    """The manifest written next to a generated project."""
    return project_dir(out, scale) / "manifest.json"


def load_manifest(out: Path, scale: str) -> dict[str, Any] | None:
    """The manifest of a cached project, or None."""
    path = manifest_path(out, scale)
    if not path.exists() or not project_path(out, scale).exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def generate(scale_name: str, *, out: Path = DEFAULT_OUT, seed: int = DEFAULT_SEED,
             force: bool = False, log: Any = print) -> dict[str, Any]:
    """Build (or reuse) the project of a scale; returns its manifest."""
    from qcode import services

    scale = SCALES[scale_name]
    cached = load_manifest(out, scale_name)
    if cached and not force and cached.get("generator_version") == GENERATOR_VERSION \
            and cached.get("seed") == seed:
        log(f"{scale_name}: cached at {cached['project']}")
        return cached
    base = project_dir(out, scale_name)
    base.mkdir(parents=True, exist_ok=True)
    path = project_path(out, scale_name)
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
                     manifest_path(out, scale_name)):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.name + "-backups"), ignore_errors=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    pools = build_pools()
    log(f"{scale_name}: writing sources to {base / 'src'}")
    sources = write_sources(scale, pools, seed, base / "src")
    timings["sources_s"] = time.perf_counter() - t0
    services.init_project(path, actor="bench")
    store = services.open_project(path)
    try:
        t1 = time.perf_counter()
        options = services.import_options(store)
        paths = [sources.interviews] + ([sources.survey] if sources.survey else [])
        report = services.import_paths(store, paths, options, attributes=sources.attributes,
                                       actor="bench")
        if report.failed:
            raise SystemExit(f"import failed: {[r.detail for r in report.failed][:3]}")
        timings["import_s"] = time.perf_counter() - t1
        log(f"{scale_name}: imported {len(report.rows)} documents in {timings['import_s']:.1f} s")
        for book in ("samarbeid", "praksislogikker", "prestisje"):
            services.load_codebook_file(store, CODEBOOKS / f"{book}.yaml", actor="bench")
        t2 = time.perf_counter()
        applied = apply_project_codings(store, pools, scale, seed, log)
        timings["codings_s"] = time.perf_counter() - t2
        info = services.project_info(store)
    finally:
        store.close()
    timings["total_s"] = time.perf_counter() - t0
    manifest = {
        "scale": scale_name, "seed": seed, "generator_version": GENERATOR_VERSION,
        "project": str(path), "sources": str(base / "src"), "spec": asdict(scale),
        "long_document": sources.long_document, "coders": list(CODERS[:scale.coders]),
        "interview_words": sources.interview_words, "survey_answers": sources.survey_answers,
        "codings_applied": applied, "counts": info["counts"],
        "documents_by_kind": info["documents_by_kind"], "size_bytes": info["size_bytes"],
        "timings": {k: round(v, 1) for k, v in timings.items()},
    }
    manifest_path(out, scale_name).write_text(json.dumps(manifest, indent=2, ensure_ascii=False),
                                              encoding="utf-8")
    log(f"{scale_name}: {info['counts']['words']:,} words, {info['counts']['codings']:,} "
        f"codings, {info['size_bytes'] / 2**20:.0f} MiB, {timings['total_s']:.0f} s")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scales", nargs="+", choices=sorted(SCALES))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--force", action="store_true", help="rebuild a cached project")
    args = parser.parse_args(argv)
    for s in args.scales:
        generate(s, out=args.out, seed=args.seed, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
