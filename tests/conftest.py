"""Fixtures shared by all test layers: temporary projects and small corpora."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qcode import services
from qcode.store import Store

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpora"


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    """A freshly initialised, empty project file."""
    return services.init_project(tmp_path / "study.qcode", actor="tester")


@pytest.fixture
def store(project_path: Path) -> Iterator[Store]:
    """The empty project, opened."""
    s = services.open_project(project_path)
    yield s
    s.close()


@pytest.fixture
def transcript_dir(tmp_path: Path) -> Path:
    """Three small transcripts with interviewer turns and æøå."""
    folder = tmp_path / "transcripts"
    folder.mkdir()
    (folder / "JS1.txt").write_text(
        "Intervju 1 – JS1\n\n"
        "I: Hvordan er samarbeidet med veilederne?\n\n"
        "JS1: Det går bra. Vi sitter på samme gang, så vi snakker sammen hver dag.\n"
        "Og «vi-følelsen» er sterk (...) synes jeg.\n\n"
        "I: Kan du si mer?\n\n"
        "JS1: Ja, (veileder) og jeg løser ting sammen. Det er nærhet som gjør det.\n",
        encoding="utf-8")
    (folder / "V1.txt").write_text(
        "I: Hva tenker du om innsøkingen?\n\n"
        "V1: Den er tungvint, ærlig talt. Skjemaene tar tid, og jeg må dokumentere alt.\n\n"
        "I: Takk.\n",
        encoding="utf-8")
    (folder / "V2.txt").write_text(
        "[00:00:05] I: Fortell om kontoret.\n\n"
        "[00:00:09] V2: Vi har mange brukere. Jobbspesialistene får ressursene, føler jeg.\n",
        encoding="utf-8")
    return folder


@pytest.fixture
def informants_csv(tmp_path: Path) -> Path:
    """A sidecar attribute file for the transcripts."""
    path = tmp_path / "informants.csv"
    path.write_text(
        "informant,role,office,age,interview_date\n"
        "JS1,jobbspesialist,Nord,34,2026-02-10\n"
        "V1,veileder,Nord,31,2026-02-11\n"
        "V2,veileder,Sør,44,12.03.2026\n",
        encoding="utf-8")
    return path
