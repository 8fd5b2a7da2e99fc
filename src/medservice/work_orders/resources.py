"""The work order as a UI and API resource, and its tabs on the service request's and the
device's pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from medservice.core.registry import Related, Resource, register, related_register
from medservice.work_orders import views
from medservice.work_orders.api.serializers import WorkOrderSerializer
from medservice.work_orders.filtersets import WorkOrderFilter
from medservice.work_orders.models import WorkOrder
from medservice.work_orders.selectors import work_orders_visible_to


def work_order_create_from_api(
    *, actor: Any, model: type[WorkOrder] = WorkOrder, data: dict[str, Any]
) -> WorkOrder:
    """The generic create (API) of a work order."""
    from medservice.work_orders.services import work_order_create

    return work_order_create(
        actor=actor,
        kind=data["kind"],
        device=data["device"],
        problem=data.get("problem", ""),
        ticket=data.get("ticket"),
        route=data.get("route", ""),
        contact_name=data.get("contact_name", ""),
        contact_phone=data.get("contact_phone", ""),
        site_address=data.get("site_address", ""),
    )


work_orders = register(
    Resource(
        name="work-orders",
        model=WorkOrder,
        selector=work_orders_visible_to,
        namespace="work_orders",
        list_columns=[
            "number",
            "kind",
            "status",
            "organization",
            "device",
            "engineer",
            "appointment_start",
            "promised_by",
            "covered",
        ],
        detail_fields=[
            "number",
            "kind",
            "source",
            "status",
            "ticket",
            "device",
            "organization",
            "department",
            "contact_name",
            "site_address",
            "problem",
            "owner",
            "engineer",
            "route",
            "assessment",
            "exclusion",
            "exclusion_evidence",
            "covered",
            "plan",
            "estimated_hours",
            "quote_total",
            "promised_by",
            "promised_reason",
            "appointment_start",
            "appointment_end",
            "symptom",
            "fault_code",
            "root_cause",
            "actions_taken",
            "guidance",
            "document_version",
            "is_complaint",
            "may_be_reportable",
            "result",
            "completed_at",
            "closed_at",
            "cancel_reason",
            "down_since",
            "back_in_service_at",
            "payment_status",
            "invoice_number",
        ],
        export_fields=[
            "id",
            "number",
            "kind",
            "status",
            "ticket",
            "device",
            "organization",
            "engineer",
            "route",
            "covered",
            "quote_total",
            "promised_by",
            "appointment_start",
            "completed_at",
            "result",
            "payment_status",
            "created_at",
        ],
        filterset_class=WorkOrderFilter,
        serializer_class=WorkOrderSerializer,
        search_fields=["number"],
        ordering_fields=["created_at", "appointment_start", "promised_by", "number"],
        default_ordering=["-id"],
        select_related=["organization", "device__device_model", "engineer"],
        create=work_order_create_from_api,
        update=None,
        delete=None,
        detail_view=views.WorkOrderDetailView,
        create_url_name="work_orders:work-order-open",
    )
)
# The pages taking a work order's id scope through the resource (checked by the scoping tests).
for view in (views.work_order_action, views.visit_page, views.portal_work_order):
    view.resource = work_orders  # type: ignore[attr-defined]


def _of_ticket(ticket: Any, user: Any) -> QuerySet[WorkOrder]:
    return work_orders_visible_to(user).filter(ticket=ticket).order_by("-pk")


def _of_device(device: Any, user: Any) -> QuerySet[WorkOrder]:
    return work_orders_visible_to(user).filter(device=device).order_by("-pk")


related_register(
    "tickets",
    Related(
        _("Work orders"),
        _of_ticket,
        ["number", "kind", "status", "engineer", "appointment_start", "completed_at"],
        "work_orders:work-orders-detail",
        new_url_name="work_orders:work-order-open",
        new_query="ticket",
        new_label=_("Open a work order"),
        new_permission="work_orders.add_workorder",
    ),
)
related_register(
    "devices",
    Related(
        _("Work orders"),
        _of_device,
        ["number", "kind", "status", "engineer", "completed_at", "result"],
        "work_orders:work-orders-detail",
        new_url_name="work_orders:work-order-open",
        new_query="device",
        new_label=_("Open a work order"),
        new_permission="work_orders.add_workorder",
    ),
)
