"""Who sees which spot checks: internal staff only. Managers, quality and auditors (holding
`view_every_spotcheckitem`) see every sample and finding; an engineer sees the reviewed
findings on their own records, and a reviewer the records given to them. Customers and
distributors see nothing."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from medservice.analytics.models import (
    SpotCheckChecklistItem,
    SpotCheckItem,
    SpotCheckPlan,
    SpotCheckSample,
)
from medservice.customers.selectors import user_scope

EVERY = "analytics.view_every_spotcheckitem"


def spot_check_plans_visible_to(user: Any) -> QuerySet[SpotCheckPlan]:
    """Plans are company policy: internal staff see them all, nobody else any."""
    if user_scope(user) != "internal":
        return SpotCheckPlan.objects.none()
    return SpotCheckPlan.objects.all()


def spot_check_checklist_items_visible_to(user: Any) -> QuerySet[SpotCheckChecklistItem]:
    if user_scope(user) != "internal":
        return SpotCheckChecklistItem.objects.none()
    return SpotCheckChecklistItem.objects.all()


def spot_check_items_visible_to(user: Any) -> QuerySet[SpotCheckItem]:
    """Every item for those who oversee spot checks. Otherwise the findings on the user's own
    records once reviewed — an engineer does not learn beforehand which records were drawn —
    and the items the user is to review."""
    if user_scope(user) != "internal":
        return SpotCheckItem.objects.none()
    if user.has_perm(EVERY):
        return SpotCheckItem.objects.all()
    return SpotCheckItem.objects.filter(
        Q(engineer=user, reviewed_at__isnull=False) | Q(reviewer=user)
    )


def spot_check_samples_visible_to(user: Any) -> QuerySet[SpotCheckSample]:
    """Every sample for those who oversee spot checks; otherwise the samples holding an item
    the user may see."""
    if user_scope(user) != "internal":
        return SpotCheckSample.objects.none()
    if user.has_perm(EVERY):
        return SpotCheckSample.objects.all()
    return SpotCheckSample.objects.filter(
        pk__in=spot_check_items_visible_to(user).values("sample_id")
    )
