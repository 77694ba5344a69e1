"""The demo project: the shipped sample corpus imported into a fresh project."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qcode import services
from qcode.errors import ProjectError
from qcode.resources import corpus_dir

DEMO_NAME = "demo.qcode"
DEMO_ACTOR = "qcode-demo"
# Folders of the sample corpus, imported in this order.
CORPUS_PARTS = ("intervjuer", "fokusgruppe", "opptak", "dokumenter", "survey")


@dataclass(frozen=True)
class DemoResult:
    """The path of the demo project and what its import did."""

    path: Path
    import_report: services.ImportReport


def build_demo(directory: Path, *, force: bool = False,
               progress: Callable[[str], None] | None = None) -> DemoResult:
    """Create ``demo.qcode`` in ``directory`` from the sample corpus."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DEMO_NAME
    if path.exists():
        if not force:
            raise ProjectError(f"{path}: a demo project exists already",
                               "pass --force to rebuild it, or choose another --dir")
        for leftover in (path, path.with_name(path.name + "-wal"),
                         path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    corpus = corpus_dir()
    say = progress or (lambda _step: None)
    say(f"creating {path}")
    services.init_project(path, actor=DEMO_ACTOR)
    store = services.open_project(path)
    try:
        say(f"importing the sample corpus from {corpus}")
        options = services.import_options(store)
        report = services.import_paths(
            store, [corpus / part for part in CORPUS_PARTS], options,
            attributes=corpus / "informants.csv", actor=DEMO_ACTOR)
    finally:
        store.close()
    return DemoResult(path, report)
