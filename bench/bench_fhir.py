"""Benchmark: sendx FHIR validation vs a bare fhir.resources R4B parse of the same bytes.

Baseline (same run, same JSON bytes): ``fhir.resources.R4B`` ``model_validate_json`` of the
resource's class.  sendx parses the bytes itself, walks them once against the R4 definitions
(structure, formats, invariants, narrative XHTML, UK Core identifiers) and runs the Bundle
rules and, for health advice, the sendx profile's rules — so the ratio is all of sendx's
checking against the models' parse alone.  Rows: the typical health-advice Bundle, a large
one (the typical advice plus N extra Conditions), and a UK Core Patient (kind ``fhir``).

    python bench/bench_fhir.py [--repeat N] [--large N] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for bench.*

from bench.figures import Figure, target
from bench.timing import median_call
from sendx import schemas, validators
from sendx.validators.rules import Context

BASELINE = "fhir.resources R4B model_validate_json"


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


#: SPEC §10: FHIR validation within 1.2x of a bare fhir.resources parse.
RATIO_TARGET = 1.2


def _figures(rows: list[dict]) -> list[Figure]:
    out = []
    for r in rows:
        text, met = target("<=", RATIO_TARGET, "x", r["ratio"])
        out.append(
            Figure(
                "fhir",
                f"validate {r['case']}" + (f" ({r['entries']} entries)" if r["entries"] else ""),
                r["sendx_ms"],
                "ms",
                baseline=f"bare R4B parse {r['r4b_parse_ms']:.2f} ms",
                ratio=r["ratio"],
                target=text,
                met=met,
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=50, help="runs per figure for the typical Bundle")
    ap.add_argument("--large", type=int, default=2000, help="extra entries in the large Bundle (0 to skip)")
    ap.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    args = ap.parse_args(argv)

    from fhir.resources.R4B import get_fhir_model_class

    example = schemas.schema_dir("health-advice") / "examples" / "health-advice-ot-sensory.json"
    doc = json.loads(example.read_text())
    patient = json.loads((schemas.schema_dir("fhir") / "examples" / "ukcore-patient.json").read_text())
    ctx = Context()
    cases = [("typical advice", doc, args.repeat)]
    if args.large:
        cases.append((f"advice + {args.large} Conditions", _large(doc, args.large), max(3, args.repeat // 25)))
    cases.append(("UK Core Patient", patient, args.repeat * 4))
    rows = []
    for name, d, repeat in cases:
        raw = json.dumps(d).encode()
        assert validators.validate(raw, context=ctx).valid  # time only a genuinely valid document
        model = get_fhir_model_class(d["resourceType"])
        bare = median_call(lambda raw=raw, model=model: model.model_validate_json(raw), repeat)
        sendx = median_call(lambda raw=raw: validators.validate(raw, context=ctx), repeat)
        rows.append(
            {
                "case": name,
                "entries": len(d["entry"]) if "entry" in d else None,
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
            print(f"{r['case']:<30} {r['entries'] or '':>8} {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
