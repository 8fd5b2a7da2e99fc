"""Who sees which maintenance records, and the choices offered to them. Internal staff see
all; a distributor the records of the organisations it serves; a customer user those of its
own organisation (and its departments). Every list, detail, export and API endpoint of this app
starts from one of the `*_visible_to(user)` functions below."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from medservice.customers.selectors import scope_by_organization
from medservice.maintenance.models import (
    AcceptanceRecord,
    Installation,
    OperatorTraining,
    PmPlan,
    PmVisit,
    RetrainingSuggestion,
    TrainingAttendee,
)


def pm_plans_visible_to(user: Any) -> QuerySet[PmPlan]:
    return scope_by_organization(PmPlan.objects.all(), user)


def pm_visits_visible_to(user: Any) -> QuerySet[PmVisit]:
    return scope_by_organization(PmVisit.objects.all(), user)


def installations_visible_to(user: Any) -> QuerySet[Installation]:
    return scope_by_organization(Installation.objects.all(), user)


def acceptances_visible_to(user: Any) -> QuerySet[AcceptanceRecord]:
    return scope_by_organization(AcceptanceRecord.objects.all(), user)


def operator_trainings_visible_to(user: Any) -> QuerySet[OperatorTraining]:
    return scope_by_organization(OperatorTraining.objects.all(), user)


def training_attendees_visible_to(user: Any) -> QuerySet[TrainingAttendee]:
    return scope_by_organization(TrainingAttendee.objects.all(), user)


def retraining_suggestions_visible_to(user: Any) -> QuerySet[RetrainingSuggestion]:
    return scope_by_organization(RetrainingSuggestion.objects.all(), user)


def trainers_visible_to(user: Any) -> QuerySet:
    """Who may be named as trainer: the company's and distributors' active staff for internal
    users; a distributor's own people for a distributor; nobody for a customer."""
    from medservice.accounts.models import User
    from medservice.customers.choices import OrganizationKind
    from medservice.customers.selectors import user_scope

    scope = user_scope(user)
    active = User.objects.filter(is_active=True)
    if scope == "internal":
        return active.filter(
            organization__kind__in=(OrganizationKind.COMPANY, OrganizationKind.DISTRIBUTOR)
        )
    if scope == "distributor":
        return active.filter(organization_id=user.organization_id)
    return active.none()


def trainees_of_device(device: Any, user: Any) -> QuerySet[TrainingAttendee]:
    """Who was trained on this unit: attendees of sessions naming the unit, or its model at
    the unit's organisation."""
    sessions = OperatorTraining.objects.filter(
        Q(devices=device)
        | Q(device_models=device.device_model_id, organization=device.organization_id)
    ).values("pk")
    return (
        training_attendees_visible_to(user)
        .filter(training__in=sessions)
        .select_related("department", "training")
        .order_by("-training__held_on", "pk")
    )
