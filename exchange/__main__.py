"""``python -m exchange`` runs the ``sendx`` command line."""

from exchange.cli import main

main()
