"""Pages for investigation, decision, supplier and manufacturer notices, evidence hold, regulator feedback."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
