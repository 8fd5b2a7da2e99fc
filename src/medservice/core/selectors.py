"""Core reads: audit history of a record; who sees the business calendars."""

from __future__ import annotations

from typing import Any

from django.db import models

from medservice.core.models import AuditEvent, BusinessCalendar, CalendarDay, CalendarYear


def audit_events_for_record(record: models.Model) -> models.QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(object_type=record._meta.label_lower, object_id=str(record.pk))
        .select_related("actor")
        .order_by("-id")
    )


def _calendar_rows(model: type[models.Model], user: Any) -> models.QuerySet:
    """Business calendars are company-wide configuration: a signed-in user whose role may view
    them sees all of them; a user who belongs to no organisation sees nothing."""
    meta = model._meta
    if (
        not getattr(user, "is_authenticated", False)
        or not user.is_active
        or (not user.is_superuser and getattr(user, "organization_id", None) is None)
        or not user.has_perm(f"{meta.app_label}.view_{meta.model_name}")
    ):
        return model._default_manager.none()
    return model._default_manager.all()


def business_calendars_visible_to(user: Any) -> models.QuerySet[BusinessCalendar]:
    return _calendar_rows(BusinessCalendar, user)


def calendar_days_visible_to(user: Any) -> models.QuerySet[CalendarDay]:
    return _calendar_rows(CalendarDay, user)


def calendar_years_visible_to(user: Any) -> models.QuerySet[CalendarYear]:
    return _calendar_rows(CalendarYear, user)
