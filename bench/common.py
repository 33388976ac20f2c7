"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median_of(fn: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None):
    """Median and all samples (seconds) of ``repeat`` calls, ``setup`` untimed before each."""
    samples = []
    for _ in range(repeat):
        if setup:
            setup()
        samples.append(timed(fn))
    return statistics.median(samples), samples
