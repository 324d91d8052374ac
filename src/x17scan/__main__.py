"""``python -m x17scan`` runs the command line."""

from x17scan.cli import main

main()
