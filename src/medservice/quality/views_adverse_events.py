"""Pages for adverse-event reports and their reporting rules."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
