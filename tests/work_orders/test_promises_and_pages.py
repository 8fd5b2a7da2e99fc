"""The promised completion date and its warning, cancellation, downtime and uptime, the repair
opened from a request resolved as "repair", the API of the core actions, and the customer's
quote link."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError
from medservice.core.models import Notification
from medservice.work_orders.choices import Route, WorkOrderKind, WorkOrderStatus
from medservice.work_orders.links import link_create
from medservice.work_orders.models import Quote, WorkOrder
from medservice.work_orders.selectors import device_uptime, downtime_hours, model_uptime
from medservice.work_orders.services import (
    PlannedPart,
    promised_dates_warn,
    work_order_assess,
    work_order_cancel,
    work_order_create,
    work_order_plan,
    work_order_promise,
    work_order_quote,
)
from tests.factories import user_with_role
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture
def opened(engineer, device):
    return work_order_create(
        actor=engineer, kind=WorkOrderKind.REPAIR, device=device, problem="无法开机"
    )


@pytest.fixture
def quoted(engineer, opened, power_board):
    work_order = work_order_assess(
        actor=engineer, work_order=opened, route=Route.ON_SITE, assessment="进液",
        exclusion="misuse", exclusion_evidence="液体痕迹",
    )  # fmt: skip
    work_order = work_order_plan(actor=engineer, work_order=work_order, plan="更换电源板")
    work_order_quote(actor=engineer, work_order=work_order,
                     parts=[PlannedPart(power_board, Decimal(2))])  # fmt: skip
    return WorkOrder.objects.get(pk=work_order.pk)


@freeze_time("2026-11-27 09:00:00+08:00")
def test_moving_the_promised_date_needs_a_reason_and_tells_the_customer(
    agent, manager, opened, hospital_a
):
    customer = user_with_role(Role.CUSTOMER_USER, hospital_a, username="nurse", language="en")
    work_order = work_order_promise(actor=manager, work_order=opened,
                                    promised_by=datetime.date(2026, 12, 1))  # fmt: skip
    with pytest.raises(InvalidInputError) as refused:
        work_order_promise(actor=manager, work_order=work_order,
                           promised_by=datetime.date(2026, 12, 4))  # fmt: skip
    assert list(refused.value.fields) == ["reason"]
    work_order_promise(actor=manager, work_order=work_order,
                       promised_by=datetime.date(2026, 12, 4), reason="电源板缺货")  # fmt: skip
    bodies = list(
        Notification.objects.filter(recipient=customer)
        .order_by("pk")
        .values_list("body", flat=True)
    )
    assert bodies == [
        "We promise to complete the work by 2026-12-01.",
        "The completion date moves from 2026-12-01 to 2026-12-04: 电源板缺货",
    ]


def test_the_promise_warning_goes_once_per_date_before_it_slips(manager, engineer, opened):
    with freeze_time("2026-11-27 09:00:00+08:00"):
        work_order_promise(actor=manager, work_order=opened,
                           promised_by=datetime.date(2026, 11, 30))  # fmt: skip
    with freeze_time("2026-11-28 09:00:00+08:00"):
        assert promised_dates_warn() == 0  # two days ahead: not yet
    with freeze_time("2026-11-29 09:00:00+08:00"):
        assert promised_dates_warn() == 1
        assert promised_dates_warn() == 0  # once per promised date
        work_order_promise(actor=manager, work_order=WorkOrder.objects.get(pk=opened.pk),
                           promised_by=datetime.date(2026, 12, 5), reason="等配件")  # fmt: skip
    with freeze_time("2026-12-04 09:00:00+08:00"):
        assert promised_dates_warn() == 1  # the new date warns again
    warned = Notification.objects.filter(recipient=engineer, subject__contains="at risk")
    assert warned.count() == 2


@freeze_time("2026-11-27 09:00:00+08:00")
def test_cancelling_needs_a_reason_and_gives_the_device_back(manager, opened, device):
    device.refresh_from_db()
    assert device.status == "under_repair"
    with pytest.raises(InvalidInputError):
        work_order_cancel(actor=manager, work_order=opened, reason=" ")
    work_order = work_order_cancel(actor=manager, work_order=opened, reason="客户自行解决")
    assert (work_order.status, work_order.cancel_reason) == ("cancelled", "客户自行解决")
    device.refresh_from_db()
    assert device.status == "installed"


def test_downtime_runs_from_the_report_to_the_return_to_service(device, monitor_model):
    start = datetime.datetime(2026, 11, 1, tzinfo=SHANGHAI)
    end = datetime.datetime(2026, 11, 11, tzinfo=SHANGHAI)  # 240 hours
    first = WorkOrder.objects.create(
        number="WO-T-1", kind="repair", device=device, organization=device.organization,
        problem="x", down_since=datetime.datetime(2026, 10, 31, 12, tzinfo=SHANGHAI),
        back_in_service_at=datetime.datetime(2026, 11, 2, tzinfo=SHANGHAI),
    )  # fmt: skip
    # Overlaps the third: counted once.
    WorkOrder.objects.create(
        number="WO-T-2", kind="repair", device=device, organization=device.organization,
        problem="y", down_since=datetime.datetime(2026, 11, 5, tzinfo=SHANGHAI),
        back_in_service_at=datetime.datetime(2026, 11, 6, tzinfo=SHANGHAI),
    )  # fmt: skip
    WorkOrder.objects.create(
        number="WO-T-3", kind="repair", device=device, organization=device.organization,
        problem="z", down_since=datetime.datetime(2026, 11, 5, 12, tzinfo=SHANGHAI),
        back_in_service_at=datetime.datetime(2026, 11, 6, 12, tzinfo=SHANGHAI),
    )  # fmt: skip
    uptime = device_uptime(device, start, end)
    # 24 h (from the period's start) + 36 h (5th 00:00 to 6th 12:00) = 60 h of 240.
    assert (uptime.period_hours, uptime.down_hours, uptime.uptime_percent) == (
        Decimal("240.00"), Decimal("60.00"), Decimal("75.00"),
    )  # fmt: skip
    assert downtime_hours(first) == Decimal("36.00")
    by_model = model_uptime(monitor_model, start, end)
    assert (by_model.period_hours, by_model.down_hours) == (Decimal("240.00"), Decimal("60.00"))


def test_a_request_resolved_as_repair_opens_its_repair_work_order(
    agent, device, hospital_a, django_capture_on_commit_callbacks
):
    from medservice.tickets.services import (
        ticket_acknowledge,
        ticket_agree_solution,
        ticket_propose_solution,
        ticket_resolve,
        ticket_start,
    )

    ticket = TicketFactory(organization=hospital_a, device=device, actor=agent,
                           auto_assign=False)  # fmt: skip
    ticket = ticket_acknowledge(ticket=ticket, actor=agent, note="已联系")
    ticket = ticket_propose_solution(ticket=ticket, actor=agent, solution="返修")
    ticket = ticket_agree_solution(ticket=ticket, actor=agent, agreed_by="李主任")
    ticket = ticket_start(ticket=ticket, actor=agent)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_resolve(ticket=ticket, actor=agent, resolution_type="repair",
                       resolution="安排返修")  # fmt: skip
    work_orders = list(WorkOrder.objects.filter(ticket=ticket))
    assert [(item.kind, item.device_id, item.source) for item in work_orders] == [
        ("repair", device.pk, "ticket")
    ]


# --- API ----------------------------------------------------------------------------------------


@freeze_time("2026-11-27 09:00:00+08:00")
def test_the_api_opens_assesses_and_plans_a_work_order(api, engineer, device):
    client = api.as_user(engineer)
    created = client.post("/api/v1/work-orders/", {"kind": "repair", "device": device.pk,
                                                   "problem": "无法开机"}, format="json")  # fmt: skip
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    refused = client.post(f"/api/v1/work-orders/{pk}/assess/", {"route": "moon"}, format="json")
    assert refused.status_code == 400
    assert sorted(refused.json()["error"]["fields"]) == ["assessment", "route"]
    assessed = client.post(f"/api/v1/work-orders/{pk}/assess/",
                           {"route": "on_site", "assessment": "电源"}, format="json")  # fmt: skip
    assert (assessed.status_code, assessed.json()["covered"]) == (200, True)
    planned = client.post(f"/api/v1/work-orders/{pk}/plan/", {"plan": "换板"}, format="json")
    assert planned.json()["status"] == "ready"
    wrong_state = client.post(f"/api/v1/work-orders/{pk}/quote/", {"labour_hours": "1"},
                              format="json")  # fmt: skip
    assert wrong_state.status_code == 409, wrong_state.json()
    assert wrong_state.json()["error"]["code"] == "invalid_transition"


def test_a_customer_cannot_assess_and_another_customer_sees_nothing(
    api, opened, hospital_a, hospital_b
):
    own = user_with_role(Role.CUSTOMER_USER, hospital_a, username="own")
    other = user_with_role(Role.CUSTOMER_USER, hospital_b, username="other")
    assert api.as_user(other).get(f"/api/v1/work-orders/{opened.pk}/").status_code == 404
    response = api.as_user(own).post(f"/api/v1/work-orders/{opened.pk}/assess/",
                                     {"route": "on_site", "assessment": "x"}, format="json")  # fmt: skip
    assert response.status_code == 403


# --- The customer's link ------------------------------------------------------------------------


@freeze_time("2026-11-27 09:00:00+08:00")
def test_the_quote_link_answers_once(client, quoted):
    quote = Quote.objects.get(work_order=quoted, status="sent")
    token = link_create(quote=quote)
    page = client.get(f"/service/q/{token}/")
    assert page.status_code == 200
    assert "640.00" in page.content.decode()  # two boards at cost 320
    nameless = client.post(f"/service/q/{token}/", {"answer": "approve", "name": ""})
    assert nameless.status_code == 400
    done = client.post(f"/service/q/{token}/", {"answer": "approve", "name": "李主任"})
    assert done.status_code == 200
    quote.refresh_from_db()
    assert (quote.status, quote.decided_by_name, quote.decision_method) == (
        "approved", "李主任", "portal",
    )  # fmt: skip
    assert WorkOrder.objects.get(pk=quoted.pk).status == WorkOrderStatus.READY
    again = client.get(f"/service/q/{token}/")
    assert again.status_code == 404


def test_the_quote_link_expires(client, quoted):
    quote = Quote.objects.get(work_order=quoted, status="sent")
    with freeze_time(timezone.now()):
        token = link_create(quote=quote)
    with freeze_time(timezone.now() + datetime.timedelta(days=8)):
        assert client.get(f"/service/q/{token}/").status_code == 404


def test_the_customer_answers_the_quote_in_the_portal(client, quoted, hospital_a):
    customer = user_with_role(Role.CUSTOMER_USER, hospital_a, username="nurse")
    client.force_login(customer)
    page = client.get(f"/service/portal/work-orders/{quoted.pk}/")
    assert page.status_code == 200
    response = client.post(f"/service/portal/work-orders/{quoted.pk}/",
                           {"answer": "decline", "reason": "预算不足"})  # fmt: skip
    assert response.status_code == 302
    work_order = WorkOrder.objects.get(pk=quoted.pk)
    assert (work_order.status, work_order.cancel_reason) == ("declined", "预算不足")


def test_the_work_order_page_offers_the_actions_allowed_now(client, manager, opened):
    client.force_login(manager)
    page = client.get(f"/service/work-orders/{opened.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-action="assess"' in html
    assert 'data-action="complete"' not in html
    refused = client.post(f"/service/work-orders/{opened.pk}/act/assess/",
                          {"route": "on_site", "assessment": "",})  # fmt: skip
    assert refused.status_code == 400
    done = client.post(f"/service/work-orders/{opened.pk}/act/assess/",
                       {"route": "on_site", "assessment": "电源板"})  # fmt: skip
    assert done.status_code == 302
    assert WorkOrder.objects.get(pk=opened.pk).status == "assessed"


def test_a_work_order_opens_from_the_service_request_page(client, agent, device, hospital_a):
    ticket = TicketFactory(organization=hospital_a, device=device, actor=agent,
                           auto_assign=False)  # fmt: skip
    client.force_login(agent)
    ticket_page = client.get(f"/tickets/tickets/{ticket.pk}/").content.decode()
    assert f"/service/work-orders/new/?ticket={ticket.pk}" in ticket_page
    form = client.get(f"/service/work-orders/new/?ticket={ticket.pk}")
    assert form.status_code == 200
    refused = client.post("/service/work-orders/new/", {"ticket": ticket.pk, "kind": "repair",
                                                        "device": device.pk, "problem": ""})  # fmt: skip
    assert refused.status_code == 400
    opened = client.post("/service/work-orders/new/", {"ticket": ticket.pk, "kind": "repair",
                                                       "device": device.pk, "problem": "黑屏"})  # fmt: skip
    assert opened.status_code == 302
    work_order = WorkOrder.objects.get(ticket=ticket)
    assert (work_order.device_id, work_order.problem, work_order.source) == (
        device.pk, "黑屏", "ticket",
    )  # fmt: skip


def test_the_device_picker_finds_units_by_serial_within_scope(
    client, agent, device, hospital_b, monitor_model
):
    from tests.installed_base.factories import DeviceFactory

    DeviceFactory(device_model=monitor_model, organization=hospital_b, serial_number="KM8-X-9")
    customer = user_with_role(Role.CUSTOMER_USER, device.organization, username="nurse")
    client.force_login(customer)
    found = client.get("/installed-base/devices/options/?q=KM8").json()["results"]
    assert [item["id"] for item in found] == [device.pk]
