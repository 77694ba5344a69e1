"""User configuration (not stored in any project): the default coder id.

Read from ``$QCODE_CONFIG`` or ``$XDG_CONFIG_HOME/qcode/config.toml``
(``~/.config/qcode/config.toml``); keys: ``coder = "coder-a"``.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from qcode.errors import InputError


def config_path() -> Path:
    """Where the user configuration file lives."""
    explicit = os.environ.get("QCODE_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "qcode" / "config.toml"


def read_config() -> dict[str, Any]:
    """The user configuration, or an empty mapping."""
    path = config_path()
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: cannot read the configuration: {exc}",
                         "fix or delete the file") from exc


def configured_coder() -> str | None:
    """The active coder: ``$QCODE_CODER``, then the configuration file."""
    env = os.environ.get("QCODE_CODER")
    if env:
        return env
    value = read_config().get("coder")
    return str(value) if value else None


def write_coder(coder_id: str) -> Path:
    """Save the default coder in the user configuration file."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = read_config()
    data["coder"] = coder_id
    lines = [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in data.items()
             if isinstance(v, str)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
