"""Investigation and decision of quality cases, supplier and manufacturer notices."""

from __future__ import annotations
