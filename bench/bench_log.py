"""Benchmark the movement log: append rate and inclusion/consistency proof times (MemoryNodeStore).

Baselines in the same run: raw ``hashlib.sha256`` of every leaf (the floor for appending) and a
naive recomputation of the root over the whole log (leaf hashes + tree: what a proof would
cost without stored subtree hashes).

    python bench/bench_log.py            # --quick: 10k and 100k entries (well under a minute)
    python bench/bench_log.py --full     # adds 1,000,000 entries
    python bench/bench_log.py --json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.figures import Figure, target
from sendx.exchange.log.merkle import (
    MemoryNodeStore,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from sendx.exchange.log.transparency import TransparencyLog

PROOFS = 2000


def _leaves(n: int) -> list[bytes]:
    # Roughly the size of a movement leaf (about 400 bytes of canonical JSON).
    pad = b"x" * 380
    return [b'{"eventId":"MV-%d",' % i + pad + b"}" for i in range(n)]


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


def _figures(rows: list[dict]) -> list[Figure]:
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
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="10k and 100k entries (default)")
    group.add_argument("--full", action="store_true", help="also 1,000,000 entries")
    parser.add_argument("--json", action="store_true", help="print a JSON object")
    args = parser.parse_args(argv)
    sizes = [10_000, 100_000] + ([1_000_000] if args.full else [])
    rng = random.Random(7)
    rows = [run(n, rng) for n in sizes]
    if args.json:
        figures = [f.to_dict() for f in _figures(rows)]
        print(json.dumps({"bench": "log", "proofs_timed": PROOFS, "results": rows, "figures": figures}, indent=2))
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
