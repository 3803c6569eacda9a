"""Percentiles of latency samples, and of several runs' distributions merged."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summarize(values_ms: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99, max and mean of the samples (``{}`` for none)."""
    s = sorted(values_ms)
    if not s:
        return {}
    return {
        "p50": percentile(s, 50),
        "p95": percentile(s, 95),
        "p99": percentile(s, 99),
        "max": s[-1],
        "mean": sum(s) / len(s),
    }


def merged_percentile(runs: Sequence[tuple[int, list[tuple[float, float]]]], pct: float) -> float:
    """``pct`` of the mixture of several runs' latency distributions, each given as its request
    count and (percentile, latency) pairs: the smallest latency below which ``pct`` of all the
    requests fall."""
    total = sum(n for n, _ in runs)
    if total == 0:
        return float("nan")
    for x in sorted({lat for _, table in runs for _, lat in table}):
        below = sum(n * max((p for p, lat in table if lat <= x), default=0.0) / 100 for n, table in runs)
        if below >= pct / 100 * total - 1e-9:
            return x
    return max(lat for _, table in runs for _, lat in table)
