"""The code tree: codebooks and codes with their counts (codings, informants)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from qcode.models import CodeInfo
from qcode.tui.widgets.marks import MarkBook


class CodeTree(Tree[str]):
    """Codes under their codebooks; node data is the code id (or ``book:NAME``)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Codebooks", id=id)
        self.show_root = False
        self.guide_depth = 2

    def fill(self, codes: Sequence[CodeInfo], marks: MarkBook,
             counts: dict[str, tuple[int, int]] | None, *, select: str | None = None) -> None:
        """Show the codes (the cursor on ``select``); ``counts`` None: not counted yet."""
        self.clear()
        books: dict[str, TreeNode[str]] = {}
        nodes: dict[str, TreeNode[str]] = {}
        target: TreeNode[str] | None = None
        for code in codes:
            if code.codebook not in books:
                books[code.codebook] = self.root.add(
                    Text(code.codebook, style="bold"), data=f"book:{code.codebook}",
                    expand=True)
            parent = nodes.get(code.parent_id or "", books[code.codebook])
            mark = marks.get(code.id)
            label = Text()
            label.append(f"{mark.symbol} ", mark.style)
            if counts is None:
                label.append("  … ", "dim")
            else:
                n_codings = counts.get(code.id, (0, 0))[0]
                label.append(f"{n_codings:>3} ", "bold" if n_codings else "dim")
            label.append(code.name)
            node = parent.add(label, data=code.id, expand=True)
            nodes[code.id] = node
            if code.id == select:
                target = node
        for node in nodes.values():
            if not node.children:
                node.allow_expand = False
        if target is None and nodes:
            target = next(iter(nodes.values()))
        if target is not None:
            self.last_line  # noqa: B018 - builds the lines, so the node knows its line
            self.move_cursor(target)

    @property
    def selected_code(self) -> str | None:
        """The code id under the cursor (None on a codebook row)."""
        node = self.cursor_node
        if node is None or node.data is None or node.data.startswith("book:"):
            return None
        return node.data
