"""Latency summaries: percentiles of a list of samples in milliseconds."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


#: Fewer samples than this make p95 and p99 little more than the maximum: not reported.
MIN_SAMPLES_FOR_TAIL = 20


def _tail(samples: Sequence[float], q: float) -> float | None:
    if len(samples) < MIN_SAMPLES_FOR_TAIL:
        return None
    return round(percentile(samples, q), 2)


def summary(samples_ms: Sequence[float]) -> dict[str, float | None]:
    """n, p50, p95, p99, mean, min and max of ``samples_ms``, rounded to 0.01 ms; p95 and
    p99 are None below MIN_SAMPLES_FOR_TAIL samples."""
    return {
        "n": len(samples_ms),
        "p50": round(percentile(samples_ms, 50), 2),
        "p95": _tail(samples_ms, 95),
        "p99": _tail(samples_ms, 99),
        "mean": round(statistics.fmean(samples_ms), 2),
        "min": round(min(samples_ms), 2),
        "max": round(max(samples_ms), 2),
    }
