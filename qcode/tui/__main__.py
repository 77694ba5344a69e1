"""``python -m qcode.tui PROJECT [--coder ID]``: open a project in the terminal UI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qcode.errors import QcodeError
from qcode.tui import TuiSettings, run


def main() -> None:
    """Parse the few start-up options and run the app."""
    parser = argparse.ArgumentParser(prog="python -m qcode.tui")
    parser.add_argument("project", type=Path, help="the .qcode project file")
    parser.add_argument("--coder", help="the active coder id")
    parser.add_argument("--document", help="open this document in the coding view")
    parser.add_argument("--screen", default="home", help="the first screen")
    parser.add_argument("--key", action="append", default=[], metavar="ID=KEYS",
                        help="another key for a binding, e.g. coding.apply=enter (repeatable)")
    args = parser.parse_args()
    keymap = dict(item.split("=", 1) for item in args.key if "=" in item)
    try:
        run(args.project, TuiSettings(coder=args.coder, document=args.document,
                                      screen=args.screen, keymap=keymap))
    except QcodeError as exc:
        print(f"Error: {exc.one_line()}", file=sys.stderr)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
