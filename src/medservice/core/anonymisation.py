"""Anonymisation of personal data in regulated records whose retention has run out (REGULATORY.md
R-PI; PIPL art. 19 and 47): the record is kept, its personal fields are cleared, and the
per-person key that seals those values inside the audit trail is destroyed, so the history keeps
its shape (and its hash chain still verifies) but no longer says who.

Which records: every model that is both audited and retained (`RetainedModel`) and declares
personal data — the fields named in `audit_personal` and every `EncryptedTextField` — plus the
one-to-one parts of such a record that declare personal data of their own (a service request's
quality intake). A record qualifies once its `retain_until` has passed (recomputed under the
lock, so a rule that now keeps it longer wins) and no legal hold is active on it. A destroyed
per-person key marks it as done, so a second run finds nothing to do; the anonymisation itself
is an audit event (a transition named "anonymise") with the reason.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from medservice.core.audit import audit_record
from medservice.core.choices import AuditAction
from medservice.core.context import audit_context
from medservice.core.crypto import ANONYMISED, EncryptedTextField
from medservice.core.errors import DomainError
from medservice.core.models import AuditedModel, AuditEvent, LegalHold, PersonKey, RetainedModel
from medservice.core.retention import legal_holds_active

JOB_NAME = "core.anonymise"
ACTION = "anonymise"
REASON = "R-PI: retention ended on %(date)s; personal data anonymised (PIPL art. 47)"
DEFAULT_BATCH_SIZE = 200


@dataclass
class RecordOutcome:
    """What was (or, in a dry run, would be) done to one record."""

    label: str
    pk: Any
    text: str
    retain_until: datetime.date | None
    fields: list[str] = field(default_factory=list)
    skipped: str = ""


@dataclass
class AnonymisationReport:
    dry_run: bool
    today: datetime.date
    records: list[RecordOutcome] = field(default_factory=list)

    @property
    def anonymised(self) -> list[RecordOutcome]:
        return [record for record in self.records if not record.skipped]

    @property
    def skipped(self) -> list[RecordOutcome]:
        return [record for record in self.records if record.skipped]

    def summary(self) -> dict[str, int]:
        return {"anonymised": len(self.anonymised), "skipped": len(self.skipped)}


# --- What is personal ---------------------------------------------------------------------------


def personal_fields(model: type[models.Model]) -> list[models.Field]:
    """The concrete fields of `model` holding personal data: sealed in the audit trail
    (`audit_personal`) or encrypted at rest."""
    declared = set(getattr(model, "audit_personal", frozenset()))
    return [
        item
        for item in model._meta.concrete_fields
        if item.name in declared or isinstance(item, EncryptedTextField)
    ]


def blind_index_fields(model: type[models.Model]) -> list[models.Field]:
    """The keyed-hash look-up columns of the personal fields (`<field>_index` by convention):
    a hash of a phone number still finds the person, so it goes too."""
    names = {f"{item.name}_index" for item in personal_fields(model)}
    return [item for item in model._meta.concrete_fields if item.name in names]


def one_to_one_parts(model: type[models.Model]) -> list[models.OneToOneRel]:
    """Reverse one-to-one relations to audited records with personal data of their own."""
    return [
        relation
        for relation in model._meta.related_objects
        if relation.one_to_one
        and issubclass(relation.related_model, AuditedModel)
        and personal_fields(relation.related_model)
    ]


def anonymisable_models() -> list[type[models.Model]]:
    """Every retained, audited model that holds personal data (itself or in its parts)."""
    return sorted(
        (
            model
            for model in apps.get_models()
            if issubclass(model, RetainedModel)
            and issubclass(model, AuditedModel)
            and (personal_fields(model) or one_to_one_parts(model))
        ),
        key=lambda model: model._meta.label_lower,
    )


def _blank_value(item: models.Field) -> tuple[bool, Any]:
    """(True, the value that erases the field), or (False, None) when nothing can."""
    if item.null:
        return True, None
    if isinstance(item, models.CharField | models.TextField):
        return True, "" if item.blank else ANONYMISED[: item.max_length or None]
    if item.has_default():
        return True, item.get_default()
    return False, None


def _clear(record: models.Model) -> list[str]:
    """Blank the personal fields and their blind indexes in memory; the names that changed."""
    changed = []
    for item in [*personal_fields(type(record)), *blind_index_fields(type(record))]:
        possible, blank = _blank_value(item)
        if possible and getattr(record, item.attname) != blank:
            setattr(record, item.attname, blank)
            changed.append(item.name)
    return changed


def _parts_of(record: models.Model) -> Iterator[models.Model]:
    for relation in one_to_one_parts(type(record)):
        try:
            yield getattr(record, relation.get_accessor_name())
        except relation.related_model.DoesNotExist:
            continue


# --- State ------------------------------------------------------------------------------------


def record_anonymised_at(record: AuditedModel) -> datetime.datetime | None:
    """When the record's personal data was anonymised (its per-person key destroyed), if ever."""
    return (
        PersonKey.objects.filter(subject=record.audit_subject(), destroyed_at__isnull=False)
        .values_list("destroyed_at", flat=True)
        .first()
    )


def _destroy_keys(subjects: Iterable[str], now: datetime.datetime) -> None:
    """Destroy the per-person keys (creating a destroyed one where none was ever made, so that
    nothing written later can be sealed readably under that person either)."""
    for subject in sorted(set(subjects)):
        PersonKey.objects.update_or_create(
            subject=subject, defaults={"key": "", "destroyed_at": now}
        )


def _candidates(model: type[models.Model], today: datetime.date) -> models.QuerySet:
    """Past retention, not yet anonymised, not under an active legal hold — in the database,
    so a run's batches skip what is done."""
    label = model._meta.label_lower
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    return (
        model._base_manager.filter(retain_until__lt=today)
        .annotate(
            anonymisation_subject=Concat(
                Value(f"{label}:"), Cast("pk", output_field=models.CharField())
            )
        )
        .exclude(
            Exists(
                PersonKey.objects.filter(
                    subject=OuterRef("anonymisation_subject"), destroyed_at__isnull=False
                )
            )
        )
        .exclude(
            Exists(
                LegalHold.objects.filter(
                    content_type=content_type,
                    object_id=Cast(OuterRef("pk"), output_field=models.CharField()),
                    released_at__isnull=True,
                )
            )
        )
        .order_by("pk")
    )


# --- The service -------------------------------------------------------------------------------


def record_anonymise(
    record: models.Model, *, today: datetime.date, dry_run: bool = False
) -> RecordOutcome:
    """Anonymise one record (and its one-to-one parts) under a row lock, checking again that
    its retention is over, no legal hold is active and it is not done already."""
    model = type(record)
    with transaction.atomic():
        locked = model._base_manager.select_for_update().get(pk=record.pk)
        retain_until = locked.compute_retain_until()
        outcome = RecordOutcome(model._meta.label_lower, locked.pk, str(locked), retain_until)
        if retain_until is None or retain_until >= today:
            outcome.skipped = "retention not over"
            return outcome
        if legal_holds_active(locked).exists():
            outcome.skipped = "legal hold"
            return outcome
        if record_anonymised_at(locked) is not None:
            outcome.skipped = "already anonymised"
            return outcome
        outcome.fields = _clear(locked)
        parts = list(_parts_of(locked))
        for part in parts:
            outcome.fields += [f"{part._meta.model_name}.{name}" for name in _clear(part)]
        if dry_run:
            transaction.set_rollback(True)
            return outcome
        reason = REASON % {"date": retain_until.isoformat()}
        try:
            with transaction.atomic(), audit_context(job=JOB_NAME, action=ACTION, reason=reason):
                # Keys first: the anonymise event itself then seals nothing readable.
                _destroy_keys(
                    [locked.audit_subject(), *(part.audit_subject() for part in parts)],
                    timezone.now(),
                )
                latest = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
                for part in parts:
                    part.save()
                locked.save()
                written = AuditEvent.objects.filter(
                    pk__gt=latest or 0,
                    object_type=model._meta.label_lower,
                    object_id=str(locked.pk),
                ).exists()
                if not written:
                    # Nothing personal was left to clear: the anonymisation is still recorded.
                    audit_record(locked, AuditAction.TRANSITION, before={}, after={}, detail=ACTION)
        except DomainError as error:  # e.g. a signed record whose personal fields are frozen
            outcome.skipped = error.message
            outcome.fields = []
        return outcome


def anonymise_due(
    *,
    today: datetime.date | None = None,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    only: Iterable[type[models.Model]] | None = None,
) -> AnonymisationReport:
    """Anonymise every record past retention, in batches of `batch_size` records per model
    (each record in its own transaction). A dry run reports what would be done and changes
    nothing. Safe to run twice or on two machines at once (row locks, the destroyed key)."""
    today = today or timezone.localdate()
    report = AnonymisationReport(dry_run=dry_run, today=today)
    for model in only or anonymisable_models():
        last_pk: Any = None
        while True:
            batch = _candidates(model, today)
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            rows = list(batch[:batch_size])
            if not rows:
                break
            for row in rows:
                report.records.append(record_anonymise(row, today=today, dry_run=dry_run))
            last_pk = rows[-1].pk
    return report
