"""Pages for trace, stop-use notices and recalls."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
