"""The columns a code matrix can be built on, each accepted by services.matrix."""

from __future__ import annotations

from pathlib import Path

from qcode import services
from qcode.services import SpanRequest
from qcode.store import Store

from ..conftest import REPO


def test_every_offered_column_builds_a_matrix(store: Store, transcript_dir: Path,
                                              informants_csv: Path) -> None:
    assert services.matrix_columns(store) == ["role", "document", "speaker", "codes"]
    services.import_paths(store, [transcript_dir], services.import_options(store),
                          attributes=informants_csv, actor="tester")
    services.load_codebook_file(store, REPO / "codebooks" / "samarbeid.yaml", actor="tester")
    services.apply_coding(store, SpanRequest("V1", "innsoking", turn=2), "kh")
    columns = services.matrix_columns(store)
    assert columns[:3] == ["role", "document", "speaker"] and columns[-1] == "codes"
    assert {"office", "age", "interview_date"} <= set(columns)
    assert len(columns) == len(set(columns))
    for column in columns:
        table = services.matrix(store, "codes", column)
        assert "samarbeid" in table.rows
    office = services.matrix(store, "codes", "office")
    assert office.cells["samarbeid"] == {"Nord": 1}
