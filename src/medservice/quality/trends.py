"""Trend monitoring of complaints: signals on a real rise."""

from __future__ import annotations
