"""Who sees which catalogue rows.

The catalogue is company-wide master data: a signed-in user whose role may view a kind of
record sees all of it (customers may view device models only); a user who belongs to no
organisation sees nothing, as everywhere else.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.db.models import QuerySet

from medservice.catalog.models import (
    AcceptanceTestItem,
    DeviceModel,
    FaultCode,
    Manufacturer,
    ProductLine,
    Supplier,
    SupplierLicence,
)
from medservice.customers.selectors import user_scope

ModelT = TypeVar("ModelT", bound=models.Model)


def _catalogue_rows(model: type[ModelT], user: Any) -> QuerySet[ModelT]:
    meta = model._meta
    if user_scope(user) == "none" or not user.has_perm(f"{meta.app_label}.view_{meta.model_name}"):
        return model._default_manager.none()
    return model._default_manager.all()


def manufacturers_visible_to(user: Any) -> QuerySet[Manufacturer]:
    return _catalogue_rows(Manufacturer, user)


def suppliers_visible_to(user: Any) -> QuerySet[Supplier]:
    return _catalogue_rows(Supplier, user)


def supplier_licences_visible_to(user: Any) -> QuerySet[SupplierLicence]:
    return _catalogue_rows(SupplierLicence, user)


def product_lines_visible_to(user: Any) -> QuerySet[ProductLine]:
    return _catalogue_rows(ProductLine, user)


def device_models_visible_to(user: Any) -> QuerySet[DeviceModel]:
    return _catalogue_rows(DeviceModel, user)


def fault_codes_visible_to(user: Any) -> QuerySet[FaultCode]:
    return _catalogue_rows(FaultCode, user)


def acceptance_test_items_visible_to(user: Any) -> QuerySet[AcceptanceTestItem]:
    return _catalogue_rows(AcceptanceTestItem, user)


def device_model_by_udi_di(user: Any, udi_di: str) -> DeviceModel | None:
    """The model a scanned UDI-DI names (installed base and intake use it), if visible."""
    code = (udi_di or "").strip()
    if not code:
        return None
    return device_models_visible_to(user).filter(udi_di=code).first()
