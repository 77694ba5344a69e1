"""Queries over a project: a small language for codes, text, filters and relations.

``qcode.query.parser.parse`` turns a query string into the syntax tree of
``qcode.query.ast`` (frozen dataclasses; ``walk``, ``to_text``,
``equal_ignoring_pos``) or raises ``qcode.errors.QueryError`` with the position
of the offending token. The language is described in ``docs/query-language.md``.
Nothing is imported here, so importing the package stays cheap.
"""
