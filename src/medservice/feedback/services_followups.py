"""Follow-ups (回访) and customer visits (走访): every write of the area.

A closed service request gets one follow-up call, a completed repair one use check (both
idempotent: the database allows one per source). The outcome is coded; "not reached" is
retried until the allowed number of tries, "problem persists" reopens the request (or opens a
new one linked to the follow-up when it can no longer be reopened), "new problem" opens a new
request. A visit's written opinions are routed to the department concerned, whose responsible
person is told and must answer.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError, InvalidTransitionError, Problems
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.feedback.choices import (
    FollowUpKind,
    FollowUpOutcome,
    FollowUpStatus,
    OpinionStatus,
    VisitStatus,
)
from medservice.feedback.models import CustomerVisit, FollowUp, FollowUpAttempt, VisitOpinion

FOLLOW_UP_PREFIX = "HF"
VISIT_PREFIX = "ZF"


def follow_up_days() -> int:
    return int(getattr(settings, "FEEDBACK_FOLLOW_UP_DAYS", 30))


def repair_check_days() -> int:
    return int(getattr(settings, "FEEDBACK_REPAIR_CHECK_DAYS", 7))


def max_attempts() -> int:
    return int(getattr(settings, "FEEDBACK_FOLLOW_UP_MAX_ATTEMPTS", 3))


def _create_once(lookup: dict[str, Any], fields: dict[str, Any]) -> FollowUp:
    """Create the follow-up of a source unless it exists; a concurrent second creation hits the
    unique constraint and reads the first one's row instead."""
    existing = FollowUp.objects.filter(**lookup).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic(), audit_context(job="feedback.follow-up-schedule"):
            return FollowUp.objects.create(
                number=number_next(prefix=FOLLOW_UP_PREFIX), **lookup, **fields
            )
    except IntegrityError:
        return FollowUp.objects.get(**lookup)


def follow_up_schedule_for_ticket(*, ticket: Any) -> FollowUp | None:
    """The follow-up call of a closed request, due FEEDBACK_FOLLOW_UP_DAYS after it closed
    (SOP-4: within a month). Requests without a customer organisation are not called."""
    if ticket.organization_id is None or ticket.closed_at is None:
        return None
    due = timezone.localdate(ticket.closed_at) + datetime.timedelta(days=follow_up_days())
    return _create_once(
        {"kind": FollowUpKind.CALL, "ticket": ticket},
        {
            "organization_id": ticket.organization_id,
            "device_id": ticket.device_id,
            "contact_id": ticket.contact_id,
            "assignee_id": ticket.owner_id,
            "due_on": due,
        },
    )


def follow_up_schedule_for_work_order(*, work_order: Any) -> FollowUp | None:
    """The use check after a completed repair, due FEEDBACK_REPAIR_CHECK_DAYS after it."""
    from medservice.work_orders.choices import WorkOrderKind

    if work_order.kind != WorkOrderKind.REPAIR or work_order.completed_at is None:
        return None
    due = timezone.localdate(work_order.completed_at) + datetime.timedelta(days=repair_check_days())
    ticket = work_order.ticket
    return _create_once(
        {"kind": FollowUpKind.USE_CHECK, "work_order": work_order},
        {
            "ticket": ticket,
            "organization_id": work_order.organization_id,
            "device_id": work_order.device_id,
            "contact_id": ticket.contact_id if ticket else None,
            "assignee_id": work_order.owner_id or (ticket.owner_id if ticket else None),
            "due_on": due,
        },
    )


def follow_up_assign(
    *, actor: Any, follow_up: FollowUp, assignee: Any, due_on: datetime.date | None = None
) -> FollowUp:
    """Give the call to someone (and move its due date)."""
    with transaction.atomic():
        locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if locked.status != FollowUpStatus.OPEN:
            raise InvalidTransitionError(_("This follow-up is closed."))
        locked.assignee = assignee
        if due_on is not None:
            locked.due_on = due_on
        with audit_context(actor=actor, action="assign"):
            locked.save()
    return locked


def _new_ticket_from(follow_up: FollowUp, *, actor: Any, text: str, kind: str) -> Any:
    from medservice.tickets.services import ticket_register

    source = follow_up.ticket
    data: dict[str, Any] = {
        "kind": kind,
        "channel": "phone",
        "organization": follow_up.organization,
        "device": follow_up.device,
        "subject": (_("Follow-up %(number)s: %(text)s") % {
            "number": follow_up.number, "text": text.splitlines()[0] if text else ""
        })[:200],
        "description": text + (
            "\n\n" + _("Found by follow-up %(number)s of %(source)s.") % {
                "number": follow_up.number,
                "source": source.number if source else follow_up.work_order,
            }
        ),
    }  # fmt: skip
    contact = follow_up.contact or (source.contact if source else None)
    if contact is not None:
        data["contact"] = contact
    elif source is not None:
        data.update(
            reporter_name=source.reporter_name,
            reporter_phone=source.reporter_phone,
            reporter_email=source.reporter_email,
        )
    return ticket_register(actor=actor, data=data)


def follow_up_record(*, actor: Any, follow_up: FollowUp, outcome: str, note: str = "") -> FollowUp:
    """Record one call: its coded outcome closes the follow-up, except "not reached" before the
    last allowed try. A persisting problem reopens the request (a new one, linked here, when it
    can no longer be reopened); a new problem opens a new request."""
    problems = Problems()
    if outcome not in FollowUpOutcome.values:
        problems.add("outcome", _("Choose the outcome of the call."))
    note = (note or "").strip()
    if outcome in (FollowUpOutcome.PROBLEM_PERSISTS, FollowUpOutcome.NEW_PROBLEM) and not note:
        problems.add("note", _("Say what the customer reported."))
    problems.raise_if_any(_("The outcome cannot be recorded: %(fields)s.") % {
        "fields": ", ".join(problems.fields)
    })  # fmt: skip
    now = timezone.now()
    with transaction.atomic():
        locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
        if locked.status != FollowUpStatus.OPEN:
            raise InvalidTransitionError(
                _("Follow-up %(number)s is already closed.") % {"number": locked.number}
            )
        FollowUpAttempt.objects.create(
            follow_up=locked, at=now, by=actor, outcome=outcome, note=note
        )
        locked.attempts += 1
        changes: dict[str, Any] = {}
        if outcome == FollowUpOutcome.NOT_REACHED:
            if locked.attempts >= max_attempts():
                changes = {"status": FollowUpStatus.NOT_REACHED, "outcome": outcome}
        else:
            changes = {"status": FollowUpStatus.DONE, "outcome": outcome}
        if changes:
            changes.update(outcome_note=note, completed_at=now, completed_by=actor)
        if outcome == FollowUpOutcome.PROBLEM_PERSISTS:
            changes["resulting_ticket"] = _reopen_or_open(locked, actor=actor, note=note)
        elif outcome == FollowUpOutcome.NEW_PROBLEM:
            changes["resulting_ticket"] = _new_ticket_from(
                locked, actor=actor, text=note, kind="repair"
            )
        for key, value in changes.items():
            setattr(locked, key, value)
        with audit_context(actor=actor, action="record-outcome", reason=note or None):
            locked.save()
    return locked


def _reopen_or_open(follow_up: FollowUp, *, actor: Any, note: str) -> Any:
    from medservice.tickets.services import ticket_reopen

    ticket = follow_up.ticket
    if ticket is not None:
        reason = _("Follow-up %(number)s: %(note)s") % {"number": follow_up.number, "note": note}
        try:
            return ticket_reopen(ticket=ticket, actor=actor, reason=reason)
        except InvalidTransitionError:
            pass  # beyond the reopen window (or not finished): a new request, linked here
    return _new_ticket_from(follow_up, actor=actor, text=note, kind="complaint")


# --- visits -------------------------------------------------------------------------------------


def visit_create(*, actor: Any, model: type[CustomerVisit] = CustomerVisit,
                 data: dict[str, Any]) -> CustomerVisit:  # fmt: skip
    """A planned visit (with its date) or an unplanned one (recorded as done on its day)."""
    data = {key: value for key, value in data.items() if key not in ("number", "status")}
    problems = Problems()
    if data.get("kind") == "planned" and not data.get("planned_on"):
        problems.add("planned_on", _("Give the date of the planned visit."))
    if data.get("kind") == "unplanned" and not data.get("visited_on"):
        problems.add("visited_on", _("Give the date of the visit."))
    department = data.get("department")
    organization = data.get("organization")
    if (
        department is not None
        and organization is not None
        and (department.organization_id != organization.pk)
    ):
        problems.add("department", _("The department belongs to another organisation."))
    problems.raise_if_any(_("The visit cannot be saved: %(fields)s.") % {
        "fields": ", ".join(problems.fields)
    })  # fmt: skip
    status = VisitStatus.DONE if data.get("visited_on") else VisitStatus.PLANNED
    with transaction.atomic(), audit_context(actor=actor):
        return CustomerVisit.objects.create(
            number=number_next(prefix=VISIT_PREFIX), status=status,
            visitor=data.pop("visitor", None) or actor, **data,
        )  # fmt: skip


def visit_update(
    *, actor: Any, instance: CustomerVisit, data: dict[str, Any], expected_version: Any = None
) -> CustomerVisit:
    """Correct or complete a visit; a visit date marks it done."""
    from medservice.core.services import record_update

    if data.get("visited_on") and instance.status == VisitStatus.PLANNED:
        data = {**data, "status": VisitStatus.DONE}
    return record_update(
        actor=actor, instance=instance, data=data, expected_version=expected_version
    )


def opinion_add(
    *, actor: Any, visit: CustomerVisit, text: str, concerned: str, routed_to: Any,
    given_by: str = "", due_on: datetime.date | None = None,
) -> VisitOpinion:  # fmt: skip
    """Record a written opinion of the customer and route it: the responsible person of the
    department concerned is told and must answer."""
    from medservice.feedback.choices import ConcernedDepartment

    problems = Problems()
    if not (text or "").strip():
        problems.add("text", _("Write down the customer's opinion."))
    if concerned not in ConcernedDepartment.values:
        problems.add("concerned", _("Choose the department concerned."))
    if routed_to is None:
        problems.add("routed_to", _("Choose who must answer."))
    elif routed_to.organization_id is None or routed_to.organization.kind != "company":
        problems.add("routed_to", _("The person who answers must be one of the company's staff."))
    problems.raise_if_any(_("The opinion cannot be recorded: %(fields)s.") % {
        "fields": ", ".join(problems.fields)
    })  # fmt: skip
    with transaction.atomic(), audit_context(actor=actor):
        opinion = VisitOpinion.objects.create(
            visit=visit, organization_id=visit.organization_id, text=text.strip(),
            given_by=given_by, concerned=concerned, routed_to=routed_to, due_on=due_on,
        )  # fmt: skip
        notify(
            recipients=[routed_to], template="feedback_opinion_routed",
            context={"opinion": opinion, "visit": visit},
            link=f"/feedback/customer-visits/{visit.pk}/",
        )  # fmt: skip
    return opinion


def opinion_answer(*, actor: Any, opinion: VisitOpinion, answer: str) -> VisitOpinion:
    """The department's answer to an opinion (what will be done); the visitor is told."""
    if not (answer or "").strip():
        message = _("Write the answer.")
        raise InvalidInputError(message, fields={"answer": [message]})
    from medservice.core.errors import PermissionDeniedError

    if actor != opinion.routed_to and not actor.has_perm("feedback.answer_visitopinion"):
        raise PermissionDeniedError(
            _("Only %(person)s, to whom the opinion was routed, answers it.")
            % {"person": opinion.routed_to}
        )
    with transaction.atomic():
        locked = VisitOpinion.objects.select_for_update().get(pk=opinion.pk)
        if locked.status == OpinionStatus.ANSWERED:
            raise InvalidTransitionError(_("This opinion has already been answered."))
        locked.answer, locked.status = answer.strip(), OpinionStatus.ANSWERED
        locked.answered_at, locked.answered_by = timezone.now(), actor
        with audit_context(actor=actor, action="answer"):
            locked.save()
        visitor = locked.visit.visitor
        if visitor is not None and visitor != actor:
            notify(
                recipients=[visitor], template="feedback_opinion_answered",
                context={"opinion": locked, "visit": locked.visit},
                link=f"/feedback/customer-visits/{locked.visit_id}/",
            )  # fmt: skip
    return locked
