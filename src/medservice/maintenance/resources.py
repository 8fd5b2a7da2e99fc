"""The maintenance records as UI and API resources, and their tabs on the pages of a device
(who was trained on it, its PM visits and acceptance) and of a delivery (installations)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from medservice.core.errors import InvalidInputError
from medservice.core.registry import Related, Resource, register, related_register
from medservice.core.services import record_delete
from medservice.maintenance import views
from medservice.maintenance.api.serializers import (
    AcceptanceRecordSerializer,
    InstallationSerializer,
    OperatorTrainingSerializer,
    PmPlanSerializer,
    PmVisitSerializer,
    RetrainingSuggestionSerializer,
    TrainingAttendeeSerializer,
)
from medservice.maintenance.filtersets import (
    AcceptanceFilter,
    InstallationFilter,
    OperatorTrainingFilter,
    PmPlanFilter,
    PmVisitFilter,
    RetrainingSuggestionFilter,
    TrainingAttendeeFilter,
)
from medservice.maintenance.forms import AcceptanceForm, OperatorTrainingForm, PmPlanForm
from medservice.maintenance.models import (
    AcceptanceRecord,
    Installation,
    OperatorTraining,
    PmPlan,
    PmVisit,
    RetrainingSuggestion,
    TrainingAttendee,
)
from medservice.maintenance.selectors import (
    acceptances_visible_to,
    installations_visible_to,
    operator_trainings_visible_to,
    pm_plans_visible_to,
    pm_visits_visible_to,
    retraining_suggestions_visible_to,
    trainees_of_device,
    training_attendees_visible_to,
)
from medservice.maintenance.services import pm_plan_create, pm_plan_update
from medservice.maintenance.services_acceptance import acceptance_create, installation_open
from medservice.maintenance.services_training import (
    operator_training_create,
    operator_training_update,
    training_attendee_create,
)


def installation_create_from_api(
    *, actor: Any, model: type[Installation] = Installation, data: dict[str, Any]
) -> Installation:
    """POST installations/ with a device: its installation work order is opened."""
    from django.utils.translation import gettext as _t

    device = data["device"]
    delivery = device.delivery_line.delivery if device.delivery_line_id else None
    installation = installation_open(actor=actor, device=device, delivery=delivery)
    if installation is None:
        message = _t(
            "%(device)s needs no installation: it is accepted, in use elsewhere, not a serial "
            "active device, or its installation is already open."
        ) % {"device": device}
        raise InvalidInputError(message, fields={"device": [message]})
    return installation


pm_plans = register(
    Resource(
        name="pm-plans",
        model=PmPlan,
        selector=pm_plans_visible_to,
        namespace="maintenance",
        list_columns=[
            "device", "organization", "interval_days", "interval_source", "next_due_on",
            "last_done_on", "active",
        ],
        detail_fields=[
            "device", "organization", "interval_source", "contract", "interval_days",
            "next_due_on", "last_done_on", "active", "notes",
        ],
        export_fields=[
            "id", "device", "device__serial_number", "organization", "interval_source",
            "interval_days", "next_due_on", "last_done_on", "active",
        ],
        form_class=PmPlanForm,
        filterset_class=PmPlanFilter,
        serializer_class=PmPlanSerializer,
        search_fields=["device__serial_number", "organization__name"],
        ordering_fields=["next_due_on", "last_done_on", "interval_days"],
        default_ordering=["next_due_on", "pk"],
        select_related=["device__device_model", "organization"],
        create=pm_plan_create,
        update=pm_plan_update,
        # A plan with visits is history: it is paused (inactive), never deleted.
        delete=None,
        api_basename="pm-plan",
        detail_view=views.PmPlanDetailView,
    )
)  # fmt: skip

pm_visits = register(
    Resource(
        name="pm-visits",
        model=PmVisit,
        selector=pm_visits_visible_to,
        namespace="maintenance",
        list_columns=["device", "organization", "due_on", "status", "work_order", "done_on"],
        detail_fields=[
            "plan", "device", "organization", "due_on", "status", "work_order", "done_on",
            "reopened_count",
        ],
        export_fields=[
            "id", "device", "device__serial_number", "organization", "due_on", "status",
            "work_order__number", "done_on",
        ],
        filterset_class=PmVisitFilter,
        serializer_class=PmVisitSerializer,
        search_fields=["device__serial_number", "work_order__number"],
        ordering_fields=["due_on", "done_on", "status"],
        default_ordering=["-due_on", "-pk"],
        select_related=["device__device_model", "organization", "work_order"],
        create=None,
        update=None,
        delete=None,
        api_basename="pm-visit",
    )
)  # fmt: skip

installations = register(
    Resource(
        name="installations",
        model=Installation,
        selector=installations_visible_to,
        namespace="maintenance",
        list_columns=["number", "device", "organization", "status", "work_order", "commissioned_on"],
        detail_fields=[
            "number", "device", "organization", "delivery", "work_order", "status",
            "commissioned_on",
        ],
        filterset_class=InstallationFilter,
        serializer_class=InstallationSerializer,
        search_fields=["number", "device__serial_number"],
        ordering_fields=["number", "status", "commissioned_on"],
        default_ordering=["-pk"],
        select_related=["device__device_model", "organization", "work_order"],
        create=installation_create_from_api,
        update=None,
        delete=None,
        api_basename="installation",
        # In the UI installations are opened from a delivery's page.
        create_url_name="installed_base:deliveries-list",
    )
)  # fmt: skip

acceptances = register(
    Resource(
        name="acceptances",
        model=AcceptanceRecord,
        selector=acceptances_visible_to,
        namespace="maintenance",
        list_columns=[
            "number", "device", "organization", "accepted_on", "customer_name", "signed_at",
            "warranty_ends_on",
        ],
        detail_fields=[
            "number", "device", "organization", "installation", "accepted_on", "customer_name",
            "customer_title", "conformity_certificate_handed", "registration_number",
            "registration_certificate_handed", "other_documents", "notes", "recorded_by",
            "signed_at", "warranty_starts_on", "warranty_ends_on", "retain_until",
        ],
        export_fields=[
            "id", "number", "device", "device__serial_number", "organization", "accepted_on",
            "customer_name", "conformity_certificate_handed", "registration_number",
            "registration_certificate_handed", "signed_at", "warranty_starts_on",
            "warranty_ends_on",
        ],
        form_class=AcceptanceForm,
        filterset_class=AcceptanceFilter,
        serializer_class=AcceptanceRecordSerializer,
        search_fields=["number", "device__serial_number", "customer_name"],
        ordering_fields=["number", "accepted_on"],
        default_ordering=["-accepted_on", "-pk"],
        select_related=["device__device_model", "organization"],
        prefetch_related=["files"],
        create=acceptance_create,
        # Signed, it is frozen; before signing a mistake is a new certificate.
        update=None,
        delete=None,
        api_basename="acceptance",
        detail_view=views.AcceptanceDetailView,
    )
)  # fmt: skip

operator_trainings = register(
    Resource(
        name="operator-trainings",
        model=OperatorTraining,
        selector=operator_trainings_visible_to,
        namespace="maintenance",
        list_columns=["number", "held_on", "organization", "department", "trainer", "content"],
        detail_fields=[
            "number", "held_on", "organization", "department", "devices", "device_models",
            "location", "content", "trainer", "materials", "suggestion", "retain_until",
        ],
        export_fields=[
            "id", "number", "held_on", "organization", "department", "trainer", "location",
            "content",
        ],
        form_class=OperatorTrainingForm,
        filterset_class=OperatorTrainingFilter,
        serializer_class=OperatorTrainingSerializer,
        search_fields=["number", "content", "location"],
        ordering_fields=["held_on", "number"],
        default_ordering=["-held_on", "-pk"],
        select_related=["organization", "department", "trainer"],
        prefetch_related=["devices", "device_models", "attendees", "files"],
        create=operator_training_create,
        update=operator_training_update,
        delete=None,
        api_basename="operator-training",
        detail_view=views.OperatorTrainingDetailView,
    )
)  # fmt: skip

training_attendees = register(
    Resource(
        name="training-attendees",
        model=TrainingAttendee,
        selector=training_attendees_visible_to,
        namespace="maintenance",
        list_columns=["name", "department", "position", "training", "training__held_on"],
        detail_fields=["training", "organization", "name", "department", "position"],
        filterset_class=TrainingAttendeeFilter,
        serializer_class=TrainingAttendeeSerializer,
        search_fields=["name", "training__number"],
        ordering_fields=["name"],
        default_ordering=["-training__held_on", "pk"],
        select_related=["training", "department", "organization"],
        create=training_attendee_create,
        update=None,
        # A name entered by mistake is removed, with the reason in the audit trail.
        delete=record_delete,
        api_basename="training-attendee",
        # In the UI attendees are added on their training's page.
        create_url_name="maintenance:operator-trainings-list",
    )
)  # fmt: skip

retraining_suggestions = register(
    Resource(
        name="retraining-suggestions",
        model=RetrainingSuggestion,
        selector=retraining_suggestions_visible_to,
        namespace="maintenance",
        list_columns=["id", "status", "organization", "department", "device", "work_order",
                      "created_at"],
        detail_fields=[
            "status", "organization", "department", "device", "work_order", "reason", "training",
            "dismissed_reason", "decided_by", "decided_at",
        ],
        filterset_class=RetrainingSuggestionFilter,
        serializer_class=RetrainingSuggestionSerializer,
        search_fields=["reason", "work_order__number"],
        ordering_fields=["created_at", "status"],
        default_ordering=["-pk"],
        select_related=["organization", "department", "device__device_model", "work_order"],
        create=None,
        update=None,
        delete=None,
        api_basename="retraining-suggestion",
        detail_view=views.SuggestionDetailView,
    )
)  # fmt: skip

# The pages taking a record's id scope through its resource (checked by the scoping tests).
for _view, _resource in (
    (views.acceptance_sign_view, acceptances),
    (views.acceptance_attach_view, acceptances),
    (views.acceptance_file, acceptances),
    (views.training_sign_in_sheet, operator_trainings),
    (views.training_attendee_add, operator_trainings),
    (views.training_attach, operator_trainings),
    (views.training_file, operator_trainings),
    (views.suggestion_dismiss_view, retraining_suggestions),
    (views.suggestion_schedule_view, retraining_suggestions),
):
    _view.resource = _resource  # type: ignore[attr-defined]


def _pm_visits_of_device(device: Any, user: Any) -> QuerySet[PmVisit]:
    return (
        pm_visits_visible_to(user)
        .filter(device=device)
        .select_related("work_order")
        .order_by("-due_on", "-pk")
    )


def _acceptances_of_device(device: Any, user: Any) -> QuerySet[AcceptanceRecord]:
    return acceptances_visible_to(user).filter(device=device).order_by("-pk")


def _installations_of_delivery(delivery: Any, user: Any) -> QuerySet[Installation]:
    return (
        installations_visible_to(user)
        .filter(delivery=delivery)
        .select_related("device__device_model", "work_order")
        .order_by("pk")
    )


related_register(
    "devices",
    Related(_("Trained operators"), trainees_of_device,
            ["name", "department", "position", "training", "training__held_on"],
            "maintenance:training-attendees-detail"),
)  # fmt: skip
related_register(
    "devices",
    Related(_("PM visits"), _pm_visits_of_device, ["due_on", "status", "work_order", "done_on"],
            "maintenance:pm-visits-detail"),
)  # fmt: skip
related_register(
    "devices",
    Related(_("Acceptance"), _acceptances_of_device,
            ["number", "accepted_on", "customer_name", "signed_at"],
            "maintenance:acceptances-detail"),
)  # fmt: skip
related_register(
    "deliveries",
    Related(_("Installations"), _installations_of_delivery,
            ["number", "device", "status", "work_order"], "maintenance:installations-detail",
            new_url_name="maintenance:installations-from-delivery", new_query="delivery",
            new_label=_("Open installation work orders"),
            new_permission="maintenance.add_installation"),
)  # fmt: skip
