"""The rate limit of the public survey page and API: a fixed window per client address on the
shared cache, like the public fault-report form (FEEDBACK_SURVEY_RATE, "30/hour")."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

from medservice.core.middleware import client_address

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _rate() -> tuple[int, int]:
    count, _sep, period = str(getattr(settings, "FEEDBACK_SURVEY_RATE", "30/hour")).partition("/")
    return int(count), PERIODS.get(period.strip(), 3600)


def survey_throttled(request: Any) -> bool:
    """Count one request to the public survey from this address; True when over the limit."""
    allowed, seconds = _rate()
    window = int(time.time() // seconds)
    key = f"ratelimit:public-survey:{client_address(request)}:{window}"
    cache.add(key, 0, timeout=seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=seconds + 1)
        count = 1
    return count > allowed
