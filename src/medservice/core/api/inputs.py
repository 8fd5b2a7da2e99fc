"""The inputs of an API action (POST .../{id}/<action>/), checked for shape by a serializer:
bad input is one 400 naming every field, nested ones as `lines.2.quantity` (items counted from
1, as people number lines)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.request import Request

from medservice.core.errors import InvalidInputError


def errors_by_field(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """A serializer's errors as {"field": [...], "lines.2.quantity": [...]}."""
    fields: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "non_field_errors" and prefix:
                fields.update(errors_by_field(value, prefix))
            else:
                fields.update(errors_by_field(value, f"{prefix}{key}."))
    elif isinstance(errors, list) and errors and not isinstance(errors[0], str):
        for index, value in enumerate(errors, start=1):
            if value:
                fields.update(errors_by_field(value, f"{prefix}{index}."))
    else:
        name = prefix.rstrip(".") or "non_field_errors"
        fields[name] = [str(item) for item in (errors if isinstance(errors, list) else [errors])]
    return fields


def action_input(
    serializer_class: type[serializers.Serializer],
    request: Request,
    *,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The action's validated input, or an InvalidInputError (400) naming the fields. A body
    that is not a JSON object is refused the same way, never a 500."""
    if not hasattr(request.data, "get"):
        message = _("Send the action's inputs as one JSON object.")
        raise InvalidInputError(message, fields={"non_field_errors": [message]})
    serializer = serializer_class(
        data=request.data, context={"request": request, **(context or {})}
    )
    if not serializer.is_valid():
        fields = errors_by_field(serializer.errors)
        raise InvalidInputError(
            _("The input is not valid: %(fields)s.") % {"fields": ", ".join(fields)},
            fields=fields,
        )
    return dict(serializer.validated_data)
