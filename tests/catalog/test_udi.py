"""UDI from a scanner: parsed by biip, finding the model and the unit."""

from __future__ import annotations

import datetime

import pytest

from medservice.catalog.udi import udi_parse
from medservice.core.errors import InvalidInputError
from tests.catalog.factories import DeviceModelFactory
from tests.installed_base.factories import DeviceFactory

GTIN = "06901234567892"


@pytest.mark.parametrize(
    "scanned",
    [
        f"(01){GTIN}(11)230115(17)281231(10)B2301(21)SN0001",
        f"01{GTIN}1123011517281231" + "10B2301\x1d21SN0001",
        f"]d201{GTIN}1123011517281231" + "10B2301<GS>21SN0001",
    ],
)
def test_a_scanned_udi_is_parsed_into_its_parts(scanned):
    udi = udi_parse(scanned)
    assert (udi.udi_di, udi.batch_number, udi.serial_number) == (GTIN, "B2301", "SN0001")
    assert (udi.production_date, udi.expiry_date) == (
        datetime.date(2023, 1, 15),
        datetime.date(2028, 12, 31),
    )
    assert udi.udi_pi == "(11)230115(17)281231(10)B2301(21)SN0001"


@pytest.mark.parametrize(
    ("scanned", "message"),
    [
        ("", "Scan or type a UDI."),
        ("(10)B2301", "The UDI has no device identifier (01)."),
    ],
)
def test_a_bad_udi_says_why(scanned, message):
    with pytest.raises(InvalidInputError) as error:
        udi_parse(scanned)
    assert str(error.value) == message


def test_garbage_is_not_a_udi():
    with pytest.raises(InvalidInputError) as error:
        udi_parse("hello world")
    assert str(error.value).startswith("This is not a GS1 UDI:")


@pytest.mark.django_db
def test_the_api_finds_the_unit_a_udi_names(api, agent, hospital_a):
    model = DeviceModelFactory(udi_di=GTIN)
    unit = DeviceFactory(device_model=model, serial_number="SN0001", organization=hospital_a)
    body = api.as_user(agent).get("/api/v1/udi/", {"code": f"(01){GTIN}(21)SN0001"}).json()
    assert (body["device_model"], body["devices"], body["serial_number"]) == (
        model.pk,
        [unit.pk],
        "SN0001",
    )


@pytest.mark.django_db
def test_the_udi_look_up_is_scoped(api, customer_a, hospital_b):
    model = DeviceModelFactory(udi_di=GTIN)
    DeviceFactory(device_model=model, serial_number="SN0001", organization=hospital_b)
    body = api.as_user(customer_a).get("/api/v1/udi/", {"code": f"(01){GTIN}(21)SN0001"}).json()
    assert (body["device_model"], body["devices"]) == (model.pk, [])


@pytest.mark.django_db
def test_a_bad_udi_is_a_400_naming_the_field(api, agent):
    response = api.as_user(agent).get("/api/v1/udi/", {"code": "(10)B2301"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"code": ["No (01) device identifier."]}
