"""Speaker-turn detection: default patterns, time stamps, continuations, custom patterns."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qcode.errors import IngestError, InputError
from qcode.ingest.hygiene import clean_text
from qcode.ingest.turns import TurnDetector, paragraphs, parse_timestamp
from qcode.models import ParsedDocument, Segment


def turns(detector: TurnDetector, text: str) -> list[tuple[str | None, str, float | None]]:
    """(speaker, text slice, time) of every segment, checking the slice is the content."""
    out = []
    for seg in detector.segments(text):
        piece = text[seg.start : seg.end]
        assert piece and piece == piece.strip()
        out.append((seg.speaker, piece, seg.time_start))
    return out


# ---------------------------------------------------------------------------
# default patterns
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "speaker", "content", "time"),
    [
        ("I: Hvordan går det?", "I", "Hvordan går det?", None),
        ("Intervjuer: Fortell litt.", "Intervjuer", "Fortell litt.", None),
        ("Interviewer: Tell me.", "Interviewer", "Tell me.", None),
        ("Moderator: Velkommen alle.", "Moderator", "Velkommen alle.", None),
        ("Informant: Ja, det stemmer.", "Informant", "Ja, det stemmer.", None),
        ("Deltaker 3: Enig.", "Deltaker 3", "Enig.", None),
        ("JS3: Det går bra.", "JS3", "Det går bra.", None),
        ("V5: Vi har mange saker.", "V5", "Vi har mange saker.", None),
        ("ÆØ12: tja", "ÆØ12", "tja", None),
        ("[00:12:31] JS3: Ja, altså.", "JS3", "Ja, altså.", 751.0),
        ("(00:12:31) V5: Mm.", "V5", "Mm.", 751.0),
        ("[12:31] I: Kort stempel.", "I", "Kort stempel.", 751.0),
        ("[1:02:03.5] I: Med tidels.", "I", "Med tidels.", 3723.5),
        ("I [00:01:02]: Etter navnet.", "I", "Etter navnet.", 62.0),
        ("JS3: [00:00:09] Etter kolon.", "JS3", "Etter kolon.", 9.0),
        ("  \tJS3 :   innrykk og mellomrom  ", "JS3", "innrykk og mellomrom", None),
    ],
)
def test_default_pattern_finds_the_turn(turn_detector: TurnDetector, line: str, speaker: str,
                                        content: str, time: float | None) -> None:
    text = f"Overskrift\n\n{line}\n\nI: Neste."
    found = turns(turn_detector, text)
    assert found[0] == (None, "Overskrift", None)
    assert found[1] == (speaker, content, time)
    assert found[2] == ("I", "Neste.", None)


@pytest.mark.parametrize(
    "line",
    [
        "Merk: dette er en kommentar fra transkribenten.",
        "OBS: ikke en taler",
        "I dag: ikke en tur",
        "js3: små bokstaver",
        "Spørsmål 4: fra intervjuguiden",
        "ABCD1: for lang forkortelse",
        "Kl. 12:30 møttes vi",
        "JS3 sa: ikke i starten",
    ],
)
def test_lines_that_are_not_turns_continue_the_current_turn(turn_detector: TurnDetector,
                                                            line: str) -> None:
    text = f"JS3: Første linje.\n{line}\n\nI: Spørsmål."
    assert turns(turn_detector, text) == [
        ("JS3", f"Første linje.\n{line}", None),
        ("I", "Spørsmål.", None),
    ]


def test_not_a_turn_before_the_first_turn_is_a_plain_paragraph(turn_detector: TurnDetector
                                                               ) -> None:
    text = "Merk: navn er anonymisert.\n\nI: Første spørsmål?"
    assert turns(turn_detector, text) == [
        (None, "Merk: navn er anonymisert.", None),
        ("I", "Første spørsmål?", None),
    ]


def test_header_paragraphs_before_the_first_turn(turn_detector: TurnDetector) -> None:
    text = ("Intervju 4 – jobbspesialist JS4, kontor Sør\nDato: 10.03.2026\n\n"
            "Transkribert av (navn)\n\nI: Da starter vi.\n\nJS4: Ja.")
    assert turns(turn_detector, text) == [
        (None, "Intervju 4 – jobbspesialist JS4, kontor Sør\nDato: 10.03.2026", None),
        (None, "Transkribert av (navn)", None),
        ("I", "Da starter vi.", None),
        ("JS4", "Ja.", None),
    ]


def test_continuation_paragraphs_belong_to_the_turn(turn_detector: TurnDetector) -> None:
    text = ("I: Kan du si mer?\n\n"
            "V3: Første avsnitt.\n\nAndre avsnitt, uten etikett.\n\n   Tredje, med innrykk.  \n\n"
            "I: Takk.")
    assert turns(turn_detector, text) == [
        ("I", "Kan du si mer?", None),
        ("V3", "Første avsnitt.\n\nAndre avsnitt, uten etikett.\n\n   Tredje, med innrykk.", None),
        ("I", "Takk.", None),
    ]


def test_timestamp_alone_on_a_line_attaches_to_the_next_turn(turn_detector: TurnDetector
                                                             ) -> None:
    text = "I: Spørsmål.\n\n[00:12:31]\nJS3: Svar.\n\n(00:13:05)\n\nI: Oppfølging."
    segs = turn_detector.segments(text)
    assert [(s.speaker, s.time_start) for s in segs] == [("I", None), ("JS3", 751.0), ("I", 785.0)]
    # the stamps themselves are in no segment, and they end the turn before them
    assert text[segs[0].start : segs[0].end] == "Spørsmål."
    for stamp in ("[00:12:31]", "(00:13:05)"):
        at = text.index(stamp)
        assert not any(s.start <= at < s.end for s in segs)


def test_label_alone_on_its_line_starts_the_turn_on_the_next_line(turn_detector: TurnDetector
                                                                  ) -> None:
    text = "JS3:\nSvaret står på neste linje.\n\nI:\n\nV5: Neste."
    assert turns(turn_detector, text) == [
        ("JS3", "Svaret står på neste linje.", None),
        ("V5", "Neste.", None),  # an empty turn (I:) gives no segment
    ]


def test_speaker_whitespace_is_normalised(turn_detector: TurnDetector) -> None:
    assert turns(turn_detector, "Deltaker\t7: hei") == [("Deltaker 7", "hei", None)]


@pytest.mark.parametrize(
    ("stamp", "seconds"),
    [("00:00:04", 4.0), ("00:12:31", 751.0), ("12:31", 751.0), ("1:02:03", 3723.0),
     ("00:00:01,250", 1.25), ("00:00:01.5", 1.5), ("10:00:00.001", 36000.001)],
)
def test_parse_timestamp(stamp: str, seconds: float) -> None:
    assert parse_timestamp(stamp) == seconds


# ---------------------------------------------------------------------------
# custom patterns
# ---------------------------------------------------------------------------


def test_custom_pattern_replaces_the_defaults() -> None:
    detector = TurnDetector.from_patterns([r"(?P<speaker>[A-ZÆØÅ][a-zæøå]+) sier:"])
    text = "Kari sier: hei.\nJS3: ikke en tur nå\n\nOla sier: hallo."
    assert turns(detector, text) == [
        ("Kari", "hei.\nJS3: ikke en tur nå", None),
        ("Ola", "hallo.", None),
    ]


def test_custom_patterns_are_anchored_at_the_line_start() -> None:
    detector = TurnDetector.from_patterns([r"(?P<speaker>Deltaker \d+):"])
    text = "Deltaker 1: ja\nSa Deltaker 2: nei"
    assert turns(detector, text) == [("Deltaker 1", "ja\nSa Deltaker 2: nei", None)]
    with_caret = TurnDetector.from_patterns([r"^(?P<speaker>Deltaker \d+):"])
    assert with_caret.segments(text) == detector.segments(text)


def test_custom_pattern_with_an_inline_flag() -> None:
    # regression: "^" was prefixed to the pattern, which made "(?i)..." invalid
    detector = TurnDetector.from_patterns([r"(?i)(?P<speaker>intervjuer|js\d):"])
    assert turns(detector, "INTERVJUER: hei\njs3: svar") == [
        ("INTERVJUER", "hei", None), ("js3", "svar", None)]


def test_several_custom_patterns_and_a_time_group() -> None:
    detector = TurnDetector.from_patterns([
        r"(?P<ts>\d{2}:\d{2}:\d{2}) - (?P<speaker>\w+):",
        r"(?P<speaker>Fasilitator):",
    ])
    text = "00:01:00 - Kari: hei\n\nFasilitator: velkommen"
    assert turns(detector, text) == [("Kari", "hei", 60.0), ("Fasilitator", "velkommen", None)]


def test_no_patterns_means_the_defaults(turn_detector: TurnDetector) -> None:
    assert TurnDetector.from_patterns([]).patterns == turn_detector.patterns
    assert TurnDetector.from_patterns(None).patterns == turn_detector.patterns


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("(?P<speaker>[A-Z]+", "not a valid regular expression"),
        ("(?P<speaker>*)", "not a valid regular expression"),
        (r"([A-Z]+\d):", "no named group"),
        (r"(?P<navn>[A-Z]+\d):", "no named group"),
    ],
)
def test_bad_custom_pattern_is_an_input_error(pattern: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        TurnDetector.from_patterns(["(?P<speaker>I):", pattern])
    assert not isinstance(info.value, IngestError)
    line = info.value.one_line()
    assert fragment in line and repr(pattern) in line and info.value.hint
    assert "\n" not in line


# ---------------------------------------------------------------------------
# paragraphs
# ---------------------------------------------------------------------------


def test_paragraphs_are_blank_line_separated_or_one_per_line() -> None:
    text = "Første linje\nandre linje\n\n  Nytt avsnitt  \n\n\nSiste"
    assert [text[s.start : s.end] for s in paragraphs(text)] == [
        "Første linje\nandre linje", "Nytt avsnitt", "Siste"]
    assert [text[s.start : s.end] for s in paragraphs(text, per_line=True)] == [
        "Første linje", "andre linje", "Nytt avsnitt", "Siste"]
    assert all(s.speaker is None for s in paragraphs(text, per_line=True))


def test_paragraphs_ignore_speaker_labels() -> None:
    assert all(s.speaker is None for s in paragraphs("I: hei\n\nJS3: svar"))


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------

PIECES = st.sampled_from([
    "I:", "I: ", "JS3:", "V5: ", "Intervjuer :", "Informant:", "Deltaker 2:",
    "[00:12:31] JS3: ", "(00:12:31) V5:", "[00:12:31]", "(1:02)", "I [00:00:01]:",
    "Merk:", "«", "»", "(...)", " ", "\t", "", "\n", "\r", "\u2028", "\xa0", ":", "æøå",
])
LINES = st.lists(st.tuples(PIECES, st.text(max_size=12), PIECES), max_size=25).map(
    lambda parts: "\n".join(a + b + c for a, b, c in parts))
TEXTS = st.one_of(st.text(max_size=300), LINES)


def _assert_well_formed(text: str, segs: tuple[Segment, ...]) -> None:
    previous_end = 0
    for seg in segs:
        assert previous_end <= seg.start < seg.end <= len(text)
        piece = text[seg.start : seg.end]
        assert not piece[0].isspace() and not piece[-1].isspace()
        previous_end = seg.end


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_detector_segments_are_ordered_non_overlapping_and_trimmed(text: str) -> None:
    detector = TurnDetector.from_patterns()
    _assert_well_formed(text, detector.segments(text))
    _assert_well_formed(text, paragraphs(text))
    _assert_well_formed(text, paragraphs(text, per_line=True))
    cleaned = clean_text(text)
    segs = detector.segments(cleaned)
    _assert_well_formed(cleaned, segs)
    # every labelled line starts exactly one speaker segment at most
    labelled = sum(1 for line in cleaned.split("\n")
                   if any((m := rx.match(line)) and m.group("speaker") for rx in detector.patterns))
    assert sum(1 for s in segs if s.speaker) <= labelled


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["I", "JS3", "V5", "Informant"]),
                          st.text(alphabet="abc æøå«»().,", min_size=1, max_size=20)
                          .filter(str.strip)), min_size=1, max_size=15))
def test_generated_transcript_turns_come_back(turns_in: list[tuple[str, str]]) -> None:
    text = "\n\n".join(f"{speaker}: {words}" for speaker, words in turns_in)
    detector = TurnDetector.from_patterns()
    assert [(s.speaker, text[s.start : s.end]) for s in detector.segments(text)] == [
        (speaker, words.strip()) for speaker, words in turns_in]


# ---------------------------------------------------------------------------
# the sample corpus
# ---------------------------------------------------------------------------

TRANSCRIPTS = [f"JS{i}" for i in range(1, 7)] + [f"V{i}" for i in range(1, 7)]


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_corpus_interview(name: str, corpus_dir: Path, read_doc: Callable[..., ParsedDocument],
                          check_document: Callable[[ParsedDocument], None]) -> None:
    doc = read_doc(corpus_dir / "intervjuer" / f"{name}.txt")
    check_document(doc)
    speakers = [s.speaker for s in doc.segments if s.speaker]
    assert len(speakers) > 20
    assert set(speakers) == {"I", name}
    assert doc.kind == "interview" and doc.source_format == "txt"
    # the header line is the only unlabelled segment and comes first
    assert doc.segments[0].speaker is None
    assert doc.text[doc.segments[0].start : doc.segments[0].end].startswith("Intervju ")
    assert all(s.speaker for s in doc.segments[1:])
    # interviewer and informant alternate turn by turn
    assert all(a != b for a, b in itertools.pairwise(speakers))
    # the labels are in the stored text just before each turn
    for seg in doc.segments[1:]:
        line_start = doc.text.rfind("\n", 0, seg.start) + 1
        assert re.search(rf"{re.escape(seg.speaker or '')}:\s*$", doc.text[line_start : seg.start])


@pytest.mark.parametrize(("name", "stamp"), [("JS2", r"\[\d\d:\d\d:\d\d\] "),
                                             ("V3", r"\(\d\d:\d\d:\d\d\) ")])
def test_corpus_timestamps_are_on_every_turn_and_increase(
        name: str, stamp: str, corpus_dir: Path,
        read_doc: Callable[..., ParsedDocument]) -> None:
    doc = read_doc(corpus_dir / "intervjuer" / f"{name}.txt")
    timed = [s for s in doc.segments if s.speaker]
    times = [s.time_start for s in timed if s.time_start is not None]
    assert len(times) == len(timed) > 20
    assert all(a < b for a, b in itertools.pairwise(times))
    assert times[0] == 4.0
    stamps = re.findall(rf"^{stamp}", doc.text, flags=re.MULTILINE)
    assert len(stamps) == len(timed)
    for seg in timed:
        assert not re.match(r"[\[(]\d", doc.text[seg.start : seg.end])


def test_corpus_focus_group_has_many_speakers(corpus_dir: Path,
                                              read_doc: Callable[..., ParsedDocument],
                                              check_document: Callable[[ParsedDocument], None]
                                              ) -> None:
    doc = read_doc(corpus_dir / "fokusgruppe" / "fokusgruppe_sor.txt")
    check_document(doc)
    speakers = {s.speaker for s in doc.segments if s.speaker}
    assert len(doc.segments) > 20 and {"I", "JS7", "V7"} <= speakers and len(speakers) >= 5
