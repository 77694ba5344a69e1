"""Privacy: owner-only files, no network at run time, retention and purge."""

from __future__ import annotations

import socket
import stat
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from qcode import services
from qcode.cli import cli
from qcode.errors import InputError
from qcode.store import backup_dir

from ..conftest import REPO


def test_project_file_is_owner_only(project_path: Path) -> None:
    assert stat.S_IMODE(project_path.stat().st_mode) == 0o600


def test_main_commands_open_no_socket(tmp_path: Path, transcript_dir: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("QCODE_NLP_PIPELINE", "blank")
    monkeypatch.setenv("QCODE_CODER", "coder-a")
    p = str(tmp_path / "p.qcode")
    runner = CliRunner()
    for args in (["init", p], ["import", str(transcript_dir), "-p", p],
                 ["codebook", "load", str(REPO / "codebooks" / "samarbeid.yaml"), "-p", p],
                 ["nlp", "annotate", "-p", p], ["suggest", "--json", "-p", p],
                 ["code", "apply", "JS1", "relasjoner", "--turn", "3", "-p", p],
                 ["query", "samarbeid AND role = jobbspesialist", "-p", p],
                 ["report", "create", "r", "samarbeid", "-p", p],
                 ["report", "export", "1", str(tmp_path / "r.html"), "-p", p],
                 ["anonymize", "check", "--document", "V1", "-p", p]):
        result = runner.invoke(cli, args, catch_exceptions=False)
        assert result.exit_code in (0, 1), (args, result.output)


def test_retention_warns_and_purge_deletes_everything(project_path: Path,
                                                       tmp_path: Path) -> None:
    store = services.open_project(project_path)
    try:
        assert services.retention_warning(store) is None
        services.set_retention(store, date(2027, 1, 10))
        assert services.retention_warning(store, today=date(2026, 6, 1)) is None
        near = services.retention_warning(store, today=date(2026, 12, 20))
        assert near is not None and "21 days left" in near
        past = services.retention_warning(store, today=date(2027, 2, 1))
        assert past is not None and "ago" in past
        services.backup_project(store)
    finally:
        store.close()
    key = tmp_path / "nokkel.json"
    key.write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="no such key file"):
        services.purge(project_path, keys=[tmp_path / "missing.json"])
    assert project_path.exists()
    deleted = services.purge(project_path, keys=[key])
    assert not project_path.exists() and not key.exists()
    assert not backup_dir(project_path).exists() and project_path in deleted


def test_purge_asks_for_the_file_name(project_path: Path) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli, ["purge", "-p", str(project_path)], input="nei\n")
    assert refused.exit_code == 1 and project_path.exists()
    done = runner.invoke(cli, ["purge", "-p", str(project_path)],
                         input=f"{project_path.name}\n")
    assert done.exit_code == 0 and not project_path.exists()
