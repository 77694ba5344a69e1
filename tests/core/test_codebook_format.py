"""The codebook YAML format: validation with file, line and field; the shipped codebooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcode.codebook import codebook_to_yaml, load_codebook_file, parse_codebook
from qcode.errors import InputError

from ..conftest import REPO

SHIPPED = sorted((REPO / "codebooks").glob("*.yaml"))

GOOD = """\
name: Test
version: "1"
language: nb
authors: [a]
description: d
codes:
  - id: root
    name: Rot
    definition: Alt.
    when_to_use: Alltid.
    when_not_to_use: Aldri.
    example: "«Eksempel»"
    color: "#112233"
    indicators: [ord]
    memo: ""
    children:
      - id: barn
        name: Barn
        definition: Et barn.
        when_to_use: Når.
        when_not_to_use: Ikke.
        example: "«Barn»"
        color: "#445566"
        indicators: [barn, barna]
        memo: ""
        children: []
"""


def errors(text: str) -> list[str]:
    _, problems = parse_codebook(text, "cb.yaml")
    return [str(p) for p in problems if p.severity == "error"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_codebooks_are_complete(path: Path) -> None:
    book, problems = load_codebook_file(path)
    assert problems == []  # no warnings either
    assert [c.id for c in book.codes] == [path.stem]  # one root, named like the file
    for code, _parent in book.walk():
        assert code.definition and code.when_to_use and code.when_not_to_use
        assert code.example and code.indicators


def test_shipped_codebooks_have_the_required_codes() -> None:
    books = {p.stem: load_codebook_file(p)[0] for p in SHIPPED}
    assert set(books) == {"samarbeid", "praksislogikker", "prestisje"}
    samarbeid = books["samarbeid"]
    assert len(samarbeid.ids()) >= 12
    assert any(code.children for code in samarbeid.codes[0].children)  # two levels below root
    logics = [c.id for c in books["praksislogikker"].codes[0].children]
    assert logics == ["patologiserende", "byrakratisk", "sanksjonsorientert",
                      "inklusjonsorientert"]
    assert all(c.children for c in books["praksislogikker"].codes[0].children)
    assert len(books["prestisje"].ids()) >= 7
    all_ids = [i for b in books.values() for i in b.ids()]
    assert len(all_ids) == len(set(all_ids))


def test_good_codebook_round_trips() -> None:
    book, problems = parse_codebook(GOOD)
    assert book is not None and problems == []
    again, _ = parse_codebook(codebook_to_yaml(book))
    assert again == book
    assert book.find("barn") is not None and book.find("barn").indicators == ("barn", "barna")


def test_unknown_field_names_line_and_suggests() -> None:
    bad = GOOD.replace("    when_to_use: Alltid.", "    when_to_usee: Alltid.")
    found = errors(bad)
    assert found == ["cb.yaml:10: error: when_to_usee: unknown field (did you mean "
                     "'when_to_use'?)"]


def test_duplicate_ids() -> None:
    bad = GOOD.replace("id: barn", "id: root")
    assert errors(bad) == ["cb.yaml:17: error: id: duplicate id 'root' (first on line 7)"]


def test_missing_definition_and_bad_colour() -> None:
    bad = GOOD.replace("        definition: Et barn.\n", "").replace('"#445566"', '"blue"')
    found = errors(bad)
    assert any("definition: barn: missing" in e for e in found)
    assert any(":22: error: color: barn: 'blue' is not a colour" in e for e in found)


def test_cycle_through_alias_is_reported() -> None:
    cyclic = """\
name: Syklisk
codes:
  - &a
    id: a
    name: A
    definition: A.
    children:
      - *a
"""
    assert any("contains itself" in e for e in errors(cyclic))


def test_invalid_yaml_and_structure() -> None:
    assert errors("name: [unclosed\n")[0].startswith("cb.yaml:2: error: yaml: not valid YAML")
    assert errors("- just\n- a list\n") == ["cb.yaml:1: error: codebook: must be a mapping "
                                            "of fields"]
    assert "codes: missing" in errors("name: Tom\n")[0]
    assert "must be a non-empty list" in errors("name: Tom\ncodes: []\n")[0]
    assert "not a valid id" in errors(GOOD.replace("id: barn", "id: Barn Kode"))[0]


def test_missing_recommended_fields_are_warnings() -> None:
    text = GOOD.replace("        example: \"«Barn»\"\n", "")
    book, problems = parse_codebook(text, "cb.yaml")
    assert book is not None
    assert [p.severity for p in problems] == ["warning"]
    assert "example: barn: empty" in str(problems[0])


def test_load_file_raises_one_line_with_hint(tmp_path: Path) -> None:
    path = tmp_path / "feil.yaml"
    path.write_text(GOOD.replace("id: barn", "id: root"), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_codebook_file(path)
    assert str(path) in info.value.message and "\n" not in info.value.message
    assert "qcode codebook check" in (info.value.hint or "")
    empty = tmp_path / "tom.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="is empty"):
        load_codebook_file(empty)
