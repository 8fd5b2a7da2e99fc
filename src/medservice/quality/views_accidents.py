"""Pages for quality accidents and retention of quality records."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
