"""The customer contact on a work order is personal data: stored encrypted with a look-up hash,
its phone masked in the API for everyone but the people doing the work, sealed in the audit
trail, and only masked in the frozen service report."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from medservice.core.crypto import ENCRYPTED_PREFIX, blind_index
from medservice.core.models import AuditEvent
from medservice.work_orders.models import WorkOrder
from medservice.work_orders.reports import report_current
from medservice.work_orders.services import work_order_create
from tests.work_orders.test_reports import complete_remote_work

PHONE = "13812345678"


def raw_contact(work_order: WorkOrder) -> tuple[str, str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact_name, contact_phone, contact_phone_index FROM "
            "work_orders_workorder WHERE id = %s",
            [work_order.pk],
        )
        return cursor.fetchone()


@pytest.fixture
def work_order(engineer, device):
    return work_order_create(
        actor=engineer, kind="repair", device=device, problem="无法开机",
        contact_name="王护士", contact_phone=PHONE,
    )  # fmt: skip


def test_the_contact_is_stored_encrypted_with_a_lookup_hash(work_order):
    # Given a work order opened with a contact
    # When the row is read as stored
    name, phone, index = raw_contact(work_order)
    # Then neither value is in clear text, and the phone is found by its hash
    assert name.startswith(ENCRYPTED_PREFIX) and "王护士" not in name
    assert phone.startswith(ENCRYPTED_PREFIX) and PHONE not in phone
    assert index == blind_index(PHONE)
    assert WorkOrder.objects.get(contact_phone_index=blind_index(PHONE)) == work_order
    reloaded = WorkOrder.objects.get(pk=work_order.pk)
    assert (reloaded.contact_name, reloaded.contact_phone) == ("王护士", PHONE)


def test_the_audit_trail_keeps_the_contact_sealed(work_order):
    # Given the creation of the work order in the audit trail
    event = AuditEvent.objects.filter(
        object_type="work_orders.workorder", object_id=str(work_order.pk), action="create"
    ).get()
    # Then the contact's values are not readable there, and the hash is not recorded at all
    assert PHONE not in str(event.changes)
    assert "王护士" not in str(event.changes)
    assert "contact_phone_index" not in event.changes
    assert "created_at" not in event.changes


def test_the_api_masks_the_phone_except_for_the_owner_and_the_engineer(
    work_order, engineer, service_manager
):
    from rest_framework.test import APIClient

    url = f"/api/v1/work-orders/{work_order.pk}/"
    client = APIClient()
    # Given the service manager, who is neither the owner nor the engineer
    client.force_authenticate(service_manager)
    # When they read the work order, then the phone is masked
    assert client.get(url).json()["contact_phone"] == "138****5678"
    # And the engineer who opened it (its owner) sees the whole number to call
    client.force_authenticate(engineer)
    assert client.get(url).json()["contact_phone"] == PHONE


def test_a_phone_longer_than_the_form_allows_is_refused_on_its_field(service_manager, device):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(service_manager)
    response = client.post(
        "/api/v1/work-orders/",
        {"kind": "repair", "device": device.pk, "problem": "x", "contact_phone": "1" * 31},
        format="json",
    )
    assert response.status_code == 400
    assert "contact_phone" in response.json()["error"]["fields"]
    assert WorkOrder.objects.count() == 0


def test_the_signed_report_snapshot_holds_the_phone_masked(engineer, device, monkeypatch):
    # Given a remote job opened with a contact and completed
    from medservice.work_orders import services

    original = services.work_order_create

    def with_contact(**kwargs):
        return original(**kwargs, contact_name="王护士", contact_phone=PHONE)

    monkeypatch.setattr("tests.work_orders.test_reports.work_order_create", with_contact)
    work_order = complete_remote_work(engineer, device, language="zh-hans")
    # Then the frozen report keeps the contact's name and only the masked phone
    customer = report_current(work_order).content["customer"]
    assert (customer["contact"], customer["phone"]) == ("王护士", "138****5678")


def test_the_migration_encrypts_rows_written_in_clear(work_order):
    # Given a row as it was before the field was encrypted
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE work_orders_workorder SET contact_name = %s, contact_phone = %s, "
            "contact_phone_index = '' WHERE id = %s",
            ["李工", "13900001111", work_order.pk],
        )
    module = __import__("medservice.work_orders.migrations.0002_contact_encrypted", fromlist=["x"])

    # When the migration's data step runs
    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    module.encrypt_existing_contacts(apps, editor)
    # Then the row is encrypted, indexed and reads back unchanged
    name, phone, index = raw_contact(work_order)
    assert name.startswith(ENCRYPTED_PREFIX) and phone.startswith(ENCRYPTED_PREFIX)
    assert index == blind_index("13900001111")
    reloaded = WorkOrder.objects.get(pk=work_order.pk)
    assert (reloaded.contact_name, reloaded.contact_phone) == ("李工", "13900001111")
    # And a second run changes nothing
    module.encrypt_existing_contacts(apps, editor)
    assert raw_contact(work_order) == (name, phone, index)
