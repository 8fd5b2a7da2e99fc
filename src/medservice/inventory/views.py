"""Pages beyond the generic resource views: a lot's hold and release, the trace of a lot and the
parts of a device. Purchasing, requisitions, counts and instruments have their own modules."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
