"""The movement log: an append-only Merkle tree (RFC 9162) with signed checkpoints.

``merkle`` hashes and proves, ``checkpoint`` signs and reads C2SP notes, ``receipt`` makes
offline tlog-proofs, ``transparency`` appends movement leaves over a pluggable node store,
``verify`` recomputes a log offline and names the damage, and ``audit`` fetches a hub's log
and verifies it against what this machine saw before.  The log never imports the hub, the
store or the command line: an auditor verifies with the log package and a verifier key alone.
"""
