"""Who sees quality accidents: like quality cases, the company's own staff whose role may;
never customers or distributors."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from medservice.customers.selectors import user_scope
from medservice.quality.models import QualityAccident


def accidents_visible_to(user: Any) -> QuerySet[QualityAccident]:
    if user is None or user_scope(user) != "internal":
        return QualityAccident.objects.none()
    return QualityAccident.objects.all()
