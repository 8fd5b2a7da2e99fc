"""Performance reviews (考核) and violations of the procedures (违规处理).

A review holds a period's figures (named numbers, e.g. first-time fix rate), the manager's
score (0–100) and comments; the reviewer is whoever writes it, never the person reviewed.
Finalising it fixes it: later edits are refused (409), as the person has been told the result.
A violation is recorded by whoever reports it and is closed by recording how it was handled.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import (
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    Problems,
)
from medservice.core.services import record_create, record_update
from medservice.training.choices import ViolationStatus
from medservice.training.models import PerformanceReview, Violation

REVIEW_FIELDS = ("person", "period_start", "period_end", "figures", "score", "comments")
VIOLATION_FIELDS = ("person", "occurred_on", "description", "procedure_reference")


def _require(actor: Any, permission: str, message: str) -> None:
    if actor is None or not actor.has_perm(permission):
        raise PermissionDeniedError(message)


def _number(value: Any) -> Decimal | None:
    """A finite number, or None: booleans are not numbers here, though Python says they are."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


# --- Performance reviews --------------------------------------------------------------------


def _review_problems(values: dict[str, Any], actor: Any) -> Problems:
    problems = Problems()
    person = values.get("person")
    if person is None:
        problems.add("person", _("Choose the person reviewed."))
    elif actor is not None and getattr(person, "pk", person) == actor.pk:
        problems.add("person", _("Nobody reviews themselves: another manager writes it."))
    start, end = values.get("period_start"), values.get("period_end")
    if start is None:
        problems.add("period_start", _("Required."))
    if end is None:
        problems.add("period_end", _("Required."))
    if start is not None and end is not None and end < start:
        problems.add("period_end", _("The period cannot end before it starts."))
    figures = values.get("figures")
    if figures is None:
        values["figures"] = {}
    elif not isinstance(figures, dict):
        problems.add(
            "figures", _('Give the figures as names with numbers, for example {"visits": 42}.')
        )
    else:
        for name, value in figures.items():
            if not str(name).strip():
                problems.add("figures", _("Every figure needs a name."))
            elif _number(value) is None:
                problems.add("figures", _("%(name)s is not a number.") % {"name": name})
    score = values.get("score")
    if score not in (None, ""):
        number = _number(score)
        if number is None or not Decimal(0) <= number <= Decimal(100):
            problems.add("score", _("The score is a number from 0 to 100."))
        else:
            values["score"] = number
    else:
        values["score"] = None
    if person is not None and start is not None and end is not None:
        clash = PerformanceReview.objects.filter(person=person, period_start=start, period_end=end)
        if values.get("pk"):
            clash = clash.exclude(pk=values["pk"])
        if clash.exists():
            problems.add("period_start", _("This person already has a review for this period."))
    values.pop("pk", None)
    return problems


def review_create(
    *, actor: Any, data: dict[str, Any], model: type[PerformanceReview] = PerformanceReview
) -> PerformanceReview:
    """Write a review of a person for a period; the actor is its reviewer."""
    _require(actor, "training.add_performancereview", _("You may not write performance reviews."))
    values = {key: value for key, value in data.items() if key in REVIEW_FIELDS}
    values["comments"] = (values.get("comments") or "").strip()
    _review_problems(values, actor).raise_if_any(_("The review was not saved."))
    return record_create(actor=actor, model=PerformanceReview, data={**values, "reviewer": actor})


def review_update(
    *,
    actor: Any,
    instance: PerformanceReview,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> PerformanceReview:
    """Change a review until it is finalised (then 409)."""
    _require(
        actor, "training.change_performancereview", _("You may not change performance reviews.")
    )
    _refuse_if_final(instance)
    values = {
        **{name: getattr(instance, name) for name in REVIEW_FIELDS},
        **{key: value for key, value in data.items() if key in REVIEW_FIELDS},
    }
    values["comments"] = (values.get("comments") or "").strip()
    values["pk"] = instance.pk
    _review_problems(values, actor).raise_if_any(_("The review was not saved."))
    with transaction.atomic():
        current = PerformanceReview.objects.select_for_update().get(pk=instance.pk)
        _refuse_if_final(current)
        return record_update(
            actor=actor,
            instance=current,
            data={**values, "reviewer": actor},
            expected_version=expected_version,
        )


def _refuse_if_final(review: PerformanceReview) -> None:
    if review.finalised_at is not None:
        raise InvalidTransitionError(
            _("The review of %(review)s is final and can no longer be changed.")
            % {"review": review}
        )


def review_finalise(*, actor: Any, review: PerformanceReview) -> PerformanceReview:
    """Make the review final: it needs its score; afterwards nothing in it changes."""
    _require(
        actor, "training.change_performancereview", _("You may not finalise performance reviews.")
    )
    with transaction.atomic():
        locked = PerformanceReview.objects.select_for_update().get(pk=review.pk)
        _refuse_if_final(locked)
        if locked.score is None:
            raise InvalidInputError(
                _("Give the score before finalising the review."),
                fields={"score": [_("Required.")]},
            )
        locked.finalised_at = timezone.now()
        with audit_context(actor=actor, action="finalise"):
            locked.save(update_fields=["finalised_at"])
    review.refresh_from_db()
    return review


# --- Violations -----------------------------------------------------------------------------


def _violation_problems(values: dict[str, Any]) -> Problems:
    problems = Problems()
    if values.get("person") is None:
        problems.add("person", _("Choose the person concerned."))
    occurred_on: datetime.date | None = values.get("occurred_on")
    if occurred_on is None:
        problems.add("occurred_on", _("Required."))
    elif occurred_on > timezone.localdate():
        problems.add("occurred_on", _("A violation cannot be recorded ahead of time."))
    if not values.get("description"):
        problems.add("description", _("Say what happened."))
    return problems


def _violation_values(data: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    values = {**(base or {}), **{k: v for k, v in data.items() if k in VIOLATION_FIELDS}}
    for name in ("description", "procedure_reference"):
        values[name] = (values.get(name) or "").strip()
    return values


def violation_record(
    *, actor: Any, data: dict[str, Any], model: type[Violation] = Violation
) -> Violation:
    """Record a breach of the procedures by a person; the actor is its reporter."""
    _require(actor, "training.add_violation", _("You may not record violations."))
    values = _violation_values(data)
    _violation_problems(values).raise_if_any(_("The violation was not saved."))
    return record_create(actor=actor, model=Violation, data={**values, "reported_by": actor})


def violation_update(
    *,
    actor: Any,
    instance: Violation,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> Violation:
    """Correct an open violation's facts; a handled one is closed (409)."""
    _require(actor, "training.change_violation", _("You may not change violations."))
    if instance.status != ViolationStatus.OPEN:
        raise InvalidTransitionError(
            _("This violation has been handled and can no longer be changed.")
        )
    values = _violation_values(data, {name: getattr(instance, name) for name in VIOLATION_FIELDS})
    _violation_problems(values).raise_if_any(_("The violation was not saved."))
    return record_update(
        actor=actor, instance=instance, data=values, expected_version=expected_version
    )


def violation_handle(*, actor: Any, violation: Violation, handling: str) -> Violation:
    """Close a violation by recording how it was handled (warning, retraining, ...)."""
    _require(actor, "training.change_violation", _("You may not handle violations."))
    handling = (handling or "").strip()
    if not handling:
        raise InvalidInputError(
            _("Say how the violation was handled."), fields={"handling": [_("Required.")]}
        )
    with transaction.atomic():
        locked = Violation.objects.select_for_update().get(pk=violation.pk)
        if locked.status != ViolationStatus.OPEN:
            raise InvalidTransitionError(_("This violation has already been handled."))
        locked.status = ViolationStatus.HANDLED
        locked.handling = handling
        locked.handled_by = actor
        locked.handled_at = timezone.now()
        with audit_context(actor=actor, action="handle"):
            locked.save(update_fields=["status", "handling", "handled_by", "handled_at"])
    violation.refresh_from_db()
    return violation
