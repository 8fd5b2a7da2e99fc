"""Factories for catalogue records: valid by default (certificate numbers that fit the risk
class, UDI-DIs with a correct check digit), so a test changes only what it is about."""

from __future__ import annotations

import factory

from medservice.catalog.choices import LicenceKind, RiskClass
from medservice.catalog.models import (
    AcceptanceTestItem,
    DeviceModel,
    FaultCode,
    Manufacturer,
    ProductLine,
    Supplier,
    SupplierLicence,
)
from medservice.catalog.validators import gtin_check_digit


def udi_di(n: int) -> str:
    body = f"0695999{n:06d}"
    return body + gtin_check_digit(body)


class ManufacturerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Manufacturer
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"生产企业{n}")


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    name = factory.Sequence(lambda n: f"供货者{n}医疗器械有限公司")


class SupplierLicenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierLicence

    supplier = factory.SubFactory(SupplierFactory)
    kind = LicenceKind.OPERATION_PERMIT
    number = factory.Sequence(lambda n: f"沪药监械经营许2021{n:04d}号")


class ProductLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductLine
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"产品线{n}")


class DeviceModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeviceModel

    name = "多参数病人监护仪"
    model_spec = factory.Sequence(lambda n: f"KD-M{n:04d}")
    manufacturer = factory.SubFactory(ManufacturerFactory)
    product_line = factory.SubFactory(ProductLineFactory)
    risk_class = RiskClass.CLASS_II
    registration_number = factory.Sequence(lambda n: f"沪械注准2021207{n % 10000:04d}")
    udi_di = factory.Sequence(udi_di)


class FaultCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FaultCode

    product_line = factory.SubFactory(ProductLineFactory)
    code = factory.Sequence(lambda n: f"MON-{n:02d}")
    name = "显示故障"


class AcceptanceTestItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AcceptanceTestItem

    device_model = factory.SubFactory(DeviceModelFactory)
    position = factory.Sequence(lambda n: n + 1)
    name = "心率（心电模拟器 60 bpm）"
    expected_value = 60
    tolerance = 1
    unit = "bpm"
