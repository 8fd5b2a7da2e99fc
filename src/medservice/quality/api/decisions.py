"""API for investigation, decision, supplier and manufacturer notices, evidence hold, regulator feedback."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    """Register this area's viewsets on the API router."""
