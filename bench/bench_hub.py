"""Benchmark: hub transfers per second with concurrent clients against a real gunicorn server.

For each backend (SQLite always; PostgreSQL when ``--postgres URL`` or
``SENDX_TEST_POSTGRES_URL`` is given) this starts ``sendx serve --workers N`` on 127.0.0.1
in a fresh data directory, registers two schools, and has ``--clients`` threads POST signed
movement envelopes (upload → verify signature → validate → encrypt → store → log append)
for ``--seconds``, after a short warm-up of transfers that is not counted.  Baseline in the
same run: ``GET /healthz`` through the same server and clients (the HTTP + worker ceiling).
Afterwards it checks that every transfer acknowledged with 201 is in the store and that the
log holds exactly one leaf per transfer.  The server and the clients are ``bench/hubdriver.py``,
the same driver the hub's crash and load tests use.
Targets (2 cores): ≥ 200 transfers/s on SQLite, ≥ 400/s on PostgreSQL.

    python bench/bench_hub.py [--json] [--seconds S] [--clients 8] [--workers N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.figures import Figure, target
from bench.hubdriver import HubProcess, Upload, reset_postgres, run_load
from sendx.exchange.client.hubclient import make_envelope
from sendx.exchange.hub import build_hub
from sendx.exchange.trust.keys import SigningKey

MOVEMENT = json.loads((ROOT / "schemas" / "movement" / "examples" / "ap-placement-start.json").read_text())
#: SPEC §10 on 2 cores: transfers per second with 8 clients.
TARGET_PER_SECOND = {"sqlite": 200, "postgresql": 400}


def _provision(env: dict[str, str]) -> tuple[Any, SigningKey, str]:
    hub = build_hub({k: v for k, v in env.items() if k.startswith("SENDX_")})
    hub.add_participant("school-145832", "school", "Kingsbridge Academy", urn="145832", laestab="3304001")
    hub.add_participant("ap-103614", "school", "Northfield PRU", urn="103614", laestab="3301100")
    key = SigningKey.generate("school-145832")
    hub.add_key("school-145832", key.public_jwk)
    return hub, key, hub.new_token("school-145832")


def _uploads(key: SigningKey, token: str, n: int) -> list[Upload]:
    out = []
    for _ in range(n):
        doc = {**MOVEMENT, "eventId": f"MV-{uuid.uuid4().hex[:16]}"}
        env = make_envelope(doc, "movement", sender_key=key, recipient="ap-103614")
        out.append(Upload(json.dumps(env).encode(), token))
    return out


def run_backend(name: str, url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"sendx-bench-{name}-"))
    if url:
        reset_postgres(url)
    # Named outright, so a SENDX_DATABASE_URL in the environment never splits the two sides.
    database = url or f"sqlite:///{home / 'hub.sqlite'}"
    hub, key, token = _provision({"SENDX_HOME": str(home), "SENDX_DATABASE_URL": database})
    uploads = _uploads(key, token, int(args.seconds * 1500) + 100)
    warm, uploads = uploads[: 4 * args.workers], uploads[4 * args.workers :]
    with HubProcess(home, database, workers=args.workers) as server:
        assert server.url is not None
        # Warm-up, not counted: every worker imports, connects and compiles its validators.
        run_load(server.url, None, clients=args.clients, seconds=1.0)
        warmed = run_load(server.url, warm, clients=args.clients)
        baseline = run_load(server.url, None, clients=args.clients, seconds=args.seconds)
        transfers = run_load(server.url, uploads, clients=args.clients, seconds=args.seconds)

    from sqlalchemy import select

    from sendx.exchange.store.database import Transfer

    with hub.store.read() as s:
        stored = set(s.scalars(select(Transfer.id)))
    counts = hub.counts()
    hub.store.dispose()
    created = [a.body["id"] for a in warmed.answers + transfers.answers if a.status == 201]
    failures = [a.status for a in transfers.answers if a.status != 201]
    missing = [t for t in created if t not in stored]
    return {
        "backend": name,
        "workers": args.workers,
        "clients": args.clients,
        "healthz_per_second": round(baseline.per_second, 1),
        "transfers_per_second": round(transfers.per_second, 1),
        "p50_ms": round(transfers.p50_ms or 0, 2),
        "p99_ms": round(transfers.p99_ms or 0, 2),
        "ratio_to_healthz": round(transfers.per_second / baseline.per_second, 3) if baseline.per_second else None,
        "acknowledged": len(created),
        "failures": len(failures) + transfers.lost_responses,
        "failure_kinds": sorted({str(f) for f in failures} | set(transfers.lost_kinds)),
        "acknowledged_but_missing": len(missing),
        "log_leaves_match": counts["log_leaves"] == counts["transfers"] == len(stored) == len(set(created)),
    }


def figures(results: list[dict[str, Any]]) -> list[Figure]:
    out = []
    for r in results:
        at = f"{r['backend']}, {r['clients']} clients, {r['workers']} workers"
        goal, met = target(">=", TARGET_PER_SECOND[r["backend"]], "/s", r["transfers_per_second"])
        no_loss, none_lost = target("<=", 0, "", r["acknowledged_but_missing"])
        out += [
            Figure(
                "hub",
                f"transfers per second ({at})",
                r["transfers_per_second"],
                "/s",
                baseline=f"GET /healthz {r['healthz_per_second']:.0f}/s",
                ratio=r["ratio_to_healthz"],
                target=goal,
                met=met,
            ),
            Figure("hub", f"transfer p50 latency ({at})", r["p50_ms"], "ms"),
            Figure("hub", f"transfer p99 latency ({at})", r["p99_ms"], "ms"),
            Figure(
                "hub",
                f"acknowledged transfers lost ({at})",
                r["acknowledged_but_missing"],
                "",
                target=no_loss,
                met=none_lost and r["log_leaves_match"],
            ),
        ]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", action="store_true")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    p.add_argument("--postgres", default=os.environ.get("SENDX_TEST_POSTGRES_URL"))
    p.add_argument("--no-sqlite", action="store_true")
    args = p.parse_args()
    results = []
    if not args.no_sqlite:
        results.append(run_backend("sqlite", None, args))
    if args.postgres:
        results.append(run_backend("postgresql", args.postgres, args))
    if args.json:
        payload = {"bench": "hub", "cpus": os.cpu_count(), "results": results}
        print(json.dumps({**payload, "figures": [f.to_dict() for f in figures(results)]}, indent=2))
        return
    print(f"hub transfers, {args.clients} clients, {args.workers} gunicorn workers, {os.cpu_count()} CPUs")
    print(
        f"{'backend':<11} {'healthz/s':>10} {'transfers/s':>12} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6} "
        f"{'acked':>6} {'fail':>5} {'lost':>5} log-ok"
    )
    for r in results:
        print(
            f"{r['backend']:<11} {r['healthz_per_second']:>10} {r['transfers_per_second']:>12} {r['p50_ms']:>8} "
            f"{r['p99_ms']:>8} {r['ratio_to_healthz']:>6} {r['acknowledged']:>6} {r['failures']:>5} "
            f"{r['acknowledged_but_missing']:>5} {r['log_leaves_match']}"
        )


if __name__ == "__main__":
    main()
