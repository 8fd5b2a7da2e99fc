"""API for adverse-event reports and their reporting rules."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the API router."""
