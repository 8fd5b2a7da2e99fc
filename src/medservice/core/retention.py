"""Retention guard: regulated records are not deleted before `retain_until` or under a hold."""

from __future__ import annotations

import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import RetentionError
from medservice.core.models import LegalHold, RetainedModel


def add_years(day: datetime.date, years: int) -> datetime.date:
    """The same calendar day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def legal_holds_active(record: models.Model) -> models.QuerySet[LegalHold]:
    return LegalHold.objects.filter(
        content_type=ContentType.objects.get_for_model(record, for_concrete_model=True),
        object_id=str(record.pk),
        released_at__isnull=True,
    )


def retention_check_delete(record: RetainedModel, *, today: datetime.date | None = None) -> None:
    """Raise RetentionError when `record` may not be deleted yet, saying why."""
    today = today or timezone.localdate()
    hold = legal_holds_active(record).first()
    if hold is not None:
        raise RetentionError(
            _("%(record)s is under a legal hold (%(reason)s) and cannot be deleted.")
            % {"record": record, "reason": hold.reason}
        )
    retain_until = record.compute_retain_until() or record.retain_until
    if retain_until is not None and today <= retain_until:
        raise RetentionError(
            _("%(record)s must be kept until %(date)s and cannot be deleted before then.")
            % {"record": record, "date": date_format(retain_until, "Y-m-d")}
        )


def legal_hold_place(*, actor: object, record: models.Model, reason: str) -> LegalHold:
    if not reason.strip():
        raise RetentionError(_("A legal hold needs a reason."))
    with transaction.atomic(), audit_context(actor=actor, reason=reason):
        return LegalHold.objects.create(
            content_type=ContentType.objects.get_for_model(record, for_concrete_model=True),
            object_id=str(record.pk),
            reason=reason,
            placed_by=actor,
        )


def legal_hold_release(*, actor: object, hold: LegalHold, reason: str) -> LegalHold:
    if not reason.strip():
        raise RetentionError(_("Releasing a legal hold needs a reason."))
    with transaction.atomic(), audit_context(actor=actor, reason=reason):
        hold.released_at = timezone.now()
        hold.save(update_fields=["released_at"])
    return hold
