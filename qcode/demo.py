"""The demo project: the shipped sample corpus imported into a fresh project."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qcode import services
from qcode.errors import ProjectError
from qcode.resources import codebook_dir, corpus_dir
from qcode.store import Store

DEMO_NAME = "demo.qcode"
DEMO_ACTOR = "qcode-demo"
# Folders of the sample corpus, imported in this order.
CORPUS_PARTS = ("intervjuer", "fokusgruppe", "opptak", "dokumenter", "survey")
CODEBOOKS = ("samarbeid", "praksislogikker", "prestisje")
CODING_FILES = ("coder-a", "coder-b")


@dataclass(frozen=True)
class DemoResult:
    """The path of the demo project and what its import did."""

    path: Path
    import_report: services.ImportReport
    codings: dict[str, int]


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
        import shutil

        for leftover in (path, path.with_name(path.name + "-wal"),
                         path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(path.with_name(path.name + "-backups"), ignore_errors=True)
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
        for name in CODEBOOKS:
            say(f"loading codebook {name}")
            services.load_codebook_file(store, codebook_dir() / f"{name}.yaml", actor=DEMO_ACTOR)
        codings = {}
        for coder in CODING_FILES:
            say(f"loading the codings of {coder}")
            codings[coder] = load_coding_file(store, corpus / "koding" / f"{coder}.yaml")
    finally:
        store.close()
    return DemoResult(path, report, codings)


def load_coding_file(store: Store, path: Path) -> int:
    """Apply a coder's codings and memos kept as YAML (document, quote, code)."""
    import yaml

    from qcode.errors import InputError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{path}: cannot read the codings: {exc}".splitlines()[0],
                         "check the file") from exc
    coder = str(data["coder"])
    if store.coder(coder) is None:
        services.add_coder(store, coder, str(data.get("name") or coder), actor=DEMO_ACTOR)
    requests = [services.SpanRequest(document=c["document"], code=c["code"], quote=c["quote"],
                                     occurrence=c.get("occurrence"), memo=c.get("memo") or "")
                for c in data.get("codings", [])]
    codings = services.apply_codings(store, requests, coder, actor=coder)
    for memo in data.get("memos", []):
        services.add_memo(store, "document", memo["document"], memo["text"], author=coder)
    return len(codings)
