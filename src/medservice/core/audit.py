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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
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
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=(actor.get_full_name() or actor.get_username()) if actor else "",
        job=context.job,
        action=action,
        detail=detail,
        object_type=object_type_of(obj),
        object_id=str(obj.pk),
        object_repr=audit_repr(obj)[:200],
        changes=changes,
        reason=reason or context.reason,
        request_id=context.request_id,
        client_address=context.client_address,
    )


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


def audit_verify_chain() -> ChainReport:
    """Recompute the chain from the genesis; name the first event whose link is broken."""
    previous = GENESIS_HASH
    expected_index = 1
    checked = 0
    for seal in _seals_in_order():
        event = seal.event
        if seal.chain_index != expected_index:
            return ChainReport(
                checked,
                _pending_count(),
                event.pk,
                f"chain index {seal.chain_index} where {expected_index} was expected",
            )
        if seal.previous_hash != previous:
            return ChainReport(
                checked,
                _pending_count(),
                event.pk,
                "previous hash does not match the preceding link",
            )
        if chain_hash(previous, event) != seal.hash:
            return ChainReport(
                checked,
                _pending_count(),
                event.pk,
                "content does not match its hash (edited after sealing)",
            )
        previous = seal.hash
        expected_index += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_index != checked or head.last_hash != previous):
        return ChainReport(
            checked,
            _pending_count(),
            None,
            "the chain head does not match the last link (links removed)",
        )
    return ChainReport(checked, _pending_count(), None, "")


def _seals_in_order() -> Iterator[AuditSeal]:
    return (
        AuditSeal.objects.select_related("event").order_by("chain_index").iterator(chunk_size=2000)
    )


def _pending_count() -> int:
    return AuditEvent.objects.filter(seal__isnull=True).count()
