"""Training sessions and certification (员工培训与上岗资格): plans and their topics, sessions
and their assessment results, the certifications passing earns (or a manager grants by hand),
their revocation, and the reminders before they end.

Passing is decided here and only here: attended, a written score at or above the session's
pass mark, and the practical assessment passed where the session requires one. A session that
certifies gives each person who passed one certification for its device model or product line,
valid from the session's day for the configured number of months; recording the results again
never gives a second one.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
)
from medservice.core.notifications import notify
from medservice.core.numbering import number_next
from medservice.core.services import record_create, record_update
from medservice.installed_base.services import add_months
from medservice.training.choices import SessionStatus
from medservice.training.models import (
    Certification,
    SessionAttendance,
    TrainingPlan,
    TrainingSession,
    TrainingTopic,
)
from medservice.training.selectors import certifications_expiring

NUMBER_PREFIX = "TR"
RECORD_PERMISSION = "training.record_trainingsession"
# A certification that ended at most this many days before the new one starts is still
# "renewed" by it (the person came back late to the refresher), rather than earned anew.
RENEWAL_GRACE_DAYS = 90
# What decides the results: once they are recorded these stay as they were assessed.
ASSESSMENT_FIELDS = (
    "pass_mark",
    "practical_required",
    "certifies",
    "certification_months",
    "device_model",
    "product_line",
)


def _require(actor: Any, permission: str, message: str) -> None:
    # Jobs (actor None) act for the system; people need the permission.
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def certification_months_default() -> int:
    """How long a certification lasts when the session does not say (settings)."""
    return int(getattr(settings, "MEDSERVICE_CERTIFICATION_MONTHS", 24))


def certification_end(valid_from: datetime.date, months: int | None = None) -> datetime.date:
    """The last valid day: the same day `months` later, less one day (1 Mar 2026 for 24 months
    → 29 Feb 2028)."""
    return add_months(valid_from, months or certification_months_default()) - datetime.timedelta(
        days=1
    )


def session_day(session: TrainingSession) -> datetime.date:
    """The session's day in the company's time zone: what a certification counts from."""
    return timezone.localdate(session.starts_at)


def is_staff_person(person: Any) -> bool:
    """Only the company's and its distributors' active people are trained and certified."""
    from medservice.customers.selectors import user_scope

    return person is not None and user_scope(person) in {"internal", "distributor"}


# --- Plans and topics -------------------------------------------------------------------------


def plan_create(*, actor: Any, data: dict[str, Any]) -> TrainingPlan:
    """A new annual or quarterly training plan."""
    _require(actor, "training.add_trainingplan", _("You may not create training plans."))
    return record_create(actor=actor, model=TrainingPlan, data=dict(data))


def plan_update(
    *, actor: Any, plan: TrainingPlan, data: dict[str, Any], expected_version: Any = None
) -> TrainingPlan:
    _require(actor, "training.change_trainingplan", _("You may not change training plans."))
    return record_update(
        actor=actor, instance=plan, data=dict(data), expected_version=expected_version
    )


def topic_create(*, actor: Any, data: dict[str, Any]) -> TrainingTopic:
    """A subject of a plan (product knowledge of a model, complaint handling, ...)."""
    _require(actor, "training.add_trainingtopic", _("You may not add training topics."))
    return record_create(actor=actor, model=TrainingTopic, data=dict(data))


def topic_update(
    *, actor: Any, topic: TrainingTopic, data: dict[str, Any], expected_version: Any = None
) -> TrainingTopic:
    _require(actor, "training.change_trainingtopic", _("You may not change training topics."))
    return record_update(
        actor=actor, instance=topic, data=dict(data), expected_version=expected_version
    )


# --- Sessions ---------------------------------------------------------------------------------


def _session_problems(data: Mapping[str, Any]) -> Problems:
    """The rules of a session's set-up, beyond the shape a form or serializer checks."""
    problems = Problems()
    pass_mark = _decimal(data.get("pass_mark", 60))
    if pass_mark is None or not (0 <= pass_mark <= 100):
        problems.add("pass_mark", _("The pass mark is a score from 0 to 100."))
    starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
    if starts_at is None:
        problems.add("starts_at", _("Give the time the session starts."))
    elif ends_at is not None and ends_at < starts_at:
        problems.add("ends_at", _("A session cannot end before it starts."))
    if data.get("certifies"):
        has_model = data.get("device_model") is not None
        has_line = data.get("product_line") is not None
        if not has_model and not has_line:
            problems.add(
                "device_model",
                _("A session that certifies names the device model or product line."),
            )
        elif has_model and has_line:
            problems.add(
                "product_line",
                _("A session certifies for one device model or one product line, not both."),
            )
    months = data.get("certification_months")
    if months is not None and int(months) < 1:
        problems.add("certification_months", _("A certification lasts at least one month."))
    return problems


def session_create(
    *,
    actor: Any,
    title: str,
    category: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime | None = None,
    topic: TrainingTopic | None = None,
    device_model: Any = None,
    product_line: Any = None,
    trainer: Any = None,
    trainer_name: str = "",
    place: str = "",
    materials: Any = None,
    pass_mark: Decimal | int | str = 60,
    practical_required: bool = False,
    certifies: bool = False,
    certification_months: int | None = None,
    notes: str = "",
    attendees: Iterable[Any] = (),
) -> TrainingSession:
    """Plan a training session (number TR-<year>-<n>) and put its attendees on it."""
    _require(actor, "training.add_trainingsession", _("You may not plan training sessions."))
    fields = {
        "title": title,
        "category": category,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "topic": topic,
        "device_model": device_model,
        "product_line": product_line,
        "trainer": trainer,
        "trainer_name": trainer_name or "",
        "place": place or "",
        "pass_mark": _decimal(pass_mark) if _decimal(pass_mark) is not None else pass_mark,
        "practical_required": bool(practical_required),
        "certifies": bool(certifies),
        "certification_months": certification_months,
        "notes": notes or "",
    }
    problems = _session_problems(fields)
    people = list(attendees or [])
    for person in people:
        if not is_staff_person(person):
            problems.add(
                "attendees",
                _("%(person)s is not on the company's or a distributor's staff.")
                % {"person": person},
            )
    problems.raise_if_any(_("The session cannot be planned as it is."))
    if materials:
        # issue 12 security: training materials are checked like any upload (PDF, photos, video).
        from medservice.core.attachments import attachment_check

        attachment_check(materials, field="materials")
    with transaction.atomic(), audit_context(actor=actor):
        session = TrainingSession(number=number_next(prefix=NUMBER_PREFIX), **fields)
        if materials:
            session.materials = materials
        session.full_clean()
        session.save()
        for person in {person.pk: person for person in people}.values():
            SessionAttendance.objects.create(session=session, person=person)
    return session


def session_create_from_data(
    *, actor: Any, model: type[TrainingSession] = TrainingSession, data: dict[str, Any]
) -> TrainingSession:
    """The generic create (form and API) of a session: its fields as a dict."""
    data = dict(data)
    data.pop("version", None)
    return session_create(actor=actor, **data)


def session_update(
    *,
    actor: Any,
    instance: TrainingSession,
    data: dict[str, Any],
    expected_version: Any = None,
) -> TrainingSession:
    """Change a session's set-up. Once its results are recorded, what decided them (pass mark,
    practical, what it certifies) stays as assessed: a different assessment is a new session."""
    _require(actor, "training.change_trainingsession", _("You may not change training sessions."))
    data = dict(data)
    data.pop("attendees", None)
    if instance.status == SessionStatus.HELD:
        changed = [
            name
            for name in ASSESSMENT_FIELDS
            if name in data and _differs(getattr(instance, name), data[name])
        ]
        if changed:
            raise InvalidTransitionError(
                _(
                    "The results of %(session)s are recorded: its pass mark, practical "
                    "assessment and certification can no longer change."
                )
                % {"session": instance.number},
                fields={name: [_("Fixed once the results are recorded.")] for name in changed},
            )
    merged = {
        **{name: getattr(instance, name) for name in ("starts_at", "ends_at", "pass_mark")},
        **{name: getattr(instance, name) for name in ASSESSMENT_FIELDS},
        **data,
    }
    _session_problems(merged).raise_if_any(_("The session cannot be saved as it is."))
    return record_update(
        actor=actor, instance=instance, data=data, expected_version=expected_version
    )


def _differs(current: Any, new: Any) -> bool:
    if isinstance(current, Decimal) or isinstance(new, Decimal):
        return _decimal(current) != _decimal(new)
    return getattr(current, "pk", current) != getattr(new, "pk", new)


# --- Results ----------------------------------------------------------------------------------


def assessment_passed(
    session: TrainingSession,
    *,
    attended: bool,
    written_score: Decimal | None,
    practical_passed: bool | None,
) -> bool:
    """Passed: attended, the written score at or above the pass mark, and the practical
    assessment passed where the session requires one. No score is no pass."""
    if not attended or written_score is None:
        return False
    if written_score < session.pass_mark:
        return False
    return not session.practical_required or practical_passed is True


def _checked_results(
    session: TrainingSession, results: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Every row's problems at once, keyed results.<n>.<field> (n from 1)."""
    problems = Problems()
    rows: list[dict[str, Any]] = []
    seen: dict[int, int] = {}
    for position, raw in enumerate(results, start=1):
        prefix = f"results.{position}"
        person = raw.get("person")
        if person is None:
            problems.add(f"{prefix}.person", _("Choose the person."))
            continue
        if not is_staff_person(person):
            problems.add(
                f"{prefix}.person",
                _("%(person)s is not on the company's or a distributor's staff.")
                % {"person": person},
            )
        if person.pk in seen:
            problems.add(
                f"{prefix}.person",
                _("%(person)s is already on row %(row)s.")
                % {"person": person, "row": seen[person.pk]},
            )
        seen.setdefault(person.pk, position)
        attended = bool(raw.get("attended"))
        score_given = raw.get("written_score")
        score = _decimal(score_given)
        if score_given not in (None, "") and (score is None or not (0 <= score <= 100)):
            problems.add(f"{prefix}.written_score", _("The written score is from 0 to 100."))
        if score is not None and not attended:
            problems.add(
                f"{prefix}.written_score", _("Someone who did not attend has no written score.")
            )
        practical = raw.get("practical_passed")
        practical = None if practical in (None, "") else bool(practical)
        rating = raw.get("feedback_rating")
        if rating in ("", None):
            rating = None
        else:
            try:
                rating = int(rating)
            except (TypeError, ValueError):
                rating = 0
            if not 1 <= rating <= 5:
                problems.add(f"{prefix}.feedback_rating", _("The feedback is rated from 1 to 5."))
        rows.append(
            {
                "person": person,
                "attended": attended,
                "written_score": score,
                "practical_passed": practical if attended else None,
                "feedback_rating": rating,
                "feedback_comment": (raw.get("feedback_comment") or "").strip(),
            }
        )
    if not rows and not problems:
        problems.add("results", _("Give the result of at least one attendee."))
    problems.raise_if_any(_("The results cannot be recorded as they are."))
    return rows


def session_results_record(
    *, actor: Any, session: TrainingSession, results: Iterable[Mapping[str, Any]]
) -> TrainingSession:
    """Record attendance, scores and feedback of the people given (adding those not yet on the
    session), decide who passed and mark the session held. For a session that certifies each
    person who passed gets the certification (renewing the one they hold); recording again
    changes the results but never doubles a certification, and one earned on results since
    corrected to a fail is revoked from its first day. All or nothing."""
    _require(actor, RECORD_PERMISSION, _("You may not record training results."))
    with transaction.atomic(), audit_context(actor=actor):
        session = TrainingSession.objects.select_for_update().get(pk=session.pk)
        if session.status == SessionStatus.CANCELLED:
            raise InvalidTransitionError(
                _("%(session)s was cancelled: it has no results.") % {"session": session.number}
            )
        rows = _checked_results(session, results)
        day = session_day(session)
        for row in rows:
            attendance, _created = SessionAttendance.objects.select_for_update().get_or_create(
                session=session, person=row["person"]
            )
            for name in (
                "attended",
                "written_score",
                "practical_passed",
                "feedback_rating",
                "feedback_comment",
            ):
                setattr(attendance, name, row[name])
            attendance.passed = assessment_passed(
                session,
                attended=row["attended"],
                written_score=row["written_score"],
                practical_passed=row["practical_passed"],
            )
            attendance.save()
            if session.certifies:
                _certification_follow(session, attendance, day=day, actor=actor)
        if session.status != SessionStatus.HELD:
            session.status = SessionStatus.HELD
            session.save()
    return session


def _certification_follow(
    session: TrainingSession, attendance: SessionAttendance, *, day: datetime.date, actor: Any
) -> Certification | None:
    """Make the person's certification from this session match their result: one if passed
    (never two), none in force if not."""
    earned = (
        Certification.objects.select_for_update()
        .filter(session=session, person_id=attendance.person_id)
        .order_by("pk")
        .first()
    )
    if attendance.passed:
        if earned is not None:
            return earned
        return _certification_new(
            person=attendance.person,
            device_model=session.device_model,
            product_line=session.product_line,
            valid_from=day,
            valid_until=certification_end(day, session.certification_months),
            session=session,
        )
    if earned is not None and earned.revoked_on is None:
        # The results were corrected to a fail: the certification never held.
        earned.revoked_on = earned.valid_from
        earned.revoked_reason = _("Results of %(session)s corrected: did not pass.") % {
            "session": session.number
        }
        earned.save()
    return None


def _renewed_by(
    *, person: Any, device_model: Any, product_line: Any, valid_from: datetime.date
) -> Certification | None:
    """The certification a new one renews: the same person and model (or line), not revoked,
    not renewed already, still valid on the new one's first day or ended only just before."""
    target = (
        Q(device_model=device_model) if device_model is not None else Q(product_line=product_line)
    )
    grace = datetime.timedelta(days=RENEWAL_GRACE_DAYS)
    return (
        Certification.objects.filter(target, person=person, revoked_on__isnull=True)
        .filter(valid_from__lte=valid_from, valid_until__gte=valid_from - grace)
        .exclude(renewals__isnull=False)
        .order_by("-valid_until", "-pk")
        .first()
    )


def _certification_new(
    *,
    person: Any,
    device_model: Any,
    product_line: Any,
    valid_from: datetime.date,
    valid_until: datetime.date,
    session: TrainingSession | None = None,
) -> Certification:
    certification = Certification(
        person=person,
        device_model=device_model,
        product_line=product_line,
        valid_from=valid_from,
        valid_until=valid_until,
        session=session,
        renews=_renewed_by(
            person=person,
            device_model=device_model,
            product_line=product_line,
            valid_from=valid_from,
        ),
    )
    certification.full_clean()
    certification.save()
    return certification


# --- Certifications by hand -------------------------------------------------------------------


def certification_grant(
    *,
    actor: Any,
    person: Any,
    valid_from: datetime.date,
    reason: str,
    device_model: Any = None,
    product_line: Any = None,
    valid_until: datetime.date | None = None,
) -> Certification:
    """Grant a certification without a session of ours (recognised external training, the
    manufacturer's course), with the reason; it renews the one the person holds."""
    _require(actor, "training.add_certification", _("You may not grant certifications."))
    problems = Problems()
    if not is_staff_person(person):
        problems.add(
            "person",
            _("%(person)s is not on the company's or a distributor's staff.") % {"person": person},
        )
    if (device_model is None) == (product_line is None):
        problems.add(
            "device_model", _("A certification is for one device model or one product line.")
        )
    if valid_from is None:
        problems.add("valid_from", _("Give the first day it is valid."))
    until = valid_until or (certification_end(valid_from) if valid_from else None)
    if valid_from is not None and until is not None and until < valid_from:
        problems.add("valid_until", _("A certification cannot end before it starts."))
    if not (reason or "").strip():
        problems.add("reason", _("Say why it is granted (e.g. the external training passed)."))
    problems.raise_if_any(_("The certification cannot be granted as it is."))
    with transaction.atomic(), audit_context(actor=actor, reason=reason.strip()):
        return _certification_new(
            person=person,
            device_model=device_model,
            product_line=product_line,
            valid_from=valid_from,
            valid_until=until,
        )


def certification_grant_from_data(
    *, actor: Any, model: type[Certification] = Certification, data: dict[str, Any]
) -> Certification:
    """The generic create (form and API) of a certification: a grant by hand."""
    return certification_grant(
        actor=actor,
        person=data.get("person"),
        device_model=data.get("device_model"),
        product_line=data.get("product_line"),
        valid_from=data.get("valid_from"),
        valid_until=data.get("valid_until"),
        reason=data.get("reason", ""),
    )


def certification_revoke(
    *, actor: Any, certification: Certification, on: datetime.date, reason: str
) -> Certification:
    """Withdraw a certification from day `on` (included), with the reason: from that day it
    no longer makes the person fit to work on the model."""
    _require(actor, "training.change_certification", _("You may not revoke certifications."))
    if not (reason or "").strip():
        raise InvalidInputError(
            _("Say why the certification is revoked."),
            fields={"reason": [_("A reason is required.")]},
        )
    if on is None:
        raise InvalidInputError(
            _("Give the day it is revoked from."), fields={"on": [_("Give a date.")]}
        )
    with transaction.atomic(), audit_context(actor=actor, reason=reason.strip()):
        current = Certification.objects.select_for_update().get(pk=certification.pk)
        if current.revoked_on is not None:
            raise InvalidTransitionError(
                _("This certification was already revoked on %(day)s.")
                % {"day": current.revoked_on.isoformat()}
            )
        if on > current.valid_until:
            raise InvalidTransitionError(
                _("This certification already ended on %(day)s.")
                % {"day": current.valid_until.isoformat()}
            )
        current.revoked_on = max(on, current.valid_from)
        current.revoked_reason = reason.strip()
        current.save()
    return current


# --- Reminders --------------------------------------------------------------------------------


def remind_days() -> int:
    return int(getattr(settings, "MEDSERVICE_CERTIFICATION_REMIND_DAYS", 30))


def managers_of(person: Any) -> list[Any]:
    """The person's managers: the service managers of their organisation; a distributor's
    engineer answers (for certification) to the company's service managers."""
    from medservice.accounts.choices import Role
    from medservice.accounts.models import User
    from medservice.customers.choices import OrganizationKind

    organization = getattr(person, "organization", None)
    condition = Q(organization__kind=OrganizationKind.COMPANY)
    if organization is not None and organization.kind != OrganizationKind.DISTRIBUTOR:
        condition = Q(organization=organization)
    return list(
        User.objects.filter(condition, is_active=True, groups__name=str(Role.SERVICE_MANAGER))
        .exclude(pk=getattr(person, "pk", None))
        .distinct()
        .order_by("pk")
    )


def certification_reminders_send(*, on: datetime.date | None = None) -> int:
    """Tell the person and their managers, once per certification and end date, that a
    certification ends within the reminder window (30 days) and has not been renewed; returns
    how many were reminded. Safe to run twice or on two machines at once: the conditional
    update of `reminded_for` lets exactly one run send each reminder."""
    day = on or timezone.localdate()
    reminded = 0
    for certification in certifications_expiring(within_days=remind_days(), on=day).exclude(
        reminded_for=F("valid_until")
    ):
        with transaction.atomic():
            claimed = (
                Certification.objects.filter(pk=certification.pk)
                .filter(Q(reminded_for__isnull=True) | ~Q(reminded_for=certification.valid_until))
                .update(reminded_for=certification.valid_until)
            )
            if not claimed:
                continue
            person = certification.person
            recipients = [person] if person.is_active else []
            recipients += managers_of(person)
            notify(
                recipients=recipients,
                template="training_certification_expiring",
                context={
                    "certification": certification,
                    "person": person,
                    "subject": certification.device_model or certification.product_line,
                    "valid_until": certification.valid_until,
                    "days_left": (certification.valid_until - day).days,
                },
                link=reverse("training:certifications-detail", kwargs={"pk": certification.pk}),
            )
            reminded += 1
    return reminded


# --- Who can be trained -----------------------------------------------------------------------


def trainees_visible_to(user: Any) -> Any:
    """The people `user` may put on a session or grant a certification to: the active staff
    of the company and its distributors, for internal staff; nobody for anyone else (a
    distributor's engineer reads their own records, never the list of people)."""
    from medservice.accounts.models import User
    from medservice.customers.choices import OrganizationKind
    from medservice.customers.selectors import user_scope

    if user_scope(user) != "internal":
        return User.objects.none()
    return User.objects.filter(
        is_active=True,
        organization__kind__in=[OrganizationKind.COMPANY, OrganizationKind.DISTRIBUTOR],
    ).select_related("organization")


@dataclass(frozen=True)
class SessionSummary:
    """How a session went, for its page: attendance, results and the trainees' feedback (the
    effectiveness evaluation the procedures ask for; KPIs join it with the analytics issue)."""

    invited: int
    attended: int
    passed: int
    ratings: int
    average_rating: Decimal | None

    @property
    def pass_rate(self) -> int | None:
        """Passed as a whole percentage of those who attended."""
        return round(100 * self.passed / self.attended) if self.attended else None


def session_summary(attendances: Iterable[SessionAttendance]) -> SessionSummary:
    """The summary of the given attendance rows (already loaded for the page: no query)."""
    rows = list(attendances)
    ratings = [row.feedback_rating for row in rows if row.feedback_rating]
    average = (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.1")) if ratings else None
    return SessionSummary(
        invited=len(rows),
        attended=sum(1 for row in rows if row.attended),
        passed=sum(1 for row in rows if row.passed),
        ratings=len(ratings),
        average_rating=average,
    )
