"""The codebook: the code tree with counts, a code's full entry, and editing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static, Tree

from qcode import services
from qcode.models import CodeInfo
from qcode.tui.screens.base import QScreen
from qcode.tui.screens.home import load_codebook_flow
from qcode.tui.screens.modals import ChoiceModal, ConfirmModal, FilePickerModal, FormModal
from qcode.tui.widgets.code_picker import TOP_LEVEL, CodePicker, code_entry
from qcode.tui.widgets.code_tree import CodeTree

FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("name", "Name", False),
    ("definition", "Definition", True),
    ("when_to_use", "When to use", True),
    ("when_not_to_use", "When not to use", True),
    ("example", "Example (paraphrased, never a real informant's words)", True),
    ("indicators", "Indicator words (comma-separated, for suggestions)", False),
    ("color", "Colour (#RRGGBB)", False),
    ("memo", "Memo", True),
)
EXPORT_FORMATS = (("md", "Markdown (appendix)"), ("docx", "Word (appendix)"),
                  ("yaml", "YAML (qcode codebook)"), ("qdc", "REFI-QDA .qdc (other QDA tools)"))


def _value(code: CodeInfo, key: str) -> str:
    if key == "indicators":
        return ", ".join(code.indicators)
    return str(getattr(code, key))


class CodebookScreen(QScreen):
    """Codes and their definitions; add, edit, rename, move, merge, delete."""

    MODE = "codebook"
    HELP_TITLE = "Codebook"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit", "Edit", id="codebook.edit",
                tooltip="name, definition, when (not) to use, example, indicators, colour, memo"),
        Binding("n", "add", "Add", id="codebook.add",
                tooltip="a new code under the highlighted one"),
        Binding("r", "rename", "Rename", id="codebook.rename"),
        Binding("v", "move", "Move", id="codebook.move",
                tooltip="under another code of its codebook, or to the top"),
        Binding("M", "merge", "Merge", id="codebook.merge",
                tooltip="into another code; its codings and sub-codes move along"),
        Binding("delete,d", "delete", "Delete", id="codebook.delete"),
        Binding("l", "load", "Load", id="codebook.load", show=False,
                tooltip="a shipped codebook or a file"),
        Binding("x", "export", "Export", id="codebook.export", show=False,
                tooltip="as a Markdown or Word appendix, YAML or REFI-QDA .qdc"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, tuple[int, int]] = {}

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="codebook-main"):
            with Vertical(id="code-tree-box"):
                yield Static("codings · code", id="code-legend",
                             markup=False)
                yield CodeTree(id="code-tree")
            with VerticalScroll(id="code-entry-box"):
                yield Static("", id="code-entry", markup=False)

    @property
    def code_tree(self) -> CodeTree:
        """The code tree."""
        return self.query_one("#code-tree", CodeTree)

    def refresh_data(self, select: str | None = None) -> None:
        """Reload codes and counts."""
        app = self.qapp
        self.counts = app.code_counts()  # as last counted; fresh ones follow
        self.code_tree.fill(app.codes(), app.marks(), self._shown_counts(),
                            select=select or self.code_tree.selected_code)
        self._show_entry()
        self.code_tree.focus()

    def counts_changed(self) -> None:
        """Fresh counts arrived from the background: show them in the tree and the entry."""
        if not self.is_mounted:
            return
        app = self.qapp
        self.counts = app.code_counts()
        self.code_tree.fill(app.codes(), app.marks(), self._shown_counts(),
                            select=self.code_tree.selected_code)
        self._show_entry()

    def _shown_counts(self) -> dict[str, tuple[int, int]] | None:
        """The counts to show, or None while the first count is still running."""
        return self.counts if self.counts or self.qapp.counts_are_fresh else None

    @on(Tree.NodeHighlighted, "#code-tree")
    def _highlighted(self) -> None:
        self._show_entry()

    def _code(self) -> CodeInfo | None:
        code_id = self.code_tree.selected_code
        return next((c for c in self.qapp.codes() if c.id == code_id), None)

    def _book(self) -> str | None:
        node = self.code_tree.cursor_node
        if node is None or node.data is None:
            return None
        if node.data.startswith("book:"):
            return node.data[5:]
        code = self._code()
        return code.codebook if code else None

    def _show_entry(self) -> None:
        entry = self.query_one("#code-entry", Static)
        app = self.qapp
        if not app.codes():
            entry.update(Text("No codebook loaded. Press l to load one of the shipped "
                              "codebooks (samarbeid, praksislogikker, prestisje) or your own "
                              "YAML file.", style="italic"))
            return
        code = self._code()
        if code is None:
            book = self._book()
            if book is None:
                entry.update("")
                return
            text = Text(f"{book}\n\n", style="bold")
            text.append("A codebook. Choose a code to see its entry; n adds a top-level code.",
                        "dim")
            entry.update(text)
            return
        counts = self._shown_counts()
        entry.update(code_entry(code, app.marks(),
                                None if counts is None else counts.get(code.id, (0, 0))))

    # -- edits ------------------------------------------------------------------------

    def _changed(self, select: str | None) -> None:
        app = self.qapp
        app.revision += 1
        self._seen_revision = app.revision
        self.refresh_data(select=select)

    def action_edit(self) -> None:
        """Edit the code's fields."""
        code = self._code()
        if code is None:
            return
        app = self.qapp

        def save(values: dict[str, str] | None) -> None:
            if not values:
                return
            if app.attempt(services.edit_code, app.store, code.id, dict(values),
                           actor=app.actor):
                app.notify(f"Saved {code.id}: {', '.join(sorted(values))} (u undoes)",
                           timeout=3, markup=False)
                self._changed(code.id)

        app.push_screen(FormModal(f"Edit {code.name}",
                                  [(k, label, _value(code, k), multi)
                                   for k, label, multi in FIELDS]), save)

    def action_add(self) -> None:
        """Add a code under the highlighted one (or at the top of the codebook)."""
        book = self._book()
        app = self.qapp
        if book is None:
            app.notify("Load a codebook first (l)", severity="warning", timeout=4)
            return
        parent = self._code()

        def save(values: dict[str, str] | None) -> None:
            if not values:
                return
            extra: dict[str, Any] = {k: v for k, v in values.items()
                                     if k not in ("id", "name", "definition") and v}
            created = app.attempt(services.add_code, app.store, book, values.get("id", ""),
                                  values.get("name", ""), values.get("definition", ""),
                                  parent=parent.id if parent else None, actor=app.actor,
                                  **extra)
            if created is not None:
                app.notify(f"Added {created.path}", timeout=3, markup=False)
                self._changed(created.id)

        where = f"under {parent.name}" if parent else f"at the top of {book}"
        fields = [("id", "Id (lowercase letters, digits, - _; never changes)", "", False),
                  *[(k, label, "", multi) for k, label, multi in FIELDS if k != "memo"]]
        app.push_screen(FormModal(f"New code {where}", fields, changed_only=False), save)

    def action_rename(self) -> None:
        """Give the code a new name (its id stays)."""
        code = self._code()
        if code is None:
            return
        app = self.qapp
        from qcode.tui.screens.modals import InputModal

        def save(name: str | None) -> None:
            if name and name != code.name and app.attempt(
                    services.edit_code, app.store, code.id, {"name": name}, actor=app.actor):
                self._changed(code.id)

        app.push_screen(InputModal(f"Rename {code.name}", value=code.name,
                                   help="The id stays the same, so codings and queries "
                                        "are not affected."), save)

    def _same_book(self, code: CodeInfo) -> list[CodeInfo]:
        app = self.qapp
        inside = {code.id}
        for c in app.codes():  # descendants come after their parent in tree order
            if c.parent_id in inside:
                inside.add(c.id)
        return [c for c in app.codes() if c.codebook == code.codebook and c.id not in inside]

    def action_move(self) -> None:
        """Move the code under another code of its codebook (or to the top level)."""
        code = self._code()
        if code is None:
            return
        app = self.qapp

        def chosen(target: str | None) -> None:
            if target is None:
                return
            parent = None if target == TOP_LEVEL else target
            if app.attempt(services.move_code, app.store, code.id, parent, actor=app.actor):
                app.notify(f"Moved {code.name}", timeout=3, markup=False)
                self._changed(code.id)

        app.push_screen(CodePicker(self._same_book(code), app.marks(),
                                   title=f"Move «{code.name}» under …", offer_top_level=True),
                        chosen)

    def action_merge(self) -> None:
        """Merge the code into another; its codings and sub-codes move there."""
        code = self._code()
        if code is None:
            return
        app = self.qapp
        n = self.counts.get(code.id, (0, 0))[0] if app.counts_are_fresh else None

        def chosen(target: str | None) -> None:
            if not target or target == TOP_LEVEL:
                return
            target_name = app.marks().get(target).name

            def confirmed(ok: bool | None) -> None:
                if not ok:
                    return
                report = app.attempt(services.merge_codes, app.store, code.id, target,
                                     actor=app.actor)
                if report is not None:
                    app.notify(f"Merged: {report.codings_moved} codings moved, "
                               f"{report.duplicates_removed} duplicates removed (u undoes)",
                               timeout=5)
                    self._changed(target)

            app.push_screen(ConfirmModal(
                f"Merge «{code.name}» into «{target_name}»?",
                f"Its {'' if n is None else f'{n} '}codings and its sub-codes move to "
                f"«{target_name}», and «{code.name}» is deleted. Undo (u) brings it back.",
                yes="Merge", danger=True), confirmed)

        app.push_screen(CodePicker(self._same_book(code), app.marks(),
                                   title=f"Merge «{code.name}» into …"), chosen)

    def action_delete(self) -> None:
        """Delete the code (and its sub-codes and codings, after confirmation)."""
        code = self._code()
        if code is None:
            return
        app = self.qapp
        subtree = [c for c in app.codes() if c.path.startswith(code.path + "/")]
        n = sum(self.counts.get(c.id, (0, 0))[0] for c in [code, *subtree])
        parts = []
        if subtree:
            parts.append(f"{len(subtree)} sub-codes")
        if not app.counts_are_fresh:
            parts.append("its codings (still being counted)")
        elif n:
            parts.append(f"{n} codings")
        detail = ("This also deletes " + " and ".join(parts) + ". " if parts else "") + \
            "Undo (u) brings everything back."

        def confirmed(ok: bool | None) -> None:
            if not ok:
                return
            result = app.attempt(services.delete_code, app.store, code.id, force=True,
                                 actor=app.actor)
            if result is not None:
                app.notify(f"Deleted {code.name} (u undoes)", timeout=4, markup=False)
                self._changed(code.parent_id)

        app.push_screen(ConfirmModal(f"Delete «{code.name}»?", detail, yes="Delete",
                                     danger=True), confirmed)

    def action_load(self) -> None:
        """Load a codebook."""
        load_codebook_flow(self.qapp)

    def action_export(self) -> None:
        """Write the codebook to a file."""
        book = self._book()
        if book is None:
            return
        app = self.qapp

        def fmt_chosen(fmt: str | None) -> None:
            if fmt is None:
                return
            stem = "".join(ch if ch.isalnum() else "-" for ch in book.lower())[:40].strip("-")
            app.push_screen(FilePickerModal(
                "Write the codebook to …", app.file_root, value=str(app.file_root /
                                                                    f"{stem}.{fmt}"),
                must_exist=False, allow_dirs=False), lambda p: write(p, fmt))

        def write(path: Path | None, fmt: str) -> None:
            if path is None:
                return
            written = app.attempt(services.export_codebook, app.store, book, path, fmt)
            if written is not None:
                app.notify(f"Wrote {written}", timeout=5, markup=False)

        app.push_screen(ChoiceModal(f"Export {book} as …", list(EXPORT_FORMATS)), fmt_chosen)
