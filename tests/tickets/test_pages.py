"""The ticket page: the actions allowed now as buttons with small forms, refusals explained,
clocks and the timeline."""

from __future__ import annotations

import pytest

from medservice.tickets.models import Ticket
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db


def page(client, user, ticket):
    client.force_login(user)
    return client.get(f"/tickets/tickets/{ticket.pk}/")


def action_buttons(response):
    import re

    return re.findall(r'data-action="([a-z-]+)"', response.content.decode())


def test_an_agent_sees_the_actions_a_new_request_allows(client, agent, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    response = page(client, agent, ticket)
    assert response.status_code == 200
    assert action_buttons(response) == ["acknowledge", "assign", "cancel", "screen"]
    body = response.content.decode()
    assert "First response" in body and "on track" in body


def test_an_auditor_sees_the_page_without_actions(client, auditor, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    assert action_buttons(page(client, auditor, ticket)) == []


def test_an_action_without_its_input_is_explained_and_changes_nothing(client, agent, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    client.force_login(agent)
    response = client.post(f"/tickets/tickets/{ticket.pk}/action/acknowledge/", {"note": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_an_action_moves_the_request_on(client, agent, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    client.force_login(agent)
    response = client.post(
        f"/tickets/tickets/{ticket.pk}/action/acknowledge/", {"note": "已电话联系设备科"}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "acknowledged"
    assert action_buttons(page(client, agent, ticket)) == [
        "investigate",
        "assign",
        "propose-solution",
        "wait",
        "escalate-onsite",
        "cancel",
        "screen",
    ]


def test_a_refused_action_says_why_on_the_page(client, agent, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    client.force_login(agent)
    response = client.post(
        f"/tickets/tickets/{ticket.pk}/action/resolve/",
        {"resolution_type": "repair", "resolution": "已修复"},
    )
    assert response.status_code == 409
    assert "is not possible while the record is New" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == "new"


def test_the_customer_sees_only_what_is_meant_for_them(client, agent, customer_a, hospital_a):
    ticket = TicketFactory(organization=hospital_a)
    client.force_login(agent)
    client.post(f"/tickets/tickets/{ticket.pk}/comment/", {"text": "内部备注：查批次"})
    body = page(client, customer_a, ticket).content.decode()
    assert "内部备注" not in body
    assert "We have received your request" in body
