"""The coded outcome of a follow-up call: satisfied closes it, not reached is retried, a
persisting problem reopens the request (or opens a linked one when it can no longer be
reopened), a new problem opens a new request."""

from __future__ import annotations

import datetime

import pytest
from freezegun import freeze_time

from medservice.core.errors import InvalidInputError, InvalidTransitionError
from medservice.feedback.choices import FollowUpOutcome, FollowUpStatus
from medservice.feedback.models import FollowUp
from medservice.feedback.services_followups import follow_up_record
from medservice.tickets.choices import Status
from medservice.tickets.models import Ticket
from tests.feedback.factories_followups import closed_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def follow_up(agent, hospital_a):
    return FollowUp.objects.get(ticket=closed_ticket(agent, hospital_a))


def test_a_satisfied_customer_closes_the_follow_up(follow_up, agent):
    done = follow_up_record(actor=agent, follow_up=follow_up, outcome="satisfied", note="满意")
    assert (done.status, done.outcome, done.attempts, done.completed_by) == (
        FollowUpStatus.DONE, FollowUpOutcome.SATISFIED, 1, agent,
    )  # fmt: skip
    assert done.resulting_ticket is None


def test_not_reached_is_retried_then_closed_after_three_tries(follow_up, agent):
    # Given the customer does not answer twice
    for _try in range(2):
        follow_up = follow_up_record(actor=agent, follow_up=follow_up, outcome="not_reached")
        assert follow_up.status == FollowUpStatus.OPEN
    # When the third call is not answered either
    follow_up = follow_up_record(actor=agent, follow_up=follow_up, outcome="not_reached")
    # Then the follow-up closes as not reached, with its three tries on record
    assert (follow_up.status, follow_up.outcome, follow_up.attempts) == (
        FollowUpStatus.NOT_REACHED, FollowUpOutcome.NOT_REACHED, 3,
    )  # fmt: skip
    assert list(follow_up.tries.values_list("outcome", flat=True)) == ["not_reached"] * 3


def test_a_persisting_problem_reopens_the_request(follow_up, agent):
    ticket = follow_up.ticket
    done = follow_up_record(
        actor=agent, follow_up=follow_up, outcome="problem_persists", note="仍然报警"
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.reopened_count == 1
    assert done.resulting_ticket_id == ticket.pk
    assert done.status == FollowUpStatus.DONE


def test_a_persisting_problem_beyond_the_reopen_window_opens_a_linked_request(agent, hospital_a):
    # Given a request closed 40 days ago (the reopen window is 30 days)
    with freeze_time(datetime.datetime(2026, 1, 1, 2, 0, tzinfo=datetime.UTC)):
        ticket = closed_ticket(agent, hospital_a)
    follow_up = FollowUp.objects.get(ticket=ticket)
    with freeze_time(datetime.datetime(2026, 2, 10, 2, 0, tzinfo=datetime.UTC)):
        done = follow_up_record(
            actor=agent, follow_up=follow_up, outcome="problem_persists", note="仍然报警"
        )
    # Then the old request stays closed and a new complaint is linked to the follow-up
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    new = done.resulting_ticket
    assert new.pk != ticket.pk
    assert (new.kind, new.organization, new.contact) == ("complaint", hospital_a, ticket.contact)
    assert follow_up.number in new.description and ticket.number in new.description


def test_a_new_problem_opens_a_new_request(follow_up, agent, hospital_a):
    before = Ticket.objects.count()
    done = follow_up_record(
        actor=agent, follow_up=follow_up, outcome="new_problem", note="打印机不出纸"
    )
    assert Ticket.objects.count() == before + 1
    assert done.resulting_ticket.description.startswith("打印机不出纸")
    assert done.resulting_ticket.kind == "repair"
    follow_up.ticket.refresh_from_db()
    assert follow_up.ticket.status == Status.CLOSED


def test_a_bad_outcome_without_a_note_is_refused_and_nothing_is_saved(follow_up, agent):
    with pytest.raises(InvalidInputError) as refused:
        follow_up_record(actor=agent, follow_up=follow_up, outcome="new_problem", note=" ")
    assert refused.value.fields == {"note": ["Say what the customer reported."]}
    with pytest.raises(InvalidInputError) as refused:
        follow_up_record(actor=agent, follow_up=follow_up, outcome="happy")
    assert refused.value.fields == {"outcome": ["Choose the outcome of the call."]}
    follow_up.refresh_from_db()
    assert (follow_up.attempts, follow_up.status) == (0, FollowUpStatus.OPEN)


def test_a_closed_follow_up_takes_no_more_outcomes(follow_up, agent):
    follow_up_record(actor=agent, follow_up=follow_up, outcome="satisfied")
    with pytest.raises(InvalidTransitionError):
        follow_up_record(actor=agent, follow_up=follow_up, outcome="satisfied")
