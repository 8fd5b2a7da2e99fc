"""Tickets made the way the desk makes them: through the intake service."""

from __future__ import annotations

from medservice.tickets.services import ticket_register
from tests.factories import ContactFactory


def TicketFactory(*, organization, actor=None, **fields):
    # The contact reads English, the tests' language, so the messages it gets are readable here.
    contact = fields.pop("contact", None) or ContactFactory(
        organization=organization, language="en"
    )
    data = {
        "kind": "repair",
        "channel": "phone",
        "organization": organization,
        "contact": contact,
        "subject": "输液泵报警",
        "description": "输液泵频繁阻塞报警。",
        **fields,
    }
    auto_assign = data.pop("auto_assign", True)
    return ticket_register(actor=actor, data=data, auto_assign=auto_assign)
