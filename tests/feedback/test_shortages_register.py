"""The out-of-stock register (所缺医疗器械产品登记簿): a product a customer asked for; the customer
is told once when it is in stock (when it is received, or at the hourly check), never before;
the entry is closed as fulfilled or cancelled."""

# The shared fixtures are imported by name (the app's conftest belongs to both areas), so the
# test arguments "redefine" them: that is how pytest fixtures work.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from medservice.core.messaging import LoggingMessageBackend
from medservice.feedback.models import ShortageEntry
from medservice.feedback.services_stores import shortages_check_stock
from tests.feedback.factories_stores import ShortageEntryFactory
from tests.feedback.fixtures_stores import (  # noqa: F401  (fixtures)
    chain,
    other_store,
    quality_staff,
    store,
    store_staff,
)
from tests.installed_base.factories import BatchModelFactory
from tests.inventory.factories import LocationFactory, PartFactory, QuarantineFactory, stock_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def texts():
    LoggingMessageBackend.sent.clear()
    yield LoggingMessageBackend.sent
    LoggingMessageBackend.sent.clear()


@pytest.fixture
def battery(db):
    return PartFactory(number="KD-G100-BAT", name_zh="血糖仪纽扣电池 CR2032")


def body(store, **changes):
    return {
        "store": store.pk, "requested_on": "2026-03-03", "product_text": "", "quantity": 2,
        "customer_name": "王先生", "customer_phone": "13761234567",
        "customer_email": "wang@example.cn", **changes,
    }  # fmt: skip


def test_the_customer_is_told_once_when_the_part_is_received_and_not_before(
    api, store, store_staff, battery, texts, django_capture_on_commit_callbacks
):
    # Given a customer waiting for test strips (stocked as a part registered as the model)
    strips = BatchModelFactory(name="血糖试纸", model_spec="KD-GS100")
    battery.device_model = strips
    battery.save()
    response = api.as_user(store_staff).post(
        "/api/v1/shortage-entries/", body(store, device_model=strips.pk), format="json"
    )
    assert response.status_code == 201, response.json()
    entry = ShortageEntry.objects.get()

    # When the hourly check runs with nothing in stock, and stock goes to quarantine only
    stock_in(QuarantineFactory(), battery, 5)
    assert shortages_check_stock() == 0
    entry.refresh_from_db()
    assert entry.notified_at is None and texts == [] and mail.outbox == []

    # When the warehouse receives them (the receipt sets off the check after commit)
    with django_capture_on_commit_callbacks(execute=True):
        stock_in(LocationFactory(), battery, 10)

    # Then the customer is told by SMS and e-mail, once
    entry.refresh_from_db()
    assert entry.notified_at is not None
    assert entry.notified_by == "stock"
    assert [(item["to"], item["channel"]) for item in texts] == [("13761234567", "sms")]
    assert entry.number in texts[0]["text"]
    assert [message.to for message in mail.outbox] == [["wang@example.cn"]]

    # And a second receipt and the hourly check tell nobody again
    with django_capture_on_commit_callbacks(execute=True):
        stock_in(LocationFactory(), battery, 3)
        assert shortages_check_stock() == 0
    assert len(texts) == 1 and len(mail.outbox) == 1


def test_the_hourly_check_tells_the_waiting_customers_of_a_part_in_stock(
    store, battery, texts, django_capture_on_commit_callbacks
):
    entry = ShortageEntryFactory(store=store, part=battery, product_text="")

    assert shortages_check_stock() == 0
    stock_in(LocationFactory(), battery, 4)  # its hook not run: the hourly check finds it
    with django_capture_on_commit_callbacks(execute=True):
        assert shortages_check_stock() == 1

    entry.refresh_from_db()
    assert entry.notified_at is not None
    assert len(texts) == 1


def test_a_closed_entry_is_not_told(store, battery, texts, django_capture_on_commit_callbacks):
    ShortageEntryFactory(store=store, part=battery, product_text="", status="cancelled")
    with django_capture_on_commit_callbacks(execute=True):
        stock_in(LocationFactory(), battery, 4)
    assert texts == []


def test_close_as_fulfilled_or_cancelled_with_a_reason(api, store, store_staff):
    entry = ShortageEntryFactory(store=store)
    client = api.as_user(store_staff)

    no_reason = client.post(f"/api/v1/shortage-entries/{entry.pk}/close/",
                            {"status": "cancelled"}, format="json")  # fmt: skip
    wrong = client.post(f"/api/v1/shortage-entries/{entry.pk}/close/",
                        {"status": "open"}, format="json")  # fmt: skip
    closed = client.post(f"/api/v1/shortage-entries/{entry.pk}/close/",
                         {"status": "cancelled", "note": "顾客已在别处购买"}, format="json")  # fmt: skip
    again = client.post(f"/api/v1/shortage-entries/{entry.pk}/close/",
                        {"status": "fulfilled"}, format="json")  # fmt: skip

    assert no_reason.status_code == 400
    assert no_reason.json()["error"]["fields"] == {"note": ["Say why the entry is cancelled."]}
    assert wrong.status_code == 400 and "status" in wrong.json()["error"]["fields"]
    assert closed.status_code == 200
    assert closed.json()["status"] == "cancelled"
    assert closed.json()["closed_by"] == store_staff.pk
    assert again.status_code == 409


def test_a_product_named_in_words_is_told_by_hand_once(
    api, store, store_staff, texts, django_capture_on_commit_callbacks
):
    entry = ShortageEntryFactory(store=store, product_text="电子体温计 KD-T10")
    client = api.as_user(store_staff)

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/api/v1/shortage-entries/{entry.pk}/notify/")
    second = client.post(f"/api/v1/shortage-entries/{entry.pk}/notify/")

    assert first.status_code == 200
    assert first.json()["notified_by"] == "staff"
    assert second.status_code == 409
    assert len(texts) == 1


def test_bad_input_is_named_and_nothing_saved(api, store, store_staff, battery):
    strips = BatchModelFactory()
    response = api.as_user(store_staff).post("/api/v1/shortage-entries/", body(
        store, customer_phone="", customer_email="not-an-address", quantity=0,
        device_model=strips.pk,
    ), format="json")  # fmt: skip

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"customer_email", "quantity"}
    assert not ShortageEntry.objects.exists()


def test_a_product_and_a_way_to_reach_the_customer_are_required(api, store, store_staff):
    response = api.as_user(store_staff).post("/api/v1/shortage-entries/", body(
        store, customer_phone="", customer_email="",
    ), format="json")  # fmt: skip
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"product_text", "customer_phone"}


def test_store_staff_of_a_customer_store_may_not_name_a_spare_part(
    api, store, store_staff, battery
):
    # The spare-parts catalogue is the company's: a customer store names the model or in words.
    response = api.as_user(store_staff).post(
        "/api/v1/shortage-entries/", body(store, part=battery.pk), format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "part": [f"There is no such record in your scope (id {battery.pk})."]
    }


def test_contacts_are_masked_and_unmasked_with_an_audit(api, store, store_staff):
    entry = ShortageEntryFactory(store=store, customer_email="wang@example.cn")
    client = api.as_user(store_staff)

    shown = client.get(f"/api/v1/shortage-entries/{entry.pk}/").json()
    unmasked = client.post(f"/api/v1/shortage-entries/{entry.pk}/unmask/").json()

    assert shown["customer_phone"] == "137****4567"
    assert shown["customer_email"] == "w***@example.cn"
    assert unmasked == {"customer_phone": "13761234567", "customer_email": "wang@example.cn"}


def test_the_register_lists_in_a_fixed_number_of_queries(client, store, store_staff, battery):
    def count(path):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    client.force_login(store_staff)
    ShortageEntryFactory.create_batch(2, store=store)
    small = (count("/feedback/shortage-entries/"), count("/api/v1/shortage-entries/"))
    ShortageEntryFactory.create_batch(6, store=store, part=battery, product_text="")
    ShortageEntryFactory.create_batch(6, store=store, device_model=BatchModelFactory())
    large = (count("/feedback/shortage-entries/"), count("/api/v1/shortage-entries/"))

    assert small == large
