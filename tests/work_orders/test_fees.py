"""Fees (服务收费): items and amounts recorded by finance, paid or not with the method and the
invoice number; a disputed fee goes to the service manager, who makes it due again or waives
it."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
)
from medservice.core.models import AuditEvent, Notification
from medservice.work_orders.choices import PaymentStatus
from medservice.work_orders.reports import (
    fee_add,
    fee_dispute,
    fee_dispute_settle,
    payment_record,
)
from tests.factories import user_with_role
from tests.work_orders.factories import WorkOrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(company):
    return user_with_role(Role.FINANCE, company, username="cashier")


@pytest.fixture
def nurse(hospital_a):
    return user_with_role(Role.CUSTOMER_USER, hospital_a, username="nurse")


@pytest.fixture
def work_order(device):
    # The flow to completion is not what is tested here.
    return WorkOrderFactory(device=device, status="completed", result="returned_to_service")


def test_a_fee_makes_the_work_order_unpaid_and_is_audited(finance, work_order):
    fee = fee_add(actor=finance, work_order=work_order, category="parts",
                  description="电源适配器", amount="180")  # fmt: skip
    assert (fee.category, fee.description, fee.amount) == ("parts", "电源适配器", Decimal("180.00"))
    work_order.refresh_from_db()
    assert work_order.payment_status == PaymentStatus.UNPAID
    event = AuditEvent.objects.filter(object_type="work_orders.workorder").latest("pk")
    assert (event.actor, event.changes["payment_status"]) == (finance, ["none", "unpaid"])


def test_a_fee_needs_the_finance_role_and_a_positive_amount(engineer, finance, work_order):
    with pytest.raises(PermissionDeniedError):
        fee_add(actor=engineer, work_order=work_order, category="parts", description="x",
                amount=1)  # fmt: skip
    with pytest.raises(InvalidInputError) as refused:
        fee_add(actor=finance, work_order=work_order, category="gold", description="",
                amount="-1")  # fmt: skip
    assert sorted(refused.value.fields) == ["amount", "category", "description"]


@freeze_time("2026-11-28 10:00:00+08:00")
def test_payment_with_an_invoice_closes_the_fees_for_good(finance, work_order):
    fee_add(actor=finance, work_order=work_order, category="labour", description="工时",
            amount="150")  # fmt: skip
    with pytest.raises(InvalidInputError) as refused:
        payment_record(actor=finance, work_order=work_order, method="wechat",
                       paid_on=datetime.date(2026, 11, 29), invoice_number="")  # fmt: skip
    assert sorted(refused.value.fields) == ["invoice_number", "paid_on"]
    paid = payment_record(actor=finance, work_order=work_order, method="wechat",
                          paid_on=datetime.date(2026, 11, 28), invoice_number="INV-0098")  # fmt: skip
    assert (paid.payment_status, paid.payment_method, paid.paid_on, paid.invoice_number) == (
        "paid", "wechat", datetime.date(2026, 11, 28), "INV-0098",
    )  # fmt: skip
    with pytest.raises(InvalidTransitionError):
        fee_add(actor=finance, work_order=work_order, category="other", description="补收",
                amount="10")  # fmt: skip


def test_a_disputed_fee_goes_to_the_service_manager_who_waives_it(
    finance, nurse, service_manager, work_order
):
    fee_add(actor=finance, work_order=work_order, category="travel", description="路费",
            amount="80")  # fmt: skip
    with pytest.raises(InvalidInputError):
        fee_dispute(actor=nurse, work_order=work_order, reason=" ")
    disputed = fee_dispute(actor=nurse, work_order=work_order, reason="保修期内不应收路费")
    assert (disputed.payment_status, disputed.dispute_reason) == ("disputed", "保修期内不应收路费")
    [message] = Notification.objects.filter(recipient=service_manager)
    assert "保修期内不应收路费" in message.body
    with pytest.raises(InvalidTransitionError):
        payment_record(actor=finance, work_order=work_order, method="cash",
                       paid_on=datetime.date.today(), invoice_number="INV-1")  # fmt: skip
    with pytest.raises(PermissionDeniedError):
        fee_dispute_settle(actor=finance, work_order=work_order, resolution="免除")
    settled = fee_dispute_settle(actor=service_manager, work_order=work_order,
                                 resolution="保修期内路费免除", waive=True)  # fmt: skip
    assert (settled.payment_status, settled.dispute_resolution) == ("waived", "保修期内路费免除")


def test_a_dispute_settled_without_waiver_is_due_again(finance, nurse, service_manager, work_order):
    fee_add(actor=finance, work_order=work_order, category="parts", description="电池",
            amount="260")  # fmt: skip
    fee_dispute(actor=nurse, work_order=work_order, reason="价格过高")
    settled = fee_dispute_settle(actor=service_manager, work_order=work_order,
                                 resolution="按成本价收取，已向客户解释")  # fmt: skip
    assert settled.payment_status == PaymentStatus.UNPAID


def test_another_hospital_cannot_dispute(finance, hospital_b, work_order):
    fee_add(actor=finance, work_order=work_order, category="parts", description="电池",
            amount="260")  # fmt: skip
    outsider = user_with_role(Role.CUSTOMER_USER, hospital_b, username="other")
    with pytest.raises(PermissionDeniedError):
        fee_dispute(actor=outsider, work_order=work_order, reason="不对")


def test_finance_adds_a_fee_on_the_record_page(client, finance, work_order):
    client.force_login(finance)
    url = reverse("work_orders:fee-action", kwargs={"pk": work_order.pk, "name": "add"})
    refused = client.post(url, {"category": "parts", "description": "电池", "amount": "-5"})
    assert refused.status_code == 400
    assert 'id="fee-add"' in refused.content.decode()
    response = client.post(url, {"category": "parts", "description": "电池", "amount": "260"})
    assert response.status_code == 302
    page = client.get(reverse("work_orders:work-orders-detail", kwargs={"pk": work_order.pk}))
    html = page.content.decode()
    assert 'id="fees"' in html
    assert "260.00" in html


def test_the_customer_disputes_in_the_portal(client, finance, nurse, work_order):
    fee_add(actor=finance, work_order=work_order, category="parts", description="电池",
            amount="260")  # fmt: skip
    client.force_login(nurse)
    page = client.get(reverse("work_orders:portal-work-order", kwargs={"pk": work_order.pk}))
    assert 'id="fee-dispute"' in page.content.decode()
    response = client.post(
        reverse("work_orders:fee-action", kwargs={"pk": work_order.pk, "name": "dispute"}),
        {"reason": "价格过高"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "work_orders:portal-work-order", kwargs={"pk": work_order.pk}
    )
    work_order.refresh_from_db()
    assert work_order.payment_status == PaymentStatus.DISPUTED


def test_the_fee_api_from_charge_to_settlement(api, finance, nurse, service_manager, work_order):
    base = f"/api/v1/work-orders/{work_order.pk}"
    fee = api.as_user(finance).post(
        f"{base}/add-fee/", {"category": "parts", "description": "电池", "amount": "260.00"},
        format="json",
    )  # fmt: skip
    assert (fee.status_code, fee.json()["amount"]) == (200, "260.00")
    disputed = api.as_user(nurse).post(f"{base}/dispute-fee/", {"reason": "价格过高"},
                                       format="json")  # fmt: skip
    assert disputed.json()["payment_status"] == "disputed"
    settled = api.as_user(service_manager).post(
        f"{base}/settle-dispute/", {"resolution": "维持原价"}, format="json"
    )
    assert settled.json()["payment_status"] == "unpaid"
    with freeze_time("2026-11-28 10:00:00+08:00"):
        paid = api.as_user(finance).post(
            f"{base}/record-payment/",
            {"method": "bank_transfer", "paid_on": "2026-11-28", "invoice_number": "INV-7"},
            format="json",
        )
    assert (paid.status_code, paid.json()["payment_status"]) == (200, "paid")
    refused = api.as_user(nurse).post(f"{base}/add-fee/", {"category": "parts",
                                      "description": "x", "amount": "1"}, format="json")  # fmt: skip
    assert refused.status_code == 403
