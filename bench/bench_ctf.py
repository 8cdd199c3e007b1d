"""Benchmark: CTF validation speed against bare lxml, and peak memory at 10,000 pupils.

Targets (SPEC §10): full sendx validation (streaming XSD + rules) of a 1,000-pupil CTF
within 3x the time of bare lxml XSD validation (parse + validate against the same,
precompiled XSD) of the same file, measured in the same run; validating a 10,000-pupil
CTF in a child process peaks under 200 MB RSS (the child's ``VmHWM``; ``resource.getrusage``
where /proc is absent, which on Linux would also count the benchmark's own pages at fork).

    python bench/bench_ctf.py [--pupils 1000] [--big 10000] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for bench.*; sendx is the installed one (pip install -e . for this checkout)

from lxml import etree

from bench.figures import Figure, target
from bench.timing import interleaved
from sendx.exchange.synth.ctf import synthetic_ctf
from sendx.validators.ctf import ctf_schema, validate_ctf
from sendx.validators.rules import Context

_CHILD = """
import resource, sys
sys.path.insert(0, {root!r})
from pathlib import Path
mode, path = sys.argv[1], Path(sys.argv[2])
if mode == "sendx":
    from sendx.validators.ctf import validate_ctf
    from sendx.validators.rules import Context
    import datetime as dt
    report = validate_ctf(path, Context(as_of=dt.date(2025, 6, 1)))
    ok = report.valid
elif mode == "lxml":
    from lxml import etree
    from sendx.validators.ctf import ctf_schema
    ok = ctf_schema().validate(etree.parse(str(path)))
else:
    import sendx.validators.ctf  # imports only: the floor
    ok = True
# VmHWM is this process image's own peak; ru_maxrss on Linux also counts the parent's
# pages at fork time (it survives exec), so it is only the fallback.
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as fh:
        peak_kib = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
print(peak_kib, ok)
"""


def _peak_rss_mb(mode: str, path: Path) -> tuple[float, bool]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(root=str(ROOT)), mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]) / 1024, out[1] == "True"  # ru_maxrss is in KiB on Linux


def figures(result: dict) -> list[Figure]:
    ratio_target, ratio_met = target("<=", result["ratio_target"], "x", result["ratio"])
    rss_target, rss_met = target("<", result["peak_rss_target_mb"], " MB", result["peak_rss_mb"])
    return [
        Figure(
            "ctf",
            f"validate {result['pupils']:,}-pupil CTF (XSD + rules)",
            result["sendx_s"] * 1000,
            "ms",
            baseline=f"bare lxml XSD {result['bare_lxml_s'] * 1000:.1f} ms",
            ratio=result["ratio"],
            target=ratio_target,
            met=ratio_met,
        ),
        Figure(
            "ctf",
            f"peak RSS, {result['big_pupils']:,}-pupil CTF",
            result["peak_rss_mb"],
            "MB",
            baseline=f"bare lxml tree {result['peak_rss_bare_lxml_whole_tree_mb']:.0f} MB",
            ratio=round(result["peak_rss_mb"] / result["peak_rss_bare_lxml_whole_tree_mb"], 3),
            target=rss_target,
            met=rss_met and result["big_valid"],
        ),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pupils", type=int, default=1000)
    ap.add_argument("--big", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=7, help="interleaved rounds (best kept)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import datetime as dt

    ctx = Context(as_of=dt.date(2025, 6, 1))
    schema = ctf_schema()
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "ctf-small.xml"
        small.write_bytes(synthetic_ctf(args.pupils, seed=1))
        big = Path(tmp) / "ctf-big.xml"
        big.write_bytes(synthetic_ctf(args.big, seed=2))

        assert schema.validate(etree.parse(str(small))), "the generated file must be valid for a fair baseline"
        report = validate_ctf(small, ctx)
        assert report.valid, report.issues[:3]
        best = interleaved(
            {"bare": lambda: schema.assertValid(etree.parse(str(small))), "sendx": lambda: validate_ctf(small, ctx)},
            rounds=args.repeat,
            seconds=0.5,
        )
        bare, sendx = best["bare"], best["sendx"]

        floor_mb, _ = _peak_rss_mb("imports", big)
        rss_mb, rss_ok = _peak_rss_mb("sendx", big)
        lxml_mb, _ = _peak_rss_mb("lxml", big)
        result = {
            "pupils": args.pupils,
            "file_bytes": small.stat().st_size,
            "bare_lxml_s": round(bare, 4),
            "sendx_s": round(sendx, 4),
            "ratio": round(sendx / bare, 2),
            "ratio_target": 3.0,
            "big_pupils": args.big,
            "big_file_bytes": big.stat().st_size,
            "big_valid": rss_ok,
            "peak_rss_mb": round(rss_mb, 1),
            "peak_rss_target_mb": 200,
            "peak_rss_imports_only_mb": round(floor_mb, 1),
            "peak_rss_bare_lxml_whole_tree_mb": round(lxml_mb, 1),
        }
    if args.json:
        print(json.dumps({**result, "figures": [f.to_dict() for f in figures(result)]}, indent=2))
        return
    print(f"CTF validation, {args.pupils:,} pupils ({result['file_bytes']:,} bytes), best of {args.repeat} rounds")
    print(f"  {'bare lxml parse + XSD':<36}{bare * 1000:9.1f} ms")
    print(f"  {'sendx streaming XSD + rules':<36}{sendx * 1000:9.1f} ms")
    print(f"  {'ratio (target <= 3.0)':<36}{result['ratio']:9.2f} x")
    print(f"Peak RSS, {args.big:,} pupils ({result['big_file_bytes']:,} bytes), child process")
    print(f"  {'imports only (floor)':<36}{floor_mb:9.1f} MB")
    print(f"  {'sendx validate_ctf (streaming)':<36}{rss_mb:9.1f} MB  (target < 200)")
    print(f"  {'bare lxml whole tree (for scale)':<36}{lxml_mb:9.1f} MB")


if __name__ == "__main__":
    main()
