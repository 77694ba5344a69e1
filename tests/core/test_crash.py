"""Crash tests: SIGKILL at random points of long writes, then reopen and check everything.

Each test runs its operation once to completion (to learn how long it takes
and what the finished project holds), then ``QCODE_CRASH_ITERATIONS`` times
(default 10) in a forked child killed after a random delay (seeded by
``QCODE_CRASH_SEED``) within that time. After every kill the project must
pass ``verify_project`` (integrity, foreign keys, qcode's checks, whole
documents, the event log against the data, complete backups) and hold the
operation's work either whole or per committed step.

A long run by hand::

    QCODE_CRASH_ITERATIONS=200 uv run pytest tests/core/test_crash.py -q -s
"""

from __future__ import annotations

import importlib
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from qcode import services
from qcode.services import SpanRequest
from qcode.store import backup_dir, open_store

from .crashkit import (
    ITERATIONS,
    SEED,
    Found,
    Log,
    copy_project,
    fingerprint,
    project_with,
    run_forked,
    verify_project,
    write_transcripts,
)

Operation = Callable[[Path, Log], object]
Check = Callable[[Path, Found, Log, bool], bool]  # returns True for a partial state


@dataclass
class Tally:
    """What the kills hit, printed with -s (the figures in docs/reliability.md)."""

    name: str
    iterations: int = 0
    killed: int = 0
    partial: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        return (f"crash {self.name}: {self.iterations} runs, {self.killed} killed before the "
                f"end, {self.partial} left an intermediate state (some steps committed, or "
                f"for a restore the old project); one run {self.seconds * 1000:.0f} ms")


def crash_loop(tmp_path: Path, name: str, template: Path, operation: Operation,
               check: Check) -> Tally:
    """Run to completion once, then kill ITERATIONS times at random points; check each."""
    full = copy_project(template, tmp_path / f"{name}-full.qcode")
    log = Log(tmp_path / f"{name}-full.log")
    outcome = run_forked(lambda: operation(full, log))
    assert outcome.exit_code == 0, "the operation fails without a kill"
    check(full, verify_project(full), log, True)
    tally = Tally(name, seconds=outcome.seconds)
    rng = random.Random(f"{SEED}-{name}")
    for i in range(ITERATIONS):
        path = copy_project(template, tmp_path / f"{name}-{i}.qcode")
        log = Log(tmp_path / f"{name}-{i}.log")
        delay = rng.uniform(0.0, outcome.seconds * 1.1)
        result = run_forked(lambda: operation(path, log), kill_after=delay)  # noqa: B023
        assert result.killed or result.exit_code == 0, f"run {i}: exit {result.exit_code}"
        found = verify_project(path)
        partial = check(path, found, log, not result.killed)
        tally.iterations += 1
        tally.killed += result.killed
        tally.partial += partial
        for leftover in path.parent.glob(f"{path.name}*"):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
    print(tally)
    return tally


# -- a folder import ---------------------------------------------------------------------


def test_kill_during_folder_import(tmp_path: Path) -> None:
    template = project_with(tmp_path)
    folder = write_transcripts(tmp_path / "kilder", 16, 30)
    expected: dict[str, int] = {}

    def operation(path: Path, log: Log) -> None:
        store = services.open_project(path)
        services.import_paths(store, [folder], services.import_options(store), actor="tester")
        store.close()

    def check(path: Path, found: Found, log: Log, complete: bool) -> bool:
        if complete and not expected:
            expected.update(found.documents)
            assert len(expected) == 16
        for name, turns in found.documents.items():
            assert turns == expected[name], f"{name}: {turns} turns, not {expected[name]}"
        assert len(found.kinds("document.import")) == len(found.documents)
        if complete:
            assert found.documents == expected
        return 0 < len(found.documents) < len(expected)

    crash_loop(tmp_path, "import", template, operation, check)


# -- bulk coding -------------------------------------------------------------------------

BATCHES, BATCH = 8, 40


def _requests(names: list[str], batch: int, codes: int) -> list[SpanRequest]:
    out = []
    for j in range(BATCH):
        g = batch * BATCH + j
        start = (g // len(names)) * 6
        out.append(SpanRequest(document=names[g % len(names)], code=f"k{g % codes}",
                               start=start, end=start + 5))
    return out


def test_kill_during_bulk_coding(tmp_path: Path) -> None:
    template = project_with(tmp_path, docs=4, turns=40, codes=8)
    names = [f"V{i}" for i in range(4)]

    def operation(path: Path, log: Log) -> None:
        store = services.open_project(path)
        for b in range(BATCHES):
            done = services.apply_codings(store, _requests(names, b, 8), "koder-a")
            log.write({"batch": b, "ids": [c.id for c in done]})
        store.close()

    def check(path: Path, found: Found, log: Log, complete: bool) -> bool:
        committed = {i for r in log.records() for i in r["ids"]}
        assert committed <= found.codings, "a coding whose commit returned is missing"
        events = found.kinds("coding.apply")
        in_events = [i for p in events for i in p["codings"]]
        assert sorted(in_events) == sorted(found.codings), "codings and events disagree"
        assert all(len(p["codings"]) == BATCH for p in events), "a half-applied batch"
        if complete:
            assert len(found.codings) == BATCHES * BATCH
        return 0 < len(events) < BATCHES

    crash_loop(tmp_path, "coding", template, operation, check)


# -- a codebook merge --------------------------------------------------------------------

CODES, PER_CODE = 12, 30


def test_kill_during_codebook_merges(tmp_path: Path) -> None:
    template = project_with(tmp_path, docs=3, turns=60, codes=CODES)
    store = open_store(template)
    try:
        names = [f"V{i}" for i in range(3)]
        reqs = []
        for c in range(CODES):
            for j in range(PER_CODE):
                g = c * PER_CODE + j
                start = (g // 3) * 7
                reqs.append(SpanRequest(document=names[g % 3], code=f"k{c}", start=start,
                                        end=start + 6))
        services.apply_codings(store, reqs, "koder-a")
    finally:
        store.close()

    def operation(path: Path, log: Log) -> None:
        store = services.open_project(path)
        for c in range(1, CODES):
            services.merge_codes(store, f"k{c}", "k0", actor="tester")
            log.write({"merged": f"k{c}"})
        store.close()

    def check(path: Path, found: Found, log: Log, complete: bool) -> bool:
        assert len(found.codings) == CODES * PER_CODE, "codings lost or doubled by a merge"
        merged = {p["source"] for p in found.kinds("code.merge")}
        assert {r["merged"] for r in log.records()} <= merged
        assert merged | found.codes == {f"k{c}" for c in range(CODES)}
        assert not merged & found.codes
        store = open_store(path)
        try:
            per_code = {c: n for c, n in store.conn.execute(
                "SELECT code_id, count(*) FROM codings GROUP BY code_id")}
            revisions = store.conn.execute("SELECT count(*) FROM codebook_revisions") \
                .fetchone()[0]
        finally:
            store.close()
        assert per_code["k0"] == PER_CODE * (1 + len(merged))
        assert all(per_code[c] == PER_CODE for c in found.codes - {"k0"})
        assert revisions == 1 + len(merged)
        if complete:
            assert found.codes == {"k0"}
        return 0 < len(merged) < CODES - 1

    crash_loop(tmp_path, "merge", template, operation, check)


# -- an annotation run -------------------------------------------------------------------


def test_kill_during_nlp_annotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QCODE_NLP_PIPELINE", "blank")
    from qcode.nlp.lemmatizer import LemmaLookup
    from qcode.nlp.pipeline import choose_pipeline, load_pipeline

    load_pipeline(choose_pipeline())  # the pipeline and its lemma tables load once here;
    LemmaLookup.default().load()  # the forked children share them
    template = project_with(tmp_path, docs=10, turns=40)

    def operation(path: Path, log: Log) -> None:
        store = services.open_project(path)
        services.annotate_documents(store)
        store.close()

    def check(path: Path, found: Found, log: Log, complete: bool) -> bool:
        if complete:
            assert len(found.annotated) == 10
        return 0 < len(found.annotated) < 10

    crash_loop(tmp_path, "nlp", template, operation, check)


# -- backups and restore -----------------------------------------------------------------


def test_kill_during_backups(tmp_path: Path) -> None:
    template = project_with(tmp_path, docs=4, turns=30, codes=4)

    def operation(path: Path, log: Log) -> None:
        store = services.open_project(path)
        for i in range(5):
            log.write({"backup": services.backup_before(store, f"test-{i}").name})
        store.close()

    def check(path: Path, found: Found, log: Log, complete: bool) -> bool:
        names = {b.name for b in services.list_backups(path)}
        assert {r["backup"] for r in log.records()} <= names
        assert all(b.problem is None for b in services.list_backups(path))
        return bool(list(backup_dir(path).glob("*.part")))

    crash_loop(tmp_path, "backup", template, operation, check)


def test_kill_during_restore(tmp_path: Path) -> None:
    template = project_with(tmp_path, docs=4, turns=40, codes=4)
    store = open_store(template)
    try:
        old = services.backup_before(store, "test")
        extra = write_transcripts(tmp_path / "mer", 6, 60, prefix="JS")
        services.import_paths(store, [extra], services.import_options(store), actor="tester")
        services.apply_codings(store, [SpanRequest(document="JS1", code="k1", start=0, end=9)],
                               "koder-a")
    finally:
        store.close()
    saved = tmp_path / "gammel.qcode"
    shutil.copyfile(old, saved)
    before, after = fingerprint(template), fingerprint(saved)
    assert before != after

    def operation(path: Path, log: Log) -> None:
        services.restore(path, saved, actor="tester")

    def check(path: Path, found: Found, log: Log, complete: bool) -> bool:
        state = fingerprint(path)
        assert state in (before, after), "a restore left a mixture"
        restored = state == after
        assert restored == (found.events[-1][1] == "project.restore")
        if complete:
            assert restored
        if restored:  # the replaced state was saved first
            assert any(b.kind == "restore" for b in services.list_backups(path))
        return not restored  # killed before the switch: the old project is intact

    crash_loop(tmp_path, "restore", template, operation, check)


# -- bundle imports (when team work exists) ----------------------------------------------


def test_kill_during_bundle_imports(tmp_path: Path) -> None:
    try:
        teamwork = importlib.import_module("qcode.services.teamwork")
    except ImportError:
        pytest.skip("qcode.services.teamwork does not exist yet")
    if not hasattr(teamwork, "import_bundle") or not hasattr(teamwork, "export_bundle"):
        pytest.skip("qcode.services.teamwork has no import_bundle/export_bundle yet")
    template = project_with(tmp_path, docs=3, turns=60, codes=4)
    coders = [f"koder-{c}" for c in "bcde"]
    bundles = []
    for n, coder in enumerate(coders):  # each coder codes a copy and sends a bundle
        copy = copy_project(template, tmp_path / f"{coder}.qcode")
        store = open_store(copy)
        try:
            services.apply_codings(store, [
                SpanRequest(f"V{j % 3}", f"k{(j + n) % 4}", start=j * 5, end=j * 5 + 4)
                for j in range(120)], coder)
            bundles.append(teamwork.export_bundle(store, coder, tmp_path / f"{coder}.qcb").path)
        finally:
            store.close()

    def operation(path: Path, log: Log) -> None:
        store = services.open_project(path)
        for bundle in bundles:
            report = teamwork.import_bundle(store, bundle, actor="tester")
            assert report.applied, report.conflicts
            log.write({"bundle": bundle.name})
        store.close()

    def check(path: Path, found: Found, log: Log, complete: bool) -> bool:
        merged = {p["coder"] for p in found.kinds("bundle.import")}
        assert {r["bundle"].removesuffix(".qcb") for r in log.records()} <= merged
        store = open_store(path)
        try:
            per_coder = dict(store.conn.execute(
                "SELECT coder_id, count(*) FROM codings GROUP BY coder_id").fetchall())
        finally:
            store.close()
        for coder in coders:  # a bundle is in whole or not at all
            assert per_coder.get(coder, 0) == (120 if coder in merged else 0), coder
        if complete:
            assert merged == set(coders)
        return 0 < len(merged) < len(coders)

    crash_loop(tmp_path, "bundle", template, operation, check)
