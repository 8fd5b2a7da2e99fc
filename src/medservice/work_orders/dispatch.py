"""Dispatch (派单) and visits: candidates certified for the model on the day, in the region
and free; the service manager's override; appointments, rescheduling, late-arrival alerts,
check-in and check-out; the engineer's schedule."""

from __future__ import annotations
