"""The audit trail: events written in the writer's transaction, sealed into a hash chain later.

Writers only INSERT events, so concurrent transactions never contend on the chain. The sealer
(`audit_seal_pending`, a periodic job) locks the chain head, takes committed unsealed events in
id order and links each to the previous hash. An event that commits late simply gets a later
chain index: the chain never forks and no writer waits for it.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models.signals import m2m_changed, post_delete, pre_delete
from django.dispatch import receiver
from django.utils import timezone

from medservice.core.choices import AuditAction
from medservice.core.context import current_actor, current_context
from medservice.core.models import (
    AuditChainHead,
    AuditedModel,
    AuditEvent,
    AuditSeal,
    RetainedModel,
)

GENESIS_HASH = "0" * 64


def audit_value(value: Any) -> Any:
    """A JSON-safe form of a field value, stable across databases."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(datetime.UTC)
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict | list):
        return json.loads(json.dumps(value, default=str))
    if hasattr(value, "name") and hasattr(value, "storage"):  # FieldFile
        return value.name or None
    return str(value)


def audit_repr(obj: models.Model) -> str:
    """How the trail names the record: never a person's name in clear (sealed fields say so)."""
    if "name" in getattr(obj, "audit_personal", ()):
        return f"{obj._meta.verbose_name} #{obj.pk}"
    return str(obj)


def object_type_of(obj: models.Model) -> str:
    return obj._meta.label_lower


def audit_record(
    obj: models.Model,
    action: str,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
    detail: str = "",
    reason: str = "",
) -> AuditEvent | None:
    """Write one audit event for `obj` in the current transaction."""
    values = audit_event_values(
        obj, action, before=before, after=after, detail=detail, reason=reason
    )
    return AuditEvent.objects.create(**values) if values is not None else None


def audit_event_values(
    obj: models.Model,
    action: str,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
    detail: str = "",
    reason: str = "",
) -> dict[str, Any] | None:
    """The fields of the event `audit_record` writes (None when an update changes nothing):
    the one place an event's content is decided, for single writes and bulk paths alike."""
    if action == AuditAction.UPDATE:
        changes = {
            name: [before.get(name), value]
            for name, value in after.items()
            if name in before and before.get(name) != value
        }
        if not changes:
            return None
    elif action == AuditAction.CREATE:
        changes = {name: [None, value] for name, value in after.items() if value not in (None, "")}
    elif action == AuditAction.DELETE:
        changes = {name: [value, None] for name, value in before.items() if value not in (None, "")}
    else:
        changes = {name: [before.get(name), value] for name, value in after.items()}
    personal = getattr(obj, "audit_personal", frozenset()) & set(changes)
    if personal:
        from medservice.core.crypto import seal_personal_value

        subject = obj.audit_subject()
        for name in personal:
            changes[name] = [seal_personal_value(subject, value) for value in changes[name]]
    context = current_context()
    actor = current_actor()
    if context.action and action in (AuditAction.UPDATE, AuditAction.TRANSITION):
        # A named business action (a transition) marks the update it causes.
        action, detail = AuditAction.TRANSITION, detail or context.action
    return {
        "actor": actor,
        "actor_label": (actor.get_full_name() or actor.get_username()) if actor else "",
        "job": context.job,
        "action": action,
        "detail": detail,
        "object_type": object_type_of(obj),
        "object_id": str(obj.pk),
        "object_repr": audit_repr(obj)[:200],
        "changes": changes,
        "reason": reason or context.reason,
        "request_id": context.request_id,
        "client_address": context.client_address,
    }


def audit_save(
    obj: AuditedModel, save: Callable[..., None], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    """AuditedModel.save(): diff against the loaded snapshot and audit in one transaction."""
    creating = obj._state.adding
    using = kwargs.get("using") or obj._state.db or "default"
    with transaction.atomic(using=using):
        before: dict[str, Any] = {}
        if not creating:
            before = obj.audit_snapshot() or _load_current(obj)
            _refuse_frozen_change(obj, before)
            obj.version = (obj.version or 0) + 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version", "updated_at"}
        if isinstance(obj, RetainedModel):
            obj.retain_until = obj.compute_retain_until()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "retain_until"}
        save(*args, **kwargs)
        after = obj.audit_values()
        audit_record(
            obj, AuditAction.CREATE if creating else AuditAction.UPDATE, before=before, after=after
        )
        obj.__dict__.pop("_audit_loaded", None)
        obj._audit_snapshot = after


def _load_current(obj: AuditedModel) -> dict[str, Any]:
    fresh = type(obj)._base_manager.using(obj._state.db).filter(pk=obj.pk).first()
    return fresh.audit_values() if fresh is not None else {}


def _refuse_frozen_change(obj: AuditedModel, before: dict[str, Any]) -> None:
    from medservice.core.models import SignableModel

    if not isinstance(obj, SignableModel) or not before.get("signed_at"):
        return
    from medservice.core.errors import FrozenRecordError

    allowed = {"signed_at", *obj.mutable_after_signing}
    after = obj.audit_values()
    changed = [
        name for name, value in after.items() if name not in allowed and before.get(name) != value
    ]
    if changed:
        raise FrozenRecordError(obj, changed)


def audit_bulk_update(queryset: models.QuerySet, values: dict[str, Any]) -> int:
    """QuerySet.update() on an audited model: one event per affected row."""
    model = queryset.model
    rows = list(models.QuerySet.select_for_update(queryset).order_by("pk"))
    count = models.QuerySet.update(
        queryset.model._base_manager.filter(pk__in=[row.pk for row in rows]),
        **{"updated_at": timezone.now(), **values},
        version=models.F("version") + 1,
    )
    fresh = {row.pk: row for row in model._base_manager.filter(pk__in=[row.pk for row in rows])}
    for row in rows:
        audit_record(
            row, AuditAction.UPDATE, before=row.audit_values(), after=fresh[row.pk].audit_values()
        )
    return count


def audit_log_pruned(
    model: type[models.Model], *, count: int, older_than: datetime.datetime, reason: str = ""
) -> AuditEvent:
    """One event for the rows of a log (not business records, which are deleted one audited
    row at a time) that a job deleted past their retention: the model, how many and the cutoff.
    Written in the deleting transaction, so the count is exactly what was deleted."""
    context = current_context()
    actor = current_actor()
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=(actor.get_full_name() or actor.get_username()) if actor else "",
        job=context.job,
        action=AuditAction.DELETE,
        detail="prune",
        object_type=model._meta.label_lower,
        object_id="",
        object_repr=str(model._meta.verbose_name_plural)[:200],
        changes={"count": [count, 0], "older_than": [audit_value(older_than), None]},
        reason=reason or context.reason,
        request_id=context.request_id,
        client_address=context.client_address,
    )


# Below this many rows a multi-row INSERT is as quick as COPY and needs no ids reserved first.
COPY_MIN_ROWS = 100


def audit_bulk_create(
    objs: Sequence[AuditedModel], *, using: str | None = None, batch_size: int = 1000
) -> list[AuditedModel]:
    """Insert new records of one model with one create event each — the event save() would
    write (`audit_event_values`) — in a few statements per `batch_size` rows instead of two
    per record: multi-row INSERTs, or on PostgreSQL (psycopg 3) COPY of the records (their
    ids reserved from the table's sequence first, so the events can name them) and of their
    events. Retention dates are computed as save() computes them. The events get ids in the
    order of `objs`, and the sealer chains them by id like any other event.

    Callers check the records first (the database constraints still hold): nothing here runs
    full_clean() or save() signals. Call it inside the transaction that owns the records."""
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    if any(type(obj) is not model for obj in objs):
        raise TypeError("audit_bulk_create takes records of one model")
    using = using or router.db_for_write(model)
    connection = connections[using]
    use_copy = _copy_possible(connection, model, len(objs))
    with transaction.atomic(using=using, savepoint=False):
        for obj in objs:
            if isinstance(obj, RetainedModel):
                obj.retain_until = obj.compute_retain_until()
        if use_copy:
            _copy_objects(connection, model, objs)
        else:
            models.QuerySet(model, using=using).bulk_create(objs, batch_size=batch_size)
        events = []
        for obj in objs:
            after = obj.audit_values()
            values = audit_event_values(obj, AuditAction.CREATE, before={}, after=after)
            if values is not None:
                events.append(values)
            obj._audit_snapshot = after  # as audit_save leaves a saved record
        if use_copy:
            _copy_events(connection, events)
        else:
            AuditEvent.objects.using(using).bulk_create(
                [AuditEvent(**values) for values in events], batch_size=batch_size
            )
    return objs


def _copy_possible(connection: Any, model: type[models.Model], count: int) -> bool:
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return (
        connection.vendor == "postgresql"
        and is_psycopg3
        and count >= COPY_MIN_ROWS
        and not model._meta.parents  # a child model's rows span two tables
        # Values the database computes or defaults itself: left to INSERT, which knows them.
        and not any(
            field.generated or field.has_db_default() for field in model._meta.concrete_fields
        )
    )


# Field classes whose database value, for a Python value of exactly this type, is the value
# itself (get_db_prep_save on PostgreSQL returns it unchanged): COPY writes such values as
# they are, skipping the per-value preparation that costs more than the COPY itself. Any
# other field class (a subclass too, e.g. an encrypted text field) or value type goes
# through the field.
_COPY_AS_IS: dict[type[models.Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.DateField: datetime.date,
    models.DateTimeField: datetime.datetime,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.SmallIntegerField: int,
    models.BigIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.AutoField: int,
    models.BigAutoField: int,
    models.SmallAutoField: int,
}


def _copy_preparer(field: models.Field, connection: Any) -> Callable[[Any], Any]:
    """The function that turns one Python value of `field` into what COPY writes."""
    target = field.target_field if type(field) is models.ForeignKey else field
    plain = _COPY_AS_IS.get(type(target))
    prepare = field.get_db_prep_save
    # Most fields store None as NULL: asked once, not per row.
    none_is_null = prepare(None, connection=connection) is None

    def prepared(value: Any) -> Any:
        if value is None and none_is_null:
            return None
        if type(value) is plain and (
            # A naive date-time is made aware by the field (with a warning).
            plain is not datetime.datetime or value.tzinfo is not None
        ):
            return value
        return prepare(value, connection=connection)

    return prepared


def _copy_rows(
    connection: Any, model: type[models.Model], fields: list[Any], rows: Iterator[list[Any]]
) -> None:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    # psycopg's own cursor: Django's wrapper has no copy().
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _copy_objects(connection: Any, model: type[models.Model], objs: list[Any]) -> None:
    """COPY new records into their table, ids reserved from its sequence for those without
    one; each value as an INSERT would take it (pre_save for auto_now and the like)."""
    meta = model._meta
    missing = [obj for obj in objs if obj.pk is None]
    if missing:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [connection.ops.quote_name(meta.db_table), meta.pk.column, len(missing)],
            )
            for obj, (pk,) in zip(missing, cursor.fetchall(), strict=True):
                obj.pk = pk
    fields = list(meta.concrete_fields)
    plan = [
        (
            field.attname,
            # Field.pre_save only reads the attribute; subclasses that do more are called.
            None if type(field).pre_save is models.Field.pre_save else field,
            _copy_preparer(field, connection),
        )
        for field in fields
    ]
    _copy_rows(
        connection,
        model,
        fields,
        (
            [
                prepared(getattr(obj, attname) if saver is None else saver.pre_save(obj, True))
                for attname, saver, prepared in plan
            ]
            for obj in objs
        ),
    )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _copy_events(connection: Any, events: list[dict[str, Any]]) -> None:
    """COPY audit events from their fields' values (`audit_event_values`; a field it does not
    name gets its default, as AuditEvent(**values) would); the table numbers them in order."""
    fields = [field for field in AuditEvent._meta.concrete_fields if not field.primary_key]
    plan = [
        (field.name, field.is_relation, field.get_default, _copy_preparer(field, connection))
        for field in fields
    ]

    def row(values: dict[str, Any]) -> list[Any]:
        prepared_values = []
        for name, relation, default, prepared in plan:
            value = values[name] if name in values else default()
            if relation and value is not None:
                value = value.pk  # the event names its actor by id
            prepared_values.append(prepared(value))
        return prepared_values

    _copy_rows(connection, AuditEvent, fields, (row(values) for values in events))


# Before-values between a pre_ and a post_ signal, keyed by relation, row and field: the
# reverse side hands us fresh instances of the records whose field changes.
_M2M_BEFORE: dict[tuple[Any, Any, str], list[Any]] = {}


def _m2m_field_name(model: type, sender: type) -> str | None:
    return next(
        (field.name for field in model._meta.many_to_many if field.remote_field.through is sender),
        None,
    )


@receiver(m2m_changed)
def _audit_many_to_many(
    sender: type, instance: models.Model, action: str, reverse: bool, model: type, **kwargs: Any
) -> None:
    """Links added or removed (e.g. the distributors serving a hospital) are changes too, of
    the record that holds the field, whichever side the change was made from."""
    if reverse:
        name = _m2m_field_name(model, sender)
        if name is None or not issubclass(model, AuditedModel):
            return
        pk_set = kwargs.get("pk_set")
        if action == "pre_clear":
            accessor = model._meta.get_field(name).remote_field.get_accessor_name()
            pk_set = set(getattr(instance, accessor).values_list("pk", flat=True))
            _M2M_BEFORE[(sender, instance.pk, "clear")] = sorted(pk_set)
        elif action == "post_clear":
            pk_set = set(_M2M_BEFORE.pop((sender, instance.pk, "clear"), []))
        for owner in model._base_manager.filter(pk__in=pk_set or ()):
            _audit_many_to_many(sender, owner, action, False, type(instance))
        return
    if not isinstance(instance, AuditedModel):
        return
    name = _m2m_field_name(type(instance), sender)
    if name is None:
        return
    current = sorted(getattr(instance, name).values_list("pk", flat=True))
    key = (sender, instance.pk, name)
    if action in ("pre_add", "pre_remove", "pre_clear"):
        _M2M_BEFORE[key] = current
    elif action in ("post_add", "post_remove", "post_clear"):
        before = _M2M_BEFORE.pop(key, current)
        if before != current:
            audit_record(instance, AuditAction.UPDATE, before={name: before}, after={name: current})


@receiver(pre_delete)
def _guard_retention(sender: type, instance: models.Model, **kwargs: Any) -> None:
    if isinstance(instance, RetainedModel):
        from medservice.core.retention import retention_check_delete

        retention_check_delete(instance)
    _audit_links_lost_on_delete(instance)


def _audit_links_lost_on_delete(instance: models.Model) -> None:
    """Deleting a record removes it from other records' many-to-many fields (a distributor
    from the hospitals it served) without a signal: record that change on each of them."""
    for relation in instance._meta.related_objects:
        if not relation.many_to_many or not issubclass(relation.related_model, AuditedModel):
            continue
        name = relation.field.name
        for owner in getattr(instance, relation.get_accessor_name()).all():
            before = sorted(getattr(owner, name).values_list("pk", flat=True))
            after = [pk for pk in before if pk != instance.pk]
            audit_record(owner, AuditAction.UPDATE, before={name: before}, after={name: after})


@receiver(post_delete)
def _audit_delete(sender: type, instance: models.Model, **kwargs: Any) -> None:
    if isinstance(instance, AuditedModel):
        audit_record(instance, AuditAction.DELETE, before=instance.audit_values(), after={})


# --- The chain --------------------------------------------------------------------------------


def event_payload(event: AuditEvent) -> bytes:
    """The canonical bytes of an event that its hash covers."""
    content = {
        "id": event.pk,
        "occurred_at": audit_value(event.occurred_at),
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "job": event.job,
        "action": event.action,
        "detail": event.detail,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "changes": event.changes,
        "reason": event.reason,
        "request_id": event.request_id,
        "client_address": event.client_address,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def chain_hash(previous_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(previous_hash.encode() + b"\n" + event_payload(event)).hexdigest()


def audit_seal_pending(*, batch_size: int = 1000) -> int:
    """Link committed, unsealed events into the chain; returns how many were sealed."""
    sealed = 0
    while True:
        with transaction.atomic():
            AuditChainHead.objects.get_or_create(pk=1)
            head = AuditChainHead.objects.select_for_update().get(pk=1)
            pending = list(AuditEvent.objects.filter(seal__isnull=True).order_by("id")[:batch_size])
            if not pending:
                return sealed
            seals = []
            for event in pending:
                head.last_index += 1
                digest = chain_hash(head.last_hash, event)
                seals.append(
                    AuditSeal(
                        event=event,
                        chain_index=head.last_index,
                        previous_hash=head.last_hash,
                        hash=digest,
                    )
                )
                head.last_hash = digest
            AuditSeal.objects.bulk_create(seals)
            head.save()
            sealed += len(seals)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    pending: int
    first_broken_event_id: int | None
    problem: str

    @property
    def ok(self) -> bool:
        return self.first_broken_event_id is None and not self.problem


def audit_verify_chain(*, using: str = "default") -> ChainReport:
    """Recompute the chain from the genesis; name the first event whose link is broken.
    `using` names the database (a restore checks the database it restored into)."""
    previous = GENESIS_HASH
    expected_index = 1
    checked = 0
    for seal in _seals_in_order(using):
        event = seal.event
        if seal.chain_index != expected_index:
            return ChainReport(
                checked,
                _pending_count(using),
                event.pk,
                f"chain index {seal.chain_index} where {expected_index} was expected",
            )
        if seal.previous_hash != previous:
            return ChainReport(
                checked,
                _pending_count(using),
                event.pk,
                "previous hash does not match the preceding link",
            )
        if chain_hash(previous, event) != seal.hash:
            return ChainReport(
                checked,
                _pending_count(using),
                event.pk,
                "content does not match its hash (edited after sealing)",
            )
        previous = seal.hash
        expected_index += 1
        checked += 1
    head = AuditChainHead.objects.using(using).filter(pk=1).first()
    if head is not None and (head.last_index != checked or head.last_hash != previous):
        return ChainReport(
            checked,
            _pending_count(using),
            None,
            "the chain head does not match the last link (links removed)",
        )
    return ChainReport(checked, _pending_count(using), None, "")


def _seals_in_order(using: str = "default") -> Iterator[AuditSeal]:
    return (
        AuditSeal.objects.using(using)
        .select_related("event")
        .order_by("chain_index")
        .iterator(chunk_size=2000)
    )


def _pending_count(using: str = "default") -> int:
    return AuditEvent.objects.using(using).filter(seal__isnull=True).count()
