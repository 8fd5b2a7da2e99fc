"""Ticket events reach subscribers from the real services with their documented payloads, and
only the subscriptions whose organisation may see the ticket receive them."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from medservice.integrations.models import WebhookDelivery
from medservice.tickets import services
from medservice.tickets.sweep import sla_sweep
from tests.factories import ContactFactory, DistributorFactory
from tests.integrations.factories import subscribe
from tests.tickets.conftest import RECEIVED, register

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def ticket_data(ticket, **changes):
    return {
        "id": ticket.pk,
        "number": "TS-2026-000001",
        "kind": "complaint",
        "channel": "phone",
        "status": "new",
        "priority": "normal",
        "organization": ticket.organization_id,
        "device": None,
        "device_model": None,
        "received_at": "2026-03-02T09:00:00+00:00",
        "first_response_due_at": "2026-03-03T09:00:00+00:00",
        "plan_due_at": "2026-03-04T09:00:00+00:00",
        "resolution_due_at": "2026-03-05T09:00:00+00:00",
        "onsite_due_at": None,
        **changes,
    }


def register_for(agent, organization):
    return register(agent, organization, ContactFactory(organization=organization, name="钱丽华"))


@pytest.fixture
def registered(receiver, integrator, agent, hospital_a, django_capture_on_commit_callbacks):
    """The company's integration subscribed; a phone complaint of hospital A registered."""
    subscribe(integrator, receiver.url)
    with freeze_time(RECEIVED), django_capture_on_commit_callbacks(execute=True):
        ticket = register_for(agent, hospital_a)
    return ticket


def test_registering_a_ticket_sends_ticket_created(receiver, registered):
    assert [request.headers["x-medservice-event"] for request in receiver.received] == [
        "ticket.created"
    ]
    body = receiver.received[0].json
    assert (body["type"], body["occurred_at"]) == ("ticket.created", "2026-03-02T09:00:00+00:00")
    assert body["data"] == {"ticket": ticket_data(registered)}
    assert receiver.received[0].signature_valid is True


def test_acknowledging_sends_the_state_change(
    receiver, registered, agent, django_capture_on_commit_callbacks
):
    with freeze_time(RECEIVED + HOUR), django_capture_on_commit_callbacks(execute=True):
        services.ticket_acknowledge(ticket=registered, actor=agent, note="已联系科室")
    body = receiver.received[-1].json
    assert (body["type"], body["occurred_at"]) == (
        "ticket.state_changed",
        "2026-03-02T10:00:00+00:00",
    )
    assert body["data"] == {
        "ticket": ticket_data(registered, status="acknowledged"),
        "from_status": "new",
        "to_status": "acknowledged",
        "action": "acknowledge",
    }


def test_an_action_that_keeps_the_state_sends_no_state_change(
    receiver, registered, agent, manager, django_capture_on_commit_callbacks
):
    with freeze_time(RECEIVED + HOUR), django_capture_on_commit_callbacks(execute=True):
        services.ticket_assign(ticket=registered, actor=manager, owner=agent, reason="")
    assert [request.json["type"] for request in receiver.received] == ["ticket.created"]


def test_the_sla_sweep_sends_each_breach_once(
    receiver, registered, django_capture_on_commit_callbacks
):
    with freeze_time(RECEIVED + 24 * HOUR), django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep()["breached"] == 1
        assert sla_sweep()["breached"] == 0
    breaches = [request.json for request in receiver.received[1:]]
    assert [body["type"] for body in breaches] == ["ticket.sla_breached"]
    assert breaches[0]["data"] == {
        "ticket": ticket_data(registered),
        "target": "first_response",
        "cycle": 1,
        "due_at": "2026-03-03T09:00:00+00:00",
        "breached_at": "2026-03-03T09:00:00+00:00",
    }


def test_a_rolled_back_change_sends_nothing(receiver, integrator, agent, hospital_a):
    from django.db import transaction

    subscribe(integrator, receiver.url)

    class UndoError(Exception):
        pass

    with pytest.raises(UndoError), transaction.atomic():
        register_for(agent, hospital_a)
        raise UndoError
    assert WebhookDelivery.objects.count() == 0
    assert receiver.received == []


# --- Scoping ----------------------------------------------------------------------------------


def test_an_organisations_subscription_receives_only_its_own_tickets(
    receiver, integrator, agent, hospital_a, hospital_b, django_capture_on_commit_callbacks
):
    # Given subscriptions of hospital A, of hospital B, of a distributor serving A, and of one
    # serving nobody
    serving_a = DistributorFactory(name="华信医疗")
    hospital_a.served_by.add(serving_a)
    idle = DistributorFactory(name="闲置经销商")
    names = {
        "A": subscribe(integrator, receiver.url, organization=hospital_a, name="A"),
        "B": subscribe(integrator, receiver.url, organization=hospital_b, name="B"),
        "serving A": subscribe(integrator, receiver.url, organization=serving_a, name="serving A"),
        "idle": subscribe(integrator, receiver.url, organization=idle, name="idle"),
    }
    # When a ticket of hospital A is registered
    with freeze_time(RECEIVED), django_capture_on_commit_callbacks(execute=True):
        register_for(agent, hospital_a)
    # Then only A and the distributor serving A receive it
    received_by = sorted(WebhookDelivery.objects.values_list("subscription__name", flat=True))
    assert received_by == ["A", "serving A"]
    assert len(receiver.received) == 2
    assert names["B"].deliveries.count() == 0


def test_a_subscription_receives_only_the_events_it_chose(
    receiver, integrator, agent, hospital_a, django_capture_on_commit_callbacks
):
    subscribe(integrator, receiver.url, events=["ticket.state_changed"])
    with freeze_time(RECEIVED), django_capture_on_commit_callbacks(execute=True):
        register_for(agent, hospital_a)
    assert receiver.received == []
