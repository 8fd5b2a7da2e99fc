"""This app's records as UI and API resources (registered in core.registry): devices (with the
warranty register as their list sorted by warranty end), deliveries, contracts and holds."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.core.registry import Related, Resource, register, related_register
from medservice.core.views import ResourceDetailView
from medservice.customers.selectors import user_scope
from medservice.installed_base.api.serializers import (
    ContractSerializer,
    DeliverySerializer,
    DeviceSerializer,
    HoldSerializer,
)
from medservice.installed_base.filtersets import (
    ContractFilter,
    DeliveryFilter,
    DeviceFilter,
    HoldFilter,
)
from medservice.installed_base.forms import (
    ContractForm,
    DeliveryForm,
    DeviceForm,
    HoldForm,
    HoldReleaseForm,
)
from medservice.installed_base.models import Delivery, DeliveryLine, Device, Hold, ServiceContract
from medservice.installed_base.selectors import (
    contracts_visible_to,
    deliveries_visible_to,
    delivery_lines_visible_to,
    devices_visible_to,
    holds_active_matching,
    holds_visible_to,
)
from medservice.installed_base.services import (
    contract_create,
    contract_update,
    coverage,
    delivery_create,
    delivery_update,
    device_create,
    device_delete,
    device_update,
    hold_place,
    warranty_start,
)


def _delivery_create(
    *, actor: Any, model: type[Delivery] = Delivery, data: dict[str, Any]
) -> Delivery:
    """The generic create (UI form, API) of a delivery: its header and lines."""
    data = dict(data)
    data.pop("version", None)
    return delivery_create(actor=actor, **data)


def _hold_create(*, actor: Any, model: type[Hold] = Hold, data: dict[str, Any]) -> Hold:
    """The generic create (UI form, API) of a hold."""
    return hold_place(actor=actor, **data)


class DeviceDetailView(ResourceDetailView):
    """The unit's page adds its warranty and what is covered today (and any hold on it)."""

    extra_template = "installed_base/device_panel.html"

    def extra_context_for(self, obj: Device) -> dict[str, Any]:
        today = timezone.localdate()
        user = self.request.user
        holds: list[Hold] = []
        if user_scope(user) == "internal" and user.has_perm("installed_base.view_hold"):
            holds = list(holds_active_matching(device=obj))
        return {
            "coverage_on": today,
            "coverage_rows": list(coverage(obj, on=today).items()),
            "warranty_starts_on": warranty_start(obj),
            "active_holds": holds,
        }


class HoldDetailView(ResourceDetailView):
    """A hold's page offers its release (with a reason) to those who may release it."""

    extra_template = "installed_base/hold_release.html"

    def extra_context_for(self, obj: Hold) -> dict[str, Any]:
        return {"release_form": HoldReleaseForm()}


devices = register(
    Resource(
        name="devices",
        model=Device,
        selector=devices_visible_to,
        namespace="installed_base",
        list_columns=[
            "device_model",
            "serial_number",
            "batch_number",
            "organization",
            "asset_number",
            "status",
            "warranty_ends_on",
        ],
        detail_fields=[
            "device_model",
            "serial_number",
            "batch_number",
            "udi_pi",
            "production_date",
            "expiry_date",
            "organization",
            "department",
            "asset_number",
            "location",
            "supplier",
            "delivery_line__delivery",
            "installed_on",
            "accepted_on",
            "warranty_ends_on",
            "status",
            "retain_until",
            "created_at",
            "updated_at",
        ],
        export_fields=[
            "id",
            "device_model",
            "serial_number",
            "batch_number",
            "udi_pi",
            "production_date",
            "expiry_date",
            "organization",
            "asset_number",
            "installed_on",
            "accepted_on",
            "warranty_ends_on",
            "status",
        ],
        form_class=DeviceForm,
        filterset_class=DeviceFilter,
        serializer_class=DeviceSerializer,
        search_fields=["serial_number", "batch_number", "udi_pi", "asset_number"],
        ordering_fields=[
            "serial_number",
            "batch_number",
            "status",
            "installed_on",
            "accepted_on",
            "warranty_ends_on",
            "created_at",
        ],
        default_ordering=["-id"],
        select_related=["device_model", "organization"],
        create=device_create,
        update=device_update,
        delete=device_delete,
        detail_view=DeviceDetailView,
        bulk_actions=[(_("Print QR labels"), "installed_base:device-label-sheet")],
    )
)

deliveries = register(
    Resource(
        name="deliveries",
        model=Delivery,
        selector=deliveries_visible_to,
        namespace="installed_base",
        list_columns=["number", "delivered_on", "organization", "invoice_number", "salesperson"],
        detail_fields=[
            "number",
            "organization",
            "delivered_on",
            "invoice_number",
            "salesperson",
            "notes",
            "retain_until",
            "created_at",
        ],
        export_fields=["id", "number", "delivered_on", "organization", "invoice_number"],
        form_class=DeliveryForm,
        filterset_class=DeliveryFilter,
        serializer_class=DeliverySerializer,
        search_fields=["number", "invoice_number"],
        ordering_fields=["number", "delivered_on", "created_at"],
        default_ordering=["-delivered_on", "-id"],
        select_related=["organization", "salesperson"],
        prefetch_related=["lines"],
        create=_delivery_create,
        update=delivery_update,
    )
)

contracts = register(
    Resource(
        name="contracts",
        model=ServiceContract,
        selector=contracts_visible_to,
        namespace="installed_base",
        list_columns=["number", "kind", "organization", "starts_on", "ends_on", "sla_tier"],
        detail_fields=[
            "number",
            "kind",
            "organization",
            "starts_on",
            "ends_on",
            "sla_tier",
            "price",
            "renewal_reminder_days",
            "notes",
            "retain_until",
        ],
        export_fields=[
            "id",
            "number",
            "kind",
            "organization",
            "starts_on",
            "ends_on",
            "sla_tier",
            "price",
        ],
        form_class=ContractForm,
        filterset_class=ContractFilter,
        serializer_class=ContractSerializer,
        search_fields=["number"],
        ordering_fields=["number", "kind", "starts_on", "ends_on"],
        default_ordering=["-starts_on", "-id"],
        select_related=["organization"],
        prefetch_related=["devices"],
        create=contract_create,
        update=contract_update,
    )
)

holds = register(
    Resource(
        name="holds",
        model=Hold,
        selector=holds_visible_to,
        namespace="installed_base",
        list_columns=[
            "scope",
            "device_model",
            "batch_number",
            "serial_number",
            "kind",
            "reason",
            "placed_at",
            "released_at",
        ],
        detail_fields=[
            "scope",
            "kind",
            "device_model",
            "batch_number",
            "serial_number",
            "device",
            "reason",
            "source",
            "placed_by",
            "placed_at",
            "released_by",
            "released_at",
            "release_reason",
        ],
        form_class=HoldForm,
        filterset_class=HoldFilter,
        serializer_class=HoldSerializer,
        search_fields=["batch_number", "serial_number", "source"],
        ordering_fields=["placed_at", "released_at", "batch_number"],
        default_ordering=["-placed_at", "-id"],
        select_related=["device_model"],
        create=_hold_create,
        update=None,
        delete=None,
        # Internal quality records: no customer or distributor sees any of them.
        organization_scoped=False,
        detail_view=HoldDetailView,
    )
)


# --- Related tabs: a delivery's lines, a device's contracts and holds, and on the customer
# archive (organisation page) its devices, deliveries and contracts.


def _lines_of(delivery: Delivery, user: Any) -> QuerySet[DeliveryLine]:
    return (
        delivery_lines_visible_to(user)
        .filter(delivery=delivery)
        .select_related("device_model", "supplier")
        .order_by("pk")
    )


def _contracts_of_device(device: Device, user: Any) -> QuerySet[ServiceContract]:
    return contracts_visible_to(user).filter(devices=device).order_by("-ends_on", "pk")


def _devices_of(organization: Any, user: Any) -> QuerySet[Device]:
    return (
        devices_visible_to(user)
        .filter(organization=organization)
        .select_related("device_model")
        .order_by("-id")
    )


def _deliveries_of(organization: Any, user: Any) -> QuerySet[Delivery]:
    return deliveries_visible_to(user).filter(organization=organization).order_by("-delivered_on")


def _contracts_of(organization: Any, user: Any) -> QuerySet[ServiceContract]:
    return contracts_visible_to(user).filter(organization=organization).order_by("-ends_on")


deliveries.related.append(
    Related(
        _("Lines"),
        _lines_of,
        [
            "device_model",
            "batch_number",
            "serial_number",
            "quantity",
            "unit_price",
            "production_date",
            "expiry_date",
            "supplier",
        ],
    )
)
devices.related += [
    Related(
        _("Contracts"),
        _contracts_of_device,
        ["number", "kind", "starts_on", "ends_on", "sla_tier"],
        "installed_base:contracts-detail",
    ),
]
contracts.related.append(
    Related(
        _("Devices"),
        lambda contract, user: (
            devices_visible_to(user)
            .filter(contracts=contract)
            .select_related("device_model", "organization")
        ),
        ["device_model", "serial_number", "batch_number", "warranty_ends_on", "status"],
        "installed_base:devices-detail",
    )
)
related_register(
    "organizations",
    Related(
        _("Devices"),
        _devices_of,
        ["device_model", "serial_number", "batch_number", "status", "warranty_ends_on"],
        "installed_base:devices-detail",
    ),
)
related_register(
    "organizations",
    Related(
        _("Deliveries"),
        _deliveries_of,
        ["number", "delivered_on", "invoice_number"],
        "installed_base:deliveries-detail",
    ),
)
related_register(
    "organizations",
    Related(
        _("Contracts"),
        _contracts_of,
        ["number", "kind", "starts_on", "ends_on", "sla_tier"],
        "installed_base:contracts-detail",
    ),
)
