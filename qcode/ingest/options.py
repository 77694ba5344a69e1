"""Options that steer an import, shared by every reader."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from qcode.ingest.turns import TurnDetector

SurveyMode = Literal["question", "respondent"]
DEFAULT_MAX_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class ImportOptions:
    """How to read sources: turn patterns, survey layout, limits."""

    detector: TurnDetector
    survey_mode: SurveyMode = "question"
    id_column: str | None = None
    text_columns: tuple[str, ...] = ()
    sheet: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    kind: str | None = None
