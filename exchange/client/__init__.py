"""The participant's side: ``HubClient`` over the hub's JSON API with the local profile
(``hubclient``), and ``sendx demo``, the main job told as a story against a real hub (``demo``).

The command line (``sendx.exchange.cli``) is a thin layer over this package; the hub never
imports it.
"""
