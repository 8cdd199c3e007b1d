"""Benchmark: sendx signing against raw Ed25519 over the same bytes, in the same run.

Cases: the example EHCP (sign_json + verify_json, baseline = raw Ed25519 sign + verify of
its RFC 8785 canonical bytes) and a synthetic 1,000-pupil CTF (sign_bytes + verify_bytes,
baseline = raw Ed25519 over the file's bytes).  Also shows what the canonicalisation alone
costs with the pure-Python ``rfc8785`` reference, for scale.  Target: EHCP ratio ≤ 1.5×.

    python bench/bench_signing.py [--json] [--pupils N] [--seconds S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.figures import Figure, target
from bench.timing import interleaved
from sendx.exchange.trust.keys import SigningKey, TrustRegistry
from sendx.exchange.trust.signing import canonical_json, sign_bytes, sign_json, verify_bytes, verify_json

EHCP = ROOT / "schemas" / "ehcp" / "examples" / "ehcp-final-secondary.json"


def synthetic_ctf(pupils: int) -> bytes:
    """A CTF 25-shaped file with ``pupils`` synthetic pupils (no real people)."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>\n  <Header>\n'
        "    <DocumentName>Common Transfer File</DocumentName>\n    <CTFversion>25.0</CTFversion>\n"
        "    <DateTime>2026-07-20T10:00:00</DateTime>\n    <DocumentQualifier>full</DocumentQualifier>\n"
        "    <SupplierID>sendx-bench</SupplierID>\n"
        "    <SourceSchool><LEA>330</LEA><Estab>4001</Estab><SchoolName>Bench Primary</SchoolName>"
        "<AcademicYear>2025</AcademicYear></SourceSchool>\n"
        "    <DestSchool><LEA>330</LEA><Estab>4002</Estab></DestSchool>\n  </Header>\n  <CTFpupilData>\n"
    )
    rows = []
    for i in range(pupils):
        rows.append(
            f"    <Pupil>\n      <UPN>A33040012{i % 1000:03d}</UPN>\n      <Surname>Pupil{i}</Surname>\n"
            f"      <Forename>Test</Forename>\n      <DOB>2014-0{1 + i % 9}-1{i % 10}</DOB>\n"
            f"      <Sex>{'MF'[i % 2]}</Sex>\n"
            "      <BasicDetails><NCyearActual>6</NCyearActual><Ethnicity>WBRI</Ethnicity>"
            "<EnrolStatus>C</EnrolStatus></BasicDetails>\n"
            "      <SENhistory><SEN><StartDate>2022-09-01</StartDate><SENprovision>K</SENprovision></SEN>"
            "<SENneeds><SENneed><SENtype>SLCN</SENtype><SENtypeRank>1</SENtypeRank></SENneed></SENneeds>"
            "</SENhistory>\n"
            "      <Address><BS7666Address><PAON>1</PAON><Street>Example Road</Street><Town>Birmingham</Town>"
            "</BS7666Address><Postcode>B1 1AA</Postcode></Address>\n    </Pupil>\n"
        )
    return (head + "".join(rows) + "  </CTFpupilData>\n</CTfile>\n").encode("utf-8")


def run(pupils: int, seconds: float) -> dict[str, object]:
    key = SigningKey.generate("la-330")
    now = dt.datetime.now(dt.UTC)
    registry = TrustRegistry({"la-330": (key.trusted(now - dt.timedelta(days=1)),)})
    raw_priv: Ed25519PrivateKey = key.private_key
    raw_pub = raw_priv.public_key()

    doc = json.loads(EHCP.read_text("utf-8"))
    canonical = canonical_json(doc)
    ctf = synthetic_ctf(pupils)

    def raw(data: bytes) -> Callable[[], None]:
        def go() -> None:
            raw_pub.verify(raw_priv.sign(data), data)

        return go

    def sendx_json() -> None:
        verify_json(doc, sign_json(doc, key), registry)

    def sendx_bytes() -> None:
        verify_bytes(ctf, sign_bytes(ctf, key), registry)

    rounds = max(3, round(seconds / 0.2))
    ehcp = interleaved({"sendx": sendx_json, "raw": raw(canonical)}, rounds=rounds)
    canon = interleaved({"rfc8785": lambda: rfc8785.dumps(doc), "sendx": lambda: canonical_json(doc)}, rounds=3)
    big = interleaved({"sendx": sendx_bytes, "raw": raw(ctf)}, rounds=rounds)
    results = {
        "ehcp": {
            "bytes": len(canonical),
            "sendx_us": ehcp["sendx"] * 1e6,
            "raw_ed25519_us": ehcp["raw"] * 1e6,
            "rfc8785_canonicalise_us": canon["rfc8785"] * 1e6,
            "sendx_canonicalise_us": canon["sendx"] * 1e6,
        },
        f"ctf_{pupils}": {
            "bytes": len(ctf),
            "sendx_us": big["sendx"] * 1e6,
            "raw_ed25519_us": big["raw"] * 1e6,
        },
    }
    for case in results.values():
        case["ratio"] = case["sendx_us"] / case["raw_ed25519_us"]
    return {"target_ehcp_ratio": 1.5, "cases": results}


def figures(result: dict) -> list[Figure]:
    out = []
    for name, case in result["cases"].items():
        goal, met = target("<=", result["target_ehcp_ratio"], "x", case["ratio"]) if name == "ehcp" else (None, None)
        out.append(
            Figure(
                "signing",
                f"sign+verify {name} ({case['bytes']:,} bytes)",
                round(case["sendx_us"], 1),
                "µs",
                baseline=f"raw Ed25519 {case['raw_ed25519_us']:.1f} µs",
                ratio=round(case["ratio"], 2),
                target=goal,
                met=met,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    parser.add_argument("--pupils", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=2.0, help="about how long each case is timed")
    args = parser.parse_args()
    result = run(args.pupils, args.seconds)
    if args.json:
        print(json.dumps({**result, "figures": [f.to_dict() for f in figures(result)]}, indent=2))
        return
    print(f"{'case':<12} {'bytes':>10} {'sendx sign+verify':>18} {'raw Ed25519':>12} {'ratio':>6}")
    for name, case in result["cases"].items():
        print(
            f"{name:<12} {case['bytes']:>10,} {case['sendx_us']:>15.1f} µs {case['raw_ed25519_us']:>9.1f} µs "
            f"{case['ratio']:>5.2f}×"
        )
    ehcp = result["cases"]["ehcp"]
    print(
        f"EHCP canonicalisation: sendx {ehcp['sendx_canonicalise_us']:.1f} µs vs pure-Python rfc8785 "
        f"{ehcp['rfc8785_canonicalise_us']:.1f} µs; target EHCP ratio ≤ {result['target_ehcp_ratio']}×"
    )


if __name__ == "__main__":
    main()
