"""GSP locks: a supplier whose operation permit, filing or production permit has expired (or
is missing) may not supply; one whose licence is expiring may, with a note; a model whose
registration certificate has expired may not be delivered. Certificate numbers are checked
loosely against the Chinese formats."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from medservice.catalog.choices import ValidityStatus
from medservice.catalog.services import (
    device_model_may_supply,
    device_model_registration_status,
    supplier_licence_status,
    supplier_licence_validity,
    supplier_may_supply,
)
from medservice.catalog.validators import registration_number_problems, validate_udi_di
from tests.catalog.factories import DeviceModelFactory, SupplierFactory, SupplierLicenceFactory

TODAY = datetime.date(2026, 11, 27)


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def ruikang(db):
    """A distributor whose operation permit is the one that matters."""
    supplier = SupplierFactory(name="上海瑞康医疗器械贸易有限公司")
    SupplierLicenceFactory(
        supplier=supplier, kind="business", number="91310115MA1H7T6B2K", valid_until=None
    )
    return supplier


def permit(supplier, until, *, number="沪药监械经营许20210045号", starts=None):
    return SupplierLicenceFactory(
        supplier=supplier,
        kind="operation_permit",
        number=number,
        valid_from=starts or days(-1800),
        valid_until=until,
    )


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_a_supplier_with_a_permit_valid_beyond_60_days_may_supply(ruikang):
    permit(ruikang, days(61))

    assert supplier_licence_status(ruikang) == ValidityStatus.VALID
    assert supplier_may_supply(ruikang) == (True, "")


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_a_supplier_whose_permit_expires_within_60_days_may_supply_with_a_note(ruikang):
    permit(ruikang, days(60))

    validity = supplier_licence_validity(ruikang)
    assert (validity.status, validity.days_left, validity.threshold) == ("expiring", 60, 60)
    assert supplier_may_supply(ruikang) == (
        True,
        "The Medical device operation permit (经营许可证) 沪药监械经营许20210045号 of "
        "上海瑞康医疗器械贸易有限公司 expires on 2027-01-26 (in 60 days).",
    )


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_within_30_days_the_30_day_threshold_is_reached(ruikang):
    permit(ruikang, days(30))

    validity = supplier_licence_validity(ruikang)
    assert (validity.status, validity.days_left, validity.threshold) == ("expiring", 30, 30)
    assert supplier_may_supply(ruikang)[0] is True


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_on_its_last_day_the_permit_still_holds(ruikang):
    permit(ruikang, TODAY)
    assert supplier_may_supply(ruikang)[0] is True


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_a_supplier_whose_permit_expired_yesterday_is_locked_with_the_licence_and_date(ruikang):
    permit(ruikang, days(-1))

    assert supplier_licence_status(ruikang) == ValidityStatus.EXPIRED
    assert supplier_may_supply(ruikang) == (
        False,
        "上海瑞康医疗器械贸易有限公司 is locked: its Medical device operation permit (经营许可证) "
        "沪药监械经营许20210045号 expired on 2026-11-26.",
    )


@pytest.mark.django_db
def test_the_day_decides_not_today(ruikang):
    permit(ruikang, datetime.date(2026, 12, 16))

    assert supplier_may_supply(ruikang, on=datetime.date(2026, 12, 16))[0] is True
    assert supplier_may_supply(ruikang, on=datetime.date(2026, 12, 17))[0] is False


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_a_supplier_without_an_operation_permit_or_filing_is_locked(ruikang):
    assert supplier_licence_status(ruikang) == ValidityStatus.MISSING
    assert supplier_may_supply(ruikang) == (
        False,
        "上海瑞康医疗器械贸易有限公司 is locked: no medical device operation permit, operation "
        "filing or production permit in force is on file.",
    )


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_an_operation_filing_without_expiry_lets_a_distributor_supply(ruikang):
    SupplierLicenceFactory(
        supplier=ruikang, kind="operation_filing", number="沪药监械经营备20200456号"
    )
    assert supplier_may_supply(ruikang) == (True, "")


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_a_manufacturer_supplies_under_its_production_permit(db):
    maker = SupplierFactory(name="深圳华康生物医疗电子有限公司")
    SupplierLicenceFactory(supplier=maker, kind="production_permit", valid_until=days(900))
    assert supplier_may_supply(maker) == (True, "")


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_a_recorded_renewal_supersedes_the_expired_permit(ruikang):
    permit(ruikang, days(-10))
    permit(ruikang, days(1816), number="沪药监械经营许20260088号", starts=days(-9))

    assert supplier_may_supply(ruikang) == (True, "")


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_a_renewal_that_has_not_started_does_not_cover_the_gap(ruikang):
    permit(ruikang, days(-3))
    permit(ruikang, days(1826), number="沪药监械经营许20260088号", starts=days(5))

    allowed, reason = supplier_may_supply(ruikang)
    assert allowed is False
    assert reason.endswith("沪药监械经营许20210045号 expired on 2026-11-24.")


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_an_expired_business_licence_locks_too_but_a_quality_agreement_does_not(ruikang):
    permit(ruikang, days(900))
    SupplierLicenceFactory(
        supplier=ruikang, kind="quality_agreement", number="QA-2024-007", valid_until=days(-5)
    )
    assert supplier_may_supply(ruikang) == (True, "")

    ruikang.licences.filter(kind="business").update(valid_until=days(-2))

    allowed, reason = supplier_may_supply(ruikang)
    assert allowed is False
    assert "Business licence (营业执照) 91310115MA1H7T6B2K expired on 2026-11-25" in reason


@pytest.mark.django_db
@freeze_time("2026-11-27")
def test_device_models_are_locked_once_their_certificate_has_expired(db):
    valid = DeviceModelFactory(registration_valid_until=days(400))
    expiring = DeviceModelFactory(
        model_spec="HK-M12",
        registration_number="粤械注准20202070156",
        registration_valid_until=days(50),
    )
    expired = DeviceModelFactory(
        model_spec="KD-M5",
        registration_number="沪械注准20222070412",
        registration_valid_until=days(-1),
    )
    unfiled = DeviceModelFactory(risk_class="I", registration_number="")

    assert [
        device_model_registration_status(model) for model in (valid, expiring, expired, unfiled)
    ] == ["valid", "expiring", "expired", "missing"]
    assert device_model_may_supply(valid) == (True, "")
    assert device_model_may_supply(expiring) == (
        True,
        "The registration certificate 粤械注准20202070156 of 多参数病人监护仪 HK-M12 expires on "
        "2027-01-16 (in 50 days).",
    )
    assert device_model_may_supply(expired) == (
        False,
        "多参数病人监护仪 KD-M5 is locked: its registration certificate 沪械注准20222070412 "
        "expired on 2026-11-26.",
    )
    assert device_model_may_supply(unfiled)[0] is False


@pytest.mark.parametrize(
    ("number", "risk_class"),
    [
        ("国械注准20213070123", "III"),
        ("沪械注准20202070345", "II"),
        ("国械注进20193080112", "III"),
        ("国械注许20202060001", "II"),
        ("沪械备20200012号", "I"),
        ("苏锡械备20190034号", "I"),
        ("国械备20190005号", "I"),
        ("国食药监械(准)字2012第3210123号", "III"),
        ("沪食药监械（准）字2013第2210456号", "II"),
        ("国械注准 2021 3070123", "III"),
        ("", "I"),
    ],
)
def test_certificate_numbers_in_the_chinese_formats_are_accepted(number, risk_class):
    assert registration_number_problems(number, risk_class) == []


@pytest.mark.parametrize(
    ("number", "risk_class", "message"),
    [
        ("", "III", "needs its registration certificate number"),
        ("沪械备20200012号", "II", "is a filing number (备案), which only class I models have"),
        ("国械注准20213070123", "II", "is the certificate of a class III device"),
        ("ABC-123", "III", "does not look like a registration certificate number"),
        ("国械注准2021307012", "III", "does not look like a registration certificate number"),
        ("12345", "I", "does not look like a filing number"),
    ],
)
def test_certificate_numbers_that_do_not_fit_are_explained(number, risk_class, message):
    (problem,) = registration_number_problems(number, risk_class)
    assert message in problem


@pytest.mark.parametrize(
    "value", ["06951234500016", "6951234500016", "04012345000016", "+H123ABC1230", "MA.156.M0.1"]
)
def test_udi_dis_that_are_accepted(value):
    validate_udi_di(value)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("06951234500017", "udi_di_check"),
        ("6951234500012", "udi_di_check"),
        ("069512345000161", "udi_di_length"),
        ("UDI 0695", "udi_di_format"),
    ],
)
def test_udi_dis_that_are_refused(value, code):
    with pytest.raises(ValidationError) as error:
        validate_udi_di(value)
    assert error.value.code == code
