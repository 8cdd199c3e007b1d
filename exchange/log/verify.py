"""Verifying the movement log from its entries, streamed: recompute, compare with signed checkpoints,
name the damage, and for an LA check that its area's movements are the entries naming it.

Part of the *exchange* stage, on the auditor's side (``sendx log verify``, the LA log page).
Nothing the hub says is trusted but what its log key signed and what this verifier checked
before.  Entries are read page by page into a :class:`~sendx.exchange.log.compact.CompactRange`,
so memory is O(log n) whatever the log's size.  What is checked, each failure a ``Problem``:

1. the new checkpoint's signature and origin; that no checkpoint seen before is larger (a
   rollback) or has another root for the same size (a fork);
2. on a later run, only the entries after the last verified checkpoint are read: extending its
   saved compact range with them must give the new root, and the hub's consistency proof from
   it must hold (RFC 9162 §2.1.4.2);
3. otherwise, or when that fails, every entry is read: the root at every checkpoint seen before
   and at the new one must come out as signed;
4. damage is named: rewritten history against the *fingerprint* of the entries verified before
   (the hashes of the subtrees at one level, at most 4,096 of them: every leaf hash while the log
   is small, blocks of 2**level entries beyond — the exact entry, or the block it is in); a
   signed root that does not match the hub's own entries by descending the tree with the hub's
   inclusion proofs to the altered entry or the damaged node;
5. for an LA (``area``): every entry naming its code is among the movements the hub returned
   and each returned movement opens its entry; a returned movement whose entry does not name
   the LA was re-scoped into the area.

State (JSON, saved only after a clean run)::

    {"format": "sendx-log-state/2", "origin": str | null,
     "checkpoints": [{"origin", "size", "root", "extensions", "note"}],   (at most 64)
     "range": [base64 hashes of the compact range of the last verified size],
     "fingerprint": {"level": L, "hashes": base64(concatenated 32-byte hashes)},
     "area": {"la": code, "entries": base64((8-byte index || 32-byte commitment)...)} | null}
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sendx.exchange.log.checkpoint import Checkpoint, Verifier, verify_checkpoint
from sendx.exchange.log.compact import CompactRange
from sendx.exchange.log.leaves import MovementLeaf, parse_leaf
from sendx.exchange.log.merkle import (
    HASH_SIZE,
    DamagedLogError,
    ProofError,
    consistency_ranges,
    inclusion_ranges,
    node_hash,
    split_point,
    verify_consistency,
)
from sendx.validators.errors import InputError

__all__ = [
    "FINGERPRINT_BUDGET",
    "STATE_FORMAT",
    "AreaView",
    "EntrySource",
    "Fingerprint",
    "LogVerification",
    "Problem",
    "SeenCheckpoint",
    "VerifierState",
    "verify_log",
]

STATE_FORMAT = "sendx-log-state/2"
_STATE_FORMAT_1 = "sendx-log-state/1"
#: At most this many subtree hashes are kept to name damage (128 KB of state).
FINGERPRINT_BUDGET = 4096
#: At most this many signed checkpoints are kept (the first one and the latest).
MAX_CHECKPOINTS = 64
_STATE_LIMIT = 64 * 1024 * 1024


class EntrySource(Protocol):
    """What verification reads from a log: pages of leaf bytes and the hub's proofs."""

    def pages(self, start: int, end: int) -> Iterator[Sequence[bytes]]: ...
    def inclusion_proof(self, index: int, size: int) -> list[bytes]: ...
    def consistency_proof(self, first: int, second: int) -> list[bytes]: ...


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
class Fingerprint:
    """Hashes of consecutive perfect subtrees of ``2**level`` leaves from leaf 0: what names damage."""

    level: int = 0
    hashes: bytes = b""

    def __post_init__(self) -> None:
        if len(self.hashes) % HASH_SIZE or not 0 <= self.level < 64:
            raise InputError("the state's fingerprint is not whole 32-byte hashes", where="fingerprint")

    @property
    def count(self) -> int:
        return len(self.hashes) // HASH_SIZE

    def at(self, block: int) -> bytes:
        return self.hashes[block * HASH_SIZE : (block + 1) * HASH_SIZE]

    def extended(self, new: Sequence[bytes]) -> Fingerprint:
        """With ``new`` hashes of the same level appended, coarsened to stay within the budget.

        A trailing unpaired hash is dropped when coarsening: its parent completes later, in a
        compact range that still holds it, and is captured at the new level then.
        """
        level, hashes = self.level, [self.at(b) for b in range(self.count)] + list(new)
        while len(hashes) > FINGERPRINT_BUDGET:
            hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes) - 1, 2)]
            level += 1
        return Fingerprint(level, b"".join(hashes))

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "hashes": base64.b64encode(self.hashes).decode("ascii")}

    @classmethod
    def from_dict(cls, data: Any) -> Fingerprint:
        if not isinstance(data, Mapping) or not isinstance(data.get("level"), int):
            raise InputError("the state's fingerprint is malformed", where="fingerprint")
        return cls(data["level"], _b64(data.get("hashes", ""), "fingerprint"))


@dataclass(frozen=True)
class AreaView:
    """What the hub returned to an LA as its area: by log index, the commitment each returned
    movement opens (from its event and salt), the rows it reported damaged, the rows erased."""

    la: str
    commitments: Mapping[int, bytes]
    damaged: Mapping[int, str] = field(default_factory=dict)
    erased: frozenset[int] = frozenset()


@dataclass(frozen=True)
class VerifierState:
    """What the verifier has seen: accepted checkpoints, the compact range of the last one, the
    fingerprint of its entries and, for an LA, the commitments of the entries naming it."""

    origin: str | None = None
    checkpoints: tuple[SeenCheckpoint, ...] = ()
    range: CompactRange | None = None
    fingerprint: Fingerprint = Fingerprint()
    area_la: str | None = None
    area: Mapping[int, bytes] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.range.size if self.range is not None else 0

    def to_dict(self) -> dict[str, Any]:
        packed = b"".join(i.to_bytes(8, "big") + c for i, c in sorted(self.area.items()))
        return {
            "format": STATE_FORMAT,
            "origin": self.origin,
            "checkpoints": [c.to_dict() for c in self.checkpoints],
            "range": [base64.b64encode(h).decode("ascii") for h in self.range.hashes] if self.range else None,
            "fingerprint": self.fingerprint.to_dict(),
            "area": None
            if self.area_la is None
            else {"la": self.area_la, "entries": base64.b64encode(packed).decode()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VerifierState:
        if isinstance(data, Mapping) and data.get("format") == _STATE_FORMAT_1:
            return cls._from_format_1(data)
        if not isinstance(data, Mapping) or data.get("format") != STATE_FORMAT:
            found = data.get("format") if isinstance(data, Mapping) else None
            raise InputError(f"not a {STATE_FORMAT} state file (found {found!r})", where="format")
        checkpoints = data.get("checkpoints", [])
        if not isinstance(checkpoints, list) or (not checkpoints and data.get("range") is not None):
            raise InputError("state checkpoints must be a list", where="checkpoints")
        seen = tuple(SeenCheckpoint.from_dict(c) for c in checkpoints)
        hashes = data.get("range")
        compact = None
        if hashes is not None:
            if not isinstance(hashes, list):
                raise InputError("state range must be a list of hashes", where="range")
            compact = CompactRange(max(c.checkpoint.size for c in seen), [_b64(h, "range") for h in hashes])
            if compact.root() != max(seen, key=lambda c: c.checkpoint.size).checkpoint.root:
                raise InputError("state range does not give the last checkpoint's root", where="range")
        area = data.get("area")
        area_la, entries = None, {}
        if area is not None:
            if not isinstance(area, Mapping) or not isinstance(area.get("la"), str):
                raise InputError("state area is malformed", where="area")
            packed = _b64(area.get("entries", ""), "area")
            if len(packed) % 40:
                raise InputError("state area entries are not whole records", where="area")
            area_la = area["la"]
            entries = {
                int.from_bytes(packed[i : i + 8], "big"): packed[i + 8 : i + 40] for i in range(0, len(packed), 40)
            }
        origin = data.get("origin")
        return cls(
            None if origin is None else str(origin),
            seen,
            compact,
            Fingerprint.from_dict(data.get("fingerprint", {"level": 0})),
            area_la,
            entries,
        )

    @classmethod
    def _from_format_1(cls, data: Mapping[str, Any]) -> VerifierState:
        """A state written before streaming (every leaf hash kept): its checkpoints, and its leaf
        hashes as a fingerprint; the next run reads every entry once and saves format 2."""
        checkpoints = data.get("checkpoints", [])
        if not isinstance(checkpoints, list):
            raise InputError("state checkpoints must be a list", where="checkpoints")
        seen = tuple(SeenCheckpoint.from_dict(c) for c in checkpoints)
        hashes = _b64(data.get("leafHashes", ""), "leafHashes")
        origin = data.get("origin")
        return cls(None if origin is None else str(origin), seen, None, Fingerprint(0, b"").extended(_split(hashes)))

    @classmethod
    def load(cls, path: Path) -> VerifierState:
        """Read a state file; a missing file is a fresh state (first verification)."""
        if not path.exists():
            return cls()
        from sendx.validators.parsing import load_json

        try:
            raw = path.read_bytes()
            data = load_json(raw, limit=_STATE_LIMIT)
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
    #: Entries read in this run (fewer than ``entries`` on a later, incremental run).
    read: int = 0
    area_entries: int = 0

    @property
    def first_altered(self) -> int | None:
        indexes = [p.index for p in self.problems if p.index is not None]
        return min(indexes) if indexes else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "read": self.read,
            "areaEntries": self.area_entries,
            "checkpoint": None if self.checkpoint is None else self.checkpoint.to_dict(),
            "firstAltered": self.first_altered,
            "problems": [p.to_dict() for p in self.problems],
        }


# --------------------------------------------------------------------------- streaming


class _ShortLog(Exception):
    """The source ran out of entries before the checkpoint's size."""

    def __init__(self, served: int) -> None:
        super().__init__(served)
        self.served = served


@dataclass
class _Scan:
    """What one pass over entries ``[start, end)`` found."""

    range: CompactRange
    captured: list[bytes]  # fingerprint hashes at the target level
    head: list[bytes]  # the first hashes at the capture level, to compare with a fingerprint
    area: dict[int, bytes]
    roots: dict[int, bytes]
    read: int = 0


def _scan(
    source: EntrySource,
    compact: CompactRange,
    end: int,
    *,
    capture: int,
    target: int | None = None,
    keep: int = 0,
    pending: Sequence[bytes] = (),
    sizes: Iterable[int] = (),
    la: str | None = None,
) -> _Scan:
    """Extend ``compact`` with entries up to ``end``; note the root at each of ``sizes``.

    Subtrees completed at level ``capture`` are folded into fingerprint hashes at level
    ``target`` (default: the same) and the first ``keep`` of them are kept as they are, to be
    compared with a fingerprint taken at ``capture``: memory stays bounded either way.
    ``pending``: hashes at ``capture`` level captured before, still short of a whole group.
    """
    start = compact.size
    stops = sorted({s for s in sizes if start < s < end})
    scan = _Scan(compact, [], [], {}, {})
    group = 1 << ((capture if target is None else target) - capture)
    pending = list(pending)

    def take(hashes: list[bytes]) -> None:
        if len(scan.head) < keep:
            scan.head += hashes[: keep - len(scan.head)]
        if group == 1:
            scan.captured += hashes
            return
        pending.extend(hashes)
        while len(pending) >= group:
            scan.captured += _reduce(pending[:group], group.bit_length() - 1)
            del pending[:group]

    needle = None if la is None else f'"{la}"'.encode()
    pos = start
    for page in source.pages(start, end):
        if not page:
            raise _ShortLog(pos)
        page = page[: end - pos]
        if needle is not None:
            for n, raw in enumerate(page):
                if needle in raw:
                    leaf = _parse(raw, pos + n)
                    if isinstance(leaf, MovementLeaf) and leaf.names(la or ""):
                        scan.area[pos + n] = leaf.commitment
        cut = 0
        while stops and stops[0] <= pos + len(page):
            upto = stops.pop(0) - pos
            take(compact.extend(page[cut:upto], capture))
            scan.roots[compact.size] = compact.root()
            cut = upto
        take(compact.extend(page[cut:] if cut else page, capture))
        pos += len(page)
        scan.read += len(page)
        if pos >= end:
            break
    if pos < end:
        raise _ShortLog(pos)
    scan.roots[compact.size] = compact.root()
    return scan


def _parse(raw: bytes, index: int) -> Any:
    try:
        return parse_leaf(raw)
    except InputError:
        return None  # an entry that is no leaf names nobody; the tree still covers its bytes


def _fingerprint_level(size: int) -> int:
    level = 0
    while size >> level > FINGERPRINT_BUDGET:
        level += 1
    return level


# --------------------------------------------------------------------------- the verification


def verify_log(
    source: EntrySource,
    signed_checkpoint: str | bytes,
    verifier: Verifier,
    state: VerifierState | None = None,
    *,
    origin: str | None = None,
    area: AreaView | None = None,
) -> LogVerification:
    """Verify the log ``source`` serves against a new signed checkpoint and what was seen before."""
    state = state or VerifierState()
    origin = origin or state.origin
    try:
        new = verify_checkpoint(signed_checkpoint, verifier, origin=origin)
    except (ProofError, InputError) as exc:
        problem = Problem("checkpoint-signature", f"the new checkpoint was refused: {exc.message}")
        return LogVerification(False, (problem,), None, 0, state)
    note = signed_checkpoint.decode("utf-8") if isinstance(signed_checkpoint, bytes) else signed_checkpoint
    seen = sorted(state.checkpoints, key=lambda c: c.checkpoint.size)

    problems = _history_problems(seen, new)
    try:
        if not problems:
            return _verify(source, new, note, state, seen, area)
        # A rollback or a fork: read everything, to name where the histories part.
        named = _full(source, new, note, state, seen, area, 0)
        problems += [p for p in named.problems if p not in problems]
        return LogVerification(False, tuple(problems), new, new.size, state, named.read)
    except DamagedLogError as exc:
        problem = Problem("damaged-storage", f"the hub cannot serve its log: {exc.message}", _index_in(exc.message))
    except _ShortLog as exc:
        problem = Problem(
            "missing-entries",
            f"the checkpoint covers {new.size} entries but the hub served only {exc.served}: entries "
            f"{exc.served}.. are missing",
            exc.served,
        )
    return LogVerification(False, (*problems, problem), new, new.size, state)


def _verify(
    source: EntrySource,
    new: Checkpoint,
    note: str,
    state: VerifierState,
    seen: list[SeenCheckpoint],
    area: AreaView | None,
) -> LogVerification:
    la = area.la if area is not None else None
    read = 0
    if state.range is not None and (la is None or state.area_la == la):
        # A later run: only what is new since the last verified checkpoint.
        consistent = _consistent(source, seen[-1].checkpoint, new)
        old_fp = state.fingerprint
        level = max(old_fp.level, _fingerprint_level(new.size))
        group = 1 << (level - old_fp.level)
        old = [old_fp.at(b) for b in range(old_fp.count)]
        aligned = len(old) - len(old) % group  # the rest waits in the scan for its group to complete
        scan = _scan(
            source,
            state.range.copy(),
            new.size,
            capture=old_fp.level,
            target=level,
            pending=old[aligned:],
            la=la,
        )
        read = scan.read
        if consistent is None and scan.range.root() == new.root:
            fingerprint = Fingerprint(level, b"").extended(_reduce(old[:aligned], level - old_fp.level) + scan.captured)
            entries = {**state.area, **scan.area} if la is not None else {}
            return _finish(new, note, state, seen, scan.range, fingerprint, entries, area, read)
        if consistent is not None and scan.range.root() == new.root:
            # The entries extend the old root, the hub's proof does not: a node it serves is wrong.
            named = _locate_proof(source, seen[-1].checkpoint.size, new.size)
            return LogVerification(False, (consistent, *([named] if named else [])), new, new.size, state, read)
        # The new root does not extend the old one: read everything to say where it differs.
    return _full(source, new, note, state, seen, area, read)


def _consistent(source: EntrySource, old: Checkpoint, new: Checkpoint) -> Problem | None:
    if old.size == 0 or old.size == new.size:
        return None
    proof = source.consistency_proof(old.size, new.size)
    try:
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except ProofError as exc:
        return Problem(
            "inconsistent-checkpoints",
            f"the hub's consistency proof from size {old.size} to {new.size} fails: {exc.message}",
        )
    return None


def _full(
    source: EntrySource,
    new: Checkpoint,
    note: str,
    state: VerifierState,
    seen: list[SeenCheckpoint],
    area: AreaView | None,
    read: int,
) -> LogVerification:
    old_fp = state.fingerprint
    level = _fingerprint_level(new.size)
    capture = min(level, old_fp.level) if old_fp.count else level
    scan = _scan(
        source,
        CompactRange(),
        new.size,
        capture=capture,
        target=level,
        keep=old_fp.count + FINGERPRINT_BUDGET if old_fp.count else 0,
        sizes=[c.checkpoint.size for c in seen],
        la=area.la if area else None,
    )
    read += scan.read
    problems = _rewritten(scan, seen, old_fp)
    if scan.roots[new.size] != new.root:
        if problems:
            problems.append(_bracket(problems))
        else:
            problems.append(_descend(source, new.size, 0, new.size))
    elif not problems and seen and seen[-1].checkpoint.size < new.size:
        # Entries match every signed root, yet the hub's consistency proof may still be wrong.
        failed = _consistent(source, seen[-1].checkpoint, new)
        if failed is not None:
            problems.append(_locate_proof(source, seen[-1].checkpoint.size, new.size) or failed)
    if problems:
        return LogVerification(False, tuple(problems), new, new.size, state, read)
    fingerprint = Fingerprint(level, b"").extended(scan.captured)
    return _finish(new, note, state, seen, scan.range, fingerprint, scan.area, area, read)


def _reduce(hashes: list[bytes], steps: int) -> list[bytes]:
    for _ in range(steps):
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes) - 1, 2)]
    return hashes


def _finish(
    new: Checkpoint,
    note: str,
    state: VerifierState,
    seen: list[SeenCheckpoint],
    compact: CompactRange,
    fingerprint: Fingerprint,
    entries: Mapping[int, bytes],
    area: AreaView | None,
    read: int,
) -> LogVerification:
    if area is not None:
        problems = _area_problems(area, entries, new.size)
        if problems:
            return LogVerification(False, tuple(problems), new, new.size, state, read, len(entries))
    kept = {c.checkpoint.size: c for c in seen}
    kept[new.size] = SeenCheckpoint(new, note)
    ordered = [kept[s] for s in sorted(kept)]
    if len(ordered) > MAX_CHECKPOINTS:
        ordered = ordered[:1] + ordered[-(MAX_CHECKPOINTS - 1) :]
    new_state = VerifierState(
        new.origin,
        tuple(ordered),
        compact,
        fingerprint,
        area.la if area is not None else state.area_la,
        dict(entries) if area is not None else state.area,
    )
    return LogVerification(True, (), new, new.size, new_state, read, len(entries))


# --------------------------------------------------------------------------- naming the damage


def _history_problems(seen: list[SeenCheckpoint], new: Checkpoint) -> list[Problem]:
    problems = []
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
    return problems


def _rewritten(scan: _Scan, seen: list[SeenCheckpoint], old_fp: Fingerprint) -> list[Problem]:
    """Problems where the entries no longer give what was verified before (roots, fingerprint)."""
    problems: list[Problem] = []
    covered = min(old_fp.count, len(scan.head))
    differ = [b for b in range(covered) if scan.head[b] != old_fp.at(b)]
    if differ or len(scan.head) < old_fp.count:
        problems.append(_describe(old_fp, scan.head, differ or [len(scan.head)]))
    bad = [c.checkpoint.size for c in seen if scan.roots.get(c.checkpoint.size) != c.checkpoint.root]
    if bad and not problems:
        lo = _last_good(seen, scan, bad[0])
        problems.append(
            Problem(
                "root-mismatch",
                f"history was rewritten behind the checkpoint of size {bad[0]} seen before; the first altered "
                f"entry is between {lo} and {bad[0] - 1} (the last checkpoint that still matches covers {lo})",
                lo,
            )
        )
    return problems


def _last_good(seen: list[SeenCheckpoint], scan: _Scan, bad: int) -> int:
    good = [
        c.checkpoint.size
        for c in seen
        if c.checkpoint.size < bad and scan.roots.get(c.checkpoint.size) == c.checkpoint.root
    ]
    return max(good, default=0)


def _describe(old: Fingerprint, cur: Sequence[bytes], differ: list[int]) -> Problem:
    """Name what happened at the first differing fingerprint hash (an entry, or a block)."""
    i = differ[0]
    if old.level == 0:
        return Problem("altered-entry", _leaf_change(old, cur, i), i)
    width = 1 << old.level
    lo, hi = i * width, (i + 1) * width - 1
    covered = min(old.count, len(cur))
    if differ == list(range(i, covered)) and len(differ) > 2:
        what = f"entries from {lo}..{hi} on moved: an entry was deleted or inserted among {lo}..{hi}"
    elif len(differ) == 2:
        j = differ[1]
        what = (
            f"entries among {lo}..{hi} and among {j * width}..{(j + 1) * width - 1} were changed or swapped "
            "(re-ordered)"
        )
    else:
        what = f"an entry among {lo}..{hi} was changed, or entries among them were re-ordered"
    return Problem("altered-entry", f"{what}; the first altered entry is between {lo} and {hi}", lo)


def _leaf_change(old: Fingerprint, cur: Sequence[bytes], i: int) -> str:
    n, m = len(cur), old.count

    def now(j: int) -> bytes | None:
        return cur[j] if j < n else None

    def was(j: int) -> bytes | None:
        return old.at(j) if j < m else None

    if i >= n:
        return f"entry {i} and every later entry up to {m - 1} were deleted (the log was truncated)"
    for j in range(i + 1, min(n, m)):
        if now(j) == was(i) and now(i) == was(j):
            return f"entries {i} and {j} were swapped (re-ordered)"
    if now(i) == was(i + 1) and now(i + 1) == was(i + 2):
        return f"entry {i} was deleted (later entries moved up by one)"
    if now(i + 1) == was(i) and now(i + 2) == was(i + 1):
        return f"an entry was inserted at {i} (earlier entry {i} now sits at {i + 1})"
    if now(i) in {was(j) for j in range(m)}:
        return f"entries from {i} on were re-ordered"
    return f"entry {i} was changed (its contents no longer match what was verified before)"


def _bracket(found: list[Problem]) -> Problem:
    first = min((p.index for p in found if p.index is not None), default=0)
    return Problem(
        "root-mismatch",
        f"the entries do not give the roots signed before; the first altered entry is {first}",
        first,
    )


def _range_hash(source: EntrySource, lo: int, hi: int) -> bytes:
    """The root of entries ``[lo, hi)`` (a range of the RFC 9162 recursion), recomputed."""
    compact = CompactRange(start=lo)
    for page in source.pages(lo, hi):
        compact.extend(page[: hi - lo - compact.size])
        if compact.size >= hi - lo:
            break
    return compact.root()


def _served(source: EntrySource, size: int, leaf: int, wanted: tuple[int, int]) -> bytes:
    """The hash of range ``wanted`` as the hub serves it: a step of its inclusion proof for ``leaf``."""
    ranges = inclusion_ranges(leaf, 0, size)
    proof = source.inclusion_proof(leaf, size)
    if len(proof) != len(ranges):
        raise ProofError(f"the hub's inclusion proof for entry {leaf} has {len(proof)} hashes, not {len(ranges)}")
    return proof[ranges.index(wanted)]


def _descend(source: EntrySource, size: int, lo: int, hi: int) -> Problem:
    """``[lo, hi)`` hashes to something other than the hub serves for it: follow the differing half
    down to the entry that no longer matches its leaf hash, or the stored node that is wrong."""
    while hi - lo > 1:
        k = split_point(hi - lo)
        left, right = (lo, lo + k), (lo + k, hi)
        hub_left = _served(source, size, lo + k, left)
        if hub_left != _range_hash(source, *left):
            hi = lo + k
            continue
        hub_right = _served(source, size, lo, right)
        if hub_right != _range_hash(source, *right):
            lo += k
            continue
        return Problem(
            "damaged-node",
            f"a tree node the hub stores is damaged: the one over entries {lo}..{hi - 1} (both of its halves "
            "match the entries, it does not); the entries themselves are intact",
            lo,
        )
    return Problem(
        "altered-entry",
        f"entry {lo} was changed after it was logged: it no longer matches the leaf hash in the hub's tree",
        lo,
    )


def _locate_proof(source: EntrySource, first: int, second: int) -> Problem | None:
    """Which hash of the hub's consistency proof differs from the entries, followed down."""
    proof = source.consistency_proof(first, second)
    ranges = consistency_ranges(first, 0, second)
    if len(proof) != len(ranges):
        return None
    for (lo, hi), served in zip(ranges, proof, strict=True):
        if _range_hash(source, lo, hi) != served:
            return _descend(source, second, lo, hi)
    return None


def _area_problems(area: AreaView, entries: Mapping[int, bytes], size: int) -> list[Problem]:
    """Every entry naming the LA is a movement it was given, and every movement it was given opens
    an entry naming it."""
    problems = []
    code = area.la
    for index in sorted(entries):
        if index in area.damaged:
            problems.append(
                Problem(
                    "damaged-movement",
                    f"entry {index}: the hub reports its movement row damaged: {area.damaged[index]}",
                    index,
                )
            )
        elif index in area.erased:
            continue
        elif index not in area.commitments:
            problems.append(
                Problem(
                    "missing-movement",
                    f"entry {index} names LA {code} but the hub did not return its movement: the row was deleted "
                    "or re-scoped out of your area",
                    index,
                )
            )
        elif area.commitments[index] != entries[index]:
            problems.append(
                Problem(
                    "altered-movement",
                    f"the movement the hub returned for entry {index} is not what the entry commits to: the row "
                    "was altered",
                    index,
                )
            )
    for index in sorted(set(area.commitments) | set(area.damaged) | area.erased):
        if index < size and index not in entries:
            problems.append(
                Problem(
                    "re-scoped",
                    f"the hub returned a movement for entry {index}, which does not name LA {code}: the row was "
                    "re-scoped into your area",
                    index,
                )
            )
    return sorted(problems, key=lambda p: p.index if p.index is not None else -1)


def _index_in(message: str) -> int | None:
    words = message.replace(",", " ").split()
    for before, word in itertools.pairwise(words):
        if before == "entry" and word.isdigit():
            return int(word)
    return None


def _split(hashes: bytes) -> list[bytes]:
    if len(hashes) % HASH_SIZE:
        raise InputError("state leaf hashes are not whole 32-byte hashes", where="leafHashes")
    return [hashes[i : i + HASH_SIZE] for i in range(0, len(hashes), HASH_SIZE)]


def _text(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError:
        raise InputError(f"state {what} is not valid base64", where=what) from None
