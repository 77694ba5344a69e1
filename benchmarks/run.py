"""The qcode benchmarks: each measurement in a fresh subprocess, medians, peak memory, ratios.

    uv run python -m benchmarks.run import-nlp --scale S       # import + NLP vs raw nlp.pipe
    uv run python -m benchmarks.run query --scale M            # query mix p50/p95 vs SQL
    uv run python -m benchmarks.run query-memory --scale M     # each query in a fresh process
    uv run python -m benchmarks.run aggregate --scale M        # frequency table, matrices
    uv run python -m benchmarks.run agreement --scale M        # alpha, 3 coders, turn + char
    uv run python -m benchmarks.run export --scale M           # 10,000-excerpt report
    uv run python -m benchmarks.run tui --scale M              # Textual Pilot, headless
    uv run python -m benchmarks.run cli-help                   # qcode --help
    uv run python -m benchmarks.run all --scale S              # everything (generates first)
    uv run python -m benchmarks.run show                       # print all stored results

Every subcommand generates (or reuses) the project of its scale with
``benchmarks.generate``, runs a worker subprocess (``_worker``) that does the
work and prints one JSON line, stores that under ``/tmp/qcode-bench/results/``
and prints Markdown tables. Times are wall-clock (``time.perf_counter``);
"median" is over ``--repeat`` runs in the same worker, after one warm-up run
where noted. Peak memory is the worker's peak resident set (``VmHWM``), reset
before each measured operation through ``/proc/self/clear_refs`` so each row
shows its own peak; ``base`` is the resident set just before the operation.
``--profile`` writes a cProfile listing of one run of each operation to
``/tmp/qcode-bench/profiles/``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.generate import DEFAULT_OUT, generate, project_path

RESULTS = DEFAULT_OUT / "results"
PROFILES = DEFAULT_OUT / "profiles"
MARK = "@@BENCH@@"


# -- measuring -------------------------------------------------------------------------------


def _status(field_name: str) -> float:
    """A VmXXX line of /proc/self/status in MiB (0 where unavailable)."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return 0.0
    m = re.search(rf"^{field_name}:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) / 1024 if m else 0.0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_mib() -> float:
    peak = _status("VmHWM")
    if peak:
        return peak
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Op:
    """Samples of one operation: seconds per run, peak and base resident memory (MiB)."""

    name: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mib: float = 0.0
    base_mib: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": self.seconds, "median_s": median(self.seconds),
                "cpu_s": self.cpu, "cpu_median_s": median(self.cpu),
                "p50_s": pct(self.seconds, 50), "p95_s": pct(self.seconds, 95),
                "peak_mib": round(self.peak_mib, 1), "base_mib": round(self.base_mib, 1),
                **self.extra}


@contextlib.contextmanager
def measured(op: Op) -> Iterator[None]:
    """Time one run of ``op`` and fold its peak resident memory into the op."""
    gc.collect()
    _reset_peak()
    base = _status("VmRSS")
    c0 = time.process_time()
    t0 = time.perf_counter()
    try:
        yield
    finally:
        op.seconds.append(time.perf_counter() - t0)
        op.cpu.append(time.process_time() - c0)
        op.peak_mib = max(op.peak_mib, _peak_mib())
        op.base_mib = max(op.base_mib, base)


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def profile_to(name: str, fn: Callable[[], Any], enabled: bool) -> None:
    """Run ``fn`` once under cProfile and write the 40 most expensive calls."""
    if not enabled:
        return
    PROFILES.mkdir(parents=True, exist_ok=True)
    prof = cProfile.Profile()
    prof.enable()
    try:
        fn()
    finally:
        prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    path = PROFILES / f"{name}.txt"
    path.write_text(out.getvalue())
    print(f"profile: {path}", file=sys.stderr)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import platform
    import sqlite3

    cpu = ""
    with contextlib.suppress(OSError):
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = m.group(1) if m else ""
    mem = 0.0
    with contextlib.suppress(OSError):
        m = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        mem = int(m.group(1)) / 2**20 if m else 0.0
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(), "loadavg": [round(x, 2) for x in os.getloadavg()]}


# -- workers -----------------------------------------------------------------------------------


def _open(scale: str) -> Any:
    from qcode import services

    return services.open_project(project_path(DEFAULT_OUT, scale))


def _copy(scale: str, dest: Path) -> Path:
    """A copy of the generated project, read without opening it as a project (opening
    would migrate the cached file when this qcode has a newer schema)."""
    from qcode.store.db import copy_database

    copy_database(project_path(DEFAULT_OUT, scale), dest)
    return dest


def worker_import_nlp(args: dict[str, Any]) -> dict[str, Any]:
    """Import (no NLP), annotation, and raw nlp.pipe over the same turn texts, interleaved."""
    from qcode import services
    from qcode.nlp.pipeline import SHIPPED_DIR, choose_pipeline, load_pipeline, pipeline_id

    scale, repeat, tier = args["scale"], args["repeat"], args["tier"]
    src = DEFAULT_OUT / scale / "src" / "intervjuer"
    files = sorted(src.glob("*.txt"))
    if args.get("docs"):
        files = [f for f in files if not f.stem.endswith("-lang")][:args["docs"]]
    setting = "blank" if tier == "blank" else str(SHIPPED_DIR)
    choice = choose_pipeline(setting)
    tmp = Path(tempfile.mkdtemp(prefix="qcode-bench-import-"))
    batch = args.get("batch_size", 64)

    def fresh_import(n: int, op: Op | None = None) -> tuple[Any, float]:
        """Import the files into a new project (made and opened first, not timed)."""
        path = services.init_project(tmp / f"run{n}.qcode", actor="bench")
        store = services.open_project(path)
        options = services.import_options(store)
        started = time.perf_counter()
        with measured(op) if op is not None else contextlib.nullcontext():
            services.import_paths(store, files, options, actor="bench")
        return store, time.perf_counter() - started

    # as `qcode import` runs it: a process that has not loaded spaCy (a warm-up first)
    alone = Op("import (no NLP), spaCy not loaded")
    for n in range(repeat + 1):
        store, _ = fresh_import(-1 - n, alone if n else None)
        store.close()
    assert "spacy" not in sys.modules, "import without NLP loaded spaCy"
    t0 = time.perf_counter()
    nlp = load_pipeline(choice)
    load_s = time.perf_counter() - t0

    # the same turn texts that annotate_documents sends through nlp.pipe
    store, _ = fresh_import(0)
    texts = [d.text[t.start:t.end] for d, turns in
             (services.get_document(store, x.name) for x in store.documents())
             for t in turns if t.end > t.start]
    words = sum(d.word_count for d in store.documents())
    store.close()
    for _ in nlp.pipe(texts[:200], batch_size=batch):  # warm-up
        pass
    ops = {k: Op(k) for k in ("raw nlp.pipe", "import (no NLP)", "annotate", "import + annotate")}
    ops[alone.name] = alone
    for n in range(1, repeat + 1):
        with measured(ops["raw nlp.pipe"]):
            for _doc in nlp.pipe(texts, batch_size=batch):
                pass
        store, _ = fresh_import(n, ops["import (no NLP)"])
        with measured(ops["annotate"]):
            report = services.annotate_documents(store, setting=setting, batch_size=batch)
        ops["import + annotate"].seconds.append(ops["import (no NLP)"].seconds[-1]
                                                + ops["annotate"].seconds[-1])
        ops["import + annotate"].cpu.append(ops["import (no NLP)"].cpu[-1]
                                            + ops["annotate"].cpu[-1])
        ops["import + annotate"].peak_mib = max(ops["import (no NLP)"].peak_mib,
                                                ops["annotate"].peak_mib)
        assert report.words == words, (report.words, words)
        store.close()
    if args.get("profile"):
        store, _ = fresh_import(99)
        profile_to(f"annotate-{tier}-{scale}",
                   lambda: services.annotate_documents(store, setting=setting, force=True,
                                                       batch_size=batch), True)
        store.close()
    shutil.rmtree(tmp, ignore_errors=True)
    raw = median(ops["raw nlp.pipe"].seconds)
    out = []
    for op in ops.values():
        d = op.as_dict()
        d["words_per_s"] = words / d["median_s"]
        d["ratio_to_raw"] = (d["median_s"] / raw if not op.name.startswith("import (no NLP)")
                             else None)
        out.append(d)
    return {"words": words, "turns": len(texts), "documents": len(files),
            "pipeline": pipeline_id(choice, nlp), "components": list(nlp.pipe_names),
            "pipeline_load_s": load_s, "batch_size": batch, "ops": out}


#: Hits a result screen shows first (the TUI lists the first page, then more on demand).
PAGE = 200

QUERY_MIX = [
    ("single code", "prestisje"),
    ("boolean", "(prestisje OR praksislogikker/*) AND NOT samarbeid/vurdering"),
    ("attribute filter", "prestisje AND age >= 40"),
    ("overlap", "prestisje overlaps samarbeid"),
    ("within N turns", "prestisje within 2 turns of samarbeid/vurdering/frustrasjon"),
    ("FTS phrase", '"felles møter"'),
    ("fuzzy", "~teamfølelse"),
]


def _family_sql(store: Any, code: str) -> list[str]:
    return [code, *store.descendants(code)]


# The turn a position is in: the last turn starting at or before it (the engine's turn_at).
# Turns are numbered in document order, so the (document_id, idx) index walks them backwards;
# ORDER BY t2.start is the better plan once turns(document_id, start) is indexed.
_TURN_OF = ('(SELECT t2.id FROM turns t2 WHERE t2.document_id = k.document_id '
            'AND t2.start <= k.start ORDER BY t2.{order} DESC LIMIT 1)')


def _with_texts(store: Any, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows (doc id, name, start, end, ...) with the excerpt text sliced from each document.

    Reading each document's text once is far cheaper than substr() per row, which makes
    SQLite read the whole text (overflow pages) again for every coding.
    """
    ids = sorted({r[0] for r in rows})
    texts: dict[int, str] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        texts.update(store.conn.execute(
            f"SELECT id, text FROM documents WHERE id IN ({', '.join('?' for _ in chunk)})",
            chunk).fetchall())
    return [(r[1], r[2], r[3], r[4], texts[r[0]][r[2]:r[3]], *r[5:]) for r in rows]


def sql_single_code(store: Any, code: str, order: str = "idx") -> list[tuple[Any, ...]]:
    """Hits of a code (with sub-codes) outside interviewer turns, in hand-written SQL.

    One row per stretch of text (document, start, end) with all its codings, like the engine.
    """
    fam = _family_sql(store, code)
    marks = ", ".join("?" for _ in fam)
    return _with_texts(store, store.conn.execute(
        f'SELECT k.document_id, d.name, k.start, k."end", group_concat(k.id), t.idx, '
        f"t.speaker, s.role FROM codings k "
        f"JOIN documents d ON d.id = k.document_id AND d.superseded_by IS NULL "
        f"JOIN turns t ON t.id = {_TURN_OF.format(order=order)} "
        f"LEFT JOIN speakers s ON s.id = t.speaker "
        f"WHERE k.code_id IN ({marks}) AND s.role IS NOT 'interviewer' "
        f'GROUP BY k.document_id, k.start, k."end"', fam).fetchall())


def sql_attribute(store: Any, code: str, name: str, low: float,
                  order: str = "idx") -> list[tuple[Any, ...]]:
    """Hits of a code whose turn's speaker (else document) has a numeric attribute >= low."""
    fam = _family_sql(store, code)
    marks = ", ".join("?" for _ in fam)
    return _with_texts(store, store.conn.execute(
        f'SELECT k.document_id, d.name, k.start, k."end", group_concat(k.id), t.idx, '
        f"t.speaker, s.role FROM codings k "
        f"JOIN documents d ON d.id = k.document_id AND d.superseded_by IS NULL "
        f"JOIN turns t ON t.id = {_TURN_OF.format(order=order)} "
        f"LEFT JOIN speakers s ON s.id = t.speaker "
        f"LEFT JOIN speaker_attributes sa ON sa.speaker = t.speaker AND sa.name = ? "
        f"LEFT JOIN document_attributes da ON da.document_uid = d.uid AND da.name = ? "
        f"WHERE k.code_id IN ({marks}) AND s.role IS NOT 'interviewer' "
        f"AND CAST(coalesce(sa.value, da.value) AS REAL) >= ? "
        f'GROUP BY k.document_id, k.start, k."end"',
        [name, name, *fam, low]).fetchall())


def sql_phrase(store: Any, words: list[str]) -> list[tuple[Any, ...]]:
    """Phrase hits: FTS5 for the turns, the same regex for the places, no interviewer."""
    rx = re.compile(r"\b" + r"\W+".join(map(re.escape, words)) + r"\b", re.IGNORECASE)
    rows = store.conn.execute(
        'SELECT d.name, t.start, substr(d.text, t.start + 1, t."end" - t.start), t.idx, '
        "t.speaker, s.role FROM turns_fts f JOIN turns t ON t.id = f.rowid "
        "JOIN documents d ON d.id = t.document_id AND d.superseded_by IS NULL "
        "LEFT JOIN speakers s ON s.id = t.speaker "
        "WHERE turns_fts MATCH ? AND s.role IS NOT 'interviewer'",
        ('"' + " ".join(words) + '"',)).fetchall()
    out = []
    for name, start, text, idx, speaker, role in rows:
        for m in rx.finditer(text):
            out.append((name, start + m.start(), start + m.end(), None, m.group(), idx, speaker,
                        role))
    return out


def _engine_rows(result: Any) -> list[tuple[Any, ...]]:
    return sorted((h.document.casefold(), h.start, h.end, tuple(h.coding_ids), h.text, h.turn,
                   h.speaker, h.role) for h in result.hits)


def _sql_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((r[0].casefold(), r[1], r[2],
                   tuple(sorted(int(i) for i in str(r[3]).split(","))) if r[3] else (),
                   r[4], r[5], r[6], r[7]) for r in rows)


SQL_BASELINES: dict[str, Callable[[Any, str], list[tuple[Any, ...]]]] = {
    "single code": lambda store, order: sql_single_code(store, "prestisje", order),
    "attribute filter": lambda store, order: sql_attribute(store, "prestisje", "age", 40, order),
    "FTS phrase": lambda store, order: sql_phrase(store, ["felles", "møter"]),
}


def worker_query(args: dict[str, Any]) -> dict[str, Any]:
    """The query mix through services.run_query (as the CLI runs it) and against SQL."""
    from qcode import services
    from qcode.query import engine

    store = _open(args["scale"])
    repeat = args["repeat"]
    # a copy with the index proposed for turns, to show what the SQL limit becomes with it
    tmp = Path(tempfile.mkdtemp(prefix="qcode-bench-query-"))
    indexed = tmp / "indexed.qcode"
    store.backup(indexed)
    with contextlib.closing(sqlite3.connect(indexed)) as conn:
        conn.execute("CREATE INDEX bench_turns_doc_start ON turns(document_id, start)")
        conn.commit()
    indexed_store = services.open_project(indexed)
    load = Op("corpus load")
    for _ in range(repeat):
        with measured(load):
            corpus = engine.Corpus(store)
    rows = []
    all_samples: list[float] = []
    engine_samples: list[float] = []
    for label, query in QUERY_MIX:
        services.run_query(store, query)  # warm-up (page cache, lazy imports)
        op = Op(label)  # as the TUI shows it: the result with its first page of hits
        for _ in range(repeat):
            with measured(op):
                result = services.run_query(store, query)
                result.hits[:PAGE]
        full = Op(label + " (all hits)")  # as the CLI prints it: every hit built
        for _ in range(repeat):
            with measured(full):
                list(services.run_query(store, query).hits)
        eng = Op(label + " (engine only)")
        for _ in range(repeat):
            with measured(eng):
                list(engine.run_query(store, query, corpus=corpus).hits)
        all_samples += op.seconds
        engine_samples += eng.seconds
        row = op.as_dict()
        row.update(query=query, hits=len(result.hits), engine_p50_s=pct(eng.seconds, 50),
                   engine_p95_s=pct(eng.seconds, 95), cpu_p50_s=pct(op.cpu, 50),
                   engine_cpu_p50_s=pct(eng.cpu, 50), all_p50_s=pct(full.seconds, 50),
                   all_p95_s=pct(full.seconds, 95), all_cpu_p50_s=pct(full.cpu, 50))
        if label in SQL_BASELINES:
            fn = SQL_BASELINES[label]
            expected = _engine_rows(result)
            for variant, st, order in (("sql", store, "idx"), ("sql_indexed", indexed_store,
                                                               "start")):
                fn(st, order)
                sql = Op(f"{label} ({variant})")
                for _ in range(repeat):
                    with measured(sql):
                        sql_rows = fn(st, order)
                if _sql_rows(sql_rows) != expected:
                    raise AssertionError(f"{label}: engine and {variant} differ "
                                         f"({len(result.hits)} vs {len(sql_rows)} rows)")
                row.update({f"{variant}_p50_s": pct(sql.seconds, 50),
                            f"{variant}_p95_s": pct(sql.seconds, 95),
                            f"{variant}_rows": len(sql_rows), "equal": True})
            row.update(ratio_p50=pct(full.seconds, 50) / row["sql_p50_s"],
                       ratio_p95=pct(full.seconds, 95) / row["sql_p95_s"],
                       engine_ratio_p50=pct(eng.seconds, 50) / row["sql_p50_s"])
        rows.append(row)
        profile_to(f"query-{args['scale']}-{label.replace(' ', '-')}",
                   lambda q=query: services.run_query(store, q), args.get("profile", False))
    store.close()
    indexed_store.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"repeat": repeat, "corpus_load": load.as_dict(), "queries": rows,
            "mix_p50_s": pct(all_samples, 50), "mix_p95_s": pct(all_samples, 95),
            "mix_engine_p50_s": pct(engine_samples, 50),
            "mix_engine_p95_s": pct(engine_samples, 95)}


def worker_query_one(args: dict[str, Any]) -> dict[str, Any]:
    """One query through services.run_query in this fresh process: time and peak memory."""
    from qcode import services

    store = _open(args["scale"])
    base = _status("VmRSS")
    op = Op(args["label"])
    with measured(op):
        result = services.run_query(store, args["query"])
    store.close()
    return {"name": args["label"], "query": args["query"], "hits": len(result.hits),
            "seconds": op.seconds[0], "cpu": op.cpu[0], "peak_mib": _peak_mib(),
            "base_mib": base}


def worker_query_memory(args: dict[str, Any]) -> dict[str, Any]:
    """Each query of the mix once in its own fresh process, as the CLI runs it."""
    out = []
    for label, query in QUERY_MIX:
        cmd = [sys.executable, "-m", "benchmarks.run", "_worker", "query-one",
               json.dumps({"scale": args["scale"], "label": label, "query": query})]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith(MARK))
        out.append(json.loads(line[len(MARK):]))
    return {"queries": out}


def worker_aggregate(args: dict[str, Any]) -> dict[str, Any]:
    """Frequency table, code x role and code x code matrices through the services."""
    from qcode import services

    store = _open(args["scale"])
    ops = {
        "frequency table": lambda: services.frequencies(store),
        "code x role matrix": lambda: services.matrix(store, "codes", "role"),
        "co-occurrence matrix": lambda: services.matrix(store, "codes", "codes"),
    }
    out = []
    for name, fn in ops.items():
        op = Op(name)
        for _ in range(args["repeat"]):
            with measured(op):
                result = fn()
        size = (f"{len(result)} rows" if isinstance(result, list)
                else f"{len(result.rows)} x {len(result.columns)}")
        op.extra["size"] = size
        out.append(op.as_dict())
        profile_to(f"aggregate-{args['scale']}-{name.replace(' ', '-')}", fn,
                   args.get("profile", False))
    store.close()
    return {"ops": out}


def worker_agreement(args: dict[str, Any]) -> dict[str, Any]:
    """Agreement over every code (rolled up), all coders, turn and character units."""
    from qcode import services

    store = _open(args["scale"])
    coders = [c.id for c in store.coders()]
    codes = [c.id for c in store.codes()]
    runs = [("turn, no bootstrap", "turn", 0), ("turn, bootstrap 1000 (CLI default)", "turn",
                                                1000), ("character", "character", 0)]
    out = []
    for name, unit, boot in runs:
        if args.get("only") and args["only"] not in name:
            continue
        op = Op(name)
        for _ in range(args["repeat"] if boot == 0 else max(1, args["repeat"] // 2)):
            with measured(op):
                rep = services.compute_agreement(store, coders, unit=unit, codes=codes,
                                                 bootstrap=boot)
        alphas = [r.alpha for r in rep.rows if r.alpha == r.alpha]
        op.extra.update(rows=len(rep.rows), documents=len(rep.documents),
                        units=rep.rows[0].n_units if rep.rows else 0,
                        alpha_median=median(alphas))
        out.append(op.as_dict())
        profile_to(f"agreement-{args['scale']}-{unit}-{boot}",
                   lambda u=unit, b=boot: services.compute_agreement(
                       store, coders, unit=u, codes=codes, bootstrap=b),
                   args.get("profile", False))
    store.close()
    return {"coders": coders, "codes": len(codes), "ops": out}


def _report_query(store: Any, target: int) -> str:
    """Exact codes, most used first, until the query has at least ``target`` excerpts."""
    from qcode import services

    counts = store.conn.execute(
        "SELECT code_id, count(DISTINCT document_id || ':' || start || ':' || \"end\") AS n "
        "FROM codings GROUP BY code_id ORDER BY n DESC, code_id").fetchall()
    chosen: list[str] = []
    estimate = 0
    for code, n in counts:
        chosen.append(f"={code}")
        estimate += n
        if estimate >= target * 1.15:
            break
    query = " OR ".join(chosen)
    while len(services.run_query(store, query).hits) < target and len(chosen) < len(counts):
        chosen.append(f"={counts[len(chosen)][0]}")
        query = " OR ".join(chosen)
    return query


def _trim(data: Any, n: int) -> Any:
    from dataclasses import replace

    sections, left = [], n
    for s in data.sections:
        if left <= 0:
            break
        sections.append(replace(s, hits=s.hits[:left]))
        left -= len(sections[-1].hits)
    return replace(data, sections=sections, ungrouped=[])


def worker_export(args: dict[str, Any]) -> dict[str, Any]:
    """A stored report of about 10,000 excerpts written as XLSX, DOCX and HTML."""
    from qcode import services
    from qcode.errors import InputError
    from qcode.export.report import write_report

    tmp = Path(tempfile.mkdtemp(prefix="qcode-bench-export-"))
    store = services.open_project(_copy(args["scale"], tmp / "export.qcode"))
    target = args.get("excerpts", 10_000)
    query = _report_query(store, target)
    create = Op("create report (query + snapshot)")
    with measured(create):
        report_id = services.create_report(store, f"bench-{target}", query, actor="bench")
    data_op = Op("report_data (load snapshot)")
    for _ in range(args["repeat"]):
        with measured(data_op):
            data = services.report_data(store, report_id)
    full_hits = sum(len(s.hits) for s in data.sections) + len(data.ungrouped)
    data = _trim(data, target)
    n_hits = sum(len(s.hits) for s in data.sections)
    out = [create.as_dict(), data_op.as_dict()]
    for fmt in args.get("formats", ["xlsx", "docx", "html", "md", "csv"]):
        op = Op(f"write {fmt} ({n_hits:,} excerpts)")
        write_report(data, tmp / f"warm.{fmt}", fmt)
        for i in range(args["repeat"]):
            with measured(op):
                path = write_report(data, tmp / f"r{i}.{fmt}", fmt)
        op.extra["bytes"] = path.stat().st_size
        out.append(op.as_dict())
        profile_to(f"export-{args['scale']}-{fmt}",
                   lambda f=fmt: write_report(data, tmp / f"p.{f}", f),
                   args.get("profile", False))
    if hasattr(services, "leak_counts"):  # the leak checks are stored in the project
        first_use = Op("leak checks made and stored (once per document version: at import, "
                       "or at first use in a project made before they were stored)")
        with measured(first_use):
            first_use.extra["documents"] = len(services.leak_counts(store))
        out.append(first_use.as_dict())
    for fmt in args.get("service_formats", ["xlsx"]):
        op = Op(f"services.export_report {fmt} ({full_hits:,} excerpts, with leak check)")
        leaks = ""
        for i in range(args["repeat"] if hasattr(services, "leak_counts")
                       else max(1, args["repeat"] // 2)):
            try:
                with measured(op):
                    services.export_report(store, report_id, tmp / f"s{i}.{fmt}")
            except InputError as exc:
                leaks = exc.message
                op.seconds.pop()
                with measured(op):
                    services.export_report(store, report_id, tmp / f"s{i}b.{fmt}",
                                           allow_leaks=True)
        if leaks:
            op.extra["note"] = f"refused by the leak check, measured with --allow-leaks: {leaks}"
        out.append(op.as_dict())
        profile_to(f"export-service-{args['scale']}-{fmt}",
                   lambda f=fmt: services.export_report(store, report_id, tmp / f"ps.{f}",
                                                        allow_leaks=True),
                   args.get("profile", False))
    store.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"query": query, "report_hits": full_hits, "excerpts_written": n_hits, "ops": out}


def worker_tui(args: dict[str, Any]) -> dict[str, Any]:
    """Textual Pilot, headless: first screen, opening the long transcript, applying a code."""
    from benchmarks import tui_bench

    return tui_bench.run(args)


def worker_cli_help(args: dict[str, Any]) -> dict[str, Any]:
    """``qcode --help`` against the interpreter's own start-up (``python -c pass``)."""
    import resource

    exe = Path(sys.executable).with_name("qcode")
    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "python -m qcode --help": [sys.executable, "-m", "qcode", "--help"]}
    if exe.exists():
        commands["qcode --help"] = [str(exe), "--help"]
    out = []
    for name, cmd in commands.items():
        op = Op(name)
        subprocess.run(cmd, capture_output=True, check=True)
        for _ in range(args["repeat"]):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            op.seconds.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            op.cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        out.append(op.as_dict())
    floor = out[0]["median_s"]
    for d in out:
        d["ratio_to_python"] = d["median_s"] / floor
    return {"ops": out}


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "import-nlp": worker_import_nlp, "query": worker_query, "aggregate": worker_aggregate,
    "agreement": worker_agreement, "export": worker_export, "tui": worker_tui,
    "cli-help": worker_cli_help, "query-memory": worker_query_memory,
    "query-one": worker_query_one,
}


# -- the parent: subprocesses, results, tables ---------------------------------------------------


def run_worker(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one worker in a fresh interpreter and return (and store) its result."""
    cmd = [sys.executable, "-m", "benchmarks.run", "_worker", name, json.dumps(args)]
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"worker {name} failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(line[len(MARK):])
    result.update(bench=name, args=args, machine=machine(), loadavg_before=load_before,
                  wall_s=time.perf_counter() - started,
                  at=time.strftime("%Y-%m-%d %H:%M:%S"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = "-".join(str(args[k]) for k in ("scale", "tier") if k in args)
    if args.get("only"):
        tag += "-" + re.sub(r"\W+", "_", args["only"]).strip("_")
    if args.get("patch"):
        tag += "-patched-" + "+".join(args["patch"])
    (RESULTS / f"{name}{'-' + tag if tag else ''}.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False))
    return result


def ms(s: float | None) -> str:
    if s is None or s != s:
        return "–"
    return f"{s * 1000:,.0f} ms" if s < 10 else f"{s:,.1f} s"


def mib(x: float) -> str:
    return f"{x:,.0f} MiB"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def render(result: dict[str, Any]) -> str:
    """A Markdown table of one stored result."""
    name = result["bench"]
    a = result["args"]
    head = f"**{name}** ({', '.join(f'{k}={v}' for k, v in a.items() if k != 'profile')})"
    if name == "import-nlp":
        rows = [[o["name"], ms(o["median_s"]), ms(o.get("cpu_median_s")),
                 f"{o['words_per_s']:,.0f}",
                 f"{o['ratio_to_raw']:.2f}x" if o["ratio_to_raw"] else "–", mib(o["peak_mib"])]
                for o in result["ops"]]
        return (f"{head}: {result['documents']} documents, {result['words']:,} words, "
                f"{result['turns']:,} turns, pipeline {result['pipeline']} "
                f"({', '.join(result['components'])}), batch {result['batch_size']}\n\n"
                + table(["step", "median", "CPU median", "words/s", "vs raw nlp.pipe",
                         "peak RSS"], rows))
    if name == "query":
        rows = []
        for q in result["queries"]:
            rows.append([q["name"], f"`{q['query']}`", f"{q['hits']:,}", ms(q["p50_s"]),
                         ms(q["p95_s"]), ms(q.get("cpu_p50_s")), ms(q.get("all_p50_s")),
                         ms(q.get("all_cpu_p50_s")), ms(q["engine_p50_s"]),
                         ms(q.get("sql_p50_s")), ms(q.get("sql_p95_s")),
                         f"{q['ratio_p50']:.2f}x / {q['ratio_p95']:.2f}x"
                         if "ratio_p50" in q else "–",
                         ms(q.get("sql_indexed_p50_s")),
                         "yes" if q.get("equal") else "–", mib(q["peak_mib"])])
        cl = result["corpus_load"]
        return (f"{head}\n\n" + table(["query", "text", "hits", "p50", "p95", "CPU p50",
                                       "all hits p50", "all hits CPU p50",
                                       "p50 engine only (all hits)", "SQL p50", "SQL p95",
                                       "all hits / SQL (p50 / p95)", "SQL p50 with index",
                                       "same result", "peak RSS"], rows)
                + f"\n\nMix of {len(result['queries'])} queries x {result['repeat']}: "
                f"**p50 {ms(result['mix_p50_s'])}, p95 {ms(result['mix_p95_s'])}** "
                f"(engine with a preloaded corpus: p50 {ms(result['mix_engine_p50_s'])}, "
                f"p95 {ms(result['mix_engine_p95_s'])}); loading the corpus alone: "
                f"median {ms(cl['median_s'])}, peak RSS {mib(cl['peak_mib'])}.")
    if name == "query-memory":
        rows = [[q["name"], f"`{q['query']}`", f"{q['hits']:,}", ms(q["seconds"]), ms(q["cpu"]),
                 mib(q["base_mib"]), mib(q["peak_mib"])] for q in result["queries"]]
        return f"{head}\n\n" + table(["query", "text", "hits", "time (cold process)", "CPU",
                                        "RSS after opening", "peak RSS"], rows)
    if name == "cli-help":
        rows = [[o["name"], ms(o["median_s"]), ms(o.get("cpu_median_s")),
                 f"{o['ratio_to_python']:.1f}x"] for o in result["ops"]]
        return f"{head}\n\n" + table(["command", "median", "CPU median (user+sys)",
                                        "vs python -c pass"], rows)
    rows = []
    for o in result["ops"]:
        detail = ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in o.items()
                           if k not in ("name", "seconds", "median_s", "p50_s", "p95_s",
                                        "peak_mib", "base_mib", "cpu_s", "cpu_median_s"))
        rows.append([o["name"], ms(o["median_s"]), ms(o.get("cpu_median_s")), len(o["seconds"]),
                     mib(o["peak_mib"]), mib(o["base_mib"]), detail])
    extra = {k: v for k, v in result.items()
             if k in ("query", "report_hits", "excerpts_written", "coders", "codes", "notes")}
    return (f"{head}" + (f" {json.dumps(extra, ensure_ascii=False)}" if extra else "") + "\n\n"
            + table(["operation", "median", "CPU median", "runs", "peak RSS", "RSS before",
                     "detail"], rows))


def cmd(name: str, ns: argparse.Namespace) -> None:
    args: dict[str, Any] = {"repeat": ns.repeat}
    if name != "cli-help":
        args["scale"] = ns.scale
        generate(ns.scale, log=lambda m: print(m, file=sys.stderr))
    if ns.profile:
        args["profile"] = True
    if ns.patch:
        args["patch"] = ns.patch.split(",")
        if ns.verify:
            args["verify"] = True
    if name == "import-nlp":
        tiers = ["shipped", "blank"] if ns.tier == "both" else [ns.tier]
        for tier in tiers:
            a = {**args, "tier": tier}
            docs = ns.docs or (SHIPPED_DOCS if tier == "shipped" else None)
            if docs:
                a["docs"] = docs
            print(render(run_worker(name, a)) + "\n")
        return
    if name == "agreement" and ns.only:
        args["only"] = ns.only
    print(render(run_worker(name, args)) + "\n")


SHIPPED_DOCS = 6  # the trained pipeline runs at a few thousand words/s: 6 interviews, ~50k words
DEFAULT_REPEAT = {"import-nlp": 3, "query": 20, "aggregate": 3, "agreement": 3, "export": 3,
                  "tui": 5, "cli-help": 10, "query-memory": 1, "query-one": 1}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_worker":
        args = json.loads(argv[2])
        if args.get("patch"):
            from benchmarks import prototypes

            prototypes.apply(args["patch"], verify=args.get("verify", False))
        result = WORKERS[argv[1]](args)
        print(MARK + json.dumps(result, ensure_ascii=False, default=str), flush=True)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in [*(w for w in WORKERS if w != "query-one"), "all"]:
        p = sub.add_parser(name)
        if name != "cli-help":
            p.add_argument("--scale", choices=["S", "M", "L"], default="S")
        p.add_argument("--repeat", type=int, default=None)
        p.add_argument("--profile", action="store_true")
        p.add_argument("--patch", help="apply prototype fixes (benchmarks/prototypes.py), "
                       "comma-separated, to measure their gain")
        p.add_argument("--verify", action="store_true",
                       help="with --patch: check each patched result against the original")
        if name in ("import-nlp", "all"):
            p.add_argument("--tier", choices=["shipped", "blank", "both"], default="both")
            p.add_argument("--docs", type=int, default=None,
                           help="only the first N interviews, not the long one (default: "
                           f"{SHIPPED_DOCS} for the shipped pipeline, all for blank)")
        if name == "agreement":
            p.add_argument("--only", help="only runs whose name contains this")
    sub.add_parser("show")
    ns = parser.parse_args(argv)
    if ns.command == "show":
        for path in sorted(RESULTS.glob("*.json")):
            print(render(json.loads(path.read_text())) + "\n")
        return 0
    names = [w for w in WORKERS if w != "query-one"] if ns.command == "all" \
        else [ns.command]
    for name in names:
        if ns.command == "all":
            ns.only = None
            if name == "import-nlp" and ns.scale != "S":
                continue  # the import measurement runs on S sources
        ns_repeat = ns.repeat
        ns.repeat = ns_repeat or DEFAULT_REPEAT[name]
        try:
            cmd(name, ns)
        finally:
            ns.repeat = ns_repeat
    return 0


if __name__ == "__main__":
    sys.exit(main())
