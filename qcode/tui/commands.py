"""Command palette providers: actions and screens, documents, codes, saved queries."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from qcode.tui.app import QcodeApp


class _Base(Provider):
    @property
    def qapp(self) -> QcodeApp:
        return cast("QcodeApp", self.app)

    async def _matching(self, query: str,
                      items: list[tuple[str, Callable[[], object], str]]) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in items:
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)

    async def _listing(self, items: list[tuple[str, Callable[[], object], str]]) -> Hits:
        for text, command, help_text in items:
            yield DiscoveryHit(text, command, text=text, help=help_text)


class ActionsProvider(_Base):
    """Screens and the main actions."""

    def _items(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.qapp
        items: list[tuple[str, Callable[[], object], str]] = [
            ("Go to Home", partial(app.action_show_screen, "home"), "documents, progress (F2)"),
            ("Go to Coding view", partial(app.action_show_screen, "coding"), "F3"),
            ("Go to Suggestions", partial(app.action_show_screen, "suggestions"), "F4"),
            ("Go to Codebook", partial(app.action_show_screen, "codebook"), "F5"),
            ("Go to Query and reports", partial(app.action_show_screen, "query"), "F6"),
            ("Go to Agreement", partial(app.action_show_screen, "agreement"), "F7"),
            ("Help and keys", partial(app.action_show_screen, "help"), "F1"),
            ("Switch coder", app.choose_coder, "who is coding"),
            ("Undo", app.action_undo, "your newest change (u)"),
            ("Redo", app.action_redo, "(U)"),
            ("Import files", partial(self._on, "home", "import_files"), "Home: i"),
            ("Load a codebook", partial(self._on, "home", "load_codebook"), "Home: l"),
            ("Run suggestions for the current document",
             partial(self._on, "suggestions", "generate"), "Suggestions: g"),
            ("Toggle blind mode", partial(self._on, "coding", "blind"),
             "hide the other coders' codings"),
        ]
        return items

    async def _on(self, mode: str, action: str) -> None:
        app = self.qapp
        await app.on_screen(mode, lambda screen: app.call_later(app.run_action, action, screen))

    async def discover(self) -> Hits:
        """The actions, without typing."""
        async for hit in self._listing(self._items()):
            yield hit

    async def search(self, query: str) -> Hits:
        """Actions matching the query."""
        async for hit in self._matching(query, self._items()):
            yield hit


class DocumentsProvider(_Base):
    """Open a document in the coding view."""

    async def search(self, query: str) -> Hits:
        """Documents whose name matches."""
        from qcode import services

        app = self.qapp
        items: list[tuple[str, Callable[[], object], str]] = []
        for d in services.list_documents(app.store):
            doc = d.document
            items.append((f"Open {doc.name}", partial(app.open_document, doc.name),
                          f"{doc.kind.replace('_', ' ')}, {doc.word_count} words"))
        async for hit in self._matching(query, items):
            yield hit


class CodesProvider(_Base):
    """Show a code in the codebook, or apply it in the coding view."""

    async def search(self, query: str) -> Hits:
        """Codes whose name or path matches."""
        from qcode.tui.screens.coding import CodingScreen

        app = self.qapp
        coding = isinstance(app.screen, CodingScreen)
        items: list[tuple[str, Callable[[], object], str]] = []
        for code in app.codes():
            items.append((f"Code {code.name}", partial(self._show, code.id), code.path))
            if coding:
                items.append((f"Apply {code.name}", partial(self._apply, code.id),
                              f"to the selection · {code.path}"))
        async for hit in self._matching(query, items):
            yield hit

    async def _show(self, code_id: str) -> None:
        from qcode.tui.screens.codebook import CodebookScreen

        def select(screen: object) -> None:
            if isinstance(screen, CodebookScreen):
                screen.refresh_data(select=code_id)

        await self.qapp.on_screen("codebook", select)

    def _apply(self, code_id: str) -> None:
        from qcode.tui.screens.coding import CodingScreen

        screen = self.qapp.screen
        if isinstance(screen, CodingScreen):
            span = screen.view.selection
            if span is not None:
                screen.apply_code(code_id, span)


class QueriesProvider(_Base):
    """Run a saved query."""

    async def search(self, query: str) -> Hits:
        """Saved queries whose name or text matches."""
        from qcode.tui.data import saved_queries

        app = self.qapp
        items: list[tuple[str, Callable[[], object], str]] = [
            (f"Query @{q.name}", partial(self._run, q.query), q.query)
            for q in saved_queries(app.store)]
        async for hit in self._matching(query, items):
            yield hit

    async def _run(self, text: str) -> None:
        from qcode.tui.screens.query import QueryScreen

        def run_query(screen: object) -> None:
            if isinstance(screen, QueryScreen):
                screen.run_query(text)

        await self.qapp.on_screen("query", run_query)
