"""Benchmark the movement log: append rate, inclusion/consistency proof times (MemoryNodeStore) and
an auditor's streaming verification (``sendx log verify``): its time and peak memory.

Leaves are version 2 movement leaves (``sendx.exchange.log.leaves``: a commitment and an LA
code, about 100 bytes).  Baselines in the same run: raw ``hashlib.sha256`` of every leaf (the
floor for appending and for verifying) and a naive recomputation of the root over the whole log
(leaf hashes + tree: what a proof would cost without stored subtree hashes).  Verification runs
in a child process that makes its entries page by page, as a hub serves them, so its peak RSS
is the verifier's own (the interpreter included); page making is timed apart and left out.

    python bench/bench_log.py            # --quick: 10k and 100k entries (well under a minute)
    python bench/bench_log.py --full     # adds 1,000,000 entries
    python bench/bench_log.py --json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.figures import Figure, target
from sendx.exchange.log.checkpoint import Checkpoint, Signer, sign_checkpoint
from sendx.exchange.log.compact import CompactRange
from sendx.exchange.log.leaves import MovementLeaf
from sendx.exchange.log.merkle import (
    MemoryNodeStore,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from sendx.exchange.log.transparency import TransparencyLog
from sendx.exchange.log.verify import VerifierState, verify_log

PROOFS = 2000
PAGE = 1000
#: Verification rounds; the best is kept.
ROUNDS = 3
_LAS = [b"%03d" % (201 + k) for k in range(150)]


def _leaf(i: int) -> bytes:
    """The i-th leaf: what ``MovementLeaf((la,), commitment).to_bytes()`` gives, made faster."""
    commitment = hashlib.sha256(i.to_bytes(8, "big")).hexdigest().encode()
    return b'{"commitment":"' + commitment + b'","las":["' + _LAS[i % len(_LAS)] + b'"],"v":2}'


assert _leaf(7) == MovementLeaf((_LAS[7].decode(),), hashlib.sha256((7).to_bytes(8, "big")).digest()).to_bytes()


def _leaves(n: int) -> list[bytes]:
    return [_leaf(i) for i in range(n)]


def _per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def run(n: int, rng: random.Random) -> dict[str, float]:
    leaves = _leaves(n)

    t = time.perf_counter()
    for leaf in leaves:
        hashlib.sha256(b"\x00" + leaf).digest()
    raw_hash = time.perf_counter() - t

    log = TransparencyLog(MemoryNodeStore())
    t = time.perf_counter()
    for leaf in leaves:
        log.append(leaf)
    append_one = time.perf_counter() - t

    batch = TransparencyLog(MemoryNodeStore())
    t = time.perf_counter()
    for start in range(0, n, 1000):
        batch.append_many(leaves[start : start + 1000])
    append_batch = time.perf_counter() - t
    assert batch.root() == log.root()

    size = n - 1  # a ragged size, the harder case
    root = log.root(size)
    indexes = [rng.randrange(size) for _ in range(PROOFS)]
    t = time.perf_counter()
    proofs = [log.inclusion_proof(i, size) for i in indexes]
    inclusion = (time.perf_counter() - t) / PROOFS
    t = time.perf_counter()
    for i, proof in zip(indexes, proofs, strict=True):
        verify_inclusion(i, size, leaf_hash(leaves[i]), proof, root)
    inclusion_verify = (time.perf_counter() - t) / PROOFS

    firsts = [rng.randrange(1, size) for _ in range(PROOFS)]
    t = time.perf_counter()
    cproofs = [log.consistency_proof(f, size) for f in firsts]
    consistency = (time.perf_counter() - t) / PROOFS
    t = time.perf_counter()
    for f, proof in zip(firsts[:200], cproofs[:200], strict=True):
        verify_consistency(f, size, log.root(f), root, proof)
    consistency_verify = (time.perf_counter() - t) / 200

    t = time.perf_counter()
    naive_root = root_hash(leaves[:size])
    naive = time.perf_counter() - t
    assert naive_root == root

    return {
        "entries": n,
        "leaf_bytes": len(leaves[n // 2]),
        "raw_sha256_per_s": _per_second(n, raw_hash),
        "append_per_s": _per_second(n, append_one),
        "append_batch_per_s": _per_second(n, append_batch),
        "append_vs_raw_sha256": append_one / raw_hash,
        "inclusion_proof_ms": inclusion * 1e3,
        "inclusion_verify_ms": inclusion_verify * 1e3,
        "consistency_proof_ms": consistency * 1e3,
        "consistency_verify_ms": consistency_verify * 1e3,
        "naive_root_ms": naive * 1e3,
        "naive_root_vs_inclusion_proof": naive / inclusion,
    }


class _Generated:
    """A log of generated leaves served page by page (nothing kept); proofs from ``tree``.

    Each page is made, then hashed raw (the baseline), then handed to the verifier: the
    baseline is measured interleaved with the verifier, page by page, under the same load,
    and both the making and the baseline are left out of the verifier's time.
    """

    def __init__(self, tree: TransparencyLog | None) -> None:
        self.tree = tree
        self.making = 0.0
        self.raw = 0.0

    def pages(self, start: int, end: int) -> Iterator[list[bytes]]:
        for lo in range(start, end, PAGE):
            t = time.perf_counter()
            page = [_leaf(i) for i in range(lo, min(end, lo + PAGE))]
            t1 = time.perf_counter()
            for leaf in page:
                hashlib.sha256(b"\x00" + leaf).digest()
            t2 = time.perf_counter()
            self.making += t1 - t
            self.raw += t2 - t1
            yield page

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        raise AssertionError("an honest log needs no inclusion proof")

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        assert self.tree is not None
        return self.tree.consistency_proof(first, second)


def _note(signer: Signer, size: int) -> str:
    """A signed checkpoint over the first ``size`` generated leaves (root by compact range: no tree kept)."""
    compact = CompactRange()
    for lo in range(0, size, PAGE):
        compact.extend(_leaf(i) for i in range(lo, min(size, lo + PAGE)))
    return sign_checkpoint(Checkpoint("bench.example/log", size, compact.root()), signer)


def verify_child(n: int) -> dict[str, float]:
    """In a fresh process: verify ``n`` generated entries from scratch, then ``n // 100`` more."""
    extra = n // 100
    signer = Signer.generate("bench.example/log")
    note, later = _note(signer, n), _note(signer, n + extra)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rounds = []
    for _ in range(ROUNDS):
        source = _Generated(None)
        t = time.perf_counter()
        first = verify_log(source, note, signer.verifier(), VerifierState())
        seconds = time.perf_counter() - t - source.making - source.raw
        assert first.ok and first.read == n, first.problems
        rounds.append((seconds / source.raw, seconds, source.raw))
    ratio, seconds, raw = min(rounds)  # the best round, as bench/timing.py keeps
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The later run needs the hub's consistency proof: only now is a tree built, to serve it.
    tree = TransparencyLog(MemoryNodeStore())
    for lo in range(0, n + extra, PAGE):
        tree.append_many(_leaf(i) for i in range(lo, min(n + extra, lo + PAGE)))
    source = _Generated(tree)
    t = time.perf_counter()
    again = verify_log(source, later, signer.verifier(), first.state)
    later_seconds = time.perf_counter() - t - source.making - source.raw
    assert again.ok and again.read == extra, again.problems
    state_bytes = len(json.dumps(again.state.to_dict()))
    return {
        "entries": n,
        "verify_s": seconds,
        "raw_sha256_s": raw,
        "verify_vs_raw_sha256": ratio,
        "verify_per_s": _per_second(n, seconds),
        "peak_rss_mb": rss,
        "rss_before_verify_mb": rss_before,
        "later_run_entries": extra,
        "later_run_s": later_seconds,
        "state_bytes": state_bytes,
    }


def run_verify(n: int) -> dict[str, float]:
    """``verify_child`` in its own process, so the peak RSS is the verifier's."""
    proc = subprocess.run(
        [sys.executable, __file__, "--verify-child", str(n)], capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout)


def _figures(rows: list[dict], verifies: list[dict]) -> list[Figure]:
    out = []
    for r in rows:
        n = f"{r['entries']:,}"
        incl_target, incl_met = target("<", 1, " ms", r["inclusion_proof_ms"])
        out += [
            Figure(
                "log",
                f"append, {n} entries",
                round(r["append_per_s"]),
                "/s",
                baseline=f"raw SHA-256 {r['raw_sha256_per_s']:,.0f}/s",
                ratio=round(r["append_vs_raw_sha256"], 2),
            ),
            Figure(
                "log",
                f"inclusion proof, {n} entries",
                r["inclusion_proof_ms"],
                "ms",
                baseline=f"naive root recompute {r['naive_root_ms']:.1f} ms",
                ratio=round(1 / r["naive_root_vs_inclusion_proof"], 6),
                target=incl_target if r["entries"] >= 1_000_000 else None,
                met=incl_met if r["entries"] >= 1_000_000 else None,
            ),
            Figure("log", f"consistency proof, {n} entries", r["consistency_proof_ms"], "ms"),
        ]
    for v in verifies:
        n = f"{v['entries']:,}"
        big = v["entries"] >= 1_000_000
        time_target, time_met = target("<", 3, "x", v["verify_vs_raw_sha256"])
        rss_target, rss_met = target("<", 100, " MB", v["peak_rss_mb"])
        out += [
            Figure(
                "log",
                f"verify from scratch, {n} entries",
                v["verify_s"],
                "s",
                baseline=f"raw SHA-256 of the leaves {v['raw_sha256_s']:.2f} s",
                ratio=round(v["verify_vs_raw_sha256"], 2),
                target=time_target if big else None,
                met=time_met if big else None,
            ),
            Figure(
                "log",
                f"verify peak RSS, {n} entries",
                v["peak_rss_mb"],
                "MB",
                baseline=f"{v['rss_before_verify_mb']:.0f} MB before verifying",
                target=rss_target if big else None,
                met=rss_met if big else None,
            ),
            Figure("log", f"later verify, {v['later_run_entries']:,} new of {n}", v["later_run_s"], "s"),
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="10k and 100k entries (default)")
    group.add_argument("--full", action="store_true", help="also 1,000,000 entries")
    parser.add_argument("--json", action="store_true", help="print a JSON object")
    parser.add_argument("--verify-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.verify_child:
        print(json.dumps(verify_child(args.verify_child)))
        return 0
    sizes = [10_000, 100_000] + ([1_000_000] if args.full else [])
    rng = random.Random(7)
    verifies = [run_verify(n) for n in sizes]
    rows = [run(n, rng) for n in sizes]
    if args.json:
        figures = [f.to_dict() for f in _figures(rows, verifies)]
        out = {"bench": "log", "proofs_timed": PROOFS, "results": rows, "verify": verifies, "figures": figures}
        print(json.dumps(out, indent=2))
        return 0
    cols = [
        ("entries", "{:>9,}"),
        ("raw_sha256_per_s", "{:>12,.0f}"),
        ("append_per_s", "{:>12,.0f}"),
        ("append_batch_per_s", "{:>12,.0f}"),
        ("inclusion_proof_ms", "{:>10.4f}"),
        ("inclusion_verify_ms", "{:>10.4f}"),
        ("consistency_proof_ms", "{:>10.4f}"),
        ("naive_root_ms", "{:>10.1f}"),
        ("naive_root_vs_inclusion_proof", "{:>10,.0f}x"),
    ]
    heads = ["entries", "raw sha/s", "append/s", "batch/s", "incl ms", "incl vfy ms", "cons ms", "naive ms"]
    heads.append("naive/incl")
    print(" | ".join(heads))
    for row in rows:
        print(" | ".join(fmt.format(row[key]) for key, fmt in cols))
    print("entries | verify s | raw sha s | ratio | peak RSS MB | later run (new entries) s | state bytes")
    for v in verifies:
        print(
            f"{v['entries']:>9,} | {v['verify_s']:8.2f} | {v['raw_sha256_s']:8.2f} | "
            f"{v['verify_vs_raw_sha256']:5.2f} | {v['peak_rss_mb']:8.1f} | "
            f"{v['later_run_s']:.3f} ({v['later_run_entries']:,}) | {v['state_bytes']:,}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
