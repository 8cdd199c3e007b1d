"""Benchmark: sendx health-advice validation per Bundle vs a bare fhir.resources R4B parse.

Baseline (same run, same JSON bytes): ``fhir.resources.R4B.bundle.Bundle.model_validate_json``.
sendx does that structural parse too (on the dict) plus the document, reference, identifier,
provision and date rules, so the ratio is what the rules cost on top of the models.
A second row does the same for a large Bundle (the typical advice plus N extra Conditions).

    python bench/bench_fhir.py [--repeat N] [--large N] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench.*

from bench.figures import Figure
from bench.timing import median_call
from sendx import schemas, validators
from sendx.validators.rules import Context

BASELINE = "fhir.resources R4B Bundle.model_validate_json"


def _large(doc: dict, n: int) -> dict:
    big = copy.deepcopy(doc)
    cond = next(e for e in big["entry"] if e["resource"]["resourceType"] == "Condition")
    section = big["entry"][0]["resource"]["section"][0]["entry"]
    for k in range(n):
        e = copy.deepcopy(cond)
        e["fullUrl"] = f"urn:uuid:00000000-0000-4000-8000-{k:012d}"
        e["resource"]["id"] = f"n{k}"
        big["entry"].append(e)
        section.append({"reference": e["fullUrl"]})
    return big


def _figures(rows: list[dict]) -> list[Figure]:
    return [
        Figure(
            "fhir",
            f"validate {r['case']} ({r['entries']} entries)",
            r["sendx_ms"],
            "ms",
            baseline=f"bare R4B parse {r['r4b_parse_ms']:.2f} ms",
            ratio=r["ratio"],
        )
        for r in rows
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=50, help="runs per figure for the typical Bundle")
    ap.add_argument("--large", type=int, default=2000, help="extra entries in the large Bundle (0 to skip)")
    ap.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    args = ap.parse_args(argv)

    from fhir.resources.R4B.bundle import Bundle

    example = schemas.schema_dir("health-advice") / "examples" / "health-advice-ot-sensory.json"
    doc = json.loads(example.read_text())
    ctx = Context()
    cases = [("typical advice", doc, args.repeat)]
    if args.large:
        cases.append((f"advice + {args.large} Conditions", _large(doc, args.large), max(3, args.repeat // 25)))
    rows = []
    for name, d, repeat in cases:
        raw = json.dumps(d).encode()
        assert validators.validate(raw, context=ctx).valid  # time only a genuinely valid document
        bare = median_call(lambda raw=raw: Bundle.model_validate_json(raw), repeat)
        sendx = median_call(lambda raw=raw: validators.validate(raw, context=ctx), repeat)
        rows.append(
            {
                "case": name,
                "entries": len(d["entry"]),
                "bytes": len(raw),
                "sendx_ms": round(sendx * 1000, 3),
                "r4b_parse_ms": round(bare * 1000, 3),
                "ratio": round(sendx / bare, 2),
                "repeat": repeat,
            }
        )
    if args.json:
        figures = [f.to_dict() for f in _figures(rows)]
        print(json.dumps({"benchmark": "fhir", "baseline": BASELINE, "rows": rows, "figures": figures}))
    else:
        print(f"{'case':<30} {'entries':>8} {'sendx ms':>10} {'R4B parse ms':>13} {'ratio':>6}")
        for r in rows:
            figures = f"{r['sendx_ms']:>10.2f} {r['r4b_parse_ms']:>13.2f} {r['ratio']:>6.2f}"
            print(f"{r['case']:<30} {r['entries']:>8} {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
