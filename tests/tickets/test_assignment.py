"""Assignment: the region and product line pick the team, then the member with the least open
work; reassigning needs a reason."""

from __future__ import annotations

import pytest

from medservice.accounts.choices import Role
from medservice.core.errors import InvalidInputError
from medservice.tickets.models import Team
from medservice.tickets.services import ticket_assign
from tests.catalog.factories import DeviceModelFactory, ProductLineFactory
from tests.factories import OrganizationFactory, user_with_role
from tests.installed_base.factories import DeviceFactory
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams(company):
    pumps = ProductLineFactory(name="输液泵")
    monitors = ProductLineFactory(name="病人监护仪")
    shanghai_pumps = Team.objects.create(name="上海输液泵组", region="上海")
    shanghai_pumps.product_lines.add(pumps)
    shanghai_any = Team.objects.create(name="上海综合组", region="上海")
    nanjing = Team.objects.create(name="南京组", region="南京")
    people = {}
    for team, names in (
        (shanghai_pumps, ["wang", "li"]),
        (shanghai_any, ["zhao"]),
        (nanjing, ["sun"]),
    ):
        for name in names:
            people[name] = user_with_role(Role.FIELD_ENGINEER, company, username=name)
            team.members.add(people[name])
    return {"pumps": pumps, "monitors": monitors, "people": people}


def test_a_pump_in_shanghai_goes_to_the_pump_team_member_with_least_open_work(teams, company):
    hospital = OrganizationFactory(region="上海")
    pump = DeviceFactory(
        organization=hospital, device_model=DeviceModelFactory(product_line=teams["pumps"])
    )
    busy = TicketFactory(organization=hospital, device=pump)
    assert (busy.team.name, busy.owner.username) == ("上海输液泵组", "wang")
    second = TicketFactory(organization=hospital, device=pump)
    assert second.owner.username == "li"


def test_a_monitor_in_shanghai_goes_to_the_general_team(teams):
    hospital = OrganizationFactory(region="上海")
    monitor = DeviceFactory(
        organization=hospital, device_model=DeviceModelFactory(product_line=teams["monitors"])
    )
    ticket = TicketFactory(organization=hospital, device=monitor)
    assert (ticket.team.name, ticket.owner.username) == ("上海综合组", "zhao")


def test_reassigning_needs_a_reason(teams, manager, hospital_a):
    ticket = TicketFactory(organization=hospital_a, auto_assign=False)
    ticket = ticket_assign(ticket=ticket, actor=manager, owner=teams["people"]["wang"])
    with pytest.raises(InvalidInputError) as refused:
        ticket_assign(ticket=ticket, actor=manager, owner=teams["people"]["li"])
    assert refused.value.fields == {"reason": ["A reason is required to reassign a request."]}
    ticket = ticket_assign(
        ticket=ticket, actor=manager, owner=teams["people"]["li"], reason="王工出差"
    )
    assert ticket.owner.username == "li"
    li = teams["people"]["li"]
    assert ticket.timeline.filter(kind="assignment").first().text == (
        f"Assigned to {li.get_full_name()}. 王工出差"
    )
