"""The ticket workflow, action by action, as the complaint procedure runs it."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail

from medservice.core.errors import InvalidInputError, InvalidTransitionError, PermissionDeniedError
from medservice.core.models import AuditEvent, Notification
from medservice.core.workflow import allowed
from medservice.tickets import services
from medservice.tickets.choices import Status
from medservice.tickets.events import ticket_quality_flagged
from medservice.tickets.models import Ticket
from medservice.tickets.workflow import TRANSITIONS
from tests.tickets.conftest import RECEIVED, register

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def to_agreed(ticket, agent):
    ticket = services.ticket_acknowledge(ticket=ticket, actor=agent, note="已电话联系护士长")
    ticket = services.ticket_propose_solution(ticket=ticket, actor=agent, solution="上门更换电源板")
    return services.ticket_agree_solution(
        ticket=ticket, actor=agent, agreed_by="钱丽华", method="phone"
    )


def screen(ticket, actor):
    return services.ticket_screen(
        ticket=ticket,
        actor=actor,
        is_complaint=True,
        may_be_reportable=False,
        needs_investigation=False,
        no_investigation_reason="已知电源板批次问题，见 CAPA-2026-003",
    )


def test_a_registered_complaint_gets_its_number_due_times_and_an_acknowledgement(
    complaint, django_capture_on_commit_callbacks
):
    assert complaint.number == "TS-2026-000001"
    assert (complaint.status, complaint.received_at) == (Status.NEW, RECEIVED)
    assert (
        complaint.first_response_due_at,
        complaint.plan_due_at,
        complaint.resolution_due_at,
        complaint.onsite_due_at,
        complaint.next_due_at,
    ) == (
        RECEIVED + 24 * HOUR,
        RECEIVED + 48 * HOUR,
        RECEIVED + 72 * HOUR,
        None,
        RECEIVED + 24 * HOUR,
    )
    message = complaint.timeline.get(kind="message")
    assert message.customer_visible is True
    assert message.text == (
        "We have received your request TS-2026-000001. We will reply by 2026-03-03 17:00, "
        "propose a solution by 2026-03-04 17:00 and aim to resolve it by 2026-03-05 17:00."
    )


def test_numbers_count_per_kind_and_year(agent, hospital_a, caller, clock):
    first = register(agent, hospital_a, caller)
    repair = register(agent, hospital_a, caller, kind="repair")
    second = register(agent, hospital_a, caller)
    clock.move_to(datetime.datetime(2027, 1, 1, 1, 0, tzinfo=datetime.UTC))
    next_year = register(
        agent, hospital_a, caller, received_at=datetime.datetime(2027, 1, 1, 1, tzinfo=datetime.UTC)
    )
    assert [first.number, repair.number, second.number, next_year.number] == [
        "TS-2026-000001",
        "BX-2026-000001",
        "TS-2026-000002",
        "TS-2027-000001",
    ]


def test_the_acknowledgement_reaches_the_contact_by_e_mail_in_their_language(
    agent, hospital_a, caller, clock, django_capture_on_commit_callbacks
):
    caller.language = "zh-hans"
    caller.save()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = register(agent, hospital_a, caller)
    assert [(message.to, message.subject, message.body) for message in mail.outbox] == [
        (
            ["qianlh@sy1.example.cn"],
            "[TS-2026-000001] 您的服务请求",
            "我们已收到您的服务请求 TS-2026-000001。我们将在 2026-03-03 17:00 前答复，"
            "在 2026-03-04 17:00 前提出解决方案，并力争在 2026-03-05 17:00 前解决。",
        )
    ]
    assert ticket.timeline.get(kind="message").text == mail.outbox[0].body


def test_intake_without_a_way_to_reach_the_reporter_is_refused(agent, hospital_a, clock):
    with pytest.raises(InvalidInputError) as refused:
        register(agent, hospital_a, None, reporter_name="王先生")
    assert refused.value.fields == {
        "reporter_phone": [
            "Give a phone number or an e-mail address so the customer can be reached."
        ]
    }
    assert Ticket.objects.count() == 0


def test_a_received_time_in_the_future_is_refused(agent, hospital_a, caller, clock):
    with pytest.raises(InvalidInputError) as refused:
        register(agent, hospital_a, caller, received_at=RECEIVED + HOUR)
    assert refused.value.fields == {"received_at": ["The received time is in the future."]}


def test_the_happy_path_from_new_to_closed(complaint, agent, clock):
    clock.tick(HOUR)
    ticket = to_agreed(complaint, agent)
    ticket = services.ticket_start(ticket=ticket, actor=agent)
    ticket = screen(ticket, agent)
    ticket = services.ticket_resolve(
        ticket=ticket, actor=agent, resolution_type="repair", resolution="更换电源板后正常"
    )
    ticket = services.ticket_confirm(
        ticket=ticket, actor=agent, confirmed_by_name="钱丽华", method="phone"
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.confirmed_by_name, ticket.confirmation_method) == (
        Status.CLOSED,
        "钱丽华",
        "phone",
    )
    assert ticket.confirmation_recorded_by == agent
    assert ticket.closed_at == RECEIVED + HOUR
    transitions = list(
        AuditEvent.objects.filter(
            object_type="tickets.ticket", object_id=str(ticket.pk), action="transition"
        )
        .order_by("id")
        .values_list("detail", flat=True)
    )
    assert transitions == [
        "acknowledge",
        "propose-solution",
        "agree-solution",
        "start",
        "screen",
        "resolve",
        "confirm",
    ]


# Which states each action may start from: every other state refuses it.
EXPECTED_SOURCES = {
    "acknowledge": {"new"},
    "investigate": {"acknowledged"},
    "propose-solution": {"acknowledged", "investigating"},
    "agree-solution": {"solution_proposed"},
    "start": {"solution_agreed"},
    "wait": {
        "acknowledged",
        "investigating",
        "solution_proposed",
        "solution_agreed",
        "in_progress",
    },
    "resume": {"waiting_customer", "waiting_parts"},
    "resolve": {"solution_agreed", "in_progress"},
    "confirm": {"resolved"},
    "reject-resolution": {"resolved"},
    "reopen": {"resolved", "closed"},
    "cancel": {
        "new",
        "acknowledged",
        "investigating",
        "solution_proposed",
        "solution_agreed",
        "in_progress",
        "waiting_customer",
        "waiting_parts",
    },
}


@pytest.mark.parametrize("action", sorted(EXPECTED_SOURCES))
@pytest.mark.parametrize("state", [status.value for status in Status])
def test_every_action_is_allowed_only_from_its_states(action, state):
    ticket = Ticket(status=state, kind="repair")
    refusal = allowed(TRANSITIONS, action, ticket, None, "status")
    assert (refusal == "") == (state in EXPECTED_SOURCES[action]), refusal


def test_a_refused_action_says_why_and_changes_nothing(complaint, agent):
    with pytest.raises(InvalidTransitionError) as refused:
        services.ticket_confirm(
            ticket=complaint, actor=agent, confirmed_by_name="钱丽华", method="phone"
        )
    assert (
        refused.value.message == "“Confirm the resolution” is not possible while the record is New."
    )
    complaint.refresh_from_db()
    assert complaint.status == Status.NEW


def test_an_action_outside_the_role_is_refused_as_forbidden(complaint, auditor):
    with pytest.raises(PermissionDeniedError) as refused:
        services.ticket_acknowledge(ticket=complaint, actor=auditor, note="")
    assert refused.value.message == "You may not “Acknowledge”."


def test_a_complaint_is_screened_before_it_is_resolved(complaint, agent):
    ticket = services.ticket_start(ticket=to_agreed(complaint, agent), actor=agent)
    with pytest.raises(InvalidTransitionError) as refused:
        services.ticket_resolve(
            ticket=ticket, actor=agent, resolution_type="repair", resolution="已修复"
        )
    assert "screened before it is resolved" in refused.value.message


def test_screening_without_investigation_needs_the_reason(complaint, agent):
    with pytest.raises(InvalidInputError) as refused:
        services.ticket_screen(
            ticket=complaint,
            actor=agent,
            is_complaint=True,
            may_be_reportable=False,
            needs_investigation=False,
        )
    assert list(refused.value.fields) == ["no_investigation_reason"]
    ticket = screen(complaint, agent)
    assert (ticket.screened_by, ticket.is_complaint, ticket.needs_investigation) == (
        agent,
        True,
        False,
    )


def test_waiting_for_parts_needs_the_service_manager(complaint, agent, manager):
    ticket = services.ticket_acknowledge(ticket=complaint, actor=agent, note="已联系")
    with pytest.raises(InvalidInputError) as refused:
        services.ticket_wait(ticket=ticket, actor=agent, reason="parts", note="等电源板")
    assert refused.value.fields == {
        "reason": ["Only a service manager approves waiting for parts."]
    }
    ticket = services.ticket_wait(ticket=ticket, actor=manager, reason="parts", note="等电源板")
    assert (ticket.status, ticket.status_before_wait) == (Status.WAITING_PARTS, "acknowledged")
    ticket = services.ticket_resume(ticket=ticket, actor=agent)
    assert ticket.status == Status.ACKNOWLEDGED


def test_an_agent_confirms_for_the_customer_only_with_who_and_how(complaint, agent, clock):
    ticket = services.ticket_start(ticket=to_agreed(complaint, agent), actor=agent)
    ticket = services.ticket_resolve(
        ticket=screen(ticket, agent), actor=agent, resolution_type="repair", resolution="已修复"
    )
    with pytest.raises(InvalidInputError) as refused:
        services.ticket_confirm(ticket=ticket, actor=agent)
    assert sorted(refused.value.fields) == ["confirmed_by_name", "method"]
    told = RECEIVED - 10 * datetime.timedelta(minutes=1)
    ticket = services.ticket_confirm(
        ticket=ticket, actor=agent, confirmed_by_name="钱丽华", method="paper", confirmed_at=told
    )
    assert (ticket.confirmed_at, ticket.confirmation_method, ticket.status) == (
        told,
        "paper",
        Status.CLOSED,
    )


def test_the_customer_confirms_and_rates_once_in_the_portal(complaint, agent, customer_a):
    ticket = services.ticket_start(ticket=to_agreed(complaint, agent), actor=agent)
    ticket = services.ticket_resolve(
        ticket=screen(ticket, agent), actor=agent, resolution_type="repair", resolution="已修复"
    )
    ticket = services.ticket_confirm(ticket=ticket, actor=customer_a, rating=5, comment="很及时")
    assert (ticket.confirmation_method, ticket.confirmation_recorded_by, ticket.rating) == (
        "portal",
        None,
        5,
    )
    with pytest.raises(InvalidTransitionError) as refused:
        services.ticket_rate(ticket=ticket, actor=customer_a, rating=1)
    assert refused.value.message == "This request has already been rated; a case is rated once."


def test_a_reopen_is_refused_after_the_window(complaint, agent, clock):
    ticket = services.ticket_start(ticket=to_agreed(complaint, agent), actor=agent)
    ticket = services.ticket_resolve(
        ticket=screen(ticket, agent), actor=agent, resolution_type="guidance", resolution="指导操作"
    )
    ticket = services.ticket_confirm(
        ticket=ticket, actor=agent, confirmed_by_name="钱丽华", method="phone"
    )
    clock.tick(datetime.timedelta(days=31))
    with pytest.raises(InvalidTransitionError) as refused:
        services.ticket_reopen(ticket=ticket, actor=agent, reason="又黑屏")
    assert "more than 30 days ago" in refused.value.message
    clock.tick(-datetime.timedelta(days=2))
    ticket = services.ticket_reopen(ticket=ticket, actor=agent, reason="又黑屏")
    assert (ticket.status, ticket.reopened_count, ticket.closed_at) == (Status.IN_PROGRESS, 1, None)


def test_cancel_needs_a_reason_and_stops_every_clock(complaint, agent):
    with pytest.raises(InvalidInputError):
        services.ticket_cancel(ticket=complaint, actor=agent, reason=" ")
    ticket = services.ticket_cancel(ticket=complaint, actor=agent, reason="客户重复报修")
    assert ticket.status == Status.CANCELLED
    assert ticket.next_due_at is None
    assert set(ticket.clocks.values_list("stopped_at", flat=True)) == {RECEIVED}


def test_a_quality_complaint_by_phone_needs_the_stop_use_advice_and_alerts_quality_staff(
    agent, hospital_a, caller, quality_staff, clock, django_capture_on_commit_callbacks
):
    with pytest.raises(InvalidInputError) as refused:
        register(agent, hospital_a, caller, kind="quality_complaint")
    assert list(refused.value.fields) == ["stop_use_advised"]
    received = []

    def receiver(sender, ticket, **kwargs):
        received.append(ticket.number)

    ticket_quality_flagged.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ticket = register(
                agent,
                hospital_a,
                caller,
                kind="quality_complaint",
                patient_involved=True,
                quality={
                    "complainant_sex": "female",
                    "complainant_age": 46,
                    "device_used": True,
                    "symptoms": "穿刺部位红肿",
                    "batch_or_serial": "20250612",
                    "stop_use_advised": True,
                },
            )
    finally:
        ticket_quality_flagged.disconnect(receiver)
    assert ticket.number == "ZL-2026-000001"
    assert received == ["ZL-2026-000001"]
    assert ticket.quality_intake.stop_use_advised_at == RECEIVED
    assert list(
        Notification.objects.filter(recipient=quality_staff).values_list("subject", flat=True)
    ) == ["Quality complaint ZL-2026-000001: review now"]


def test_a_device_of_another_customer_is_refused(agent, hospital_a, hospital_b, caller, clock):
    from tests.installed_base.factories import DeviceFactory

    device = DeviceFactory(organization=hospital_b)
    with pytest.raises(InvalidInputError) as refused:
        register(agent, hospital_a, caller, device=device)
    assert list(refused.value.fields) == ["device"]
