"""The survey engine: one survey per case (the database guarantees it), the overall result
folded into the request's rating, low scores escalated to the service manager who answers and
the customer told, results per engineer/team/region/model with exact numbers, and the periodic
customer evaluation run twice."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from freezegun import freeze_time

from medservice.accounts.choices import Role
from medservice.core.models import Notification
from medservice.feedback.choices import EscalationStatus, SurveyStatus, SurveySubject
from medservice.feedback.models import Survey, SurveyCampaign, SurveyEscalation
from medservice.feedback.selectors_followups import survey_results
from medservice.feedback.services_surveys import (
    escalation_answer,
    escalations_remind_overdue,
    periodic_surveys_run,
    survey_answer,
    survey_create_for_ticket,
)
from tests.factories import ContactFactory, OrganizationFactory, user_with_role
from tests.feedback.factories_followups import closed_ticket, run_on_commit, survey_with_token

pytestmark = pytest.mark.django_db
GOOD = {"speed": 5, "attitude": 4, "professionalism": 5, "result": 4, "recommendation": 9,
        "comments": "很好"}  # fmt: skip


def answered(survey, **answers):
    token = survey_with_token(survey)
    return run_on_commit(survey_answer, token=token, answers={**GOOD, **answers})


def test_one_survey_per_request_and_the_database_refuses_a_second(agent, hospital_a):
    ticket = closed_ticket(agent, hospital_a)
    survey = Survey.objects.get(ticket=ticket)
    assert survey_create_for_ticket(ticket=ticket).pk == survey.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Survey.objects.create(subject=SurveySubject.TICKET, ticket=ticket,
                              organization=hospital_a)  # fmt: skip


def test_one_survey_per_work_order_and_none_when_a_request_covers_it(agent, hospital_a):
    from medservice.feedback.services_surveys import survey_create_for_work_order
    from tests.work_orders.factories import WorkOrderFactory

    ContactFactory(organization=hospital_a, language="en")
    alone = WorkOrderFactory(device__organization=hospital_a, kind="preventive_maintenance")
    first = survey_create_for_work_order(work_order=alone)
    assert survey_create_for_work_order(work_order=alone).pk == first.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Survey.objects.create(subject=SurveySubject.WORK_ORDER, work_order=alone,
                              organization=hospital_a)  # fmt: skip
    ticket = closed_ticket(agent, hospital_a)
    covered = WorkOrderFactory(device__organization=hospital_a, ticket=ticket)
    assert survey_create_for_work_order(work_order=covered) is None


def test_a_survey_has_exactly_one_source(hospital_a, agent):
    ticket = closed_ticket(agent, hospital_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        Survey.objects.create(subject=SurveySubject.PERIODIC, ticket=ticket,
                              organization=hospital_a)  # fmt: skip


def test_the_result_is_the_requests_rating(agent, hospital_a):
    ticket = closed_ticket(agent, hospital_a)
    answered(Survey.objects.get(ticket=ticket), result=3, comments="还行")
    ticket.refresh_from_db()
    assert (ticket.rating, ticket.rating_comment) == (3, "还行")


def test_a_rating_given_in_the_portal_is_kept(agent, hospital_a):
    from medservice.tickets.services import ticket_rate

    ticket = closed_ticket(agent, hospital_a)
    ticket_rate(ticket=ticket, actor=agent, rating=5, comment="portal")
    answered(Survey.objects.get(ticket=ticket), result=2)
    ticket.refresh_from_db()
    assert (ticket.rating, ticket.rating_comment) == (5, "portal")


def test_a_low_score_asks_the_service_manager_who_answers_and_the_customer_is_told(
    agent, manager, hospital_a
):
    # Given a survey answered with attitude 2 (the low score is 2 or less)
    ticket = closed_ticket(agent, hospital_a)
    mail.outbox.clear()
    with freeze_time("2026-03-10 02:00:00"):
        survey = answered(Survey.objects.get(ticket=ticket), attitude=2)
    # Then the service manager has a task due in 3 days and is told
    escalation = SurveyEscalation.objects.get(survey=survey)
    assert survey.low_score is True
    assert (escalation.assignee, escalation.status) == (manager, EscalationStatus.OPEN)
    assert escalation.due_at == datetime.datetime(2026, 3, 13, 2, 0, tzinfo=datetime.UTC)
    assert "attitude: 2/5" in escalation.reason
    assert Notification.objects.filter(recipient=manager, subject__startswith="Low survey score"
                                       ).count() == 1  # fmt: skip
    # When the manager says what was done
    mail.outbox.clear()
    run_on_commit(escalation_answer, actor=manager, escalation=escalation,
                  action_taken="已更换工程师并上门致歉")  # fmt: skip
    # Then the task is answered and the customer gets that text by e-mail
    escalation.refresh_from_db()
    assert (escalation.status, escalation.answered_by) == (EscalationStatus.ANSWERED, manager)
    assert escalation.customer_told_at is not None
    assert [message.to for message in mail.outbox] == [[ticket.contact.email]]
    assert "已更换工程师并上门致歉" in mail.outbox[0].body
    assert mail.outbox[0].subject == "What we did after your survey"


def test_a_low_recommendation_alone_escalates_and_a_good_answer_does_not(agent, manager,
                                                                         hospital_a):  # fmt: skip
    low = answered(Survey.objects.get(ticket=closed_ticket(agent, hospital_a)), recommendation=6)
    good = answered(Survey.objects.get(ticket=closed_ticket(agent, hospital_a)), recommendation=7)
    assert SurveyEscalation.objects.filter(survey=low).exists()
    assert not SurveyEscalation.objects.filter(survey=good).exists()


def test_an_empty_answer_to_a_low_score_is_refused(agent, manager, hospital_a):
    from medservice.core.errors import InvalidInputError

    survey = answered(Survey.objects.get(ticket=closed_ticket(agent, hospital_a)), result=1)
    escalation = survey.escalation
    with pytest.raises(InvalidInputError) as refused:
        escalation_answer(actor=manager, escalation=escalation, action_taken="  ")
    assert refused.value.fields == {"action_taken": ["Say what was done."]}


def test_an_overdue_low_score_is_reminded_once(agent, manager, hospital_a):
    with freeze_time("2026-03-10 02:00:00"):
        survey = answered(Survey.objects.get(ticket=closed_ticket(agent, hospital_a)), result=1)
    with freeze_time("2026-03-14 02:00:00"):
        assert escalations_remind_overdue() == 1
        assert escalations_remind_overdue() == 0
    overdue = Notification.objects.filter(recipient=manager, subject__startswith="Overdue")
    assert overdue.count() == 1
    assert survey.escalation.__class__.objects.get(pk=survey.escalation.pk).reminded_at


def test_results_per_engineer_are_exact(agent, manager, hospital_a, company):
    # Given two engineers' surveys: Wang 5/4 and 3/2 with recommendations 10 and 6, Li 4 and 8
    wang = user_with_role(Role.FIELD_ENGINEER, company, username="wang")
    li = user_with_role(Role.FIELD_ENGINEER, company, username="li")
    scores = [(wang, {"speed": 5, "result": 4, "recommendation": 10}),
              (wang, {"speed": 3, "result": 3, "recommendation": 6}),
              (li, {"speed": 4, "result": 5, "recommendation": 8})]  # fmt: skip
    for engineer, answers in scores:
        survey = Survey.objects.get(ticket=closed_ticket(agent, hospital_a))
        Survey.objects.filter(pk=survey.pk).update(engineer=engineer)
        answered(survey, **answers)
    # One survey not answered yet does not count
    closed_ticket(agent, hospital_a)
    _questions, rows = survey_results(manager, by="engineer")
    by_name = {row.label: row for row in rows}
    assert set(by_name) == {"wang", "li"}
    assert by_name["wang"].surveys == 2
    assert by_name["wang"].averages["speed"] == 4.0
    assert by_name["wang"].averages["result"] == 3.5
    assert by_name["wang"].averages["recommendation"] == 8.0
    # NPS: one promoter (10), one detractor (6) of two: 0
    assert by_name["wang"].nps == 0.0
    # Li: one passive (8) of one: 0 promoters, 0 detractors
    assert (by_name["li"].surveys, by_name["li"].averages["result"], by_name["li"].nps) == (
        1, 5.0, 0.0,
    )  # fmt: skip


def test_results_by_region_and_model(agent, manager):
    north = OrganizationFactory(region="华北")
    south = OrganizationFactory(region="华南")
    for organization, promoter in ((north, 10), (north, 9), (south, 3)):
        answered(Survey.objects.get(ticket=closed_ticket(agent, organization)),
                 recommendation=promoter)  # fmt: skip
    _questions, rows = survey_results(manager, by="region")
    assert [(row.label, row.surveys, row.nps) for row in rows] == [
        ("华北", 2, 100.0), ("华南", 1, -100.0),
    ]  # fmt: skip


def test_a_customer_sees_only_its_own_results(agent, hospital_a, hospital_b, customer_a):
    answered(Survey.objects.get(ticket=closed_ticket(agent, hospital_a)), speed=5)
    answered(Survey.objects.get(ticket=closed_ticket(agent, hospital_b)), speed=1)
    _questions, rows = survey_results(customer_a, by="region")
    assert [(row.surveys, row.averages["speed"]) for row in rows] == [(1, 5.0)]


def test_the_periodic_evaluation_runs_once_per_period(hospital_a, hospital_b, company, db):
    from tests.installed_base.factories import DeviceFactory

    # Given two hospitals with devices and contacts, one without a contact, the company itself
    for organization in (hospital_a, hospital_b):
        DeviceFactory(organization=organization)
        ContactFactory(organization=organization, language="en")
    DeviceFactory(organization=OrganizationFactory(name="无联系人医院"))
    mail.outbox.clear()
    # When the job runs twice in 2026
    first = run_on_commit(periodic_surveys_run, today=datetime.date(2026, 5, 1))
    second = run_on_commit(periodic_surveys_run, today=datetime.date(2026, 11, 30))
    # Then one campaign, one survey per hospital with a contact, each e-mailed once
    assert (first, second) == (2, 0)
    campaign = SurveyCampaign.objects.get()
    assert (campaign.period_start, campaign.period_end) == (
        datetime.date(2026, 1, 1), datetime.date(2026, 12, 31),
    )  # fmt: skip
    assert sorted(Survey.objects.filter(campaign=campaign).values_list("organization", flat=True)
                  ) == sorted([hospital_a.pk, hospital_b.pk])  # fmt: skip
    assert len(mail.outbox) == 2
    # And the next year is a new campaign
    assert run_on_commit(periodic_surveys_run, today=datetime.date(2027, 1, 2)) == 2
    assert Survey.objects.filter(status=SurveyStatus.SENT).count() == 4


def test_the_periodic_period_follows_the_setting(settings):
    from medservice.feedback.services_surveys import period_of

    assert period_of(datetime.date(2026, 8, 15), 6) == (
        datetime.date(2026, 7, 1), datetime.date(2026, 12, 31),
    )  # fmt: skip
    assert period_of(datetime.date(2026, 2, 1), 3) == (
        datetime.date(2026, 1, 1), datetime.date(2026, 3, 31),
    )  # fmt: skip
