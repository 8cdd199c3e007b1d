"""Benchmark: the hub's store at scale — LA movement queries and log proofs over N movements.

SPEC §10 asks for the LA query time and the proof times of a log of 1,000,000 entries.  This
loads N synthetic movement events (spread over 20 LAs, a tenth of them into or out of AP)
into a fresh hub database the way the hub writes them — encrypted rows, salted leaves and
the Merkle nodes, a thousand events per transaction, through the hub's own append path (no
HTTP, no validation: that is ``bench_hub``) — and then times, in one run:

- one LA's first page of movements (``Hub.movements``: query, decrypt, shape), its AP-only
  page and a page a year into its history (by cursor), against the bare SQL of the same first page through the
  same connection pool (the floor a query cannot beat);
- inclusion and consistency proofs read from the database (``SqlNodeStore``), against a
  naive root recomputation from the leaves (what a proof would cost without stored nodes).

    python bench/bench_store.py [--entries N] [--postgres URL] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text

from bench.figures import Figure, target
from bench.hubdriver import reset_postgres
from bench.timing import median_call
from sendx.exchange.hub import build_hub
from sendx.exchange.hub.service.movements import append_movements
from sendx.exchange.log.merkle import root_hash
from sendx.exchange.store.database import Participant
from sendx.exchange.store.lognodes import open_log
from sendx.exchange.synth.ctf import make_upn

LAS = [str(201 + k) for k in range(20)]
TYPES = ["join", "leave", "managed-move", "suspension", "elective-home-education", "post-16-transition"]
BATCH = 1000
SAMPLES = 200


def _event(i: int, rng: random.Random, start: dt.date) -> tuple[str, dict[str, Any]]:
    """A movement event recorded by a school of one LA, moving a pupil to a setting of another."""
    la, other = rng.choice(LAS), rng.choice(LAS)
    ap_start, ap_end = i % 20 == 0, i % 20 == 1  # a tenth of the traffic touches AP
    kind = "ap-placement-start" if ap_start else "ap-placement-end" if ap_end else rng.choice(TYPES)
    frm = {"name": "School", "type": "mainstream-school", "urn": str(100000 + i % 90000), "la": la, "ap": ap_end}
    to = {"name": "Setting", "type": "mainstream-school", "urn": str(190000 + i % 9000), "la": other, "ap": ap_start}
    event = {
        "$schema": "https://schemas.sendx.org.uk/movement/v1",
        "eventId": f"MV-{i:09d}",
        "type": kind,
        "pupil": {"upn": make_upn(la, "4001", 24, i)},
        "from": frm,
        "to": to,
        "effectiveDate": (start + dt.timedelta(days=rng.randrange(730))).isoformat(),
        "recordedBy": {"participant": f"school-{la}", "role": "school"},
    }
    return la, event


def load(hub: Any, n: int, seed: int = 11) -> tuple[float, list[bytes]]:
    """Write ``n`` movements through the hub's append path; return (seconds, every leaf)."""
    for la in LAS:
        hub.add_participant(f"school-{la}", "school", f"School of LA {la}", la=la, laestab=f"{la}4001")
        hub.add_participant(f"la-{la}", "la", f"LA {la}", la=la)
    rng = random.Random(seed)
    start = dt.date(2024, 9, 1)
    t0 = time.perf_counter()
    for first in range(0, n, BATCH):
        by_school: dict[str, list[dict[str, Any]]] = {}
        for i in range(first, min(n, first + BATCH)):
            la, event = _event(i, rng, start)
            by_school.setdefault(la, []).append(event)
        with hub.store.write() as s:
            for la, events in by_school.items():
                append_movements(hub, s, s.get(Participant, f"school-{la}"), events, None)
    seconds = time.perf_counter() - t0
    with hub.store.read() as s:
        leaves = open_log(s).entries(0, n)
    return seconds, leaves


def run(url: str | None, n: int, home: Path) -> dict[str, Any]:
    config = {"SENDX_HOME": str(home)}
    if url:
        reset_postgres(url)
        config["SENDX_DATABASE_URL"] = url
    hub = build_hub(config)
    load_s, leaves = load(hub, n)
    with hub.store.read() as s:
        la = s.get(Participant, f"la-{LAS[0]}")
        s.expunge(la)
    code = LAS[0]
    bare_sql = text(
        "SELECT m.* FROM area_movements a JOIN movements m ON m.id = a.movement_id WHERE a.la = :la "
        "ORDER BY a.day, a.movement_id LIMIT 101"
    )

    def bare() -> None:
        with hub.store.read() as s:
            s.execute(bare_sql, {"la": code}).all()

    page = hub.movements(la)
    assert page["items"], "the LA must see movements of its area"
    # A page a year into the two years of history, reached by its cursor as a client paging would.
    deep = hub.movements(la, date_from=dt.date(2025, 9, 1), limit=1)["next"]
    queries = {
        "first": median_call(lambda: hub.movements(la), 30),
        "ap": median_call(lambda: hub.movements(la, ap=True), 30),
        "deep": median_call(lambda: hub.movements(la, after=deep), 10),
        "bare": median_call(bare, 30),
    }

    rng = random.Random(5)
    size = n - 1
    with hub.store.read() as s:
        log = open_log(s)
        root = log.root(size)
        idx = [rng.randrange(size) for _ in range(SAMPLES)]
        t = time.perf_counter()
        for i in idx:
            log.inclusion_proof(i, size)
        inclusion = (time.perf_counter() - t) / SAMPLES
        firsts = [rng.randrange(1, size) for _ in range(SAMPLES)]
        t = time.perf_counter()
        for f in firsts:
            log.consistency_proof(f, size)
        consistency = (time.perf_counter() - t) / SAMPLES
    t = time.perf_counter()
    naive = root_hash(leaves[:size])
    naive_s = time.perf_counter() - t
    assert naive == root, "the stored tree must agree with a recomputation from its leaves"
    hub.store.dispose()
    db_bytes = sum(p.stat().st_size for p in home.glob("hub.sqlite*")) if not url else None
    return {
        "store": "postgresql" if url else "sqlite",
        "entries": n,
        "load_per_s": n / load_s,
        "db_mb": round(db_bytes / 2**20, 1) if db_bytes else None,
        "la_page_ms": queries["first"] * 1e3,
        "la_ap_page_ms": queries["ap"] * 1e3,
        "la_deep_page_ms": queries["deep"] * 1e3,
        "bare_sql_page_ms": queries["bare"] * 1e3,
        "inclusion_proof_ms": inclusion * 1e3,
        "consistency_proof_ms": consistency * 1e3,
        "naive_root_ms": naive_s * 1e3,
        "leaves_sha256": hashlib.sha256(b"".join(leaves)).hexdigest()[:16],
    }


def figures(rows: list[dict[str, Any]]) -> list[Figure]:
    out = []
    for r in rows:
        at = f"{r['store']}, {r['entries']:,} movements"
        goal, met = target("<", 1, " ms", r["inclusion_proof_ms"])
        out += [
            Figure(
                "store",
                f"LA first page of movements ({at})",
                round(r["la_page_ms"], 2),
                "ms",
                baseline=f"bare SQL page {r['bare_sql_page_ms']:.2f} ms",
                ratio=round(r["la_page_ms"] / r["bare_sql_page_ms"], 2),
            ),
            Figure("store", f"LA AP-only page ({at})", round(r["la_ap_page_ms"], 2), "ms"),
            Figure(
                "store",
                f"inclusion proof from the database ({at})",
                round(r["inclusion_proof_ms"], 3),
                "ms",
                baseline=f"naive root recompute {r['naive_root_ms']:.0f} ms",
                ratio=round(r["inclusion_proof_ms"] / r["naive_root_ms"], 6),
                target=goal if r["entries"] >= 1_000_000 else None,
                met=met if r["entries"] >= 1_000_000 else None,
            ),
            Figure("store", f"consistency proof from the database ({at})", round(r["consistency_proof_ms"], 3), "ms"),
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=100_000, help="movements to load (SPEC §10: 1,000,000)")
    ap.add_argument("--postgres", default=os.environ.get("SENDX_BENCH_POSTGRES_URL"), help="also on this database")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    for url in ([None] if not args.no_sqlite else []) + ([args.postgres] if args.postgres else []):
        with tempfile.TemporaryDirectory(prefix="sendx-bench-store-") as tmp:
            rows.append(run(url, args.entries, Path(tmp)))
    if args.json:
        print(json.dumps({"bench": "store", "results": rows, "figures": [f.to_dict() for f in figures(rows)]}))
        return 0
    for r in rows:
        print(f"{r['store']}: {r['entries']:,} movements loaded at {r['load_per_s']:,.0f}/s", end="")
        print(f" ({r['db_mb']} MB)" if r["db_mb"] else "")
        print(f"  LA first page       {r['la_page_ms']:9.2f} ms   (bare SQL {r['bare_sql_page_ms']:.2f} ms)")
        print(f"  LA AP-only page     {r['la_ap_page_ms']:9.2f} ms")
        print(f"  LA page a year deep {r['la_deep_page_ms']:9.2f} ms")
        print(f"  inclusion proof     {r['inclusion_proof_ms']:9.3f} ms   (naive root {r['naive_root_ms']:.0f} ms)")
        print(f"  consistency proof   {r['consistency_proof_ms']:9.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
