"""Timing for the benchmarks: contenders measured in interleaved rounds, best round kept.

A figure here is always a ratio against a baseline measured in the same run.  Timing the
contenders one after the other lets a burst of load from elsewhere on the machine land on
one of them only; alternating them round by round, and keeping each one's best round,
exposes all of them to the same conditions.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping

__all__ = ["interleaved", "median_call"]


def _calls_for(fn: Callable[[], object], seconds: float) -> int:
    """How many calls of ``fn`` take about ``seconds`` (at least one)."""
    fn()  # warm-up: caches, lazy imports, compiled validators
    n, start = 1, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds / 4:
        fn()
        n += 1
    return max(1, round(n * seconds / elapsed)) if elapsed else n


def interleaved(
    contenders: Mapping[str, Callable[[], object]], rounds: int = 7, seconds: float = 0.2
) -> dict[str, float]:
    """Best mean seconds per call of each contender, over ``rounds`` alternating rounds of ~``seconds`` each."""
    counts = {name: _calls_for(fn, seconds) for name, fn in contenders.items()}
    best = dict.fromkeys(contenders, float("inf"))
    order = list(contenders)
    for r in range(rounds):
        for name in order if r % 2 == 0 else reversed(order):
            fn, n = contenders[name], counts[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / n)
    return best


def median_call(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds of one call, after a warm-up call: for calls too slow to batch."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
