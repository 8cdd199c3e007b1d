"""A real hub under load: ``sendx serve --workers N`` as its own process group, and concurrent clients.

Shared by ``bench/bench_hub.py`` (throughput and latency figures) and the hub's process-level
tests under ``tests/exchange/hub/server/`` (crash safety, one log history across gunicorn
workers, nothing lost or duplicated under load), so the figures and the correctness checks
come from one driver.  Nothing here asserts a time; callers decide what the figures mean.

- ``HubProcess`` runs the hub on a free port with its output in ``<home>/serve.log``, waits
  for ``/healthz``, stops it gracefully (SIGTERM), or kills the whole process group at once
  (SIGKILL to the gunicorn master and every worker, as an OOM killer or a power cut would).
- ``run_load`` has N client threads POST request bodies.  With ``retry_lost`` a request whose
  response never arrived (refused, reset or timed out while the hub was down) is sent again,
  byte for byte — the same idempotency key — until the hub answers, as a careful client would.
- ``inbox_items`` reads a participant's whole inbox back through the API.  (The log is read
  and verified with ``sendx.exchange.log.audit``, the library behind ``sendx log verify``.)
"""

from __future__ import annotations

import contextlib
import http.client as http_client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from sendx.exchange.client.hubclient import HubClient

__all__ = [
    "Answer",
    "HubProcess",
    "HubStartError",
    "LoadResult",
    "Upload",
    "free_port",
    "inbox_items",
    "reset_postgres",
    "run_load",
]

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reset_postgres(url: str) -> None:
    """An empty ``public`` schema, so the hub's migrations run from scratch."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


class HubStartError(RuntimeError):
    """``sendx serve`` exited or never answered ``/healthz``; the message ends with its log."""


_PROC = Path("/proc/self/stat").exists()


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in a process group: from /proc on Linux, else just whether any is left."""
    if not _PROC:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces or parentheses, so split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


class HubProcess:
    """``sendx serve --workers N`` on 127.0.0.1 for one data directory and database.

    Each ``start`` picks a new free port (``url`` follows it); the process runs in its own
    session, so ``kill`` and ``stop`` reach the master and every worker and nothing else.
    """

    def __init__(
        self, home: Path, database_url: str | None = None, *, workers: int = 2, env: Mapping[str, str] | None = None
    ) -> None:
        self.home = Path(home)
        self.workers = workers
        self.env = {**os.environ, **(env or {}), "SENDX_HOME": str(self.home)}
        if database_url:
            self.env["SENDX_DATABASE_URL"] = database_url
        else:
            self.env.pop("SENDX_DATABASE_URL", None)
        self.log_path = self.home / "serve.log"
        self.url: str | None = None
        self.kills = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def processes(self) -> list[int]:
        """The master and its workers (the server's process group)."""
        return _group_members(self._proc.pid) if self._proc is not None else []

    def start(self, timeout: float = 90.0) -> str:
        """Start the hub and wait until it answers; return its base URL."""
        if self._proc is not None:
            raise RuntimeError("this hub process is already started")
        self.home.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        for _ in range(3):  # another process can take the free port before gunicorn binds it
            port = free_port()
            with open(self.log_path, "ab") as log:
                offset = log.tell()
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "exchange", "serve", "--port", str(port), "--workers", str(self.workers)],
                    cwd=ROOT,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            url = f"http://127.0.0.1:{port}"
            if self._wait_ready(url, offset, deadline):
                # One worker answering is not the whole server: let the master fork the rest, so
                # a kill always meets the master and all N workers.
                expected = self.workers + 1
                while _PROC and len(self.processes()) < expected and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.url = url
                return url
            if self._proc.poll() is None:  # alive but silent until the deadline
                self._signal_group(signal.SIGKILL)
                self._reap()
                raise HubStartError(f"the hub did not answer /healthz within {timeout:.0f} s\n{self.log_tail()}")
            self._reap()
        raise HubStartError(f"the hub exited on start three times\n{self.log_tail()}")

    def _wait_ready(self, url: str, offset: int, deadline: float) -> bool:
        assert self._proc is not None
        # The port was free a moment ago; only gunicorn's own line says this master holds it now
        # (and not a server someone else started on it meanwhile).
        mine = f"Listening at: {url} ({self._proc.pid})".encode()
        with requests.Session() as http:
            while time.monotonic() < deadline and self._proc.poll() is None:
                if mine not in self._log_since(offset):
                    time.sleep(0.05)
                    continue
                try:
                    if http.get(url + "/healthz", timeout=2).status_code == 200:
                        return True
                except requests.RequestException:
                    pass
                time.sleep(0.05)
        return False

    def kill(self) -> int:
        """SIGKILL the master and every worker at once; return how many processes were killed."""
        if not self.running:
            raise RuntimeError("the hub is not running")
        victims = len(self.processes())
        self._signal_group(signal.SIGKILL)
        self._reap()
        self.kills += 1
        return victims

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful shutdown (SIGTERM to the group); SIGKILL whatever is left after ``timeout``."""
        if self._proc is None:
            return
        self._signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout)
        if _group_members(self._proc.pid):  # workers the master left behind
            self._signal_group(signal.SIGKILL)
        self._reap()

    def close(self) -> None:
        """Make sure nothing is left running, fast: SIGKILL (what was acknowledged is already durable)."""
        if self._proc is not None:
            self._signal_group(signal.SIGKILL)
            self._reap()

    def _signal_group(self, sig: int) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)  # our own server's process group only

    def _reap(self, timeout: float = 30.0) -> None:
        """Wait for the master, then until no process of the group is alive, so a restart never races one."""
        assert self._proc is not None
        self._proc.wait(timeout)
        deadline = time.monotonic() + timeout
        while _group_members(self._proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        self._proc = None
        self.url = None

    def _log_since(self, offset: int) -> bytes:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                return log.read()
        except OSError:
            return b""

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def __enter__(self) -> HubProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- load


@dataclass(frozen=True)
class Upload:
    """One request body to POST with a participant's token."""

    body: bytes
    token: str
    path: str = "/v1/transfers"


@dataclass(frozen=True)
class Answer:
    """The hub's answer to one upload (to its last send, when a lost response made it retry)."""

    index: int  # position in the uploads given to ``run_load``
    status: int
    body: Any  # the JSON answer (None when not JSON)
    replayed: bool  # ``Idempotent-Replayed: true``: the hub returned an earlier result
    attempts: int  # 1 + sends whose response never arrived
    seconds: float  # latency of the answered send


@dataclass
class LoadResult:
    """Every answer of a run (in upload order), how long it took, and the sends that got none."""

    answers: list[Answer]
    elapsed: float
    lost_responses: int = 0  # sends that got no HTTP answer
    lost_kinds: Counter[str] = field(default_factory=Counter)
    unanswered: list[int] = field(default_factory=list)  # uploads given up on

    @property
    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)

    @property
    def per_second(self) -> float:
        return len(self.answers) / self.elapsed if self.elapsed else 0.0

    def _quantile_ms(self, q: float) -> float | None:
        lat = sorted(a.seconds for a in self.answers)
        if not lat:
            return None
        if q == 0.5:
            return 1000 * statistics.median(lat)
        return 1000 * lat[min(len(lat) - 1, int(q * len(lat)))]

    @property
    def p50_ms(self) -> float | None:
        return self._quantile_ms(0.5)

    @property
    def p99_ms(self) -> float | None:
        return self._quantile_ms(0.99)

    def summary(self) -> str:
        p50, p99 = self.p50_ms or 0.0, self.p99_ms or 0.0
        return (
            f"{len(self.answers)} answered in {self.elapsed:.1f} s = {self.per_second:.1f}/s, p50 {p50:.1f} ms, "
            f"p99 {p99:.1f} ms, statuses {dict(sorted(self.statuses.items()))}, lost responses {self.lost_responses}"
        )


class _Http:
    """One client's HTTP/1.1 connection (``http.client``: a few times less client CPU per request
    than ``requests``, so on a small machine the load generator takes less from the hub it
    measures).  It reconnects whenever the server closed the connection (gunicorn's sync
    workers close after every response) or the URL changed (a restarted hub, a new port).
    """

    def __init__(self) -> None:
        self._conn: http_client.HTTPConnection | None = None
        self._netloc = ""

    def send(
        self, url: str, method: str, path: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> tuple[int, http_client.HTTPMessage, bytes]:
        netloc = urlsplit(url).netloc
        if self._conn is None or netloc != self._netloc:
            self.close()
            self._conn, self._netloc = http_client.HTTPConnection(netloc, timeout=timeout), netloc
        self._conn.request(method, path, body=body, headers=dict(headers))
        response = self._conn.getresponse()
        raw = response.read()
        return response.status, response.headers, raw

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def run_load(
    base_url: str | Callable[[], str | None],
    uploads: Sequence[Upload] | None,
    *,
    clients: int = 8,
    seconds: float | None = None,
    retry_lost: bool = False,
    stop: threading.Event | None = None,
    on_answer: Callable[[Answer], None] | None = None,
    give_up_after: float = 180.0,
    timeout: float = 60.0,
) -> LoadResult:
    """Send ``uploads`` from ``clients`` threads until all are answered, ``seconds`` pass, or ``stop`` is set.

    ``uploads=None`` sends ``GET /healthz`` for ``seconds`` instead (the HTTP + worker ceiling).
    ``base_url`` may be a callable giving the hub's current URL (None while it is down).  A send
    in flight when the run ends, or when ``stop`` is set, still goes on until it is answered.
    """
    current = base_url if callable(base_url) else (lambda: base_url)
    if uploads is None and seconds is None:
        raise ValueError("a healthz baseline needs seconds")
    lock = threading.Lock()
    result = LoadResult(answers=[], elapsed=0.0)
    next_index = iter(range(len(uploads))) if uploads is not None else None
    end = time.perf_counter() + seconds if seconds is not None else None

    def take() -> int | None:
        if (stop is not None and stop.is_set()) or (end is not None and time.perf_counter() >= end):
            return None
        if next_index is None:
            return -1  # healthz
        with lock:
            return next(next_index, None)

    def send_until_answered(http: _Http, index: int) -> None:
        attempts, started = 0, time.monotonic()
        while True:
            url = current()
            if url is None:  # the hub is down: wait for it, as a client retrying with backoff would
                if time.monotonic() - started > give_up_after:
                    break
                time.sleep(0.02)
                continue
            attempts += 1
            t0 = time.perf_counter()
            try:
                if uploads is None:
                    status, headers, raw = http.send(url, "GET", "/healthz", None, {}, timeout)
                else:
                    up = uploads[index]
                    auth = {"Authorization": f"Bearer {up.token}", "Content-Type": "application/json"}
                    status, headers, raw = http.send(url, "POST", up.path, up.body, auth, timeout)
            except (OSError, http_client.HTTPException) as exc:
                http.close()
                with lock:
                    result.lost_responses += 1
                    result.lost_kinds[type(exc).__name__] += 1
                if not retry_lost or time.monotonic() - started > give_up_after:
                    break
                time.sleep(0.02)
                continue
            dt = time.perf_counter() - t0
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            answer = Answer(index, status, body, headers.get("Idempotent-Replayed") == "true", attempts, dt)
            with lock:
                result.answers.append(answer)
            if on_answer is not None:
                on_answer(answer)
            return
        with lock:
            result.unanswered.append(index)

    crashed: list[BaseException] = []

    def client() -> None:
        try:
            http = _Http()
            try:
                while (index := take()) is not None:
                    send_until_answered(http, index)
            finally:
                http.close()
        except BaseException as exc:  # a failing on_answer, say: re-raised below, never lost in a thread
            crashed.append(exc)

    t_start = time.perf_counter()
    threads = [threading.Thread(target=client, name=f"load-client-{n}") for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - t_start
    if crashed:
        raise crashed[0]
    result.answers.sort(key=lambda a: a.index)
    return result


# --------------------------------------------------------------------------- reading back


def inbox_items(client: HubClient) -> list[dict[str, Any]]:
    """Every transfer in the caller's inbox, following the paging cursor to the end."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.inbox(limit=200, cursor=cursor)
        items += page["items"]
        cursor = page["next"]
        if not cursor:
            return items
