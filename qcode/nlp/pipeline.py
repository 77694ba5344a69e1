"""Choosing and loading the Norwegian language pipeline, in three tiers.

1. An installed official pipeline (``nb_core_news_lg``, ``md``, ``sm``), or a
   pipeline named or located by ``$QCODE_NLP_PIPELINE`` / ``nlp_pipeline`` in
   the user configuration.
2. qcode's own pipeline shipped in the package (``nb_qcode_sm``, trained on NorNE).
3. No model: ``spacy.blank("nb")`` with rule-based sentences and the lookup
   lemmatiser, and no named entities.

Every tier uses qcode's lookup lemmatiser. spaCy is imported only when a
pipeline is loaded; nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qcode.errors import InputError

if TYPE_CHECKING:
    from spacy.language import Language

OFFICIAL = ("nb_core_news_lg", "nb_core_news_md", "nb_core_news_sm")
SHIPPED_NAME = "nb_qcode_sm"
SHIPPED_DIR = Path(__file__).resolve().parent / "models" / SHIPPED_NAME
PIPELINE_ENV = "QCODE_NLP_PIPELINE"
BLANK = "blank"
TIER_NAMES = {1: "official or configured pipeline", 2: "qcode's own pipeline (trained on NorNE)",
              3: "no model (blank nb)"}


@dataclass(frozen=True)
class PipelineChoice:
    """Which pipeline will be used, and what quality is lost."""

    tier: int
    name: str
    location: str  # a package name, a folder, or "spacy.blank('nb')"
    reason: str
    warnings: tuple[str, ...] = ()


def configured_pipeline() -> str | None:
    """The pipeline named by ``$QCODE_NLP_PIPELINE`` or the user configuration."""
    env = os.environ.get(PIPELINE_ENV)
    if env:
        return env
    from qcode.config import read_config

    value = read_config().get("nlp_pipeline")
    return str(value) if value else None


def _is_pipeline_dir(path: Path) -> bool:
    return (path / "config.cfg").is_file() and (path / "meta.json").is_file()


def _blank_warnings() -> tuple[str, ...]:
    return ("no statistical model: no named entities (the leak check falls back to "
            "capitalisation and patterns), no part-of-speech tags, rule-based sentences",)


def choose_pipeline(setting: str | None = None) -> PipelineChoice:
    """Pick the tier without loading anything."""
    wanted = setting or configured_pipeline()
    if wanted == BLANK:
        return PipelineChoice(3, BLANK, "spacy.blank('nb')", "forced by configuration",
                              _blank_warnings())
    if wanted:
        path = Path(wanted).expanduser()
        if _is_pipeline_dir(path):
            tier = 2 if path.resolve() == SHIPPED_DIR else 1
            return PipelineChoice(tier, path.name, str(path), "configured path")
        if importlib.util.find_spec(wanted.replace("-", "_")) is not None:
            return PipelineChoice(1, wanted, wanted, "configured package")
        raise InputError(f"the configured pipeline {wanted!r} is neither an installed package "
                         "nor a pipeline folder",
                         f"install it, fix {PIPELINE_ENV} or nlp_pipeline, or use 'blank'")
    for name in OFFICIAL:
        if importlib.util.find_spec(name) is not None:
            return PipelineChoice(1, name, name, "official pipeline installed")
    if _is_pipeline_dir(SHIPPED_DIR):
        return PipelineChoice(2, SHIPPED_NAME, str(SHIPPED_DIR),
                              "no official pipeline installed; using qcode's own",
                              ("qcode's own pipeline is a small one (names as "
                               "nb_core_news_sm: F 0.75 on the NorNE dev file); the larger "
                               "official ones (nb_core_news_md, _lg) find more names: see "
                               "docs/nlp.md",))
    return PipelineChoice(3, BLANK, "spacy.blank('nb')", "no pipeline found",
                          _blank_warnings())


def _register_components() -> None:
    from qcode.nlp import lemmatizer

    register = getattr(lemmatizer, "register", None)
    if callable(register):
        register()


@lru_cache(maxsize=4)
def _load(tier: int, location: str) -> Language:
    import spacy

    _register_components()
    if tier == 3:
        nlp = spacy.blank("nb")
        nlp.add_pipe("sentencizer")
    else:
        try:
            nlp = spacy.load(location)
        except (OSError, ValueError, KeyError, ImportError) as exc:
            raise InputError(f"cannot load the pipeline {location!r}: {exc}".splitlines()[0],
                             "reinstall it, or set QCODE_NLP_PIPELINE=blank") from exc
        if not any(nlp.has_pipe(p) for p in ("parser", "senter", "sentencizer")):
            nlp.add_pipe("sentencizer", first=True)
    for name in ("lemmatizer", "trainable_lemmatizer"):
        if nlp.has_pipe(name):
            nlp.remove_pipe(name)
    if not nlp.has_pipe("qcode_lemmatizer"):
        nlp.add_pipe("qcode_lemmatizer", last=True)
    nlp.max_length = 5_000_000
    return nlp


def load_pipeline(choice: PipelineChoice | None = None) -> Language:
    """Load (once per process) the chosen pipeline with qcode's lemmatiser."""
    choice = choice or choose_pipeline()
    return _load(choice.tier, choice.location)


def pipeline_id(choice: PipelineChoice, nlp: Language | None = None) -> str:
    """A stable name for what annotated a text: pipeline name and version, lemma tables."""
    from qcode.nlp import lemmatizer

    tables = str(getattr(lemmatizer, "TABLES_VERSION", "1"))
    if choice.tier == 3:
        return f"blank-nb/lemmas-{tables}"
    nlp = nlp or load_pipeline(choice)
    meta: dict[str, Any] = nlp.meta
    lang, name = str(meta.get("lang", "nb")), str(meta.get("name", choice.name))
    full = name if name.startswith(f"{lang}_") else f"{lang}_{name}"
    return f"{full}-{meta.get('version', '0')}/lemmas-{tables}"


def has_entities(nlp: Language) -> bool:
    """True if the pipeline recognises named entities."""
    return bool(nlp.has_pipe("ner"))
