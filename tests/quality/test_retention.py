"""Retention and personal data (REGULATORY.md R-DIST, R-ISO, R-PI): quality records are kept
until retain_until and cannot be deleted before; after it, `medservice anonymise` clears the
personal data, destroys the per-person audit keys and keeps the record — except under a legal
hold — once, whatever the number of runs, and the audit chain still verifies."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.anonymisation import anonymisable_models, anonymise_due, record_anonymised_at
from medservice.core.audit import audit_seal_pending, audit_verify_chain
from medservice.core.crypto import ANONYMISED, open_personal_value
from medservice.core.errors import RetentionError
from medservice.core.models import AuditEvent, PersonKey
from medservice.core.retention import legal_hold_place, legal_hold_release
from medservice.core.scheduler import JOBS
from medservice.core.signatures import signature_is_intact, signatures_of
from medservice.quality.accidents import (
    accident_close,
    accident_investigate,
    accident_submit_report,
)
from medservice.quality.models import QualityAccident, QualityCase
from medservice.tickets.models import QualityIntake, Ticket
from medservice.tickets.services import ticket_register
from tests.factories import PASSWORD, ContactFactory, user_with_role
from tests.installed_base.factories import DeviceFactory
from tests.quality.factories_accidents import DISCOVERED, accident_recorded, case_recorded

pytestmark = pytest.mark.django_db
# R-DIST: five years from the complaint received on 27 November 2026.
KEPT_UNTIL = datetime.date(2031, 11, 27)
AFTER = KEPT_UNTIL + datetime.timedelta(days=1)


@pytest.fixture
def quality_staff(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="qa")


@pytest.fixture
def quality_manager(company):
    return user_with_role(Role.QUALITY_MANAGER, company, username="qm")


@pytest.fixture
def case(quality_staff):
    return case_recorded(actor=quality_staff)


def _sealed_create_values(record, names):
    event = AuditEvent.objects.get(
        object_type=record._meta.label_lower, object_id=str(record.pk), action="create"
    )
    return {name: event.changes[name][1] for name in names}


def _verify_audit() -> str:
    out = StringIO()
    call_command("verify_audit", "--seal", stdout=out)
    return out.getvalue()


# --- retain_until ---------------------------------------------------------------------------


def test_quality_records_are_kept_per_the_retention_rules(quality_staff):
    # A complaint or accident without a device: five years (R-DIST)
    case = case_recorded(actor=quality_staff)
    assert case.retain_until == KEPT_UNTIL
    # A device that expires in 2031 and lives ten years: the longer rule wins (R-ISO)
    device = DeviceFactory(expiry_date=datetime.date(2031, 6, 30),
                           device_model__service_life_years=10)  # fmt: skip
    accident = accident_recorded(actor=quality_staff, device=device)
    assert accident.retain_until == datetime.date(2036, 11, 27)
    assert dict(accident.retention_dates()) == {"R-DIST": datetime.date(2033, 6, 30),
                                                "R-ISO": datetime.date(2036, 11, 27)}  # fmt: skip
    # An implantable device: for ever
    implant = DeviceFactory(device_model__implantable=True)
    assert accident_recorded(actor=quality_staff, device=implant).retain_until == datetime.date.max


def test_a_quality_case_cannot_be_deleted_before_retain_until(api, case, quality_manager):
    # Through the API there is no deletion of quality cases at all
    response = api.as_user(quality_manager).delete(f"/api/v1/quality-cases/{case.pk}/")
    assert response.status_code == 405
    # And the core guard refuses any deletion before retain_until, saying until when
    with freeze_time("2031-11-27"), pytest.raises(RetentionError) as refused, transaction.atomic():
        case.delete()
    assert refused.value.message == (
        f"{case.number} must be kept until 2031-11-27 and cannot be deleted before then."
    )
    assert QualityCase.objects.filter(pk=case.pk).exists()


# --- Anonymisation --------------------------------------------------------------------------


def test_after_retention_the_complainant_is_anonymised_and_the_case_kept(case):
    personal = ["complainant_name", "complainant_phone", "complainant_address",
                "complainant_workplace", "complainant_age"]  # fmt: skip
    sealed = _sealed_create_values(case, personal)
    subject = case.audit_subject()
    assert open_personal_value(subject, sealed["complainant_phone"]) == "13812345678"
    audit_seal_pending()
    # When the command runs the day after retain_until
    out = StringIO()
    call_command("anonymise", "--today", AFTER.isoformat(), stdout=out)
    # Then the personal data is gone, the record and its facts kept
    case.refresh_from_db()
    assert (
        case.complainant_name, case.complainant_phone, case.complainant_phone_index,
        case.complainant_address, case.complainant_workplace, case.complainant_sex,
        case.complainant_age,
    ) == ("", "", "", "", "", "", None)  # fmt: skip
    assert (case.number, case.description, case.awareness_at) == (
        "QC-2026-000001", "输液泵流速异常，患者出现不适", DISCOVERED,
    )  # fmt: skip
    # And the audit trail's personal values no longer open; the chain still verifies
    assert {name: open_personal_value(subject, value) for name, value in sealed.items()} == {
        name: ANONYMISED for name in personal
    }
    assert PersonKey.objects.get(subject=subject).key == ""
    assert record_anonymised_at(case) is not None
    assert "Audit chain intact" in _verify_audit()
    assert audit_verify_chain().ok
    # The anonymisation is itself in the trail, with its reason, and leaks nothing
    event = AuditEvent.objects.filter(object_id=str(case.pk), detail="anonymise").get()
    assert (event.action, event.job, event.reason) == (
        "transition", "core.anonymise",
        "R-PI: retention ended on 2031-11-27; personal data anonymised (PIPL art. 47)",
    )  # fmt: skip
    assert event.changes["complainant_phone"] == [ANONYMISED, ""]
    assert f"anonymised quality.qualitycase #{case.pk} {case.number}" in out.getvalue()


def test_a_record_not_yet_due_is_untouched(case):
    versions = (case.version, AuditEvent.objects.count())
    report = anonymise_due(today=KEPT_UNTIL)
    case.refresh_from_db()
    assert report.records == []
    assert (case.complainant_name, case.complainant_phone) == ("张三", "13812345678")
    assert (case.version, AuditEvent.objects.count()) == versions
    assert not PersonKey.objects.filter(
        subject=case.audit_subject(), destroyed_at__isnull=False
    ).exists()


def test_a_record_under_a_legal_hold_is_not_anonymised_until_released(case, quality_manager):
    hold = legal_hold_place(actor=quality_manager, record=case, reason="诉讼证据保全")
    assert anonymise_due(today=AFTER).records == []
    case.refresh_from_db()
    assert case.complainant_name == "张三"
    legal_hold_release(actor=quality_manager, hold=hold, reason="诉讼结束")
    assert anonymise_due(today=AFTER).summary() == {"anonymised": 1, "skipped": 0}
    case.refresh_from_db()
    assert case.complainant_name == ""


def test_a_second_run_changes_nothing(case):
    assert anonymise_due(today=AFTER).summary() == {"anonymised": 1, "skipped": 0}
    case.refresh_from_db()
    state = (case.version, AuditEvent.objects.count(), PersonKey.objects.count())
    out = StringIO()
    call_command("anonymise", "--today", AFTER.isoformat(), stdout=out)
    case.refresh_from_db()
    assert (case.version, AuditEvent.objects.count(), PersonKey.objects.count()) == state
    assert "0 records anonymised, 0 skipped" in out.getvalue()


def test_a_dry_run_lists_what_would_be_done_and_changes_nothing(case):
    events = AuditEvent.objects.count()
    out = StringIO()
    call_command("anonymise", "--dry-run", "--today", AFTER.isoformat(), stdout=out)
    assert out.getvalue().splitlines() == [
        f"would anonymise quality.qualitycase #{case.pk} {case.number} (kept until 2031-11-27): "
        "complainant_name, complainant_phone, complainant_sex, complainant_age, "
        "complainant_address, complainant_workplace, complainant_phone_index",
        "1 records would anonymise, 0 skipped (retention judged as of 2031-11-28).",
    ]
    case.refresh_from_db()
    assert case.complainant_phone == "13812345678"
    assert AuditEvent.objects.count() == events
    assert not PersonKey.objects.filter(destroyed_at__isnull=False).exists()


def test_batches_cover_every_record_due(quality_staff):
    cases = [case_recorded(actor=quality_staff) for _ in range(5)]
    report = anonymise_due(today=AFTER, batch_size=2)
    assert sorted(record.pk for record in report.anonymised) == sorted(c.pk for c in cases)
    assert QualityCase.objects.exclude(complainant_name="").count() == 0


def test_a_signed_accident_is_anonymised_and_its_signature_still_holds(
    quality_staff, quality_manager
):
    accident = accident_recorded(actor=quality_staff, persons_affected="患者 王某某")
    accident = accident_investigate(actor=quality_staff, accident=accident,
                                    data={"causes": "传感器缺陷", "handling": "更换"})  # fmt: skip
    accident = accident_submit_report(actor=quality_staff, accident=accident, submitted_to="市局")
    accident_close(actor=quality_manager, accident=accident, conclusion="结案", password=PASSWORD)
    report = anonymise_due(today=AFTER, only=[QualityAccident])
    assert [(record.pk, record.fields) for record in report.anonymised] == [
        (accident.pk, ["persons_affected"])
    ]
    accident.refresh_from_db()
    assert (accident.persons_affected, accident.causes, accident.status) == (
        "",
        "传感器缺陷",
        "closed",
    )
    assert signature_is_intact(signatures_of(accident)[0], accident)


# --- Other apps' records ------------------------------------------------------------------------


def test_the_command_is_generic_a_service_request_and_its_intake_too(
    agent, hospital_a, django_capture_on_commit_callbacks
):
    # Every retained record with personal data takes part
    labels = [model._meta.label_lower for model in anonymisable_models()]
    assert labels == [
        "feedback.opinionentry", "feedback.shortageentry", "quality.adverseeventreport", "quality.casemessage", "quality.qualityaccident",
        "quality.qualitycase", "tickets.ticket", "work_orders.workorder",
    ]  # fmt: skip
    # Given a quality complaint taken by phone (with its intake and the case it opened)
    contact = ContactFactory(organization=hospital_a, name="王护士")
    with freeze_time(DISCOVERED), django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_register(
            actor=agent,
            data={
                "kind": "quality_complaint", "channel": "phone", "organization": hospital_a,
                "contact": contact, "reporter_name": "王护士", "reporter_phone": "13900001111",
                "subject": "输液器漏液", "description": "输液器接口漏液",
            },
            quality={"complainant_address": "幸福路 8 号", "complainant_workplace": "市一院",
                     "complainant_age": 46, "symptoms": "红肿", "stop_use_advised": True},
        )  # fmt: skip
    sealed = _sealed_create_values(ticket, ["reporter_phone"])["reporter_phone"]
    # When the command runs after the retention of both
    report = anonymise_due(today=AFTER)
    # Then the request, its intake and its case are anonymised and kept
    assert sorted(record.label for record in report.anonymised) == [
        "quality.qualitycase", "tickets.ticket",
    ]  # fmt: skip
    ticket = Ticket.objects.get(pk=ticket.pk)
    intake = QualityIntake.objects.get(ticket=ticket)
    assert (ticket.reporter_name, ticket.reporter_phone, ticket.reporter_phone_index) == (
        "",
        "",
        "",
    )
    assert (ticket.subject, ticket.description) == ("输液器漏液", "输液器接口漏液")
    assert (intake.complainant_address, intake.complainant_workplace, intake.complainant_age) == (
        "", "", None,
    )  # fmt: skip
    assert intake.symptoms == "红肿"
    assert open_personal_value(ticket.audit_subject(), sealed) == ANONYMISED
    assert QualityCase.objects.get(ticket=ticket).complainant_name == ""
    assert audit_verify_chain().ok and "Audit chain intact" in _verify_audit()


def test_the_weekly_job_runs_the_anonymisation(case):
    job = JOBS["core.anonymise"]
    assert job.every == datetime.timedelta(days=7)
    with freeze_time(datetime.datetime(2031, 11, 28, 3, 0, tzinfo=datetime.UTC)):
        assert job.function() == {"anonymised": 1, "skipped": 0}
        assert job.function() == {"anonymised": 0, "skipped": 0}
