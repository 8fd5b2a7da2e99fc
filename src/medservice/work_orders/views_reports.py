"""The reports pages of work orders (filled in by the reports area)."""

from __future__ import annotations

urlpatterns: list = []
