"""Closed cases, follow-ups and surveys made the way the system makes them: through the
tickets' and feedback's services (the events run as after a real commit)."""

from __future__ import annotations

import datetime
from typing import Any

import factory
from django.db import transaction
from django.utils import timezone

from medservice.feedback.models import (
    CustomerVisit,
    FollowUp,
    Survey,
    SurveyCampaign,
    SurveyEscalation,
    VisitOpinion,
)
from medservice.feedback.services_surveys import _issue_token
from medservice.tickets import services as ticket_services
from tests.factories import ContactFactory, OrganizationFactory
from tests.tickets.factories import TicketFactory


def run_on_commit(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run `function` and then the callbacks it left for after commit (the tests' transaction
    never commits), as a real request would."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        result = function(*args, **kwargs)
    return result


def resolved_ticket(agent: Any, organization: Any, **fields: Any) -> Any:
    ticket = TicketFactory(organization=organization, actor=agent, **fields)
    ticket = ticket_services.ticket_acknowledge(ticket=ticket, actor=agent, note="已电话联系")
    ticket = ticket_services.ticket_propose_solution(ticket=ticket, actor=agent,
                                                     solution="上门更换电源板")  # fmt: skip
    ticket = ticket_services.ticket_agree_solution(
        ticket=ticket, actor=agent, agreed_by="钱丽华", method="phone"
    )
    ticket = ticket_services.ticket_start(ticket=ticket, actor=agent)
    return ticket_services.ticket_resolve(
        ticket=ticket, actor=agent, resolution_type="repair", resolution="已更换电源板"
    )


def closed_ticket(agent: Any, organization: Any, **fields: Any) -> Any:
    """A request taken to closed by the desk; the closed event has run (follow-up, survey)."""
    ticket = resolved_ticket(agent, organization, **fields)
    ticket = run_on_commit(
        ticket_services.ticket_confirm, ticket=ticket, actor=agent,
        confirmed_by_name="钱丽华", method="phone",
    )  # fmt: skip
    ticket.refresh_from_db()
    return ticket


def english_contact(organization: Any, **fields: Any) -> Any:
    return ContactFactory(organization=organization, language="en", **fields)


def survey_with_token(survey: Survey, *, days: int | None = None) -> str:
    """A fresh link of `survey` as the customer gets it; `days` moves its expiry."""
    with transaction.atomic():
        token = _issue_token(survey)
        if days is not None:
            survey.link_expires_at = timezone.now() + datetime.timedelta(days=days)
        survey.status = "sent"
        survey.save(update_fields=["token_hash", "link_expires_at", "status"])
    return token


# --- records made directly (for scoping and list tests) ---------------------------------------


def _staff() -> Any:
    from medservice.accounts.choices import Role
    from tests.factories import CompanyFactory, user_with_role

    return user_with_role(Role.SERVICE_AGENT, CompanyFactory())


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    number = factory.Sequence(lambda n: f"HF-2026-{n:06d}")
    kind = "call"
    organization = factory.SubFactory(OrganizationFactory)
    contact = factory.LazyAttribute(lambda item: ContactFactory(organization=item.organization))
    due_on = datetime.date(2026, 4, 9)


class CustomerVisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerVisit

    number = factory.Sequence(lambda n: f"ZF-2026-{n:06d}")
    kind = "planned"
    organization = factory.SubFactory(OrganizationFactory)
    planned_on = datetime.date(2026, 5, 6)
    purpose = "年度走访，了解设备使用情况"


class VisitOpinionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VisitOpinion

    visit = factory.SubFactory(CustomerVisitFactory)
    organization = factory.LazyAttribute(lambda item: item.visit.organization)
    text = "希望工程师到场前先电话确认"
    concerned = "service"
    routed_to = factory.LazyFunction(_staff)


class SurveyFactory(factory.django.DjangoModelFactory):
    """A periodic-campaign survey (the one kind that needs no closed case)."""

    class Meta:
        model = Survey

    subject = "periodic"
    # A campaign of its own (one survey per campaign and organisation).
    campaign = factory.Sequence(
        lambda n: SurveyCampaign.objects.create(
            period_start=datetime.date(1900 + n, 1, 1),
            period_end=datetime.date(1900 + n, 12, 31),
            title=f"{1900 + n}",
        )
    )
    organization = factory.SubFactory(OrganizationFactory)
    region = "上海"


class SurveyEscalationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SurveyEscalation

    survey = factory.SubFactory(SurveyFactory, status="answered", low_score=True)
    organization = factory.LazyAttribute(lambda item: item.survey.organization)
    reason = "result: 1/5"
    due_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=3))
