"""Returns and return rules as UI and API resources, and the returns' tab on the pages of a
device and of an organisation."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from medservice.core.registry import Related, Resource, register, related_register
from medservice.returns import views
from medservice.returns.api.serializers import ReturnRequestSerializer, ReturnRuleSerializer
from medservice.returns.filtersets import ReturnRequestFilter, ReturnRuleFilter
from medservice.returns.forms import ReturnRuleForm
from medservice.returns.models import ReturnRequest, ReturnRule
from medservice.returns.selectors import return_rules_visible_to, returns_visible_to
from medservice.returns.services import (
    LineInput,
    return_request_create,
    return_rule_create,
    return_rule_update,
)


def return_request_create_from_api(
    *, actor: Any, model: type[ReturnRequest] = ReturnRequest, data: dict[str, Any]
) -> ReturnRequest:
    """The API's request: a customer's organisation is its own unless it names another it may
    see; the lines arrive as dicts."""
    organization = data.get("organization") or getattr(actor, "organization", None)
    return return_request_create(
        actor=actor,
        organization=organization,
        channel=data.get("channel") or "portal",
        reason=data.get("reason", ""),
        fault_description=data.get("fault_description", ""),
        delivery_reference=data.get("delivery_reference", ""),
        requested_on=data.get("requested_on"),
        lines=[
            LineInput(
                device=item.get("device"),
                delivery_line=item.get("delivery_line"),
                quantity=item.get("quantity") or 1,
                condition=item.get("condition", ""),
            )
            for item in data.get("lines", [])
        ],
    )


returns = register(
    Resource(
        name="returns",
        model=ReturnRequest,
        selector=returns_visible_to,
        namespace="returns",
        list_columns=[
            "number", "status", "organization", "reason", "requested_on", "eligible", "cause",
            "decision",
        ],
        detail_fields=[
            "number", "status", "organization", "requested_by", "channel", "requested_on",
            "reason", "fault_description", "delivery_reference", "eligible", "cause",
            "responsibility", "evaluation", "evaluated_by", "evaluated_at", "quality_case",
            "decision", "decision_reason", "decided_by", "decided_at", "refund_kind",
            "refund_approved", "warranty_mode", "customer_told_at", "closed_at", "retain_until",
        ],
        export_fields=[
            "id", "number", "status", "organization", "channel", "requested_on", "reason",
            "eligible", "cause", "responsibility", "decision", "refund_approved", "decided_at",
            "closed_at",
        ],
        filterset_class=ReturnRequestFilter,
        serializer_class=ReturnRequestSerializer,
        search_fields=["number", "lines__serial_number", "lines__batch_number"],
        ordering_fields=["requested_on", "number", "status"],
        default_ordering=["-requested_on", "-id"],
        select_related=["organization"],
        create=return_request_create_from_api,
        update=None,
        delete=None,
        detail_view=views.ReturnDetailView,
        create_url_name="returns:return-new",
        list_rows_template="returns/list_rows.html",
    )
)  # fmt: skip

return_rules = register(
    Resource(
        name="return-rules",
        model=ReturnRule,
        selector=return_rules_visible_to,
        namespace="returns",
        list_columns=[
            "name", "device_model", "product_line", "product_type", "single_use_only",
            "window_days", "window_start", "condition_required", "non_returnable_once_opened",
            "active",
        ],
        detail_fields=[
            "name", "device_model", "product_line", "product_type", "single_use_only",
            "window_days", "window_start", "condition_required", "non_returnable_once_opened",
            "exchange_warranty", "active", "notes",
        ],
        form_class=ReturnRuleForm,
        filterset_class=ReturnRuleFilter,
        serializer_class=ReturnRuleSerializer,
        search_fields=["name"],
        ordering_fields=["name", "window_days"],
        default_ordering=["name", "pk"],
        select_related=["device_model", "product_line"],
        create=return_rule_create,
        update=return_rule_update,
        # A rule that decided returns stays on record: it is made inactive, never deleted.
        delete=None,
        api_basename="return-rule",
        organization_scoped=False,
    )
)  # fmt: skip

# The pages taking a return's id scope through the resource (checked by the scoping tests).
for view in (views.return_action, views.return_attach, views.return_file, views.portal_return):
    view.resource = returns  # type: ignore[attr-defined]


def _of_device(device: Any, user: Any) -> QuerySet[ReturnRequest]:
    return returns_visible_to(user).filter(lines__device=device).distinct().order_by("-pk")


def _of_organization(organization: Any, user: Any) -> QuerySet[ReturnRequest]:
    return returns_visible_to(user).filter(organization=organization).order_by("-pk")


related_register(
    "devices",
    Related(_("Returns"), _of_device, ["number", "status", "reason", "decision", "requested_on"],
            "returns:returns-detail"),
)  # fmt: skip
related_register(
    "organizations",
    Related(_("Returns"), _of_organization,
            ["number", "status", "reason", "decision", "requested_on"], "returns:returns-detail"),
)  # fmt: skip
