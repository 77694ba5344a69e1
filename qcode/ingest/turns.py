"""Speaker-turn detection in transcript text.

A turn starts at the beginning of a line with a speaker label (``I:``, ``JS3:``,
``[00:12:31] JS3:``, ``(00:12:31) V5:``); following lines without a label belong
to the same turn. A time stamp alone on a line (``[00:12:31]``) belongs to the
next turn. Text before the first turn, and the text of a document without any
turns, becomes one segment per paragraph with no speaker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qcode.errors import InputError
from qcode.models import Segment

TIMESTAMP = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
DEFAULT_SPEAKER = (
    r"(?:I|Intervjuer|Interviewer|Moderator|Informant|Deltaker\s?\d{1,3}|[A-ZÆØÅ]{1,3}\d{1,3})"
)


def _bracketed_ts(group: str) -> str:
    return rf"[\[(](?P<{group}>{TIMESTAMP})[\])]"


DEFAULT_PATTERN = (
    rf"^[ \t]*(?:{_bracketed_ts('ts')}[ \t]*)?"
    rf"(?P<speaker>{DEFAULT_SPEAKER})"
    rf"[ \t]*(?:{_bracketed_ts('ts2')}[ \t]*)?:"
    rf"[ \t]*(?:{_bracketed_ts('ts3')}[ \t]*)?"
)
_STANDALONE_TS = re.compile(rf"^[ \t]*[\[(]({TIMESTAMP})[\])][ \t]*$")
_TS_GROUPS = ("ts", "ts2", "ts3")


def _timestamp_or_none(value: str | None) -> float | None:
    """A user pattern's ``ts`` group may capture something that is not a time."""
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def parse_timestamp(value: str) -> float:
    """Seconds from ``hh:mm:ss``, ``mm:ss`` or either with ``.mmm`` / ``,mmm``."""
    parts = value.replace(",", ".").split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return round(seconds, 3)


@dataclass(frozen=True)
class TurnDetector:
    """Finds speaker turns with one or more line-start regular expressions.

    Each pattern must have a named group ``speaker`` and may have ``ts`` (time stamp).
    """

    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def from_patterns(cls, patterns: Sequence[str] | None = None) -> TurnDetector:
        """Compile user patterns (or the defaults), with a clear error for bad ones."""
        sources = list(patterns) if patterns else [DEFAULT_PATTERN]
        compiled = []
        for source in sources:
            try:
                # used with rx.match, so anchored at the line start without a "^" (adding
                # one would break patterns that start with an inline flag such as (?i))
                rx = re.compile(source)
            except re.error as exc:
                raise InputError(
                    f"speaker pattern {source!r} is not a valid regular expression: {exc}",
                    "see docs/import.md#speaker-patterns",
                ) from exc
            if "speaker" not in rx.groupindex:
                raise InputError(
                    f"speaker pattern {source!r} has no named group (?P<speaker>...)",
                    "wrap the speaker id in (?P<speaker>...)",
                )
            compiled.append(rx)
        return cls(tuple(compiled))

    def _match(self, line: str) -> re.Match[str] | None:
        for rx in self.patterns:
            m = rx.match(line)
            if m and m.group("speaker"):
                return m
        return None

    def segments(self, text: str) -> tuple[Segment, ...]:
        """Split text into turns (and unlabelled paragraphs before the first turn)."""
        out: list[Segment] = []
        cur: dict[str, object] | None = None
        pending_ts: float | None = None
        pos = 0

        def close() -> None:
            nonlocal cur
            if cur is not None and cur["start"] is not None:
                out.append(
                    Segment(
                        start=int(cur["start"]),  # type: ignore[call-overload]
                        end=int(cur["end"]),  # type: ignore[call-overload]
                        speaker=cur["speaker"],  # type: ignore[arg-type]
                        time_start=cur["ts"],  # type: ignore[arg-type]
                    )
                )
            cur = None

        for line in text.split("\n"):
            line_start, line_end = pos, pos + len(line)
            pos = line_end + 1
            m = self._match(line)
            if m is not None:
                close()
                ts = next((m.group(g) for g in _TS_GROUPS if g in m.re.groupindex and m.group(g)),
                          None)
                content = line[m.end():]
                stripped = content.strip()
                cstart = line_start + m.end() + (len(content) - len(content.lstrip()))
                cur = {
                    "speaker": re.sub(r"\s+", " ", m.group("speaker").strip()),
                    "ts": _timestamp_or_none(ts) if ts else pending_ts,
                    "start": cstart if stripped else None,
                    "end": cstart + len(stripped) if stripped else None,
                }
                pending_ts = None
                continue
            ts_only = _STANDALONE_TS.match(line)
            if ts_only:
                close()
                pending_ts = parse_timestamp(ts_only.group(1))
                continue
            stripped = line.strip()
            if not stripped:
                if cur is not None and cur["speaker"] is None:
                    close()  # paragraphs outside turns end at a blank line
                continue
            lstart = line_start + (len(line) - len(line.lstrip()))
            if cur is None:
                cur = {"speaker": None, "ts": pending_ts, "start": None, "end": None}
                pending_ts = None
            if cur["start"] is None:
                cur["start"] = lstart
            cur["end"] = lstart + len(stripped)
        close()
        return tuple(out)


def paragraphs(text: str, per_line: bool = False) -> tuple[Segment, ...]:
    """One segment per paragraph, no speakers.

    Paragraphs are blank-line separated, or (``per_line``, for .docx and .odt, whose
    text has one line per paragraph) every non-blank line is one.
    """
    if not per_line:
        return TurnDetector(()).segments(text)
    out: list[Segment] = []
    pos = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            start = pos + len(line) - len(line.lstrip())
            out.append(Segment(start, start + len(stripped)))
        pos += len(line) + 1
    return tuple(out)
