"""The one question dispatch asks: is this person certified for this model on this date?"""

from __future__ import annotations

import datetime

import pytest

from medservice.training.selectors import certification_for, is_certified, people_certified_for
from tests.catalog.factories import DeviceModelFactory, ProductLineFactory
from tests.training.factories import CertificationFactory

pytestmark = pytest.mark.django_db


def test_a_certification_counts_from_its_first_to_its_last_day_inclusive(engineer):
    monitor = DeviceModelFactory()
    CertificationFactory(
        person=engineer,
        device_model=monitor,
        valid_from=datetime.date(2026, 3, 1),
        valid_until=datetime.date(2028, 2, 29),
    )

    assert not is_certified(engineer, monitor, on=datetime.date(2026, 2, 28))
    assert is_certified(engineer, monitor, on=datetime.date(2026, 3, 1))
    assert is_certified(engineer, monitor, on=datetime.date(2028, 2, 29))
    assert not is_certified(engineer, monitor, on=datetime.date(2028, 3, 1))


def test_a_product_line_certification_covers_each_model_of_the_line(engineer):
    line = ProductLineFactory(name="病人监护")
    monitor = DeviceModelFactory(product_line=line)
    pump = DeviceModelFactory()
    CertificationFactory(person=engineer, product_line=line)

    assert is_certified(engineer, monitor, on=datetime.date(2026, 6, 1))
    assert is_certified(engineer, monitor.pk, on=datetime.date(2026, 6, 1))
    assert not is_certified(engineer, pump, on=datetime.date(2026, 6, 1))


def test_a_revoked_certification_stops_counting_from_the_day_it_is_revoked(engineer, company):
    monitor = DeviceModelFactory()
    CertificationFactory(
        person=engineer, device_model=monitor, revoked_on=datetime.date(2026, 6, 10)
    )

    assert is_certified(engineer, monitor, on=datetime.date(2026, 6, 9))
    assert not is_certified(engineer, monitor, on=datetime.date(2026, 6, 10))


def test_dispatch_gets_the_active_people_certified_on_the_day(engineer, dist_engineer, company):
    from medservice.accounts.choices import Role
    from tests.factories import user_with_role

    monitor = DeviceModelFactory()
    left = user_with_role(Role.FIELD_ENGINEER, company, username="left", is_active=False)
    for person in (engineer, dist_engineer, left):
        CertificationFactory(person=person, device_model=monitor)
    CertificationFactory(
        person=user_with_role(Role.FIELD_ENGINEER, company, username="lapsed"),
        device_model=monitor,
        valid_until=datetime.date(2026, 5, 31),
    )

    people = people_certified_for(monitor, on=datetime.date(2026, 6, 1))

    assert sorted(people.values_list("username", flat=True)) == ["dist", "engineer"]
    assert certification_for(engineer, monitor, on=datetime.date(2026, 6, 1)).person == engineer


def test_reviews_and_violations_are_read_by_their_person_managers_and_auditors(
    engineer, manager, auditor, company
):
    import datetime as dt

    from medservice.accounts.choices import Role
    from medservice.training.models import PerformanceReview, Violation
    from medservice.training.selectors import reviews_visible_to, violations_visible_to
    from tests.factories import user_with_role

    colleague = user_with_role(Role.FIELD_ENGINEER, company, username="colleague")
    for person in (engineer, colleague):
        PerformanceReview.objects.create(
            person=person, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 6, 30)
        )
        Violation.objects.create(person=person, occurred_on=dt.date(2026, 5, 1), description="x")

    def people(selector, user):
        return sorted(selector(user).values_list("person__username", flat=True))

    assert people(reviews_visible_to, engineer) == ["engineer"]
    assert people(violations_visible_to, engineer) == ["engineer"]
    assert people(reviews_visible_to, manager) == ["colleague", "engineer"]
    assert people(violations_visible_to, auditor) == ["colleague", "engineer"]


def test_a_held_session_shows_how_it_went(client, manager, engineer, company):
    from decimal import Decimal

    from medservice.accounts.choices import Role
    from medservice.training.models import SessionAttendance
    from tests.factories import user_with_role
    from tests.training.factories import SessionFactory

    session = SessionFactory(status="held")
    for person, attended, passed, rating in (
        (engineer, True, True, 5),
        (user_with_role(Role.FIELD_ENGINEER, company, username="second"), True, False, 4),
        (user_with_role(Role.FIELD_ENGINEER, company, username="absent"), False, False, None),
    ):
        SessionAttendance.objects.create(
            session=session,
            person=person,
            attended=attended,
            passed=passed,
            written_score=Decimal(80) if attended else None,
            feedback_rating=rating,
        )
    client.force_login(manager)

    page = client.get(f"/training/staff-trainings/{session.pk}/").content.decode()

    assert "Attended 2 of 3; passed 1." in page
    assert "Pass rate 50 %." in page
    assert "Trainees' feedback: 4.5 of 5 (2 ratings)." in page
