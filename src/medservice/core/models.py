"""Plumbing records shared by every app: the audit trail, signatures, legal holds, numbering,
scheduler leases and the in-app inbox; and the abstract bases every domain model builds on."""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medservice.core.choices import AuditAction, SignerKind


class AuditedQuerySet(models.QuerySet):
    """Bulk paths that keep the one-event-per-row promise of the audit trail."""

    def update(self, **kwargs: Any) -> int:
        from medservice.core.audit import audit_bulk_update

        with transaction.atomic(using=self.db):
            return audit_bulk_update(self, kwargs)

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        from medservice.core.audit import audit_record

        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            for obj in created:
                audit_record(obj, AuditAction.CREATE, before={}, after=obj.audit_values())
                obj.audit_snapshot_take()
            return created

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        # Routed through save() so each row is diffed and audited on its own.
        with transaction.atomic(using=self.db):
            for obj in objs:
                obj.save(update_fields=list(fields))
            return len(objs)

    def delete(self) -> tuple[int, dict[str, int]]:
        # Collector sends pre/post_delete per row, which guard retention and audit each row.
        with transaction.atomic(using=self.db):
            return super().delete()


AuditedManager = models.Manager.from_queryset(AuditedQuerySet)


# No service record happened before 1970; older instants are typing slips (or a fuzzer), and in
# Asia/Shanghai they would be answered with the local mean time offset +08:05:43, which no
# client (nor the OpenAPI date-time format) reads. Refused on input instead.
EARLIEST_INSTANT = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


class AuditedModel(models.Model):
    """Base of every domain record: timestamps, an optimistic version, and an audit event for
    every create, update and delete in the same transaction, whoever or whatever writes it."""

    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = AuditedManager()

    # Fields whose values never enter the audit trail (timestamps are the event's own).
    AUDIT_EXCLUDE_ALWAYS: ClassVar[frozenset[str]] = frozenset(
        {"created_at", "updated_at", "version"}
    )
    audit_exclude: ClassVar[frozenset[str]] = AUDIT_EXCLUDE_ALWAYS
    # Fields holding personal data: their audit values are sealed under the person's own key.
    audit_personal: ClassVar[frozenset[str]] = frozenset()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        from medservice.core.audit import audit_save

        # Also here, not only in full_clean: workflow services save without it (schemathesis
        # stored 0339-10-20 through POST quality-accidents/{id}/investigate/).
        self._refuse_early_instants()
        audit_save(self, super().save, args, kwargs)

    def clean_fields(self, exclude: Any = None) -> None:
        super().clean_fields(exclude=exclude)
        self._refuse_early_instants(exclude)

    def _refuse_early_instants(self, exclude: Any = None) -> None:
        errors: dict[str, list[str]] = {}
        for field in self._meta.concrete_fields:
            if not isinstance(field, models.DateTimeField) or field.name in (exclude or ()):
                continue
            value = getattr(self, field.attname)
            too_early = (
                isinstance(value, datetime.datetime)
                and timezone.is_aware(value)
                and value < EARLIEST_INSTANT
            )
            if too_early:
                errors[field.name] = [str(_("Enter a date and time after 1 January 1970."))]
        if errors:
            raise ValidationError(errors)

    @classmethod
    def from_db(cls, db: str, field_names: Any, values: Any) -> AuditedModel:
        instance = super().from_db(db, field_names, values)
        # Most loads only read: keep the values as loaded and build the audit snapshot on the
        # first save (measured: eager snapshots were a third of a trace request's Python time).
        # JSON values are mutable in place, so they are copied now, as the snapshot would.
        instance._audit_loaded = {
            name: _detached(value) for name, value in zip(field_names, values, strict=False)
        }
        return instance

    def refresh_from_db(
        self, using: str | None = None, fields: Any = None, from_queryset: Any = None
    ) -> None:
        before = self.audit_snapshot()
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        # The reloaded values are the database's now: a later save diffs against them.
        current = self.audit_values()
        if before is None or fields is None:
            self._audit_snapshot = current
        else:
            names = {self._meta.get_field(name).attname for name in fields}
            self._audit_snapshot = {
                **before,
                **{name: value for name, value in current.items() if name in names},
            }

    def audit_fields(self) -> list[models.Field]:
        return [
            field
            for field in self._meta.concrete_fields
            if field.name not in self.audit_exclude
            and field.name not in self.AUDIT_EXCLUDE_ALWAYS
            and not field.primary_key
        ]

    def audit_values(self) -> dict[str, Any]:
        from medservice.core.audit import audit_value

        loaded = self.__dict__
        return {
            field.attname: audit_value(loaded[field.attname])
            for field in self.audit_fields()
            if field.attname in loaded
        }

    def audit_subject(self) -> str:
        """Whose personal data this record's personal fields are (the key that seals them)."""
        return f"{self._meta.label_lower}:{self.pk}"

    def audit_snapshot_take(self) -> None:
        self.__dict__.pop("_audit_loaded", None)
        self._audit_snapshot = self.audit_values()

    def audit_snapshot(self) -> dict[str, Any] | None:
        """The audited values as last loaded from or saved to the database (None if never)."""
        snapshot = self.__dict__.get("_audit_snapshot")
        if snapshot is None and "_audit_loaded" in self.__dict__:
            from medservice.core.audit import audit_value

            loaded = self.__dict__.pop("_audit_loaded")
            snapshot = {
                field.attname: audit_value(loaded[field.attname])
                for field in self.audit_fields()
                if field.attname in loaded
            }
            self._audit_snapshot = snapshot
        return snapshot


def _detached(value: Any) -> Any:
    if isinstance(value, dict | list):
        import copy

        return copy.deepcopy(value)
    return value


class RetainedModel(models.Model):
    """Mixin for regulated records: `retain_until` is computed from the record's retention
    rules (REGULATORY.md R-*) and deletion before it, or under a legal hold, is refused."""

    retain_until = models.DateField(_("retain until"), null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def retention_dates(self) -> list[tuple[str, datetime.date]]:
        """(rule id, date) pairs that apply to this record; subclasses declare their rules."""
        return []

    def compute_retain_until(self) -> datetime.date | None:
        dates = [date for _rule, date in self.retention_dates() if date is not None]
        return max(dates) if dates else None

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        # Refuse before Django collects the related rows: the retention rule is the reason a
        # user must hear, not a protected foreign key found on the way.
        from medservice.core.retention import retention_check_delete

        retention_check_delete(self)
        return super().delete(*args, **kwargs)


class SignableModel(models.Model):
    """Mixin for records that a person approves or confirms: once signed, a record is frozen
    and corrected only by a new revision that supersedes it."""

    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True, editable=False)
    revision = models.PositiveIntegerField(_("revision"), default=1, editable=False)
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("supersedes"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
        editable=False,
    )

    # Fields a signed record may still change (for example a status moving on).
    mutable_after_signing: ClassVar[frozenset[str]] = frozenset()

    class Meta:
        abstract = True

    @property
    def is_frozen(self) -> bool:
        return self.signed_at is not None

    def signature_content(self) -> dict[str, Any]:
        """What the signature covers: every business field of the record."""
        from medservice.core.audit import audit_value

        skip = {"signed_at", "updated_at", "version"} | set(self.mutable_after_signing)
        return {
            field.attname: audit_value(getattr(self, field.attname))
            for field in self._meta.concrete_fields
            if field.name not in skip
        }


class AuditEvent(models.Model):
    """One entry of the append-only audit trail: who changed what, when, from where and why."""

    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(_("actor name"), max_length=200, blank=True)
    job = models.CharField(_("job"), max_length=100, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    detail = models.CharField(_("detail"), max_length=100, blank=True)
    object_type = models.CharField(_("object type"), max_length=100)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "id"])]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.object_type}#{self.object_id} {self.action} @ {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class AuditSeal(models.Model):
    """The hash-chain link of one audit event, written by the sealer in chain order."""

    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="seal")
    chain_index = models.PositiveBigIntegerField(unique=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"#{self.chain_index} {self.hash[:12]}"


class AuditChainHead(models.Model):
    """The single row the sealer locks: the last sealed index and hash of the audit chain."""

    last_index = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"head #{self.last_index}"


class Signature(models.Model):
    """An electronic signature: who signed what, when, meaning what, over which content."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="signatures",
    )
    signer_kind = models.CharField(_("signer kind"), max_length=20, choices=SignerKind.choices)
    printed_name = models.CharField(_("printed name"), max_length=200)
    meaning = models.CharField(_("meaning"), max_length=200)
    signed_at = models.DateTimeField(_("signed at"), default=timezone.now)
    content_hash = models.CharField(_("content hash"), max_length=64)
    revision = models.PositiveIntegerField(_("revision"), default=1)

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        indexes = [models.Index(fields=["content_type", "object_id"])]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.printed_name} — {self.meaning} ({self.signed_at:%Y-%m-%d %H:%M})"


class LegalHold(AuditedModel):
    """A legal or regulatory hold that keeps a record from deletion beyond its retention."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.CharField(max_length=64)
    reason = models.TextField(_("reason"))
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.content_type.model}#{self.object_id}: {self.reason[:40]}"

    @property
    def placed_at(self) -> datetime.datetime:
        return self.created_at


class NumberSequence(models.Model):
    """The last number issued per kind and year, e.g. TS 2026 → TS-2026-000123."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="unique_number_per_year")
        ]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last_value}"


class JobLease(models.Model):
    """A periodic job's schedule and the lease a scheduler holds while it runs the job."""

    name = models.CharField(max_length=100, primary_key=True)
    next_run_at = models.DateTimeField(default=timezone.now)
    locked_by = models.CharField(max_length=100, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=20, blank=True)
    last_error = models.TextField(blank=True)
    run_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("periodic job")
        verbose_name_plural = _("periodic jobs")
        default_permissions = ("view",)

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """A message in a user's in-app inbox; also sent by e-mail when the user has an address."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"])]

    def __str__(self) -> str:
        return self.subject


class PersonKey(models.Model):
    """The key that encrypts one person's personal values inside the audit trail; destroying
    it (anonymisation, PIPL art. 47) leaves those values unreadable and the chain intact."""

    subject = models.CharField(max_length=100, unique=True)
    key = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("personal-data key")
        verbose_name_plural = _("personal-data keys")
        default_permissions = ()

    def __str__(self) -> str:
        return self.subject


class ImportJob(models.Model):
    """One uploaded spreadsheet being checked (dry run) or imported by a background task."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        VALIDATING = "validating", _("Checking rows")
        INVALID = "invalid", _("Errors found — nothing imported")
        VALID = "valid", _("Checked — ready to import")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=50)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs"
    )
    language = models.CharField(max_length=10, default="zh-hans")
    apply = models.BooleanField(_("import when clean"), default=False)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.kind}: {self.original_name}"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.finished_at else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))

    @property
    def finished(self) -> bool:
        return self.status in {
            self.Status.INVALID,
            self.Status.VALID,
            self.Status.DONE,
            self.Status.FAILED,
        }


# Business calendars live in their own module (clocks & calendars); imported here so Django
# finds them as core's models.
from medservice.core.calendar_models import (  # noqa: E402, F401
    BusinessCalendar,
    CalendarDay,
    CalendarYear,
)
