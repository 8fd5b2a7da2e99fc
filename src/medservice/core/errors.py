"""Domain errors every app raises; the UI and the API turn them into clear, translated answers.

`code` is the stable machine value of the API error body; `status` its HTTP status.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidInputError(DomainError):
    code = "invalid"
    status = 400


class InvalidTransitionError(DomainError):
    code = "invalid_transition"
    status = 409


class ConflictError(DomainError):
    """Someone else changed the record since it was read."""

    code = "conflict"
    status = 409


class FrozenRecordError(DomainError):
    code = "record_signed"
    status = 409

    def __init__(self, record: Any, changed: list[str]) -> None:
        super().__init__(
            _("%(record)s is signed and cannot be changed (%(fields)s); create a revision instead.")
            % {"record": record, "fields": ", ".join(changed)}
        )
        self.changed = changed


class RetentionError(DomainError):
    code = "retention"
    status = 409


class SignatureError(DomainError):
    code = "signature_invalid"
    status = 400


class PermissionDeniedError(DomainError):
    """The actor's role does not allow this action (the state would)."""

    code = "permission_denied"
    status = 403


class SegregationOfDutiesError(PermissionDeniedError):
    """Four eyes: the person who asked for or did something may not also approve it."""

    code = "segregation_of_duties"
    status = 403


class Problems:
    """Collects every problem of one input, so the user sees them all at once; raises them as
    one InvalidInputError keyed by field."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(str(message))

    def __bool__(self) -> bool:
        return bool(self.fields)

    def raise_if_any(self, message: str) -> None:
        if self.fields:
            raise InvalidInputError(message, fields=self.fields)
