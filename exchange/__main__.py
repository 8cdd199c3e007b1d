"""``python -m exchange`` runs the ``sendx`` command line."""

from sendx.exchange.cli import main

main()
