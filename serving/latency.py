"""The latency histogram's scale and the percentiles read from it (no Django).

Calls are counted, never stored one by one: a service answering 1,000 calls/s would otherwise
write 86 million rows a day and its metrics page would read 3.6 million of them. Each bucket
is 10 % wider than the one before it, from 0.1 ms to ~55 s (141 buckets), so a percentile
read back from the counts is within ~5 % of the exact one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

BASE_MS = 0.1
RATIO = 1.1
# Bucket i holds latencies in (BASE_MS * RATIO**(i-1), BASE_MS * RATIO**i]; bucket 0 everything
# up to BASE_MS; the last one everything above ~55 s (the inference deadline is 40 s).
LAST_BUCKET = math.ceil(math.log(60_000 / BASE_MS, RATIO))
_LAST_LOWER_MS = BASE_MS * RATIO ** (LAST_BUCKET - 1)


def bucket_of(latency_ms: float) -> int:
    if not latency_ms > BASE_MS:  # also NaN
        return 0
    if latency_ms > _LAST_LOWER_MS:  # also infinity
        return LAST_BUCKET
    return max(math.ceil(math.log(latency_ms / BASE_MS, RATIO) - 1e-9), 0)


def bucket_bounds(index: int) -> tuple[float, float]:
    """(lower, upper) in ms; the last bucket reports its lower bound as its upper one."""
    index = min(max(index, 0), LAST_BUCKET)
    upper = BASE_MS * RATIO**index
    lower = 0.0 if index == 0 else BASE_MS * RATIO ** (index - 1)
    return lower, (lower if index == LAST_BUCKET else upper)


def percentiles(counts: Mapping[int, int]) -> dict[str, float | None]:
    """p50, p95 and p99 (ms, 3 decimals) of the histogram ``counts`` (bucket → calls),
    interpolated linearly inside the bucket that holds each rank; None when empty."""
    total = sum(counts.values())
    if not total:
        return {"p50": None, "p95": None, "p99": None}
    ordered = sorted((bucket, count) for bucket, count in counts.items() if count > 0)
    out: dict[str, float | None] = {}
    for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        rank, seen = q * total, 0
        for bucket, count in ordered:
            if seen + count >= rank:
                lower, upper = bucket_bounds(bucket)
                out[name] = round(lower + (upper - lower) * (rank - seen) / count, 3)
                break
            seen += count
    return out
