"""Benchmark: hub transfers per second with concurrent clients against a real gunicorn server.

For each backend (SQLite always; PostgreSQL when ``--postgres URL`` or
``SENDX_TEST_POSTGRES_URL`` is given) this starts ``sendx serve --workers N`` on 127.0.0.1
in a fresh data directory, registers two schools, and has ``--clients`` threads POST signed
movement envelopes (upload → verify signature → validate → encrypt → store → log append)
for ``--seconds``.  Baseline in the same run: ``GET /healthz`` through the same server and
clients (the HTTP + worker ceiling).  Afterwards it checks that every transfer acknowledged
with 201 is in the store and that the log holds exactly one leaf per transfer.
Targets (2 cores): ≥ 200 transfers/s on SQLite, ≥ 400/s on PostgreSQL.

    python bench/bench_hub.py [--json] [--seconds S] [--clients 8] [--workers N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from exchange.hub import build_hub  # noqa: E402
from exchange.keys import SigningKey  # noqa: E402
from exchange.signing import sign_envelope  # noqa: E402

MOVEMENT = json.loads((ROOT / "schemas" / "movement" / "examples" / "ap-placement-start.json").read_text())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def _provision(env: dict[str, str]) -> tuple[Any, SigningKey, str]:
    hub = build_hub({k: v for k, v in env.items() if k.startswith("SENDX_")})
    hub.add_participant("school-145832", "school", "Kingsbridge Academy", urn="145832", laestab="3304001")
    hub.add_participant("ap-103614", "school", "Northfield PRU", urn="103614", laestab="3301100")
    key = SigningKey.generate("school-145832")
    hub.add_key("school-145832", key.public_jwk)
    return hub, key, hub.new_token("school-145832")


def _envelopes(key: SigningKey, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        doc = {**MOVEMENT, "eventId": f"MV-{uuid.uuid4().hex[:16]}"}
        env = {
            "$schema": "https://schemas.sendx.org.uk/envelope/v1",
            "envelopeId": f"env-{uuid.uuid4().hex[:16]}",
            "kind": "movement",
            "sender": "school-145832",
            "recipient": "ap-103614",
            "created": "2026-11-01T09:00:00Z",
            "idempotencyKey": f"idem-{uuid.uuid4().hex}",
            "document": doc,
        }
        out.append(json.dumps(sign_envelope(env, key)).encode())
    return out


def _load(base: str, token: str, clients: int, seconds: float, bodies: list[bytes] | None) -> dict[str, Any]:
    """Run ``clients`` threads for ``seconds``; POST bodies if given, else GET /healthz."""
    lock = threading.Lock()
    latencies: list[float] = []
    created: list[str] = []
    failures: list[str] = []
    it = iter(bodies or [])
    stop = time.perf_counter() + seconds

    def worker() -> None:
        http = requests.Session()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while time.perf_counter() < stop:
            if bodies is not None:
                with lock:
                    body = next(it, None)
                if body is None:
                    return
            t0 = time.perf_counter()
            try:
                if bodies is None:
                    r = http.get(base + "/healthz", timeout=30)
                else:
                    r = http.post(base + "/v1/transfers", data=body, headers=headers, timeout=30)
            except requests.RequestException as exc:
                with lock:
                    failures.append(type(exc).__name__)
                continue
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                if bodies is None and r.status_code == 200:
                    pass
                elif bodies is not None and r.status_code == 201:
                    created.append(r.json()["id"])
                else:
                    failures.append(str(r.status_code))

    t_start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t_start
    lat = sorted(latencies)
    return {
        "requests": len(lat),
        "per_second": len(lat) / elapsed if elapsed else 0.0,
        "p50_ms": 1000 * statistics.median(lat) if lat else None,
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None,
        "failures": len(failures),
        "failure_kinds": sorted(set(failures)),
        "created": created,
    }


def run_backend(name: str, url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix=f"sendx-bench-{name}-")
    env = {**os.environ, "SENDX_HOME": home}
    if url:
        _reset_postgres(url)
        env["SENDX_DATABASE_URL"] = url
    else:
        env.pop("SENDX_DATABASE_URL", None)
    hub, key, token = _provision(env)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "exchange", "serve", "--port", str(port), "--workers", str(args.workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise SystemExit(
                f"{name}: the hub did not start: {server.stderr.read().decode()[-2000:] if server.stderr else ''}"
            )
        bodies = _envelopes(key, int(args.seconds * 1500) + 100)
        _load(base, token, args.clients, 1.0, None)  # warm-up: workers import and connect
        baseline = _load(base, token, args.clients, args.seconds, None)
        transfers = _load(base, token, args.clients, args.seconds, bodies)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # our own server's process group only
        server.wait(timeout=30)

    from sqlalchemy import select

    from exchange.store import Transfer

    with hub.store.read() as s:
        stored = set(s.scalars(select(Transfer.id)))
    counts = hub.counts()
    hub.store.dispose()
    missing = [t for t in transfers["created"] if t not in stored]
    return {
        "backend": name,
        "workers": args.workers,
        "clients": args.clients,
        "healthz_per_second": round(baseline["per_second"], 1),
        "transfers_per_second": round(transfers["per_second"], 1),
        "p50_ms": round(transfers["p50_ms"] or 0, 2),
        "p99_ms": round(transfers["p99_ms"] or 0, 2),
        "ratio_to_healthz": round(transfers["per_second"] / baseline["per_second"], 3)
        if baseline["per_second"]
        else None,
        "acknowledged": len(transfers["created"]),
        "failures": transfers["failures"],
        "failure_kinds": transfers["failure_kinds"],
        "acknowledged_but_missing": len(missing),
        "log_leaves_match": counts["log_leaves"] == counts["transfers"] == len(stored),
    }


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
        print(json.dumps({"bench": "hub", "cpus": os.cpu_count(), "results": results}, indent=2))
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
