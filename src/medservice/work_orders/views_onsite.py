"""The onsite pages of work orders (filled in by the onsite area)."""

from __future__ import annotations

urlpatterns: list = []
