"""Benchmark: the LA audit pages at the size of a real authority, on SQLite and PostgreSQL.

SPEC §10: the LA dashboard and a timeline page at p95 under 200 ms with 1,000,000 movements
in one area, and at most 2x growth from 100,000 to 1,000,000.  For each store this grows one
hub's area through the sizes asked (default 10,000, 100,000, 1,000,000): the movements are
``synth.movements.synthetic_movements`` for LA 330 over ten years (so 1,000,000 is about what
a large authority records in that time), written through the hub's own append path a
thousand per transaction — sealed rows, log leaves and the area facts, exactly what an
upload writes, without HTTP and validation (``bench_hub`` measures those).  At each size it
times, through the Flask app with a signed-in LA session (routing, query, decrypting what is
shown, rendering):

- the overview (``/la/dashboard``) and timeline pages (the first; one a third of the way
  back through the older-cursor chain; AP only; one movement type), p50 and p95;
- the CSV export (``/la/movements.csv``) of the last year, streamed: rows per second;

and reports each page's growth from the previous size (the in-run baseline).

    python bench/bench_la.py [--sizes 10000 100000 1000000] [--postgres URL] [--no-sqlite] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, target
from bench.hubdriver import reset_postgres
from sendx.exchange.hub import create_app
from sendx.exchange.hub.service.movements import append_movements
from sendx.exchange.synth.movements import synthetic_movements

LA = "330"
START = dt.date(2016, 9, 1)
YEARS = 10
BATCH = 1000
SAMPLES = 40
#: SPEC §10: p95 of the overview and a timeline page at 1,000,000 movements, and growth.
TARGET_MS = 200
TARGET_GROWTH = 2.0


def _quantiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=20, method="inclusive")
    return statistics.median(samples) * 1e3, cuts[18] * 1e3


def _time(get: Callable[[], Any], n: int = SAMPLES) -> tuple[float, float]:
    get()  # warm-up: templates compiled, pages cached by the database
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        r = get()
        samples.append(time.perf_counter() - t)
        if r.status_code != 200:
            raise RuntimeError(f"{r.status_code}: {r.get_data(as_text=True)[:300]}")
    return _quantiles(samples)


class Area:
    """One hub, one area, grown through the sizes; its pages timed through the Flask app."""

    def __init__(self, home: Path, url: str | None) -> None:
        config = {"SENDX_HOME": str(home), "TESTING": True}
        if url:
            reset_postgres(url)
            config["SENDX_DATABASE_URL"] = url
        self.app = create_app(config)
        self.hub = self.app.extensions["sendx.hub"]
        self.store = "postgresql" if url else "sqlite"
        self.hub.add_participant(f"la-{LA}", "la", "Northfield Council", la=LA)
        self.recorder = self.hub.authenticate(self.hub.new_token(f"la-{LA}"))
        self.token = self.hub.new_token(f"la-{LA}")
        self.client = self.app.test_client()
        form = self.client.get("/la/sign-in").get_data(as_text=True)
        csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed = self.client.post("/la/sign-in", data={"csrf_token": csrf, "token": self.token})
        assert signed.status_code == 303, signed.get_data(as_text=True)[:300]
        self.events: Iterator[dict[str, Any]] = synthetic_movements(10**9, seed=20, la=LA, start=START, years=YEARS)
        self.size = 0

    def grow(self, size: int) -> float:
        """Write movements until the area holds ``size``; the rate, movements per second."""
        t = time.perf_counter()
        n = size - self.size
        while self.size < size:
            batch = list(itertools.islice(self.events, min(BATCH, size - self.size)))
            with self.hub.store.write() as s:
                append_movements(self.hub, s, self.recorder, batch, None)
            self.size += len(batch)
        return n / (time.perf_counter() - t)

    def measure(self) -> dict[str, Any]:
        get = self.client.get
        as_of = (START + dt.timedelta(days=365 * YEARS)).isoformat()
        row: dict[str, Any] = {"store": self.store, "movements": self.size}
        row["dashboard"] = _time(lambda: get(f"/la/dashboard?asOf={as_of}"))
        row["timeline"] = _time(lambda: get("/la/movements"))
        deep = self._deep_cursor()
        row["timeline_deep"] = _time(lambda: get(f"/la/movements?older={deep}"))
        row["timeline_ap"] = _time(lambda: get("/la/movements?ap=1"))
        row["timeline_type"] = _time(lambda: get("/la/movements?type=permanent-exclusion"))
        year = (START + dt.timedelta(days=365 * (YEARS - 1))).isoformat()
        t = time.perf_counter()
        r = get(f"/la/movements.csv?from={year}", buffered=False)
        rows = sum(chunk.count(b"\r\n") for chunk in r.response) - 1
        r.close()
        row["csv_rows"] = rows
        row["csv_rows_per_s"] = rows / (time.perf_counter() - t)
        return row

    def _deep_cursor(self) -> str:
        """The older-cursor a third of the way back through the area's history (by date)."""
        from sendx.exchange.audit.figures import MovementFilter

        day = START + dt.timedelta(days=365 * YEARS * 2 // 3)
        page = self.hub.area_movements(self.recorder, MovementFilter(la=LA, date_to=day), per_page=1)
        assert page.older is not None
        return page.older

    def close(self) -> None:
        self.hub.store.dispose()


def run(url: str | None, sizes: list[int], home: Path) -> list[dict[str, Any]]:
    area = Area(home, url)
    rows = []
    try:
        for size in sizes:
            rate = area.grow(size)
            row = area.measure()
            row["load_per_s"] = rate
            rows.append(row)
            print(f"bench_la: {area.store} {size:,} measured", file=sys.stderr, flush=True)
    finally:
        area.close()
    return rows


PAGES = {
    "dashboard": "overview (/la/dashboard)",
    "timeline": "timeline first page",
    "timeline_deep": "timeline page 2/3 back",
    "timeline_ap": "timeline AP only",
    "timeline_type": "timeline one type",
}


def figures(rows: list[dict[str, Any]]) -> list[Figure]:
    out = []
    for prev, r in zip([None, *rows], rows, strict=False):
        if prev is not None and prev["store"] != r["store"]:
            prev = None
        at = f"{r['store']}, {r['movements']:,} movements"
        for key, name in PAGES.items():
            p50, p95 = r[key]
            goal = met = None
            if key in ("dashboard", "timeline") and r["movements"] >= 1_000_000:
                goal, met = target("<", TARGET_MS, " ms", p95)
            growth = p95 / prev[key][1] if prev else None
            out.append(
                Figure(
                    "la",
                    f"{name} p95 ({at}; p50 {p50:.1f} ms)",
                    round(p95, 2),
                    "ms",
                    baseline=f"p95 at {prev['movements']:,}: {prev[key][1]:.1f} ms" if prev else None,
                    ratio=round(growth, 2) if growth else None,
                    target=goal,
                    met=met,
                )
            )
            if prev and key in ("dashboard", "timeline") and r["movements"] >= 10 * prev["movements"]:
                goal, met = target("<=", TARGET_GROWTH, "x", growth) if r["movements"] >= 1_000_000 else (None, None)
                out.append(
                    Figure(
                        "la",
                        f"{name} growth {prev['movements']:,} → {r['movements']:,} ({r['store']})",
                        round(growth, 2),
                        "x",
                        target=goal,
                        met=met,
                    )
                )
        out.append(Figure("la", f"CSV export, last year ({at})", round(r["csv_rows_per_s"]), "rows/s"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--postgres", default=os.environ.get("SENDX_BENCH_POSTGRES_URL"), help="also on this database")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sizes = sorted(set(args.sizes))
    rows: list[dict[str, Any]] = []
    for url in ([None] if not args.no_sqlite else []) + ([args.postgres] if args.postgres else []):
        with tempfile.TemporaryDirectory(prefix="sendx-bench-la-") as tmp:
            rows += run(url, sizes, Path(tmp))
    if args.json:
        print(json.dumps({"bench": "la", "results": rows, "figures": [f.to_dict() for f in figures(rows)]}))
        return 0
    print(f"{'store':<11}{'movements':>11}" + "".join(f"{k:>22}" for k in PAGES) + f"{'CSV rows/s':>12}{'load/s':>9}")
    print(f"{'':<22}" + "".join(f"{'p50 / p95 ms':>22}" for _ in PAGES))
    for r in rows:
        cells = "".join(f"{r[k][0]:>13.1f} /{r[k][1]:>7.1f}" for k in PAGES)
        print(f"{r['store']:<11}{r['movements']:>11,}{cells}{r['csv_rows_per_s']:>12,.0f}{r['load_per_s']:>9,.0f}")
    for f in figures(rows):
        if f.target:
            print(f"  {f.name}: {f.value} {f.unit} (target {f.target}: {'met' if f.met else 'MISSED'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
