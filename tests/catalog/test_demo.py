"""The demo catalogue: believable, valid by the same rules as entered data, and idempotent."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from medservice.catalog.demo import seed_catalogue
from medservice.catalog.models import (
    AcceptanceTestItem,
    DeviceModel,
    FaultCode,
    Manufacturer,
    ProductLine,
    Supplier,
    SupplierLicence,
)
from medservice.catalog.services import (
    device_model_problems,
    supplier_licence_validity,
    supplier_may_supply,
)
from medservice.core.demo import SEEDERS


def counts() -> list[int]:
    return [
        model.objects.count()
        for model in (
            Manufacturer,
            Supplier,
            SupplierLicence,
            ProductLine,
            DeviceModel,
            AcceptanceTestItem,
            FaultCode,
        )
    ]


def test_the_catalogue_seeder_runs_after_organisations_and_users():
    assert SEEDERS["catalogue"].order == 20


@pytest.mark.django_db
def test_seeding_twice_adds_nothing_the_second_time():
    with freeze_time("2026-11-27"):
        seed_catalogue()
        first = counts()
    with freeze_time("2027-03-01"):
        seed_catalogue()

    assert counts() == first == [4, 3, 8, 6, 16, 13, 47]
    permit = SupplierLicence.objects.get(number="沪药监械经营许20210045号")
    assert permit.valid_until == datetime.date(2026, 12, 17)


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_the_demo_has_one_supplier_about_to_be_locked_and_two_that_are_fine():
    seed_catalogue()

    ruikang = Supplier.objects.get(name="上海瑞康医疗器械贸易有限公司")
    validity = supplier_licence_validity(ruikang)
    assert (validity.status, validity.days_left) == ("expiring", 20)
    for name in ("深圳华康生物医疗电子有限公司", "南京康博医疗用品供应链有限公司"):
        assert supplier_may_supply(Supplier.objects.get(name=name)) == (True, "")
    assert Manufacturer.objects.filter(name="康达医疗器械有限公司").exists()


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_every_demo_model_passes_the_rules_entered_data_must_pass():
    seed_catalogue()

    for model in DeviceModel.objects.all():
        model.full_clean()
        values = {name: getattr(model, name) for name in ("registration_number", "risk_class")}
        assert device_model_problems({**values, "udi_di": model.udi_di}, instance=model) == {
            "registration_number": []
        }, model
    assert sorted(DeviceModel.objects.values_list("risk_class", flat=True).distinct()) == [
        "I",
        "II",
        "III",
    ]


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_the_demo_models_carry_the_flags_their_kind_needs():
    seed_catalogue()

    ventilators = DeviceModel.objects.filter(product_line__name="呼吸机", risk_class="III")
    assert {model.life_support for model in ventilators} == {True}
    sterile = DeviceModel.objects.filter(product_line__name="一次性无菌器械")
    assert {(model.single_use, model.tracking) for model in sterile} == {(True, "batch")}
    strips = DeviceModel.objects.get(model_spec="KD-GS100 50片/盒")
    assert (strips.product_type, strips.tracking, strips.single_use) == ("ivd", "batch", True)
    assert not DeviceModel.objects.filter(implantable=True).exists()
    monitor = DeviceModel.objects.get(model_spec="KD-M8000")
    assert monitor.acceptance_items.count() == 6
    assert DeviceModel.objects.get(model_spec="HK-V900").acceptance_items.count() == 7
    for line in ProductLine.objects.all():
        assert line.fault_codes.filter(parent__isnull=True).exists(), line
        assert line.fault_codes.filter(parent__isnull=False).exists(), line
