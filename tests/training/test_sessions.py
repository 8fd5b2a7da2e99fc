"""Training sessions and certification: passing earns the certification, failing does not;
the dates are exact; a new one renews the old; recording again changes nothing twice; the
reminder goes once, 30 days ahead, to the person and the manager; the API; and a distributor's
engineer sees only their own."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from medservice.accounts.choices import Role
from medservice.core.models import Notification
from medservice.training.choices import SessionStatus, TopicCategory
from medservice.training.models import Certification, SessionAttendance
from medservice.training.selectors import is_certified
from medservice.training.sessions import (
    certification_grant,
    certification_reminders_send,
    certification_revoke,
    session_create,
    session_results_record,
)
from tests.catalog.factories import DeviceModelFactory
from tests.factories import user_with_role
from tests.training.factories import CertificationFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 3, 1)


@pytest.fixture
def monitor():
    return DeviceModelFactory()


@pytest.fixture
def session(manager, monitor, engineer):
    """A certifying session for the monitor on 1 March 2026, pass mark 60, practical required."""
    return session_create(
        actor=manager,
        title="监护仪维修培训",
        category=TopicCategory.PRODUCT,
        starts_at=timezone.make_aware(datetime.datetime(2026, 3, 1, 9, 0)),
        device_model=monitor,
        pass_mark=60,
        practical_required=True,
        certifies=True,
        certification_months=24,
        attendees=[engineer],
    )


def result(person, *, attended=True, score="80", practical=True, rating=5, comment=""):
    return {
        "person": person,
        "attended": attended,
        "written_score": score,
        "practical_passed": practical,
        "feedback_rating": rating,
        "feedback_comment": comment,
    }


def test_a_session_is_numbered_and_its_attendees_are_on_it(session, engineer):
    assert session.number.startswith("TR-")
    assert list(session.attendances.values_list("person", flat=True)) == [engineer.pk]
    assert session.status == SessionStatus.PLANNED


def test_passing_earns_the_certification_valid_24_months_less_a_day(manager, session, engineer):
    session_results_record(actor=manager, session=session, results=[result(engineer)])

    session.refresh_from_db()
    assert session.status == SessionStatus.HELD
    attendance = SessionAttendance.objects.get(session=session, person=engineer)
    assert attendance.passed is True
    certification = Certification.objects.get(person=engineer)
    assert (certification.valid_from, certification.valid_until) == (
        DAY,
        datetime.date(2028, 2, 29),
    )
    assert certification.session == session
    assert is_certified(engineer, session.device_model, on=datetime.date(2028, 2, 29))
    assert not is_certified(engineer, session.device_model, on=datetime.date(2028, 3, 1))
    assert not is_certified(engineer, session.device_model, on=datetime.date(2026, 2, 28))


@pytest.mark.parametrize(
    "row",
    [
        {"score": "59.5"},
        {"attended": False, "score": None, "practical": None},
        {"practical": False},
        {"practical": None},
        {"score": None},
    ],
    ids=["below-pass-mark", "absent", "practical-failed", "practical-not-assessed", "no-score"],
)
def test_failing_earns_no_certification(manager, session, engineer, row):
    session_results_record(actor=manager, session=session, results=[result(engineer, **row)])

    assert SessionAttendance.objects.get(session=session, person=engineer).passed is False
    assert not Certification.objects.filter(person=engineer).exists()


def test_the_pass_mark_itself_passes(manager, session, engineer):
    session_results_record(actor=manager, session=session, results=[result(engineer, score="60")])
    assert Certification.objects.filter(person=engineer).count() == 1


def test_recording_again_never_doubles_a_certification(manager, session, engineer, dist_engineer):
    session_results_record(actor=manager, session=session, results=[result(engineer)])
    session_results_record(
        actor=manager,
        session=session,
        results=[result(engineer, score="90"), result(dist_engineer, score="75")],
    )

    assert Certification.objects.filter(person=engineer).count() == 1
    assert Certification.objects.filter(person=dist_engineer).count() == 1
    assert SessionAttendance.objects.filter(session=session).count() == 2
    assert SessionAttendance.objects.get(person=engineer).written_score == Decimal("90")


def test_results_corrected_to_a_fail_revoke_the_certification_from_its_first_day(
    manager, session, engineer
):
    session_results_record(actor=manager, session=session, results=[result(engineer)])
    session_results_record(actor=manager, session=session, results=[result(engineer, score="40")])

    certification = Certification.objects.get(person=engineer)
    assert certification.revoked_on == DAY
    assert not is_certified(engineer, session.device_model, on=DAY)


def test_results_are_all_or_nothing(manager, session, engineer, customer_a):
    from medservice.core.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as refused:
        session_results_record(
            actor=manager,
            session=session,
            results=[result(engineer), result(customer_a), result(engineer, score="150")],
        )

    assert set(refused.value.fields) >= {"results.2.person", "results.3.person"}
    assert "results.3.written_score" in refused.value.fields
    assert not Certification.objects.exists()
    session.refresh_from_db()
    assert session.status == SessionStatus.PLANNED


def test_an_agent_may_not_record_results(agent, session, engineer):
    from medservice.core.errors import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        session_results_record(actor=agent, session=session, results=[result(engineer)])


def test_a_new_certification_renews_one_still_valid_or_just_expired(manager, session, engineer):
    still_valid = CertificationFactory(
        person=engineer,
        device_model=session.device_model,
        valid_from=datetime.date(2024, 3, 10),
        valid_until=datetime.date(2026, 3, 9),
    )
    session_results_record(actor=manager, session=session, results=[result(engineer)])
    new = Certification.objects.get(session=session)
    assert new.renews == still_valid

    lapsed = CertificationFactory(
        person=manager,
        device_model=session.device_model,
        valid_from=datetime.date(2024, 2, 1),
        valid_until=datetime.date(2026, 2, 20),
    )
    granted = certification_grant(
        actor=manager,
        person=manager,
        device_model=session.device_model,
        valid_from=DAY,
        reason="厂家培训合格",
    )
    assert granted.renews == lapsed
    assert granted.valid_until == datetime.date(2028, 2, 29)


def test_a_certification_ends_on_its_last_day_and_revocation_counts_from_its_day(
    manager, engineer, monitor
):
    certification = certification_grant(
        actor=manager,
        person=engineer,
        device_model=monitor,
        valid_from=DAY,
        valid_until=datetime.date(2026, 12, 31),
        reason="外部培训",
    )
    assert is_certified(engineer, monitor, on=datetime.date(2026, 12, 31))
    assert not is_certified(engineer, monitor, on=datetime.date(2027, 1, 1))

    certification_revoke(
        actor=manager, certification=certification, on=datetime.date(2026, 6, 1), reason="违规"
    )
    assert is_certified(engineer, monitor, on=datetime.date(2026, 5, 31))
    assert not is_certified(engineer, monitor, on=datetime.date(2026, 6, 1))


# --- Reminders --------------------------------------------------------------------------------


def test_the_reminder_goes_once_30_days_ahead_to_the_person_and_the_manager(
    manager, engineer, monitor
):
    certification = CertificationFactory(
        person=engineer,
        device_model=monitor,
        valid_from=datetime.date(2024, 7, 1),
        valid_until=datetime.date(2026, 6, 30),
    )

    assert certification_reminders_send(on=datetime.date(2026, 5, 30)) == 0
    assert certification_reminders_send(on=datetime.date(2026, 5, 31)) == 1
    assert certification_reminders_send(on=datetime.date(2026, 5, 31)) == 0
    assert certification_reminders_send(on=datetime.date(2026, 6, 10)) == 0

    recipients = set(Notification.objects.values_list("recipient__username", flat=True))
    assert recipients == {"engineer", "manager"}
    certification.refresh_from_db()
    assert certification.reminded_for == datetime.date(2026, 6, 30)
    assert "2026-06-30" in Notification.objects.get(recipient=engineer).body


def test_a_distributor_engineer_is_reminded_with_the_companys_managers(
    manager, dist_engineer, monitor
):
    CertificationFactory(
        person=dist_engineer,
        device_model=monitor,
        valid_from=datetime.date(2024, 7, 1),
        valid_until=datetime.date(2026, 6, 30),
    )
    certification_reminders_send(on=datetime.date(2026, 6, 1))
    recipients = set(Notification.objects.values_list("recipient__username", flat=True))
    assert recipients == {"dist", "manager"}


def test_a_renewed_certification_is_not_reminded(manager, engineer, monitor):
    old = CertificationFactory(
        person=engineer,
        device_model=monitor,
        valid_from=datetime.date(2024, 7, 1),
        valid_until=datetime.date(2026, 6, 30),
    )
    CertificationFactory(
        person=engineer,
        device_model=monitor,
        valid_from=datetime.date(2026, 5, 20),
        valid_until=datetime.date(2028, 5, 19),
        renews=old,
    )

    assert certification_reminders_send(on=datetime.date(2026, 6, 1)) == 0
    assert not Notification.objects.exists()


# --- API --------------------------------------------------------------------------------------


def test_the_api_records_results_and_answers_the_check(api, manager, session, engineer):
    client = api.as_user(manager)
    response = client.post(
        f"/api/v1/staff-trainings/{session.pk}/results/",
        {
            "results": [
                {
                    "person": engineer.pk,
                    "attended": True,
                    "written_score": "85",
                    "practical_passed": True,
                    "feedback_rating": 4,
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "held"
    assert body["attendances"][0]["passed"] is True
    certification = Certification.objects.get(person=engineer)
    assert body["certifications"] == [certification.pk]

    check = client.get(
        "/api/v1/certifications/check/",
        {"person": engineer.pk, "device_model": session.device_model_id, "on": "2028-02-29"},
    )
    assert check.json() == {"certified": True, "certification": certification.pk}
    check = client.get(
        "/api/v1/certifications/check/",
        {"person": engineer.pk, "device_model": session.device_model_id, "on": "2028-03-01"},
    )
    assert check.json() == {"certified": False, "certification": None}
    bad = client.get("/api/v1/certifications/check/", {"person": "x", "on": "soon"})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"person", "device_model", "on"}


def test_the_api_refuses_bad_results_and_a_cancelled_session(api, manager, session, engineer):
    client = api.as_user(manager)
    bad = client.post(
        f"/api/v1/staff-trainings/{session.pk}/results/",
        {"results": [{"person": engineer.pk, "attended": True, "written_score": "101"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid"
    assert "results.0.written_score" in bad.json()["error"]["fields"]

    session.status = SessionStatus.CANCELLED
    session.save()
    refused = client.post(
        f"/api/v1/staff-trainings/{session.pk}/results/",
        {"results": [{"person": engineer.pk, "attended": True, "written_score": "80"}]},
        format="json",
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"


def test_the_api_grants_and_revokes_and_refuses_revoking_twice(api, manager, engineer, monitor):
    client = api.as_user(manager)
    granted = client.post(
        "/api/v1/certifications/",
        {
            "person": engineer.pk,
            "device_model": monitor.pk,
            "valid_from": "2026-03-01",
            "reason": "厂家培训合格证书",
        },
        format="json",
    )
    assert granted.status_code == 201, granted.json()
    assert granted.json()["valid_until"] == "2028-02-29"
    pk = granted.json()["id"]

    revoked = client.post(
        f"/api/v1/certifications/{pk}/revoke/", {"on": "2026-06-01", "reason": "违规操作"}
    )
    assert revoked.status_code == 200
    assert revoked.json()["revoked_on"] == "2026-06-01"
    again = client.post(f"/api/v1/certifications/{pk}/revoke/", {"reason": "再次"})
    assert again.status_code == 409
    no_reason = client.post(
        "/api/v1/certifications/", {"person": engineer.pk, "valid_from": "2026-03-01"}
    )
    assert no_reason.status_code == 400


# --- Scope ------------------------------------------------------------------------------------


def test_a_distributor_engineer_sees_only_their_own_certifications(
    api, client, dist_engineer, engineer, monitor
):
    own = CertificationFactory(person=dist_engineer, device_model=monitor)
    other = CertificationFactory(person=engineer, device_model=monitor)
    client.force_login(dist_engineer)
    rest = api.as_user(dist_engineer)

    listed = rest.get("/api/v1/certifications/").json()["results"]
    assert [row["id"] for row in listed] == [own.pk]
    assert rest.get(f"/api/v1/certifications/{other.pk}/").status_code == 404
    assert client.get(f"/training/certifications/{other.pk}/").status_code == 404
    assert client.get(f"/training/certifications/{own.pk}/").status_code == 200
    assert client.get(f"/training/people/{engineer.pk}/record/").status_code == 404
    assert client.get(f"/training/people/{dist_engineer.pk}/record/").status_code == 200
    check = rest.get(
        "/api/v1/certifications/check/",
        {"person": engineer.pk, "device_model": monitor.pk, "on": "2026-06-01"},
    )
    assert check.status_code == 404
    mine = rest.get(
        "/api/v1/certifications/check/",
        {"person": dist_engineer.pk, "device_model": monitor.pk, "on": "2026-06-01"},
    )
    assert mine.json() == {"certified": True, "certification": own.pk}


def test_a_customer_reaches_no_staff_record(client, customer_a, engineer):
    client.force_login(customer_a)
    assert client.get(f"/training/people/{engineer.pk}/record/").status_code == 404


# --- Pages ------------------------------------------------------------------------------------


def test_the_results_form_records_and_the_staff_record_shows_the_certification(
    client, manager, session, engineer, company
):
    newcomer = user_with_role(Role.FIELD_ENGINEER, company, username="newcomer")
    client.force_login(manager)
    page = client.get(f"/training/staff-trainings/{session.pk}/")
    assert page.status_code == 200
    assert 'id="results-form"' in page.content.decode()

    response = client.post(
        f"/training/staff-trainings/{session.pk}/results/",
        {
            "results-TOTAL_FORMS": "2",
            "results-INITIAL_FORMS": "1",
            "results-0-person": str(engineer.pk),
            "results-0-attended": "on",
            "results-0-written_score": "88",
            "results-0-practical_passed": "true",
            "results-0-feedback_rating": "5",
            "results-1-person": str(newcomer.pk),
            "results-1-attended": "on",
            "results-1-written_score": "30",
            "results-1-practical_passed": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Certification.objects.filter(person=engineer).count() == 1
    assert not Certification.objects.filter(person=newcomer).exists()

    record = client.get(f"/training/people/{engineer.pk}/record/")
    assert record.status_code == 200
    text = record.content.decode()
    assert str(session.device_model) in text
    assert "2028-02-29" in text

    bad = client.post(
        f"/training/staff-trainings/{session.pk}/results/",
        {
            "results-TOTAL_FORMS": "1",
            "results-INITIAL_FORMS": "1",
            "results-0-person": str(engineer.pk),
            "results-0-written_score": "80",
        },
    )
    assert bad.status_code == 400
    assert "Someone who did not attend has no written score." in bad.content.decode()


def test_the_list_pages_answer(client, manager, session):
    client.force_login(manager)
    for url in (
        "/training/staff-trainings/",
        "/training/certifications/?expiring_within=30&valid_on=2026-06-01",
        "/training/training-plans/",
        "/training/certifications/new/",
        "/training/staff-trainings/new/",
    ):
        assert client.get(url).status_code == 200, url


def test_the_reminder_job_is_registered():
    from medservice.core.scheduler import JOBS

    assert "training.certification-reminders" in JOBS
