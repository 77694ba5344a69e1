"""Frozen dataclasses of the qcode domain. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

DocumentKind = Literal["interview", "focus_group", "document", "survey"]
DOCUMENT_KINDS: tuple[str, ...] = ("interview", "focus_group", "document", "survey")

AttributeType = Literal["text", "number", "date"]
AttributeValue = str | int | float | date
INTERVIEWER_ROLE = "interviewer"


@dataclass(frozen=True)
class Segment:
    """A span of a document's text: a speaker turn, a paragraph or a survey answer.

    Offsets are code points into the stored text, ``end`` exclusive.
    """

    start: int
    end: int
    speaker: str | None = None
    time_start: float | None = None
    time_end: float | None = None
    label: str | None = None


@dataclass(frozen=True)
class ParsedDocument:
    """What an importer makes of a source: clean text, its segments and attributes."""

    name: str
    text: str
    segments: tuple[Segment, ...]
    kind: DocumentKind
    source_name: str
    source_format: str
    source_sha256: str
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    speaker_attributes: dict[str, dict[str, AttributeValue]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """A stored document version. Its text never changes after import."""

    id: int
    uid: str
    name: str
    version: int
    kind: str
    source_name: str
    source_format: str
    sha256: str
    word_count: int
    turn_count: int
    imported_at: str
    is_current: bool
    text: str = ""


@dataclass(frozen=True)
class Turn:
    """A stored segment of a document with its speaker and role."""

    id: int
    document_id: int
    index: int
    start: int
    end: int
    speaker: str | None
    role: str | None
    time_start: float | None
    time_end: float | None
    label: str | None

    @property
    def is_interviewer(self) -> bool:
        """True for turns spoken by an interviewer or moderator."""
        return self.role == INTERVIEWER_ROLE


@dataclass(frozen=True)
class Speaker:
    """A speaker id used across documents (``JS3``, ``V5``, ``I``, a survey respondent)."""

    id: str
    role: str | None
    turn_count: int = 0
    document_count: int = 0


@dataclass(frozen=True)
class Coder:
    """A coder: a stable id (``coder-a``) and a display name."""

    id: str
    name: str


@dataclass(frozen=True)
class CodeInfo:
    """A stored code with its place in the hierarchy."""

    id: str
    codebook: str
    parent_id: str | None
    path: str  # samarbeid/forutsetninger/relasjoner
    name: str
    definition: str
    when_to_use: str
    when_not_to_use: str
    example: str
    color: str
    indicators: tuple[str, ...]
    memo: str
    depth: int


@dataclass(frozen=True)
class Coding:
    """A code applied to a span of a document by a coder."""

    id: int
    uid: str
    document_id: int
    document: str
    start: int
    end: int
    code_id: str
    coder_id: str
    memo: str
    created_at: str
    text: str = ""


@dataclass(frozen=True)
class Memo:
    """A timestamped, attributed note on the project, a document, a code or a coding."""

    id: int
    scope: str
    target: str | None
    author: str
    title: str
    body: str
    created_at: str
    updated_at: str
