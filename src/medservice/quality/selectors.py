"""Who sees quality cases: the company's own staff whose role may (quality, service managers,
auditors); never customers or distributors, whose complaints reach them through the service
request."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from medservice.customers.selectors import user_scope
from medservice.quality.models import QualityCase


def cases_visible_to(user: Any) -> QuerySet[QualityCase]:
    if user is None or user_scope(user) != "internal":
        return QualityCase.objects.none()
    return QualityCase.objects.all()
