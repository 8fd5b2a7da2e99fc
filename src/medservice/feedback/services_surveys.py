"""Satisfaction surveys (满意度调查): every write of the area.

One survey per closed case — a service request when it closes, a work order without a request
when it completes — and one per customer organisation and period for the periodic evaluation.
A survey is sent through a one-time link that expires (only the token's SHA-256 is stored), by
e-mail, SMS or the portal. The answer is validated the same way on the public page and the
API; the overall result is also the request's rating (tickets' rating, folded in, not asked
twice). A low score opens a task for the service manager, who must say what was done; the
customer is then told.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import InvalidInputError, InvalidTransitionError, Problems
from medservice.core.notifications import notify
from medservice.feedback.choices import (
    EscalationStatus,
    QuestionKind,
    SurveyChannel,
    SurveyStatus,
    SurveySubject,
)
from medservice.feedback.models import (
    Survey,
    SurveyAnswer,
    SurveyCampaign,
    SurveyEscalation,
    SurveyQuestion,
)

JOB = "feedback.survey"
# The question whose answer is also the service request's rating (tickets.Ticket.rating).
RATING_QUESTION = "result"


def link_days() -> int:
    return int(getattr(settings, "FEEDBACK_SURVEY_LINK_DAYS", 14))


def low_score() -> int:
    return int(getattr(settings, "FEEDBACK_SURVEY_LOW_SCORE", 2))


def low_recommendation() -> int:
    return int(getattr(settings, "FEEDBACK_SURVEY_LOW_RECOMMENDATION", 6))


def escalation_days() -> int:
    return int(getattr(settings, "FEEDBACK_SURVEY_ESCALATION_DAYS", 3))


def periodic_months() -> int:
    return int(getattr(settings, "FEEDBACK_PERIODIC_SURVEY_MONTHS", 12))


def token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def survey_url(token: str) -> str:
    base = str(getattr(settings, "MEDSERVICE_PUBLIC_URL", "")).rstrip("/")
    return f"{base}/survey/{token}/"


def questions_active() -> list[SurveyQuestion]:
    return list(SurveyQuestion.objects.filter(active=True).order_by("order", "pk"))


# --- creation ---------------------------------------------------------------------------------


def _create_once(lookup: dict[str, Any], fields: dict[str, Any]) -> tuple[Survey, bool]:
    existing = Survey.objects.filter(**lookup).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic(), audit_context(job=JOB):
            return Survey.objects.create(**lookup, **fields), True
    except IntegrityError:
        return Survey.objects.get(**lookup), False


def _language_of(contact: Any) -> str:
    return getattr(contact, "language", "") or "zh-hans"


def survey_create_for_ticket(*, ticket: Any, send: bool = True) -> Survey | None:
    """The survey of a closed request (once), sent straight away when a channel is known."""
    if ticket.organization_id is None:
        return None
    # The engineer of the request's last work order, else the agent who owned it.
    engineer_id = (
        ticket.work_orders.exclude(engineer=None).order_by("-pk")
        .values_list("engineer_id", flat=True).first()
    ) or ticket.owner_id  # fmt: skip
    device_model_id = ticket.device_model_id or (
        ticket.device.device_model_id if ticket.device_id else None
    )
    survey, created = _create_once(
        {"ticket": ticket},
        {
            "subject": SurveySubject.TICKET,
            "organization_id": ticket.organization_id,
            "contact": ticket.contact,
            "language": _language_of(ticket.contact),
            "engineer_id": engineer_id,
            "team_id": ticket.team_id,
            "region": ticket.organization.region,
            "device_model_id": device_model_id,
        },
    )
    if created and send:
        survey_send_automatic(survey=survey)
    return survey


def survey_create_for_work_order(*, work_order: Any, send: bool = True) -> Survey | None:
    """A work order is surveyed on its own only when no service request covers it (that
    request's survey asks about the whole case: the customer is asked once)."""
    if work_order.ticket_id is not None or work_order.organization_id is None:
        return None
    from medservice.customers.models import Contact

    contact = (
        Contact.objects.filter(organization_id=work_order.organization_id, anonymised_at=None)
        .order_by("pk").first()
    )  # fmt: skip
    survey, created = _create_once(
        {"work_order": work_order},
        {
            "subject": SurveySubject.WORK_ORDER,
            "organization_id": work_order.organization_id,
            "contact": contact,
            "language": _language_of(contact),
            "engineer_id": work_order.engineer_id,
            "region": work_order.organization.region,
            "device_model_id": work_order.device.device_model_id if work_order.device_id else None,
        },
    )
    if created and send:
        survey_send_automatic(survey=survey)
    return survey


# --- sending ----------------------------------------------------------------------------------


def _issue_token(survey: Survey) -> str:
    """A new one-time link: the previous one stops working."""
    token = secrets.token_urlsafe(32)
    survey.token_hash = token_hash(token)
    survey.link_expires_at = timezone.now() + datetime.timedelta(days=link_days())
    return token


def _phone_of(contact: Any) -> str:
    if contact is None:
        return ""
    return contact.mobile or contact.phone or ""


def channel_for(survey: Survey) -> str:
    """E-mail when the contact has an address, else SMS to a phone, else the portal."""
    contact = survey.contact
    if contact is not None and contact.email:
        return SurveyChannel.EMAIL
    if _phone_of(contact):
        return SurveyChannel.SMS
    return SurveyChannel.PORTAL


def _portal_users(organization_id: int) -> list[Any]:
    from medservice.accounts.models import User

    return list(User.objects.filter(organization_id=organization_id, is_active=True))


def survey_send_automatic(*, survey: Survey) -> Survey:
    return survey_send(actor=None, survey=survey, channel=channel_for(survey))


def survey_send(*, actor: Any, survey: Survey, channel: str) -> Survey:
    """Send (or send again) the survey's link by `channel`; a new link replaces the old."""
    if channel not in SurveyChannel.values:
        message = _("Choose e-mail, SMS or the portal.")
        raise InvalidInputError(message, fields={"channel": [message]})
    with transaction.atomic():
        locked = (
            Survey.objects.select_for_update(of=("self",))
            .select_related("contact")
            .get(pk=survey.pk)
        )
        if locked.status == SurveyStatus.ANSWERED:
            raise InvalidTransitionError(_("This survey has already been answered."))
        contact = locked.contact
        email, phone = "", ""
        if channel == SurveyChannel.EMAIL:
            email = contact.email if contact else ""
            if not email:
                message = _("The survey's contact has no e-mail address.")
                raise InvalidInputError(message, fields={"channel": [message]})
        elif channel == SurveyChannel.SMS:
            phone = _phone_of(contact)
            if not phone:
                message = _("The survey's contact has no phone number.")
                raise InvalidInputError(message, fields={"channel": [message]})
        token = _issue_token(locked)
        locked.channel, locked.sent_at, locked.status = channel, timezone.now(), SurveyStatus.SENT
        with audit_context(actor=actor, job=None if actor else JOB, action="send"):
            locked.save()
        context = {"survey": locked, "url": survey_url(token), "days": link_days()}
        with translation.override(locked.language or "zh-hans"):
            subject = render_to_string("feedback/surveys/message_subject.txt", context).strip()
            text = render_to_string("feedback/surveys/message_body.txt", context).strip()
        if channel == SurveyChannel.PORTAL:
            notify(
                recipients=_portal_users(locked.organization_id),
                template="feedback_survey_portal", context={"survey": locked},
                link="/feedback/portal/surveys/",
            )  # fmt: skip
        else:
            from medservice.feedback.tasks_followups import send_survey_message

            survey_id = locked.pk
            transaction.on_commit(
                lambda: send_survey_message.enqueue(survey_id, subject, text, email, phone)
            )
    return locked


def survey_link_for_portal(*, actor: Any, survey: Survey) -> str:
    """A signed-in customer opens its survey from the portal: a fresh one-time link (the old
    one, never stored in clear, cannot be shown again)."""
    with transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        if locked.status == SurveyStatus.ANSWERED:
            raise InvalidTransitionError(_("This survey has already been answered."))
        token = _issue_token(locked)
        if locked.status == SurveyStatus.PENDING:
            locked.status, locked.sent_at = SurveyStatus.SENT, timezone.now()
            locked.channel = SurveyChannel.PORTAL
        with audit_context(actor=actor, action="open-link"):
            locked.save()
    return token


# --- answering --------------------------------------------------------------------------------


@dataclass
class TokenCheck:
    survey: Survey | None
    refusal: str  # "" when the link may be used; else "unknown", "used" or "expired"


def survey_for_token(token: str) -> TokenCheck:
    survey = (
        Survey.objects.select_related("ticket", "work_order", "organization", "campaign")
        .filter(token_hash=token_hash(token)).first() if token else None
    )  # fmt: skip
    if survey is None:
        return TokenCheck(None, "unknown")
    if survey.status == SurveyStatus.ANSWERED:
        return TokenCheck(survey, "used")
    if survey.link_expires_at is None or survey.link_expires_at <= timezone.now():
        return TokenCheck(survey, "expired")
    return TokenCheck(survey, "")


def refusal_message(refusal: str) -> str:
    return {
        "unknown": _("This survey link is not valid. Please check the link in your message."),
        "used": _("This survey has already been answered. Thank you!"),
        "expired": _(
            "This survey link has expired. Contact us if you would still like to tell us "
            "about our service."
        ),
    }.get(refusal, "")


def answers_validate(raw: dict[str, Any]) -> dict[str, tuple[SurveyQuestion, int | None, str]]:
    """Check the answers of every active question ({code: value}); raise one 400 naming each
    wrong field, or return {code: (question, score, text)}."""
    problems = Problems()
    cleaned: dict[str, tuple[SurveyQuestion, int | None, str]] = {}
    for question in questions_active():
        value = raw.get(question.code)
        value = "" if value is None else str(value).strip()
        if question.kind == QuestionKind.TEXT:
            if len(value) > 5000:
                problems.add(question.code, _("Keep the text under 5000 characters."))
            elif question.required and not value:
                problems.add(question.code, _("Please answer this question."))
            else:
                cleaned[question.code] = (question, None, value)
            continue
        low, high = (1, 5) if question.kind == QuestionKind.SCORE else (0, 10)
        if not value:
            if question.required:
                problems.add(question.code, _("Please answer this question."))
            continue
        if not value.isdigit() or not low <= int(value) <= high:
            problems.add(
                question.code,
                _("Choose a whole number from %(low)s to %(high)s.") % {"low": low, "high": high},
            )
            continue
        cleaned[question.code] = (question, int(value), "")
    problems.raise_if_any(_("Some answers are missing or not valid: %(fields)s.") % {
        "fields": ", ".join(problems.fields)
    })  # fmt: skip
    return cleaned


def _is_low(answers: dict[str, tuple[SurveyQuestion, int | None, str]]) -> list[str]:
    reasons = []
    for question, score, _text in answers.values():
        if score is None:
            continue
        if question.kind == QuestionKind.SCORE and score <= low_score():
            reasons.append(f"{question.code}: {score}/5")
        if question.kind == QuestionKind.RECOMMENDATION and score <= low_recommendation():
            reasons.append(f"{question.code}: {score}/10")
    return reasons


def survey_answer(*, token: str, answers: dict[str, Any]) -> Survey:
    """The customer's answer through the one-time link (no sign-in). A used or expired link is
    refused; two submissions at once store one answer (the survey row is locked)."""
    check = survey_for_token(token)
    if check.refusal:
        error = InvalidTransitionError if check.refusal != "unknown" else InvalidInputError
        raise error(refusal_message(check.refusal), fields={"token": [check.refusal]})
    cleaned = answers_validate(answers)
    now = timezone.now()
    with transaction.atomic(), audit_context(job="feedback.survey-answer"):
        survey = Survey.objects.select_for_update().get(pk=check.survey.pk)
        again = survey_for_token(token)  # the state under the lock decides
        if again.refusal:
            raise InvalidTransitionError(
                refusal_message(again.refusal), fields={"token": [again.refusal]}
            )
        SurveyAnswer.objects.bulk_create(
            SurveyAnswer(survey=survey, question=question, score=score, text=text)
            for question, score, text in cleaned.values()
        )
        reasons = _is_low(cleaned)
        survey.status, survey.answered_at, survey.low_score = (
            SurveyStatus.ANSWERED, now, bool(reasons),
        )  # fmt: skip
        survey.save()
        if survey.ticket_id and RATING_QUESTION in cleaned:
            _fold_into_ticket_rating(survey, cleaned)
        if reasons:
            escalation_open(survey=survey, reasons=reasons)
    return survey


def _fold_into_ticket_rating(survey: Survey, cleaned: dict[str, Any]) -> None:
    """The request's own rating is the survey's overall result: written once, if not yet
    given in the portal (then the survey adds the detail, not a second rating)."""
    from medservice.tickets.models import Ticket
    from medservice.tickets.services import ticket_rate

    ticket = Ticket.objects.get(pk=survey.ticket_id)
    if ticket.rating is not None or ticket.status not in ("resolved", "closed"):
        return
    comment = cleaned.get("comments", (None, None, ""))[2]
    ticket_rate(ticket=ticket, actor=None, rating=cleaned[RATING_QUESTION][1], comment=comment)


# --- low scores -------------------------------------------------------------------------------


def service_manager_for(survey: Survey) -> Any:
    """The team's manager, else the first active service manager."""
    from medservice.accounts.choices import Role
    from medservice.accounts.models import User

    if survey.team_id and survey.team.manager_id:
        return survey.team.manager
    return (
        User.objects.filter(groups__name=str(Role.SERVICE_MANAGER), is_active=True)
        .order_by("pk").first()
    )  # fmt: skip


def escalation_open(*, survey: Survey, reasons: list[str]) -> SurveyEscalation:
    manager = service_manager_for(survey)
    escalation, _created = SurveyEscalation.objects.get_or_create(
        survey=survey,
        defaults={
            "organization_id": survey.organization_id,
            "assignee": manager,
            "reason": "; ".join(reasons)[:300],
            "due_at": timezone.now() + datetime.timedelta(days=escalation_days()),
        },
    )
    if manager is not None:
        notify(
            recipients=[manager], template="feedback_low_score",
            context={"escalation": escalation, "survey": survey},
            link=f"/feedback/survey-escalations/{escalation.pk}/",
        )  # fmt: skip
    return escalation


def escalation_answer(
    *, actor: Any, escalation: SurveyEscalation, action_taken: str
) -> SurveyEscalation:
    """The manager says what was done about the low score; the customer is told."""
    if not (action_taken or "").strip():
        message = _("Say what was done.")
        raise InvalidInputError(message, fields={"action_taken": [message]})
    now = timezone.now()
    with transaction.atomic():
        locked = SurveyEscalation.objects.select_for_update().get(pk=escalation.pk)
        if locked.status == EscalationStatus.ANSWERED:
            raise InvalidTransitionError(_("This low score has already been answered."))
        locked.status, locked.action_taken = EscalationStatus.ANSWERED, action_taken.strip()
        locked.answered_at, locked.answered_by, locked.customer_told_at = now, actor, now
        with audit_context(actor=actor, action="answer"):
            locked.save()
        _tell_customer(locked)
    return locked


def _tell_customer(escalation: SurveyEscalation) -> None:
    survey = Survey.objects.select_related("contact").get(pk=escalation.survey_id)
    contact = survey.contact
    context = {"survey": survey, "escalation": escalation}
    with translation.override(survey.language or "zh-hans"):
        subject = render_to_string("feedback/surveys/reply_subject.txt", context).strip()
        text = render_to_string("feedback/surveys/reply_body.txt", context).strip()
    email = contact.email if contact else ""
    phone = "" if email else _phone_of(contact)
    if email or phone:
        from medservice.feedback.tasks_followups import send_survey_message

        survey_id = survey.pk
        transaction.on_commit(
            lambda: send_survey_message.enqueue(survey_id, subject, text, email, phone)
        )
    else:
        notify(
            recipients=_portal_users(survey.organization_id), template="feedback_low_score_reply",
            context=context, link="/feedback/portal/surveys/",
        )  # fmt: skip


def escalations_remind_overdue() -> int:
    """Remind once the manager of each low score not answered in time."""
    now = timezone.now()
    reminded = 0
    overdue = SurveyEscalation.objects.filter(
        status=EscalationStatus.OPEN, due_at__lt=now, reminded_at__isnull=True
    ).select_related("assignee", "survey")
    for escalation in overdue:
        with transaction.atomic(), audit_context(job="feedback.escalation-reminders"):
            # Claim the reminder with one conditional update: a second run finds it taken.
            if not SurveyEscalation.objects.filter(
                pk=escalation.pk, reminded_at__isnull=True
            ).update(reminded_at=now):
                continue
            if escalation.assignee is not None:
                notify(
                    recipients=[escalation.assignee], template="feedback_low_score_overdue",
                    context={"escalation": escalation, "survey": escalation.survey},
                    link=f"/feedback/survey-escalations/{escalation.pk}/",
                )  # fmt: skip
            reminded += 1
    return reminded


# --- periodic evaluation ----------------------------------------------------------------------


def period_of(day: datetime.date, months: int) -> tuple[datetime.date, datetime.date]:
    """The period of `months` months containing `day`, counted from January."""
    index = ((day.month - 1) // months) * months
    start = datetime.date(day.year + index // 12, index % 12 + 1, 1)
    end_index = index + months
    end = datetime.date(day.year + end_index // 12, end_index % 12 + 1, 1) - datetime.timedelta(
        days=1
    )
    return start, end


def active_customer_organizations() -> Any:
    """Customer organisations with a device in the installed base or a request in the last
    year: those the company serves now."""
    from django.db.models import Exists, OuterRef, Q

    from medservice.customers.choices import CUSTOMER_KINDS
    from medservice.customers.models import Organization
    from medservice.installed_base.models import Device
    from medservice.tickets.models import Ticket

    year_ago = timezone.now() - datetime.timedelta(days=365)
    return (
        Organization.objects.filter(kind__in=CUSTOMER_KINDS)
        .filter(
            Q(Exists(Device.objects.filter(organization=OuterRef("pk"))))
            | Q(Exists(Ticket.objects.filter(organization=OuterRef("pk"),
                                             received_at__gte=year_ago)))
        )
        .order_by("pk")
    )  # fmt: skip


def periodic_surveys_run(*, today: datetime.date | None = None) -> int:
    """The periodic customer evaluation: this period's campaign, and one survey per active
    customer organisation with a contact. A second run in the period adds nothing."""
    from medservice.customers.models import Contact

    today = today or timezone.localdate()
    start, end = period_of(today, periodic_months())
    with transaction.atomic(), audit_context(job="feedback.periodic-surveys"):
        campaign, _created = SurveyCampaign.objects.get_or_create(
            period_start=start,
            defaults={
                "period_end": end,
                "title": _("Customer evaluation %(start)s – %(end)s")
                % {"start": start.isoformat(), "end": end.isoformat()},
            },
        )
    created = 0
    for organization in active_customer_organizations():
        contact = (
            Contact.objects.filter(organization=organization, anonymised_at=None)
            .order_by("pk").first()
        )  # fmt: skip
        if contact is None:
            continue
        survey, is_new = _create_once(
            {"campaign": campaign, "organization": organization},
            {
                "subject": SurveySubject.PERIODIC, "contact": contact,
                "language": _language_of(contact), "region": organization.region,
            },
        )  # fmt: skip
        if is_new:
            survey_send_automatic(survey=survey)
            created += 1
    return created
