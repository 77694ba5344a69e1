"""``python -m qcode`` runs the CLI."""

from qcode.cli import main

main()
