"""Tickets: a registered phone complaint and the people who handle it."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.tickets.services import ticket_register
from tests.factories import ContactFactory, user_with_role

RECEIVED = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)  # a Monday, 17:00 Shanghai


@pytest.fixture
def quality_staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="quality")


@pytest.fixture
def engineer(company):
    return user_with_role(Role.FIELD_ENGINEER, company, username="engineer")


@pytest.fixture
def caller(hospital_a):
    # English, so the messages the customer receives read in the tests' language.
    return ContactFactory(
        organization=hospital_a,
        name="钱丽华",
        phone="13916624875",
        email="qianlh@sy1.example.cn",
        language="en",
    )


def register(actor, organization, contact=None, **overrides):
    data = {
        "kind": "complaint",
        "channel": "phone",
        "organization": organization,
        "contact": contact,
        "subject": "监护仪黑屏",
        "description": "ICU 3 床监护仪开机后黑屏。",
        "received_at": RECEIVED,
        **overrides,
    }
    quality = data.pop("quality", None)
    return ticket_register(actor=actor, data=data, quality=quality)


@pytest.fixture
def clock():
    """Time stands at RECEIVED until a test moves it (clock.move_to / clock.tick)."""
    with freeze_time(RECEIVED) as frozen:
        yield frozen


@pytest.fixture
def complaint(agent, hospital_a, caller, clock):
    return register(agent, hospital_a, caller)
