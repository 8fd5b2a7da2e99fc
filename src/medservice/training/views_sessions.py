"""Placeholder: the sessions pages (resource registration, forms, views, urlpatterns)."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
