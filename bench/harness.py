"""Timing helpers: best-of-N wall-clock rates, and the ratio to a same-run baseline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    name: str
    ops_per_s: float
    baseline_name: str
    baseline_ops_per_s: float
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ops_per_s / self.baseline_ops_per_s if self.baseline_ops_per_s else float("nan")


def rate(fn: Callable[[], object], *, min_time: float = 0.5, repeats: int = 3) -> float:
    """Operations per second: the best of `repeats` runs of at least `min_time` seconds each."""
    fn()  # warm caches and lazy imports outside the timing
    best = 0.0
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        best = max(best, n / elapsed)
    return best
