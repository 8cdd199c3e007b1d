"""Offline verification of the movement log: recompute, compare with signed checkpoints, name the damage.

Part of the *exchange* stage, on the auditor's side: ``sendx log verify`` fetches the entries and
the current signed checkpoint from a hub and calls :func:`verify_log`, which trusts nothing the hub
says except what the hub's log key signed and what this verifier saw and checked before.

What is checked (each failure becomes a ``Problem`` with an index and a plain-English message):

1. the new checkpoint's signature (log key) and origin;
2. the root recomputed from the entries equals the new checkpoint's root;
3. every checkpoint seen before (kept in the local state file) is consistent with the new one:
   never larger (a log cannot shrink), never a different root for the same size, and the root
   recomputed from the entries *at that size* equals the root signed back then — so history
   rewritten behind a checkpoint is caught even when the hub re-signed a new root; where a
   consistency proof from an old size is supplied it is verified too (RFC 9162 §2.1.4.2);
4. the first altered entry is named: the state file keeps the SHA-256 leaf hash of every entry
   covered by the last verified checkpoint (32 bytes per entry), so an edited, deleted,
   re-ordered or inserted entry is located exactly (and the kind of change guessed from the
   shift pattern); entries beyond that are bracketed between the last checkpoint that still
   matches and the first that does not.

State file (JSON, written only after a clean verification, so it always holds a signed view)::

    {"format": "sendx-log-state/1", "origin": str | null,
     "checkpoints": [{"origin", "size", "root" (base64), "extensions", "note" (signed text)}],
     "leafHashes": base64(concatenated 32-byte leaf hashes of entries [0, last checkpoint size))}
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sendx.exchange.log.checkpoint import Checkpoint, Verifier, verify_checkpoint
from sendx.exchange.log.merkle import (
    HASH_SIZE,
    MemoryNodeStore,
    ProofError,
    append_leaf_hashes,
    leaf_hash,
    tree_root,
    verify_consistency,
)
from sendx.validators.errors import InputError

__all__ = ["STATE_FORMAT", "LogVerification", "Problem", "SeenCheckpoint", "VerifierState", "verify_log"]

STATE_FORMAT = "sendx-log-state/1"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the log. ``index`` is the first affected entry, when one can be named."""

    kind: str
    message: str
    index: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "index": self.index, "message": self.message}


@dataclass(frozen=True)
class SeenCheckpoint:
    """A checkpoint this verifier accepted earlier, with the signed note as evidence."""

    checkpoint: Checkpoint
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.checkpoint.to_dict(), "note": self.note}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SeenCheckpoint:
        if not isinstance(data, Mapping):
            raise InputError("a seen checkpoint must be an object", where="state checkpoints")
        return cls(Checkpoint.from_dict(dict(data)), str(data.get("note", "")))


@dataclass(frozen=True)
class VerifierState:
    """What the verifier has seen: accepted checkpoints and the leaf hashes they covered."""

    origin: str | None = None
    checkpoints: tuple[SeenCheckpoint, ...] = ()
    leaf_hashes: bytes = b""

    def __post_init__(self) -> None:
        if len(self.leaf_hashes) % HASH_SIZE:
            raise InputError("state leaf hashes are not a whole number of 32-byte hashes", where="leafHashes")

    @property
    def hashed_size(self) -> int:
        return len(self.leaf_hashes) // HASH_SIZE

    def leaf_hash_at(self, index: int) -> bytes:
        return self.leaf_hashes[index * HASH_SIZE : (index + 1) * HASH_SIZE]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "origin": self.origin,
            "checkpoints": [c.to_dict() for c in self.checkpoints],
            "leafHashes": base64.b64encode(self.leaf_hashes).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerifierState:
        if not isinstance(data, Mapping) or data.get("format") != STATE_FORMAT:
            raise InputError(f"not a {STATE_FORMAT} state file", where="format")
        try:
            hashes = base64.b64decode(str(data.get("leafHashes", "")), validate=True)
        except ValueError:
            raise InputError("state leafHashes is not valid base64", where="leafHashes") from None
        checkpoints = data.get("checkpoints", [])
        if not isinstance(checkpoints, list):
            raise InputError("state checkpoints must be a list", where="checkpoints")
        origin = data.get("origin")
        return cls(
            None if origin is None else str(origin), tuple(SeenCheckpoint.from_dict(c) for c in checkpoints), hashes
        )

    @classmethod
    def load(cls, path: Path) -> VerifierState:
        """Read a state file; a missing file is a fresh state (first verification)."""
        if not path.exists():
            return cls()
        from sendx.validators.parsing import load_json

        try:
            raw = path.read_bytes()
            # Strict like every other JSON sendx reads; a big log's state is big, so no size cap.
            data = load_json(raw, limit=len(raw))
        except OSError as exc:
            raise InputError(f"cannot read log state file: {exc.strerror or exc}", where=str(path)) from None
        except InputError as exc:
            raise InputError(f"cannot read log state file: {exc.message}", where=str(path)) from None
        return cls.from_dict(data)

    def save(self, path: Path) -> None:
        """Write atomically (0600), so an interrupted run never leaves a half-written state."""
        from sendx.exchange.home import write_private

        write_private(path, (json.dumps(self.to_dict(), indent=1) + "\n").encode("utf-8"))


@dataclass(frozen=True)
class LogVerification:
    """Outcome of :func:`verify_log`. ``state`` is the state to save (unchanged unless ``ok``)."""

    ok: bool
    problems: tuple[Problem, ...]
    checkpoint: Checkpoint | None
    entries: int
    state: VerifierState = field(repr=False)

    @property
    def first_altered(self) -> int | None:
        indexes = [p.index for p in self.problems if p.index is not None]
        return min(indexes) if indexes else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoint": None if self.checkpoint is None else self.checkpoint.to_dict(),
            "firstAltered": self.first_altered,
            "problems": [p.to_dict() for p in self.problems],
        }


def _describe_change(old: VerifierState, hashes: Sequence[bytes], i: int) -> str:
    """Guess what happened at the first differing index from how later entries shifted."""
    n, m = len(hashes), old.hashed_size

    def cur(j: int) -> bytes | None:
        return hashes[j] if j < n else None

    def was(j: int) -> bytes | None:
        return old.leaf_hash_at(j) if j < m else None

    if i >= n:
        return f"entry {i} and every later entry up to {m - 1} were deleted (the log was truncated)"
    if cur(i) == was(i + 1):
        return f"entry {i} was deleted (later entries moved up by one)"
    if cur(i + 1) == was(i):
        return f"an entry was inserted at {i} (earlier entry {i} now sits at {i + 1})"
    for j in range(i + 1, min(n, m)):
        if cur(j) == was(i) and cur(i) == was(j):
            return f"entries {i} and {j} were swapped (re-ordered)"
    if cur(i) in {was(j) for j in range(m)}:
        return f"entries from {i} on were re-ordered"
    return f"entry {i} was changed (its contents no longer match what was verified before)"


def verify_log(
    entries: Sequence[bytes],
    signed_checkpoint: str | bytes,
    verifier: Verifier,
    state: VerifierState | None = None,
    *,
    origin: str | None = None,
    consistency_proofs: Mapping[int, Sequence[bytes]] | None = None,
) -> LogVerification:
    """Verify ``entries`` (leaf bytes from index 0) against a new signed checkpoint and the past.

    ``consistency_proofs`` maps an earlier checkpoint size to a proof from that size to the new
    checkpoint's size (as served by the hub); each given proof is verified as well.
    """
    state = state or VerifierState()
    problems: list[Problem] = []

    def fail() -> LogVerification:
        return LogVerification(False, tuple(problems), None, len(entries), state)

    origin = origin or state.origin
    try:
        new = verify_checkpoint(signed_checkpoint, verifier, origin=origin)
    except (ProofError, InputError) as exc:
        problems.append(Problem("checkpoint-signature", f"the new checkpoint was refused: {exc.message}"))
        return fail()
    note = signed_checkpoint.decode("utf-8") if isinstance(signed_checkpoint, bytes) else signed_checkpoint

    hashes = [leaf_hash(bytes(e)) for e in entries]
    tree = MemoryNodeStore()
    append_leaf_hashes(tree, hashes)
    n = len(hashes)

    # Exact localisation from the hashes this verifier checked before.
    first_changed: int | None = None
    for i in range(min(n, state.hashed_size)):
        if hashes[i] != state.leaf_hash_at(i):
            first_changed = i
            break
    else:
        if n < state.hashed_size:
            first_changed = n
    if first_changed is not None:
        problems.append(Problem("altered-entry", _describe_change(state, hashes, first_changed), first_changed))

    # Every signed view, old and new, against the entries; remember which sizes still match.
    seen = sorted(state.checkpoints, key=lambda c: c.checkpoint.size)
    good_sizes = [0]
    bad_sizes: list[int] = []
    for old in (c.checkpoint for c in seen):
        if old.size > new.size:
            problems.append(
                Problem(
                    "log-shrank",
                    f"the new checkpoint covers {new.size} entries but a checkpoint for {old.size} was seen before: "
                    "the log was rolled back",
                    new.size,
                )
            )
        elif old.size == new.size and old.root != new.root:
            problems.append(
                Problem(
                    "fork",
                    f"the log signed two different roots for size {old.size}: it shows different histories to "
                    "different people",
                )
            )
        if old.size <= n:
            if tree_root(tree, old.size) == old.root:
                good_sizes.append(old.size)
            else:
                bad_sizes.append(old.size)
        proof = (consistency_proofs or {}).get(old.size)
        if proof is not None and old.size <= new.size:
            try:
                verify_consistency(old.size, new.size, old.root, new.root, list(proof))
            except ProofError as exc:
                problems.append(
                    Problem(
                        "inconsistent-checkpoints",
                        f"the hub's consistency proof from size {old.size} to {new.size} fails: {exc.message}",
                    )
                )
    if new.size > n:
        problems.append(
            Problem(
                "missing-entries",
                f"the checkpoint covers {new.size} entries but only {n} were supplied: entries {n}.. are missing",
                n,
            )
        )
    elif tree_root(tree, new.size) == new.root:
        good_sizes.append(new.size)
    else:
        bad_sizes.append(new.size)
    for old in (c.checkpoint for c in seen):
        if old.size > n:
            problems.append(
                Problem(
                    "missing-entries",
                    f"a checkpoint for {old.size} entries was seen before but only {n} entries were supplied",
                    n,
                )
            )

    if bad_sizes:
        lo = max((s for s in good_sizes if s < min(bad_sizes)), default=0)
        hi = min(bad_sizes)
        behind = [s for s in bad_sizes if s != new.size or s in (c.checkpoint.size for c in seen)]
        what = (
            f"history was rewritten behind the checkpoint(s) of size {', '.join(map(str, sorted(set(behind))))} seen "
            "before"
            if behind
            else f"the entries do not match the new checkpoint of size {new.size}"
        )
        if first_changed is not None and lo <= first_changed < hi:
            message = f"{what}; the first altered entry is {first_changed}"
            problems.append(Problem("root-mismatch", message, first_changed))
        else:
            problems.append(
                Problem(
                    "root-mismatch",
                    f"{what}; the first altered entry is between {lo} and {hi - 1} (the last matching checkpoint "
                    f"covers {lo} entries)",
                    lo,
                )
            )

    if problems:
        return LogVerification(False, tuple(problems), new, n, state)
    kept = {c.checkpoint.size: c for c in seen}
    kept[new.size] = SeenCheckpoint(new, note)
    new_state = VerifierState(
        new.origin,
        tuple(kept[s] for s in sorted(kept)),
        b"".join(hashes[: max(new.size, state.hashed_size)]),
    )
    return LogVerification(True, (), new, n, new_state)
