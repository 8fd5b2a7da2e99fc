"""Pages for CAPA and trend signals."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
