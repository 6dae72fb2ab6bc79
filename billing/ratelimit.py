"""Fixed-window rate limits kept in the shared Redis cache.

All instances count in the same keys, so a limit holds across the fleet.
"""

from __future__ import annotations

import time

from django.core.cache import cache


def hit(scope: str, identity: str, limit: int, window_seconds: int) -> int | None:
    """Count one request; return seconds to wait if over the limit, else None."""
    window = int(time.time() // window_seconds)
    key = f"ratelimit:{scope}:{identity}:{window}"
    cache.add(key, 0, timeout=window_seconds + 5)
    count = cache.incr(key)
    if count > limit:
        return window_seconds - int(time.time()) % window_seconds
    return None


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """Parse DRF's rate notation, such as ``20/hour``, into (count, seconds)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period[:1]]


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")
