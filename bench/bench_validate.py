"""EHCP and passport validation throughput: sendx (schema + national-standards rules) against baselines.

For each kind, every contender starts from the same JSON bytes of the same documents and ends
with a verdict, in the same run:
- ``jsonschema.validate`` called per document (what a naive integration does),
- the compiled jsonschema-rs validator alone (``json.loads`` + ``is_valid``: structure only,
  the fastest available here),
- ``validators.validate`` (strict parse + compiled schema + identifiers + every rule of the kind).

sendx and the compiled validator run in interleaved rounds (``bench/timing.py``), each round a
pass over every document, best round kept: a burst of load from elsewhere on the machine then
lands on both alike instead of on whichever happened to run at the time.

Usage: python bench/bench_validate.py [--docs N] [--rounds R] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for bench.*; sendx is the installed one (pip install -e . for this checkout)

import jsonschema
import jsonschema_rs
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bench.figures import Figure, target
from bench.timing import interleaved
from sendx import (
    schemas,
    validators,
)

NAMES = ["Ava", "Noah", "Isla", "Leo", "Maya", "Arlo", "Zara", "Ezra", "Ruby", "Kai"]
SPEEDUP_TARGET = 10.0  # at least this many times faster than jsonschema.validate per document
RATIO_TARGET = 3.0  # at most this many times the compiled validator's time


def synthetic_plans(n: int, seed: int = 7) -> list[bytes]:
    """``n`` distinct plans derived from the bundled example (names, ids, provision varied)."""
    base = json.loads(schemas.examples("ehcp")[0].read_text())
    rng = random.Random(seed)
    out = []
    for i in range(n):
        doc = copy.deepcopy(base)
        doc["planId"] = f"EHCP-330-2025-{i:05d}"
        doc["child"]["givenName"] = rng.choice(NAMES)
        for p in doc["sections"]["F"]["provision"]:
            p["frequency"] = f"{rng.randint(1, 5)} sessions of {rng.choice([20, 30, 45])} minutes each week"
        out.append(json.dumps(doc).encode())
    return out


def synthetic_passports(n: int, seed: int = 7) -> list[bytes]:
    """``n`` distinct passports derived from the bundled example (ids, names, adjustments varied)."""
    base = json.loads(schemas.examples("passport")[0].read_text())
    rng = random.Random(seed)
    out = []
    for i in range(n):
        doc = copy.deepcopy(base)
        doc["passportId"] = f"PP-2026-{i:05d}"
        doc["subject"]["givenName"] = rng.choice(NAMES)
        for adj in doc["adjustments"]:
            adj["description"] += f" Reviewed with the young person after {rng.randint(2, 12)} weeks."
        out.append(json.dumps(doc).encode())
    return out


SYNTHETIC: dict[str, Callable[[int], list[bytes]]] = {"ehcp": synthetic_plans, "passport": synthetic_passports}


def _each(fn: Callable[[bytes], object], docs: list[bytes]) -> Callable[[], None]:
    def one_pass() -> None:
        for d in docs:
            fn(d)

    return one_pass


def run(kind: str, n_docs: int, rounds: int = 7) -> dict[str, Any]:
    """Per-document times of the three contenders on ``n_docs`` synthetic documents of ``kind``."""
    docs = SYNTHETIC[kind](n_docs)
    schema = schemas.load_schema(kind)
    registry = Registry().with_resources(
        (uri, Resource.from_contents(res, default_specification=DRAFT202012))
        for uri, res in schemas.codelist_resources()
    )
    rs = jsonschema_rs.validator_for(
        schema, registry=jsonschema_rs.Registry(schemas.codelist_resources()), validate_formats=True
    )
    # The contenders must agree on the verdict, or the comparison means nothing.
    assert all(validators.validate(d).valid and rs.is_valid(json.loads(d)) for d in docs[:20])

    # jsonschema.validate is two orders of magnitude slower: time a sample once and scale.
    sample = docs[: max(20, n_docs // 50)]
    start = time.perf_counter()
    for d in sample:
        jsonschema.validate(json.loads(d), schema, registry=registry)
    naive = (time.perf_counter() - start) / len(sample)

    best = interleaved(
        {
            "sendx": _each(validators.validate, docs),
            "compiled": _each(lambda d: rs.is_valid(json.loads(d)), docs),
        },
        rounds=rounds,
        seconds=0.0,  # one pass over the documents per round
    )
    sendx, compiled = best["sendx"] / n_docs, best["compiled"] / n_docs
    return {
        "kind": kind,
        "documents": n_docs,
        "rounds": rounds,
        "sendx_us_per_doc": sendx * 1e6,
        "jsonschema_validate_us_per_doc": naive * 1e6,
        "jsonschema_rs_us_per_doc": compiled * 1e6,
        "speedup_vs_jsonschema_validate": naive / sendx,
        "ratio_vs_compiled": sendx / compiled,
    }


def figures(results: list[dict[str, Any]]) -> list[Figure]:
    out = []
    for r in results:
        what = f"validate {r['kind']} ({r['documents']:,} docs, from bytes)"
        speed_target, speed_met = target(">=", SPEEDUP_TARGET, "x", r["speedup_vs_jsonschema_validate"])
        ratio_target, ratio_met = target("<=", RATIO_TARGET, "x", r["ratio_vs_compiled"])
        out += [
            Figure(
                "validate",
                f"{what} vs jsonschema.validate",
                r["sendx_us_per_doc"],
                "us/doc",
                baseline=f"jsonschema.validate {r['jsonschema_validate_us_per_doc']:,.0f} us/doc",
                ratio=round(r["jsonschema_validate_us_per_doc"] / r["sendx_us_per_doc"], 3),
                target=speed_target,
                met=speed_met,
            ),
            Figure(
                "validate",
                f"{what} vs compiled schema",
                r["sendx_us_per_doc"],
                "us/doc",
                baseline=f"jsonschema-rs compiled {r['jsonschema_rs_us_per_doc']:,.1f} us/doc",
                ratio=round(r["ratio_vs_compiled"], 3),
                target=ratio_target,
                met=ratio_met,
            ),
        ]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=3000, help="documents per kind")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds (one pass over the documents each)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = [run(kind, args.docs, args.rounds) for kind in SYNTHETIC]
    if args.json:
        by_kind = {r["kind"]: r for r in results}
        rows = [f.to_dict() for f in figures(results)]
        print(json.dumps({"bench": "validate", **by_kind, "figures": rows}, indent=2))
        return
    for r in results:
        rounds = f"best of {r['rounds']} interleaved rounds"
        print(f"{r['kind']} validation, {r['documents']} documents (from bytes, {rounds})")
        print(f"  sendx validators.validate       {r['sendx_us_per_doc']:9.1f} µs/doc")
        print(f"  jsonschema.validate per doc     {r['jsonschema_validate_us_per_doc']:9.1f} µs/doc")
        print(f"  jsonschema-rs compiled (schema) {r['jsonschema_rs_us_per_doc']:9.1f} µs/doc")
        print(f"  speed-up vs jsonschema.validate {r['speedup_vs_jsonschema_validate']:9.1f}×  (target ≥ 10×)")
        print(f"  ratio to compiled schema only   {r['ratio_vs_compiled']:9.2f}×  (target ≤ 3×)")


if __name__ == "__main__":
    main()
