"""The movement log: an append-only Merkle tree (RFC 9162) with signed checkpoints.

``merkle`` hashes and proves, ``compact`` summarises a log in O(log n) subtree hashes,
``checkpoint`` signs and reads C2SP notes, ``leaves`` is what an entry holds (a commitment and
LA codes) and how it is opened, ``receipt`` makes offline tlog-proofs, ``transparency``
appends leaves over a pluggable node store, ``verify`` streams a log, recomputes it and names
the damage, and ``audit`` fetches a hub's log (and an LA's area) and verifies it against what
this machine saw before.  The log never imports the hub, the store or the command line: an
auditor verifies with the log package and a verifier key alone.
"""
