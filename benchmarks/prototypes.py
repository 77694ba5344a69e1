"""Prototypes of proposed performance fixes, monkeypatched in for "what if" measurements.

These are NOT fixes: they patch qcode at run time inside a benchmark worker
(``benchmarks.run <bench> --patch NAME[,NAME]``) so the gain of a proposed change
can be measured on the same project, in the same run, before anyone edits
``qcode/``. Each patch should check itself against the code it replaces
(``--verify``: same results). When a fix lands in ``qcode/``, its prototype is
deleted here.

No prototype is pending: the twelve fixes of docs/benchmarks.md ("Where the time
goes") were prototyped here and have all landed. To try a new idea, register a
function with ``@patch("name")`` that replaces the code in question.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

PATCHES: dict[str, Callable[[bool], None]] = {}


def patch(name: str) -> Callable[[Callable[[bool], None]], Callable[[bool], None]]:
    """Register a prototype under a name (a decorator)."""
    def register(fn: Callable[[bool], None]) -> Callable[[bool], None]:
        PATCHES[name] = fn
        return fn
    return register


def apply(names: Sequence[str], verify: bool = False) -> None:
    """Apply the named patches (in this process only)."""
    unknown = [n for n in names if n not in PATCHES]
    if unknown:
        raise SystemExit(f"no prototype {', '.join(unknown)} (known: "
                         f"{', '.join(sorted(PATCHES)) or 'none'})")
    for name in names:
        PATCHES[name](verify)
