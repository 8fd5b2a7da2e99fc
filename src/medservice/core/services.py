"""Generic record services used by resources that have no business workflow of their own
(master data). Domain apps with rules write their own services and declare them instead."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models, transaction
from django.utils.translation import gettext as _

from medservice.core.context import audit_context
from medservice.core.errors import ConflictError, InvalidInputError

ModelT = TypeVar("ModelT", bound=models.Model)


def record_create(*, actor: Any, model: type[ModelT], data: dict[str, Any]) -> ModelT:
    many = {key: data.pop(key) for key in list(data) if _is_many(model, key)}
    with transaction.atomic(), audit_context(actor=actor):
        instance = model(**data)
        instance.full_clean()
        instance.save()
        for key, values in many.items():
            getattr(instance, key).set(values)
    return instance


def record_update(
    *, actor: Any, instance: ModelT, data: dict[str, Any], expected_version: int | None = None
) -> ModelT:
    """Apply `data`; refuse with a conflict when someone saved the record since it was read."""
    model = type(instance)
    many = {key: data.pop(key) for key in list(data) if _is_many(model, key)}
    with transaction.atomic(), audit_context(actor=actor):
        current = model._base_manager.select_for_update().get(pk=instance.pk)
        if expected_version is not None and int(expected_version) != current.version:
            raise ConflictError(
                _(
                    "%(record)s was changed by someone else after you opened it. "
                    "Reload it, then apply your change again."
                )
                % {"record": current}
            )
        for key, value in data.items():
            setattr(current, key, value)
        current.full_clean()
        current.save()
        for key, values in many.items():
            getattr(current, key).set(values)
    return current


def record_delete(*, actor: Any, instance: models.Model, reason: str = "") -> None:
    """Delete with a stated reason; a record others still point to is kept and named."""
    if not (reason or "").strip():
        raise InvalidInputError(
            _("Say why %(record)s is deleted.") % {"record": instance},
            fields={"reason": [_("A reason is required to delete a record.")]},
        )
    try:
        with transaction.atomic(), audit_context(actor=actor, reason=reason):
            instance.delete()
    except (models.ProtectedError, models.RestrictedError) as error:
        blocking = getattr(error, "protected_objects", None) or getattr(
            error, "restricted_objects", []
        )
        users = sorted({str(item) for item in blocking})[:5]
        raise ConflictError(
            _("%(record)s is still used by %(users)s and cannot be deleted.")
            % {"record": instance, "users": ", ".join(users)}
        ) from error


def _is_many(model: type[models.Model], name: str) -> bool:
    try:
        return model._meta.get_field(name).many_to_many
    except Exception:  # not a field of the model: leave it to setattr/full_clean
        return False
