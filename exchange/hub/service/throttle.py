"""Failed API tokens, throttled per client address: a token bucket per address, in each worker.

Each address may present ``BURST`` tokens the hub does not know, then one more every
``REFILL_SECONDS``; past that, every request from it that presents a token is refused (429 with
``Retry-After``) before the token is even looked up, so guessing is slowed to a trickle whether
or not a guess would be right.  The key is the client's address, never the participant a token
might belong to: a third party cannot lock a participant out, only itself and whoever shares its
address.  Behind reverse proxies that address is what ``SENDX_PROXY_HOPS`` trusted proxies say
(``X-Forwarded-For``, via werkzeug's ``ProxyFix``); with no proxies configured a client's own
``X-Forwarded-For`` is ignored.  IPv6 clients are keyed by their /64, which one host can fill.

The buckets live in each worker process (``sendx serve --workers N`` allows at most N times the
burst), at most ``MAX_ADDRESSES`` of them, the least recently refused dropped first.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict

from sendx.exchange.hub.errors import TooManyAttemptsError

__all__ = ["BURST", "MAX_ADDRESSES", "REFILL_SECONDS", "TokenThrottle"]

BURST = 20
REFILL_SECONDS = 3.0
MAX_ADDRESSES = 10_000


def client_key(address: str | None) -> str:
    """What the throttle counts by: the IPv4 address, or the IPv6 /64 network."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return str(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class TokenThrottle:
    """Token buckets of failed-token allowance, one per client address."""

    def __init__(self) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (allowance, when)
        self._lock = threading.Lock()

    def _allowance(self, key: str, now: float) -> float:
        allowance, when = self._buckets.get(key, (BURST, now))
        return min(BURST, allowance + (now - when) / REFILL_SECONDS)

    def check(self, address: str | None) -> None:
        """Refuse the request if this address has no allowance left (before its token is looked up)."""
        key, now = client_key(address), time.monotonic()
        with self._lock:
            left = self._allowance(key, now)
        if left < 1:
            wait = math.ceil((1 - left) * REFILL_SECONDS)
            raise TooManyAttemptsError(
                "too many requests with unknown API tokens from your address; slow down",
                retry_after=wait,
                hint=f"retry after {wait} seconds with a valid token",
            )

    def failed(self, address: str | None) -> None:
        """Count one unknown token against the address."""
        key, now = client_key(address), time.monotonic()
        with self._lock:
            self._buckets[key] = (self._allowance(key, now) - 1, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > MAX_ADDRESSES:
                self._buckets.popitem(last=False)
