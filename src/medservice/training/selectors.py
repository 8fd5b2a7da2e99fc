"""Reads and scoping of training: who sees which plans, sessions, certifications, reviews,
violations, articles and documents; and the one question dispatch asks — who is certified for
a device model on a day.

Internal staff see all of it (their permissions decide what they may do). A distributor's
engineer sees the sessions they attended, their own certifications, reviews and violations, the
whole knowledge base and the approved documents. A customer sees only published articles meant
for customers. Every list, detail, export and API endpoint starts from one of the
`*_visible_to(user)` functions below.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from medservice.customers.selectors import user_scope
from medservice.training.choices import ArticleStatus, DocumentVersionStatus, Visibility
from medservice.training.models import (
    Certification,
    ControlledDocument,
    DocumentVersion,
    KnowledgeArticle,
    PerformanceReview,
    SessionAttendance,
    TrainingPlan,
    TrainingSession,
    Violation,
)


def plans_visible_to(user: Any) -> QuerySet[TrainingPlan]:
    if user_scope(user) == "internal":
        return TrainingPlan.objects.all()
    return TrainingPlan.objects.none()


def sessions_visible_to(user: Any) -> QuerySet[TrainingSession]:
    scope = user_scope(user)
    if scope == "internal":
        return TrainingSession.objects.all()
    if scope == "distributor":
        return TrainingSession.objects.filter(attendances__person=user).distinct()
    return TrainingSession.objects.none()


def attendances_visible_to(user: Any) -> QuerySet[SessionAttendance]:
    scope = user_scope(user)
    if scope == "internal":
        return SessionAttendance.objects.all()
    if scope == "distributor":
        return SessionAttendance.objects.filter(person=user)
    return SessionAttendance.objects.none()


def _own_or_internal(queryset: QuerySet, user: Any, field: str = "person") -> QuerySet:
    scope = user_scope(user)
    if scope == "internal":
        return queryset
    if scope == "distributor":
        return queryset.filter(**{field: user})
    return queryset.none()


def certifications_visible_to(user: Any) -> QuerySet[Certification]:
    return _own_or_internal(Certification.objects.all(), user)


def _reads_everyones(user: Any, permission: str) -> bool:
    """Reviews and violations are personal: managers who keep them and auditors read all;
    every other member of staff reads only their own."""
    from medservice.accounts.choices import Role

    if user_scope(user) != "internal":
        return False
    return (
        user.is_superuser
        or user.has_perm(permission)
        or user.groups.filter(name=str(Role.AUDITOR)).exists()
    )


def reviews_visible_to(user: Any) -> QuerySet[PerformanceReview]:
    if _reads_everyones(user, "training.add_performancereview"):
        return PerformanceReview.objects.all()
    if user_scope(user) in {"internal", "distributor"}:
        return PerformanceReview.objects.filter(person=user)
    return PerformanceReview.objects.none()


def violations_visible_to(user: Any) -> QuerySet[Violation]:
    if _reads_everyones(user, "training.add_violation"):
        return Violation.objects.all()
    if user_scope(user) in {"internal", "distributor"}:
        return Violation.objects.filter(person=user)
    return Violation.objects.none()


def articles_visible_to(user: Any) -> QuerySet[KnowledgeArticle]:
    scope = user_scope(user)
    if scope == "internal":
        return KnowledgeArticle.objects.all()
    if scope == "distributor":
        return KnowledgeArticle.objects.filter(status=ArticleStatus.PUBLISHED)
    if scope == "customer":
        return KnowledgeArticle.objects.filter(
            status=ArticleStatus.PUBLISHED, visibility=Visibility.CUSTOMER
        )
    return KnowledgeArticle.objects.none()


def documents_visible_to(user: Any) -> QuerySet[ControlledDocument]:
    scope = user_scope(user)
    if scope == "internal":
        return ControlledDocument.objects.all()
    if scope == "distributor":
        return ControlledDocument.objects.filter(
            versions__status=DocumentVersionStatus.APPROVED
        ).distinct()
    return ControlledDocument.objects.none()


def document_versions_visible_to(user: Any) -> QuerySet[DocumentVersion]:
    scope = user_scope(user)
    if scope == "internal":
        return DocumentVersion.objects.all()
    if scope == "distributor":
        return DocumentVersion.objects.filter(status=DocumentVersionStatus.APPROVED)
    return DocumentVersion.objects.none()


# --- Certification: the question dispatch asks ---------------------------------------------


def certifications_valid_on(day: datetime.date) -> QuerySet[Certification]:
    """Certifications in force on `day`: started, not ended (the end day included), not revoked
    on or before it."""
    return Certification.objects.filter(valid_from__lte=day, valid_until__gte=day).filter(
        Q(revoked_on__isnull=True) | Q(revoked_on__gt=day)
    )


def _covering(device_model: Any) -> Q:
    """A certification covers a model directly, or through the model's product line."""
    model_id = getattr(device_model, "pk", device_model)
    line_id = getattr(device_model, "product_line_id", None)
    if line_id is None and not hasattr(device_model, "product_line_id"):
        from medservice.catalog.models import DeviceModel

        line_id = (
            DeviceModel.objects.filter(pk=model_id)
            .values_list("product_line_id", flat=True)
            .first()
        )
    condition = Q(device_model_id=model_id)
    if line_id is not None:
        condition |= Q(product_line_id=line_id)
    return condition


def certification_for(
    person: Any, device_model: Any, *, on: datetime.date | None = None
) -> Certification | None:
    """The certification that makes `person` fit to work on `device_model` on `on` (default
    today), or None. The one question dispatch and the work-order services ask."""
    day = on or timezone.localdate()
    return (
        certifications_valid_on(day)
        .filter(person=person)
        .filter(_covering(device_model))
        .order_by("-valid_until", "-pk")
        .first()
    )


def is_certified(person: Any, device_model: Any, *, on: datetime.date | None = None) -> bool:
    """Is this person certified for this model on this date?"""
    return certification_for(person, device_model, on=on) is not None


def people_certified_for(device_model: Any, *, on: datetime.date | None = None) -> QuerySet:
    """The active users certified for the model on the day: dispatch's candidates."""
    from medservice.accounts.models import User

    day = on or timezone.localdate()
    holders = certifications_valid_on(day).filter(_covering(device_model)).values("person_id")
    return User.objects.filter(is_active=True, pk__in=holders)


def certifications_expiring(*, within_days: int, on: datetime.date | None = None) -> QuerySet:
    """Certifications in force whose last day falls within the window, not yet renewed."""
    day = on or timezone.localdate()
    return (
        certifications_valid_on(day)
        .filter(valid_until__lte=day + datetime.timedelta(days=within_days))
        .exclude(renewals__isnull=False)
        .select_related("person", "device_model", "product_line")
        .order_by("valid_until", "pk")
    )
