"""Factories for the installed base: valid records by default, made directly (tests of the
rules go through the services)."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone

from medservice.catalog.choices import LicenceKind, Tracking
from medservice.installed_base.choices import ContractKind, HoldKind, HoldScope
from medservice.installed_base.models import (
    Delivery,
    DeliveryLine,
    Device,
    Hold,
    ServiceContract,
)
from tests.catalog.factories import (
    DeviceModelFactory,
    ManufacturerFactory,
    SupplierFactory,
    SupplierLicenceFactory,
)
from tests.factories import OrganizationFactory

__all__ = [
    "BatchModelFactory",
    "ContractFactory",
    "DeliveryFactory",
    "DeliveryLineFactory",
    "DeviceFactory",
    "DeviceModelFactory",
    "HoldFactory",
    "ManufacturerFactory",
    "SupplierFactory",
    "SupplierLicenceFactory",
    "licensed_supplier",
]


class BatchModelFactory(DeviceModelFactory):
    """A batch-tracked consumable (test strips) without warranty."""

    name = "血糖试纸"
    tracking = Tracking.BATCH
    warranty_months = 0
    single_use = True


def licensed_supplier(**fields: object):
    """A supplier whose operation permit is in force until `valid_until` (default: far)."""
    valid_until = fields.pop("valid_until", datetime.date(2099, 12, 31))
    supplier = SupplierFactory(**fields)
    SupplierLicenceFactory(
        supplier=supplier,
        kind=LicenceKind.OPERATION_PERMIT,
        valid_from=datetime.date(2020, 1, 1),
        valid_until=valid_until,
    )
    return supplier


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    number = factory.Sequence(lambda n: f"DL-2026-9{n:05d}")
    organization = factory.SubFactory(OrganizationFactory)
    delivered_on = datetime.date(2026, 3, 2)


class DeliveryLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryLine

    delivery = factory.SubFactory(DeliveryFactory)
    device_model = factory.SubFactory(BatchModelFactory)
    batch_number = factory.Sequence(lambda n: f"2603{n:02d}")
    quantity = 10


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    device_model = factory.SubFactory(DeviceModelFactory)
    serial_number = factory.Sequence(lambda n: f"KM8-2603-{n:05d}")
    batch_number = "2603"
    organization = factory.SubFactory(OrganizationFactory)
    installed_on = datetime.date(2026, 3, 5)
    accepted_on = datetime.date(2026, 3, 10)
    warranty_ends_on = datetime.date(2027, 3, 9)


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceContract
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"SC-2026-9{n:05d}")
    kind = ContractKind.FULL_SERVICE
    organization = factory.SubFactory(OrganizationFactory)
    starts_on = datetime.date(2026, 1, 1)
    ends_on = datetime.date(2026, 12, 31)

    @factory.post_generation
    def devices(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.devices.set(extracted)


class HoldFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hold

    scope = HoldScope.BATCH
    kind = HoldKind.QUALITY_REVIEW
    device_model = factory.SubFactory(DeviceModelFactory)
    batch_number = "2603"
    reason = "批次复核中"
    placed_at = factory.LazyFunction(timezone.now)
