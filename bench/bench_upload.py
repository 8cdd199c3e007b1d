"""Benchmark: 100,000 pupils' CTFs uploaded to a real hub, and how another client fares meanwhile.

Schools send CTFs holding ``--pupils`` invented pupils in all (default 100,000: a large
authority's leavers) to another school through ``sendx serve --workers N``
(``bench/hubdriver.py``): authenticate, verify, validate (XSD and rules, streamed), encrypt,
store, and log a movement per pupil with its area facts, one write transaction per file.
Files hold ``--per-file`` pupils (default 10,000, about 46 MB; the hub runs with its body and
JSON limits, ``SENDX_MAX_BODY_BYTES`` and ``SENDX_MAX_JSON_BYTES``, raised to fit).  One file of
all 100,000 (about 460 MB) takes longer to validate than gunicorn's 60 s worker timeout on a
2-core machine, so the worker is killed and the upload answered 500: ``--per-file 100000``
shows it.  While the files go up, one after another, other
clients keep asking: an LA reading its first page of movements (``GET /v1/movements``) and
another school recording one movement (``POST /v1/movements``), each timed against the
same requests on the idle hub just before (the in-run baseline).  Reads run beside an
upload; a write waits for an upload's write transaction, which is what this shows.

    python bench/bench_upload.py [--pupils 100000] [--per-file 10000] [--workers 3] [--postgres URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests

from bench.figures import Figure
from bench.hubdriver import HubProcess, reset_postgres
from sendx.exchange.client.hubclient import make_envelope
from sendx.exchange.hub import build_hub
from sendx.exchange.synth.ctf import synthetic_ctf
from sendx.exchange.trust.keys import SigningKey

MOVEMENT = json.loads((ROOT / "schemas" / "movement" / "examples" / "ap-placement-start.json").read_text())


def _provision(env: dict[str, str], files: int) -> dict[str, Any]:
    """The sending schools (one per file: a CTF comes from its source school), a receiving
    school, a school recording movements meanwhile, the LA; keys and tokens."""
    hub = build_hub(env)
    senders = []
    for k in range(files):
        pid, estab = f"school-{150000 + k}", f"{3304001 + k}"
        hub.add_participant(pid, "school", f"Sending School {k}", urn=str(150000 + k), laestab=estab)
        key = SigningKey.generate(pid)
        hub.add_key(pid, key.public_jwk)
        senders.append((key, hub.new_token(pid), estab, str(150000 + k)))
    hub.add_participant("school-145833", "school", "Riverside School", urn="145833", laestab="3309002")
    hub.add_participant("la-330", "la", "Northfield Council", la="330")
    out = {"senders": senders, "other": hub.new_token("school-145833"), "la": hub.new_token("la-330")}
    hub.store.dispose()
    return out


def _ms(samples: list[float]) -> dict[str, float | int]:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(ordered) * 1e3, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1e3, 1),
        "max_ms": round(ordered[-1] * 1e3, 1),
    }


class _Other(threading.Thread):
    """Another participant's requests, one after another, timed, until stopped."""

    def __init__(self, url: str, token: str, write: bool) -> None:
        super().__init__(daemon=True)
        self.url, self.write = url, write
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.samples: list[float] = []
        self.failures = 0
        self.stop = threading.Event()

    def once(self) -> None:
        try:
            self._once()
        except requests.RequestException:  # the hub dropped the connection: a failure, not a time
            self.failures += 1

    def _once(self) -> None:
        t = time.perf_counter()
        if self.write:
            doc = {
                **MOVEMENT,
                "eventId": f"MV-{uuid.uuid4().hex[:16]}",
                "from": {**MOVEMENT["from"], "urn": "145833", "la": "330"},
                "recordedBy": {"participant": "school-145833", "role": "school"},
            }
            r = self.http.post(self.url + "/v1/movements", json=doc, timeout=600)
            ok = r.status_code == 201
        else:
            r = self.http.get(self.url + "/v1/movements?limit=50", timeout=600)
            ok = r.status_code == 200
        self.samples.append(time.perf_counter() - t)
        self.failures += not ok

    def run(self) -> None:
        while not self.stop.is_set():
            self.once()
            time.sleep(0.05)


def _idle(url: str, token: str, write: bool, n: int = 30) -> dict[str, float | int]:
    other = _Other(url, token, write)
    for _ in range(n):
        other.once()
    return _ms(other.samples)


def run_backend(name: str, url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix=f"sendx-bench-upload-{name}-"))
    if url:
        reset_postgres(url)
    database = url or f"sqlite:///{home / 'hub.sqlite'}"
    sizes = [min(args.per_file, args.pupils - i) for i in range(0, args.pupils, args.per_file)]
    env = {"SENDX_HOME": str(home), "SENDX_DATABASE_URL": database}
    who = _provision(env, len(sizes))
    bodies = []
    for (key, token, estab, urn), n in zip(who["senders"], sizes, strict=True):
        ctf = synthetic_ctf(n, seed=3, source_laestab=estab, dest_laestab="3309002", source_urn=urn)
        envelope = make_envelope(ctf.decode("utf-8"), "ctf", sender_key=key, recipient="school-145833")
        bodies.append((json.dumps(envelope).encode("utf-8"), token))
    limit = str(max(len(b) for b, _ in bodies) + 2**20)
    env |= {"SENDX_MAX_BODY_BYTES": limit, "SENDX_MAX_JSON_BYTES": limit}
    with HubProcess(home, database, workers=args.workers, env=env) as server:
        assert server.url is not None
        idle = {"read": _idle(server.url, who["la"], False), "write": _idle(server.url, who["other"], True)}
        others = [_Other(server.url, who["la"], False), _Other(server.url, who["other"], True)]
        for o in others:
            o.start()
        each, logged = [], 0
        t = time.perf_counter()
        for body, token in bodies:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            start = time.perf_counter()
            r = requests.post(server.url + "/v1/transfers", data=body, headers=headers, timeout=3600)
            each.append(time.perf_counter() - start)
            if r.status_code != 201:
                raise RuntimeError(f"upload answered {r.status_code}: {r.text[:300]}")
            logged += r.json()["logEntries"]
        upload_s = time.perf_counter() - t
        for o in others:
            o.stop.set()
        for o in others:
            o.join()
    return {
        "backend": name,
        "pupils": args.pupils,
        "files": len(bodies),
        "body_mb": round(sum(len(b) for b, _ in bodies) / 2**20, 1),
        "upload_s": round(upload_s, 2),
        "per_file": _ms(each),
        "logged": logged,
        "idle": idle,
        "during": {"read": _ms(others[0].samples), "write": _ms(others[1].samples)},
        "failures": sum(o.failures for o in others),
    }


def figures(results: list[dict[str, Any]]) -> list[Figure]:
    out = []
    for r in results:
        at = f"{r['backend']}, {r['pupils']:,} pupils in {r['files']} files, {r['body_mb']} MB"
        out.append(Figure("upload", f"CTF uploads, one after another ({at})", r["upload_s"], "s"))
        for kind, what in (("read", "LA reads a page of movements"), ("write", "a school records a movement")):
            during, idle = r["during"][kind], r["idle"][kind]
            if during.get("n"):
                out.append(
                    Figure(
                        "upload",
                        f"{what} during the upload, p95 ({r['backend']}; max {during['max_ms']} ms)",
                        during["p95_ms"],
                        "ms",
                        baseline=f"idle p95 {idle['p95_ms']} ms",
                        ratio=round(during["p95_ms"] / idle["p95_ms"], 1) if idle.get("p95_ms") else None,
                    )
                )
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pupils", type=int, default=100_000)
    p.add_argument("--per-file", type=int, default=10_000, help="pupils per CTF")
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--postgres", default=os.environ.get("SENDX_BENCH_POSTGRES_URL"))
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    backends = ([("sqlite", None)] if not args.no_sqlite else []) + (
        [("postgresql", args.postgres)] if args.postgres else []
    )
    results = [run_backend(name, url, args) for name, url in backends]
    if args.json:
        print(json.dumps({"bench": "upload", "results": results, "figures": [f.to_dict() for f in figures(results)]}))
        return 0
    for r in results:
        print(
            f"{r['backend']}: {r['pupils']:,} pupils in {r['files']} CTFs ({r['body_mb']} MB) uploaded in "
            f"{r['upload_s']} s (per file {r['per_file']}); {r['logged']:,} movements logged"
        )
        for kind in ("read", "write"):
            print(f"  {kind:<5} idle {r['idle'][kind]}  during {r['during'][kind]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
