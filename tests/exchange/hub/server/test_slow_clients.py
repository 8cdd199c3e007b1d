"""Slow clients cannot stop the hub: the real ``sendx serve`` against 50 of them, one and three workers.

Half the slow clients drip the bytes of a request head, half send a whole head and then drip
the body (an authenticated upload, and the unauthenticated sign-in form), one byte per socket
every 0.2 s.  Meanwhile ``/healthz`` is asked again and again on fresh connections, each with
one second to answer: with gunicorn's former sync workers three such clients stalled it for
about 55 s.  The head drippers are cut off once ``HEADER_SECONDS`` have passed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from sendx.exchange.hub.server import HEADER_SECONDS

SLOW_CLIENTS = 50
DRIP_EVERY = 0.2
#: How long /healthz is watched: past the head deadline, so the cut-off is seen too.
WATCH_SECONDS = HEADER_SECONDS + 4


def _head(path: str, host: str, extra: str = "") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{extra}".encode()


@contextmanager
def _slow_clients(url: str, token: str) -> Iterator[list[dict[str, Any]]]:
    """50 connections kept busy by one dripping thread; each records whether the server closed it."""
    parts = urlsplit(url)
    host = parts.netloc
    clients: list[dict[str, Any]] = []
    for n in range(SLOW_CLIENTS):
        sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
        if n % 2 == 0:  # a head that never ends
            first, drip = _head("/v1/transfers", host, "X-Slow: "), b"a"
        elif n % 4 == 1:  # an authenticated upload whose body drips
            first = _head(
                "/v1/transfers",
                host,
                f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
            )
            drip = b" "
        else:  # the sign-in form, no credentials needed to start it
            form = "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
            first, drip = _head("/la/sign-in", host, form), b"a"
        sock.sendall(first)
        clients.append({"sock": sock, "drip": drip, "head": n % 2 == 0, "closed_at": None})
    stop = threading.Event()
    started = time.monotonic()

    def drip_all() -> None:
        while not stop.wait(DRIP_EVERY):
            for c in clients:
                if c["closed_at"] is None:
                    try:
                        c["sock"].sendall(c["drip"])
                    except OSError:
                        c["closed_at"] = time.monotonic() - started

    dripper = threading.Thread(target=drip_all, name="slow-clients", daemon=True)
    dripper.start()
    try:
        yield clients
    finally:
        stop.set()
        dripper.join(timeout=5)
        for c in clients:
            c["sock"].close()


def _watch_healthz(url: str, seconds: float) -> tuple[int, list[str]]:
    """Ask /healthz on a fresh connection every 0.1 s for ``seconds``; every failure to answer in 1 s."""
    answered, failures = 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            r = requests.get(url + "/healthz", timeout=1.0, headers={"Connection": "close"})
            if r.status_code == 200:
                answered += 1
            else:
                failures.append(f"status {r.status_code}")
        except requests.RequestException as exc:
            failures.append(type(exc).__name__)
        time.sleep(0.1)
    return answered, failures


@pytest.mark.parametrize("workers", [1, 3])
def test_fifty_slow_clients_never_hold_healthz_past_a_second(served, world, workers):
    server = served(workers=workers)
    with _slow_clients(server.url, world["school-145832"].token) as clients:
        answered, failures = _watch_healthz(server.url, WATCH_SECONDS)
        heads = [c for c in clients if c["head"]]
        cut_off = [c for c in heads if c["closed_at"] is not None]
        bodies_open = [c for c in clients if not c["head"] and c["closed_at"] is None]
    assert not failures, f"/healthz missed its second {len(failures)} times: {failures[:5]}"
    assert answered >= WATCH_SECONDS * 3  # it was asked all along, not once
    # The head drippers were disconnected (after the head deadline), the body drippers still wait.
    assert len(cut_off) == len(heads), f"{len(heads) - len(cut_off)} head drippers still connected"
    assert all(c["closed_at"] >= HEADER_SECONDS - 1 for c in cut_off)
    assert len(bodies_open) == SLOW_CLIENTS // 2
    # And the hub still does real work while the body drippers wait.
    school = world["school-145832"]
    r = requests.get(server.url + "/v1/inbox", headers=school.headers, timeout=5)
    assert r.status_code == 200
