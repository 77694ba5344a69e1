"""Codebooks: the YAML format, validation with file/line/field errors, hierarchy helpers.

A codebook file has ``name``, ``version``, ``language``, ``authors``,
``description`` and ``codes``; each code has ``id``, ``name``, ``definition``,
``when_to_use``, ``when_not_to_use``, ``example``, ``color``, ``indicators``,
``memo`` and ``children`` (see docs/codebook-format.md). No I/O beyond reading
and writing the file itself; storing is done by ``qcode.store``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qcode.errors import InputError

CODEBOOK_FIELDS = ("name", "version", "language", "authors", "description", "codes")
CODE_FIELDS = ("id", "name", "definition", "when_to_use", "when_not_to_use", "example",
               "color", "indicators", "memo", "children")
# Fields a complete code has; missing ones are warnings (definition is an error).
RECOMMENDED = ("when_to_use", "when_not_to_use", "example", "indicators")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
COLOR_PATTERN = re.compile(r"^#[0-9A-Fa-f]{6}$")
DEFAULT_COLOR = "#888888"
MAX_DEPTH = 32
MAX_CODEBOOK_BYTES = 10 * 2**20


@dataclass(frozen=True)
class Code:
    """One code of a codebook, with its children."""

    id: str
    name: str
    definition: str
    when_to_use: str = ""
    when_not_to_use: str = ""
    example: str = ""
    color: str = DEFAULT_COLOR
    indicators: tuple[str, ...] = ()
    memo: str = ""
    children: tuple[Code, ...] = ()

    def walk(self, parent: str | None = None) -> Iterator[tuple[Code, str | None]]:
        """This code and its descendants, depth first, with each one's parent id."""
        yield self, parent
        for child in self.children:
            yield from child.walk(self.id)


@dataclass(frozen=True)
class Codebook:
    """A named, versioned tree of codes."""

    name: str
    codes: tuple[Code, ...]
    version: str = ""
    language: str = "nb"
    authors: tuple[str, ...] = ()
    description: str = ""

    def walk(self) -> Iterator[tuple[Code, str | None]]:
        """Every code with its parent id (None for top-level codes), depth first."""
        for code in self.codes:
            yield from code.walk(None)

    def ids(self) -> list[str]:
        """Every code id, depth first."""
        return [c.id for c, _ in self.walk()]

    def find(self, code_id: str) -> Code | None:
        """The code with this id, or None."""
        return next((c for c, _ in self.walk() if c.id == code_id), None)


@dataclass(frozen=True)
class Problem:
    """A validation finding: where it is, which field, what is wrong."""

    file: str
    line: int
    field: str
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.field}: {self.message}"


@dataclass
class _Checker:
    file: str
    problems: list[Problem] = field(default_factory=list)
    seen_ids: dict[str, int] = field(default_factory=dict)
    visited: set[int] = field(default_factory=set)  # code nodes (aliases share them)

    def error(self, node: Any, fld: str, message: str) -> None:
        self.problems.append(Problem(self.file, _line(node), fld, message))

    def warn(self, node: Any, fld: str, message: str) -> None:
        self.problems.append(Problem(self.file, _line(node), fld, message, "warning"))


def _line(node: Any) -> int:
    mark = getattr(node, "start_mark", None)
    return int(mark.line) + 1 if mark is not None else 0


def _scalar(checker: _Checker, node: Any, fld: str, *, required: bool = False) -> str:
    import yaml

    if node is None:
        return ""
    if not isinstance(node, yaml.ScalarNode):
        checker.error(node, fld, "must be text")
        return ""
    value = str(node.value).strip() if node.value is not None else ""
    if node.tag == "tag:yaml.org,2002:null":
        value = ""
    if required and not value:
        checker.error(node, fld, "must not be empty")
    return value


def _string_list(checker: _Checker, node: Any, fld: str) -> tuple[str, ...]:
    import yaml

    if node is None:
        return ()
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
        return ()
    if not isinstance(node, yaml.SequenceNode):
        checker.error(node, fld, "must be a list")
        return ()
    out = []
    for item in node.value:
        text = _scalar(checker, item, fld)
        if text:
            out.append(text)
    return tuple(out)


def _mapping(checker: _Checker, node: Any, allowed: tuple[str, ...],
             where: str) -> dict[str, Any]:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        checker.error(node, where, "must be a mapping of fields")
        return {}
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key not in allowed:
            hint = _closest(key, allowed)
            checker.error(key_node, key, "unknown field" + (f" (did you mean {hint!r}?)"
                                                            if hint else ""))
            continue
        if key in out:
            checker.error(key_node, key, "appears twice")
        out[key] = value_node
    return out


def _closest(word: str, options: tuple[str, ...]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else None


def _code(checker: _Checker, node: Any, path: list[int], depth: int) -> Code | None:
    import yaml

    if id(node) in path:
        checker.error(node, "children", "a code contains itself (cycle through a YAML alias)")
        return None
    if id(node) in checker.visited:  # an alias repeated: each code is walked once
        checker.error(node, "children", "the same code appears twice (through a YAML alias)")
        return None
    checker.visited.add(id(node))
    if depth > MAX_DEPTH:
        checker.error(node, "children", f"nested deeper than {MAX_DEPTH} levels")
        return None
    fields = _mapping(checker, node, CODE_FIELDS, "code")
    if not fields:
        return None
    code_id = _scalar(checker, fields.get("id"), "id", required=True)
    if "id" not in fields:
        checker.error(node, "id", "missing (every code needs a stable id)")
    elif code_id and not ID_PATTERN.match(code_id):
        checker.error(fields["id"], "id", f"{code_id!r} is not a valid id (lowercase letters, "
                      "digits, - and _; at most 64 characters)")
    elif code_id in checker.seen_ids:
        checker.error(fields["id"], "id", f"duplicate id {code_id!r} (first on line "
                      f"{checker.seen_ids[code_id]})")
    elif code_id:
        checker.seen_ids[code_id] = _line(fields["id"])
    label = code_id or "code"
    name = _scalar(checker, fields.get("name"), "name", required=True)
    if "name" not in fields:
        checker.error(node, "name", f"{label}: missing")
    definition = _scalar(checker, fields.get("definition"), "definition")
    if not definition:
        checker.error(fields.get("definition", node), "definition",
                      f"{label}: missing (say what the code means)")
    color = _scalar(checker, fields.get("color"), "color") or DEFAULT_COLOR
    if not COLOR_PATTERN.match(color):
        checker.error(fields.get("color", node), "color",
                      f"{label}: {color!r} is not a colour like #1f77b4")
        color = DEFAULT_COLOR
    indicators = _string_list(checker, fields.get("indicators"), "indicators")
    for fld in RECOMMENDED:
        present = indicators if fld == "indicators" else _scalar(checker, fields.get(fld), fld)
        if not present:
            checker.warn(fields.get(fld, node), fld, f"{label}: empty")
    children: list[Code] = []
    kids = fields.get("children")
    if kids is not None and not (isinstance(kids, yaml.ScalarNode)
                                 and kids.tag == "tag:yaml.org,2002:null"):
        if not isinstance(kids, yaml.SequenceNode):
            checker.error(kids, "children", f"{label}: must be a list of codes")
        else:
            for child_node in kids.value:
                child = _code(checker, child_node, [*path, id(node)], depth + 1)
                if child is not None:
                    children.append(child)
    return Code(
        id=code_id, name=name, definition=definition,
        when_to_use=_scalar(checker, fields.get("when_to_use"), "when_to_use"),
        when_not_to_use=_scalar(checker, fields.get("when_not_to_use"), "when_not_to_use"),
        example=_scalar(checker, fields.get("example"), "example"),
        color=color.upper(), indicators=indicators,
        memo=_scalar(checker, fields.get("memo"), "memo"), children=tuple(children),
    )


def parse_codebook(text: str, file: str = "<codebook>") -> tuple[Codebook | None, list[Problem]]:
    """Parse and validate YAML text; returns the codebook (None if unusable) and all problems."""
    import yaml

    checker = _Checker(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        return None, [Problem(file, 0, "yaml", "nested too deeply to be a codebook")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = int(mark.line) + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [Problem(file, line, "yaml", f"not valid YAML: {problem}")]
    if root is None:
        return None, [Problem(file, 0, "file", "is empty")]
    fields = _mapping(checker, root, CODEBOOK_FIELDS, "codebook")
    if not fields:
        if not checker.problems:  # an empty mapping: {}
            checker.error(root, "codebook", "has no fields (it needs a name and codes)")
        return None, checker.problems
    name = _scalar(checker, fields.get("name"), "name", required=True)
    if "name" not in fields:
        checker.error(root, "name", "missing (give the codebook a name)")
    codes_node = fields.get("codes")
    codes: list[Code] = []
    if codes_node is None:
        checker.error(root, "codes", "missing (a codebook needs at least one code)")
    else:
        if not isinstance(codes_node, yaml.SequenceNode) or not codes_node.value:
            checker.error(codes_node, "codes", "must be a non-empty list of codes")
        else:
            for node in codes_node.value:
                code = _code(checker, node, [], 1)
                if code is not None:
                    codes.append(code)
    book = Codebook(
        name=name, codes=tuple(codes),
        version=_scalar(checker, fields.get("version"), "version"),
        language=_scalar(checker, fields.get("language"), "language") or "nb",
        authors=_string_list(checker, fields.get("authors"), "authors"),
        description=_scalar(checker, fields.get("description"), "description"),
    )
    errors = [p for p in checker.problems if p.severity == "error"]
    return (None if errors else book), checker.problems


def read_codebook_file(path: Path) -> tuple[Codebook | None, list[Problem]]:
    """Read and validate a codebook file (UTF-8 YAML)."""
    from qcode.ingest.hygiene import clean_text

    try:
        size = path.stat().st_size
        if size > MAX_CODEBOOK_BYTES:  # refused before reading
            return None, [Problem(str(path), 0, "file", f"is {size / 2**20:.1f} MiB; a "
                                  f"codebook is at most {MAX_CODEBOOK_BYTES // 2**20} MiB")]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(str(path), 0, "file", f"cannot be read: {exc.strerror}")]
    if not raw.strip():
        return None, [Problem(str(path), 0, "file", "is empty")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Problem(str(path), 0, "file", f"is not UTF-8 (byte {exc.start})")]
    return parse_codebook(clean_text(text), str(path))


def load_codebook_file(path: Path) -> tuple[Codebook, list[Problem]]:
    """A valid codebook and its warnings, or an InputError naming the first problem."""
    book, problems = read_codebook_file(path)
    errors = [p for p in problems if p.severity == "error"]
    if book is None or errors:
        first = errors[0] if errors else problems[0]
        more = f" and {len(errors) - 1} more" if len(errors) > 1 else ""
        raise InputError(f"{first}{more}", f"run 'qcode codebook check {path}' for the list")
    return book, problems


def code_to_dict(code: Code) -> dict[str, Any]:
    """A code as an ordered mapping in the file format."""
    return {
        "id": code.id, "name": code.name, "definition": code.definition,
        "when_to_use": code.when_to_use, "when_not_to_use": code.when_not_to_use,
        "example": code.example, "color": code.color, "indicators": list(code.indicators),
        "memo": code.memo, "children": [code_to_dict(c) for c in code.children],
    }


def codebook_to_yaml(book: Codebook) -> str:
    """Serialise a codebook to YAML in the documented key order (round-trips exactly)."""
    import yaml

    data = {
        "name": book.name, "version": book.version, "language": book.language,
        "authors": list(book.authors), "description": book.description,
        "codes": [code_to_dict(c) for c in book.codes],
    }
    text: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88,
                               default_flow_style=False)
    return text


def build_tree(book: Codebook, rows: list[tuple[Code, str | None]]) -> Codebook:
    """Rebuild a codebook's tree from flat (code without children, parent id) rows in order."""
    children: dict[str | None, list[str]] = {}
    by_id: dict[str, Code] = {}
    for code, parent in rows:
        by_id[code.id] = code
        children.setdefault(parent, []).append(code.id)

    def make(code_id: str) -> Code:
        return replace(by_id[code_id],
                       children=tuple(make(c) for c in children.get(code_id, [])))

    return replace(book, codes=tuple(make(c) for c in children.get(None, [])))
