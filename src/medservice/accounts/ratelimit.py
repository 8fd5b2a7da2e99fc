"""A fixed-window rate limit per client address on the shared cache (Redis when configured)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from medservice.core.middleware import client_address


def _limit(scope: str) -> tuple[int, int]:
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(scope, "20/minute")
    count, period = rate.split("/")
    seconds = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[period]
    return int(count), seconds


def rate_limited(request: HttpRequest, *, scope: str) -> bool:
    allowed, seconds = _limit(scope)
    window = int(time.time() // seconds)
    key = f"ratelimit:{scope}:{client_address(request)}:{window}"
    cache.add(key, 0, timeout=seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=seconds + 1)
        count = 1
    return count > allowed
