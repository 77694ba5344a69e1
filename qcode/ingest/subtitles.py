"""Subtitle files from automatic transcription (.vtt, .srt).

Cues become speaker turns: the speaker comes from a WebVTT voice tag
(``<v JS3>``) or a ``JS3:`` prefix; consecutive cues of one speaker merge into
one turn that keeps the first cue's start and the last cue's end time. Cues
without any speaker merge until a pause of more than two seconds. The stored
text is written as a transcript (``JS3: ...``) so it reads like the others.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from qcode.errors import IngestError
from qcode.ingest.common import provisional_kind, sha256_bytes
from qcode.ingest.hygiene import clean_text, decode_bytes
from qcode.ingest.options import ImportOptions
from qcode.models import ParsedDocument, Segment

_TIMING = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]*>")
_GAP_SECONDS = 2.0


@dataclass
class _Cue:
    start: float
    end: float
    speaker: str | None
    text: str


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return round(total, 3)


def _cue_text(lines: list[str], options: ImportOptions) -> tuple[str | None, str]:
    raw = " ".join(line.strip() for line in lines if line.strip())
    voice = _VOICE.search(raw)
    speaker = voice.group(1).strip() if voice else None
    text = html.unescape(_TAG.sub("", raw)).replace("\u200e", "").replace("\u200f", "")
    text = re.sub(r"\s+", " ", text).strip()
    if speaker is None:
        for rx in options.detector.patterns:
            m = rx.match(text)
            if m and m.group("speaker"):
                speaker = m.group("speaker")
                text = text[m.end():].strip()
                break
    return speaker, text


def parse_cues(text: str, path: str, fmt: str, options: ImportOptions) -> list[_Cue]:
    """Parse WebVTT or SRT cue blocks; NOTE, STYLE and REGION blocks are skipped."""
    blocks = re.split(r"\n\s*\n", text.strip("\n"))
    if fmt == "vtt":
        if not blocks or not blocks[0].lstrip().startswith("WEBVTT"):
            raise IngestError(path, "not a WebVTT file (first line must be WEBVTT)",
                              "check that it is a .vtt subtitle file")
        blocks = blocks[1:]
    cues: list[_Cue] = []
    for number, block in enumerate(blocks, start=1):
        lines = block.split("\n")
        if lines[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing_at = next((i for i, line in enumerate(lines[:3]) if _TIMING.match(line)), None)
        if timing_at is None:
            raise IngestError(path, f"cue block {number} has no timing line "
                              "(00:00:01.000 --> 00:00:04.000)", "repair or re-export the file")
        m = _TIMING.match(lines[timing_at])
        assert m is not None
        speaker, cue_text = _cue_text(lines[timing_at + 1 :], options)
        if cue_text:
            cues.append(_Cue(_seconds(m.group(1)), _seconds(m.group(2)), speaker, cue_text))
    if not cues:
        raise IngestError(path, "contains no subtitle cues with text", "check the file")
    return cues


def read(path: Path, raw: bytes, options: ImportOptions) -> list[ParsedDocument]:
    """Turn the cues of a .vtt or .srt file into a transcript with timed turns."""
    fmt = path.suffix.lower().lstrip(".")
    decoded = decode_bytes(raw, str(path))
    cues = parse_cues(clean_text(decoded.text), str(path), fmt, options)
    merged: list[_Cue] = []
    for cue in cues:
        last = merged[-1] if merged else None
        if last is not None and last.speaker == cue.speaker and (
            cue.speaker is not None or cue.start - last.end <= _GAP_SECONDS
        ):
            last.text = f"{last.text} {cue.text}"
            last.end = max(last.end, cue.end)
        else:
            merged.append(_Cue(cue.start, cue.end, cue.speaker, cue.text))
    parts: list[str] = []
    segments: list[Segment] = []
    pos = 0
    for cue in merged:
        prefix = f"{cue.speaker}: " if cue.speaker else ""
        block = prefix + cue.text
        start = pos + len(prefix)
        segments.append(Segment(start, pos + len(block), cue.speaker, cue.start, cue.end))
        parts.append(block)
        pos += len(block) + 2
    text = "\n\n".join(parts)
    segs = tuple(segments)
    return [
        ParsedDocument(
            name=path.stem,
            text=text,
            segments=segs,
            kind=provisional_kind(segs),
            source_name=path.name,
            source_format=fmt,
            source_sha256=sha256_bytes(raw),
            warnings=decoded.warnings,
        )
    ]
