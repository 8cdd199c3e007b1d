"""EHCP validation throughput: sendx (schema + national-standards rules) against baselines.

Every contender starts from the same JSON bytes and ends with a verdict, in the same run:
- ``jsonschema.validate`` called per document (what a naive integration does),
- the compiled jsonschema-rs validator alone (structure only: the fastest available here),
- ``validators.validate`` (strict parse + compiled schema + identifiers + every EHCP rule).

Usage: python bench/bench_validate.py [--docs N] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import time
from collections.abc import Callable

import jsonschema
import jsonschema_rs
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import schemas
import validators


def synthetic_plans(n: int, seed: int = 7) -> list[bytes]:
    """``n`` distinct plans derived from the bundled example (names, ids, provision varied)."""
    base = json.loads(schemas.examples("ehcp")[0].read_text())
    rng = random.Random(seed)
    names = ["Ava", "Noah", "Isla", "Leo", "Maya", "Arlo", "Zara", "Ezra", "Ruby", "Kai"]
    out = []
    for i in range(n):
        doc = copy.deepcopy(base)
        doc["planId"] = f"EHCP-330-2025-{i:05d}"
        doc["child"]["givenName"] = rng.choice(names)
        for p in doc["sections"]["F"]["provision"]:
            p["frequency"] = f"{rng.randint(1, 5)} sessions of {rng.choice([20, 30, 45])} minutes each week"
        out.append(json.dumps(doc).encode())
    return out


def _time(fn: Callable[[bytes], object], docs: list[bytes], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for d in docs:
            fn(d)
        best = min(best, time.perf_counter() - t)
    return best


def run(n_docs: int) -> dict[str, float]:
    docs = synthetic_plans(n_docs)
    schema = schemas.load_schema("ehcp")
    registry = Registry().with_resources(
        (uri, Resource.from_contents(res, default_specification=DRAFT202012))
        for uri, res in schemas.codelist_resources()
    )
    rs = jsonschema_rs.validator_for(
        schema, registry=jsonschema_rs.Registry(schemas.codelist_resources()), validate_formats=True
    )
    assert all(validators.validate(d).valid for d in docs[:10])

    # jsonschema.validate is slow: time a sample and scale, so the run stays short.
    sample = docs[: max(20, n_docs // 50)]
    naive = _time(lambda d: jsonschema.validate(json.loads(d), schema, registry=registry), sample, 1)
    naive *= len(docs) / len(sample)
    compiled = _time(lambda d: rs.is_valid(json.loads(d)), docs)
    sendx = _time(validators.validate, docs)
    return {
        "documents": n_docs,
        "sendx_us_per_doc": sendx / n_docs * 1e6,
        "jsonschema_validate_us_per_doc": naive / n_docs * 1e6,
        "jsonschema_rs_us_per_doc": compiled / n_docs * 1e6,
        "speedup_vs_jsonschema_validate": naive / sendx,
        "ratio_vs_compiled": sendx / compiled,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=3000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = run(args.docs)
    if args.json:
        print(json.dumps({"bench": "validate-ehcp", **r}, indent=2))
        return
    print(f"EHCP validation, {r['documents']} documents (from bytes, best of 3)")
    print(f"  sendx validators.validate       {r['sendx_us_per_doc']:9.1f} µs/doc")
    print(f"  jsonschema.validate per doc     {r['jsonschema_validate_us_per_doc']:9.1f} µs/doc")
    print(f"  jsonschema-rs compiled (schema) {r['jsonschema_rs_us_per_doc']:9.1f} µs/doc")
    print(f"  speed-up vs jsonschema.validate {r['speedup_vs_jsonschema_validate']:9.1f}×  (target ≥ 10×)")
    print(f"  ratio to compiled schema only   {r['ratio_vs_compiled']:9.2f}×  (target ≤ 3×)")


if __name__ == "__main__":
    main()
