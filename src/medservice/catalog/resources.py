"""The catalogue's records as UI and API resources: company-wide master data, so none is
scoped by organisation; the selectors decide who sees which kind, the roles who may change it
(GSP: quality staff, the quality manager and administrators)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from medservice.catalog.api.serializers import (
    AcceptanceTestItemSerializer,
    DeviceModelSerializer,
    FaultCodeSerializer,
    ManufacturerSerializer,
    ProductLineSerializer,
    SupplierLicenceSerializer,
    SupplierSerializer,
)
from medservice.catalog.filtersets import (
    AcceptanceTestItemFilter,
    DeviceModelFilter,
    FaultCodeFilter,
    ManufacturerFilter,
    ProductLineFilter,
    SupplierFilter,
    SupplierLicenceFilter,
)
from medservice.catalog.forms import (
    AcceptanceTestItemForm,
    DeviceModelForm,
    FaultCodeForm,
    ManufacturerForm,
    ProductLineForm,
    SupplierForm,
    SupplierLicenceForm,
)
from medservice.catalog.models import (
    AcceptanceTestItem,
    DeviceModel,
    FaultCode,
    Manufacturer,
    ProductLine,
    Supplier,
    SupplierLicence,
)
from medservice.catalog.selectors import (
    acceptance_test_items_visible_to,
    device_models_visible_to,
    fault_codes_visible_to,
    manufacturers_visible_to,
    product_lines_visible_to,
    supplier_licences_visible_to,
    suppliers_visible_to,
)
from medservice.catalog.services import (
    acceptance_item_create,
    acceptance_item_update,
    device_model_create,
    device_model_update,
    fault_code_create,
    fault_code_update,
    supplier_licence_create,
    supplier_licence_update,
)
from medservice.core.registry import Related, Resource, register

TIMESTAMPS = ["created_at", "updated_at"]

manufacturers = register(
    Resource(
        name="manufacturers",
        model=Manufacturer,
        selector=manufacturers_visible_to,
        namespace="catalog",
        list_columns=["name", "country", "credit_code", "production_permit"],
        detail_fields=[
            "name",
            "country",
            "credit_code",
            "production_permit",
            "contact",
            *TIMESTAMPS,
        ],
        export_fields=["id", "name", "country", "credit_code", "production_permit", "contact"],
        form_class=ManufacturerForm,
        filterset_class=ManufacturerFilter,
        serializer_class=ManufacturerSerializer,
        search_fields=["name", "credit_code", "production_permit"],
        ordering_fields=["name", "country", "created_at"],
        default_ordering=["name", "pk"],
        organization_scoped=False,
    )
)

suppliers = register(
    Resource(
        name="suppliers",
        model=Supplier,
        selector=suppliers_visible_to,
        namespace="catalog",
        list_columns=[
            "name",
            "credit_code",
            "manufacturer",
            "quality_agreement_reference",
            "repairs_under_agreement",
            "licence_status",
        ],
        detail_fields=[
            "name",
            "credit_code",
            "manufacturer",
            "quality_agreement_reference",
            "repairs_under_agreement",
            "licence_status",
            "contact",
            "phone",
            "email",
            *TIMESTAMPS,
        ],
        export_fields=[
            "id",
            "name",
            "credit_code",
            "manufacturer__name",
            "quality_agreement_reference",
            "repairs_under_agreement",
            "licence_status",
            "contact",
            "phone",
            "email",
        ],
        form_class=SupplierForm,
        filterset_class=SupplierFilter,
        serializer_class=SupplierSerializer,
        search_fields=["name", "credit_code"],
        ordering_fields=["name", "created_at"],
        default_ordering=["name", "pk"],
        select_related=["manufacturer"],
        # The licence status column reads every supplier's licences from this one query.
        prefetch_related=["licences"],
        organization_scoped=False,
    )
)

supplier_licences = register(
    Resource(
        name="supplier-licences",
        model=SupplierLicence,
        selector=supplier_licences_visible_to,
        namespace="catalog",
        list_columns=["supplier", "kind", "number", "valid_from", "valid_until", "status"],
        detail_fields=[
            "supplier",
            "kind",
            "number",
            "valid_from",
            "valid_until",
            "status",
            "file",
            *TIMESTAMPS,
        ],
        export_fields=[
            "id",
            "supplier__name",
            "kind",
            "number",
            "valid_from",
            "valid_until",
            "status",
        ],
        form_class=SupplierLicenceForm,
        filterset_class=SupplierLicenceFilter,
        serializer_class=SupplierLicenceSerializer,
        search_fields=["number", "supplier__name"],
        ordering_fields=["valid_until", "kind", "created_at"],
        default_ordering=["supplier__name", "kind", "-valid_until", "pk"],
        select_related=["supplier"],
        create=supplier_licence_create,
        update=supplier_licence_update,
        organization_scoped=False,
    )
)

product_lines = register(
    Resource(
        name="product-lines",
        model=ProductLine,
        selector=product_lines_visible_to,
        namespace="catalog",
        list_columns=["name", "category"],
        detail_fields=["name", "category", *TIMESTAMPS],
        form_class=ProductLineForm,
        filterset_class=ProductLineFilter,
        serializer_class=ProductLineSerializer,
        search_fields=["name", "category"],
        ordering_fields=["name", "category"],
        default_ordering=["name", "pk"],
        organization_scoped=False,
    )
)

device_models = register(
    Resource(
        name="device-models",
        model=DeviceModel,
        selector=device_models_visible_to,
        namespace="catalog",
        list_columns=[
            "name",
            "model_spec",
            "manufacturer",
            "product_line",
            "risk_class",
            "registration_number",
            "registration_valid_until",
            "registration_status",
            "life_support",
        ],
        detail_fields=[
            "name",
            "model_spec",
            "manufacturer",
            "product_line",
            "risk_class",
            "product_type",
            "registration_number",
            "registration_valid_until",
            "registration_status",
            "udi_di",
            "implantable",
            "life_support",
            "single_use",
            "tracking",
            "service_life_years",
            "warranty_months",
            "pm_interval_days",
            *TIMESTAMPS,
        ],
        export_fields=[
            "id",
            "name",
            "model_spec",
            "manufacturer__name",
            "product_line__name",
            "risk_class",
            "product_type",
            "registration_number",
            "registration_valid_until",
            "udi_di",
            "implantable",
            "life_support",
            "single_use",
            "tracking",
            "service_life_years",
            "warranty_months",
            "pm_interval_days",
        ],
        form_class=DeviceModelForm,
        filterset_class=DeviceModelFilter,
        serializer_class=DeviceModelSerializer,
        search_fields=["name", "model_spec", "registration_number", "udi_di"],
        ordering_fields=["name", "model_spec", "risk_class", "registration_valid_until"],
        default_ordering=["name", "model_spec", "pk"],
        select_related=["manufacturer", "product_line"],
        create=device_model_create,
        update=device_model_update,
        organization_scoped=False,
    )
)

fault_codes = register(
    Resource(
        name="fault-codes",
        model=FaultCode,
        selector=fault_codes_visible_to,
        namespace="catalog",
        list_columns=["code", "name", "product_line", "parent"],
        detail_fields=["product_line", "parent", "code", "name", *TIMESTAMPS],
        export_fields=["id", "product_line__name", "code", "name", "parent__code"],
        form_class=FaultCodeForm,
        filterset_class=FaultCodeFilter,
        serializer_class=FaultCodeSerializer,
        search_fields=["code", "name"],
        ordering_fields=["code", "name"],
        default_ordering=["product_line__name", "code", "pk"],
        select_related=["product_line", "parent"],
        create=fault_code_create,
        update=fault_code_update,
        organization_scoped=False,
    )
)

acceptance_test_items = register(
    Resource(
        name="acceptance-test-items",
        model=AcceptanceTestItem,
        selector=acceptance_test_items_visible_to,
        namespace="catalog",
        list_columns=[
            "device_model",
            "position",
            "name",
            "expected_value",
            "tolerance",
            "unit",
            "pass_fail_only",
        ],
        detail_fields=[
            "device_model",
            "position",
            "name",
            "expected_value",
            "tolerance",
            "unit",
            "pass_fail_only",
            *TIMESTAMPS,
        ],
        export_fields=[
            "id",
            "device_model__name",
            "device_model__model_spec",
            "position",
            "name",
            "expected_value",
            "tolerance",
            "unit",
            "pass_fail_only",
        ],
        form_class=AcceptanceTestItemForm,
        filterset_class=AcceptanceTestItemFilter,
        serializer_class=AcceptanceTestItemSerializer,
        search_fields=["name", "device_model__name", "device_model__model_spec"],
        ordering_fields=["position", "name"],
        default_ordering=["device_model__name", "device_model__model_spec", "position", "pk"],
        select_related=["device_model"],
        create=acceptance_item_create,
        update=acceptance_item_update,
        organization_scoped=False,
    )
)


# --- related-record tabs ---------------------------------------------------------------------


def _licences_of(supplier: Supplier, user: Any) -> QuerySet:
    return (
        supplier_licences_visible_to(user)
        .filter(supplier=supplier)
        .order_by("kind", "-valid_until", "pk")
    )


def _models_of_manufacturer(manufacturer: Manufacturer, user: Any) -> QuerySet:
    return (
        device_models_visible_to(user)
        .filter(manufacturer=manufacturer)
        .select_related("product_line")
        .order_by("name", "model_spec")
    )


def _models_of_line(line: ProductLine, user: Any) -> QuerySet:
    return (
        device_models_visible_to(user)
        .filter(product_line=line)
        .select_related("manufacturer")
        .order_by("name", "model_spec")
    )


def _fault_codes_of(line: ProductLine, user: Any) -> QuerySet:
    return (
        fault_codes_visible_to(user)
        .filter(product_line=line)
        .select_related("parent")
        .order_by("code")
    )


def _acceptance_items_of(device_model: DeviceModel, user: Any) -> QuerySet:
    return (
        acceptance_test_items_visible_to(user)
        .filter(device_model=device_model)
        .order_by("position", "pk")
    )


suppliers.related.append(
    Related(
        _("Licences"),
        _licences_of,
        ["kind", "number", "valid_from", "valid_until", "status"],
        "catalog:supplier-licences-detail",
    )
)
manufacturers.related.append(
    Related(
        _("Device models"),
        _models_of_manufacturer,
        ["name", "model_spec", "product_line", "risk_class"],
        "catalog:device-models-detail",
    )
)
product_lines.related += [
    Related(
        _("Device models"),
        _models_of_line,
        ["name", "model_spec", "manufacturer", "risk_class"],
        "catalog:device-models-detail",
    ),
    Related(
        _("Fault codes"),
        _fault_codes_of,
        ["code", "name", "parent"],
        "catalog:fault-codes-detail",
        limit=200,
    ),
]
device_models.related.append(
    Related(
        _("Acceptance test"),
        _acceptance_items_of,
        ["name", "expected_value", "tolerance", "unit", "pass_fail_only"],
        "catalog:acceptance-test-items-detail",
    )
)
