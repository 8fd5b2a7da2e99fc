"""OpenAPI generation: the schema says what the API really answers (issue 12 fuzzing).

- `add_error_responses` (post-processing hook): the exception handler (core/api/errors.py)
  gives one error body for every failure; views declare their successful answers, and most did
  not list the 400/401/403/404/409/414/429 they also give, so the schema said less than the API
  did (schemathesis: undocumented status codes).
- `MedServiceAutoSchema`: the per-field corrections DRF's read-only fields need — a read-only
  field loses the `allow_blank`/`allow_null` of its model field (DRF drops them), so a blank
  choice `""` or a `null` the API really answers was outside the schema; and times are
  documented by a pattern, as the OpenAPI `time` format wants an RFC 3339 time with an offset
  that a wall-clock time of a calendar or a visit does not have.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_SCHEMA = {
    "type": "object",
    "description": 'Every API failure: {"error": {"code", "message", "fields"}}.',
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
DESCRIPTIONS = {
    "400": "Bad input: the fields are named.",
    "401": "Not signed in (no or an invalid token).",
    "403": "The role may not do this.",
    "404": "No such record in your scope.",
    "409": "Not possible in the record's current state.",
    "414": "The address is too long.",
    "429": "Too many requests: wait the seconds the Retry-After header gives.",
}
# Answered by every operation: 404 for an address outside the API's routes or a record outside
# the user's scope, 414 for an over-long address, 429 when a throttle refuses.
EVERYWHERE = ("400", "401", "403", "404", "414", "429")
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
# A stored upload is answered with the type it was uploaded with (a scan, a photo, a text).
ANY_FILE = "*/*"
# Wall-clock times are rendered "HH:MM" or "HH:MM:SS" (DRF renders what the value holds).
TIME_PATTERN = r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"
WRITES = {"post", "put", "patch", "delete"}
# Answers whose shape depends on the caller's role, not on a type field: drf-spectacular writes
# oneOf, which fails when an answer fits both shapes (e.g. a trace with no devices); anyOf says
# "one of these shapes", as meant.
ANY_OF_COMPONENTS = ("TraceAnswer",)


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular hook: add the error answers an operation does not declare itself."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name in ANY_OF_COMPONENTS:
        if "oneOf" in schemas.get(name, {}):
            schemas[name]["anyOf"] = schemas[name].pop("oneOf")
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = list(EVERYWHERE)
            if method in WRITES:
                codes.append("409")
            responses = operation["responses"]
            for code in codes:
                if code not in responses:
                    responses[code] = {
                        "description": DESCRIPTIONS[code],
                        "content": _error_content(code),
                    }
    return result


def _error_content(code: str) -> dict[str, Any]:
    if code == "414":
        # gunicorn refuses a request line over its limit (4094 bytes) before Django sees it,
        # with its own small HTML page.
        return {"text/html": {"schema": {"type": "string"}}}
    return {"application/json": {"schema": ERROR_REF}}


def file_responses(*media_types: str, description: str = "The file.") -> dict[Any, Any]:
    """`extend_schema(responses=...)` of a download: 200 with the file's media types (errors
    stay JSON: the exception handler answers them and the hook documents them)."""
    return {
        (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description=description)
        for media_type in media_types
    }


def _model_field_path(field: serializers.Field) -> list[models.Field] | None:
    """The model fields a serializer field reads, following a dotted source through relations
    (None when the source is not a chain of model fields: a method, a property, "*")."""
    parent = getattr(field, "parent", None)
    model = getattr(getattr(parent, "Meta", None), "model", None)
    source = getattr(field, "source", None)
    if model is None or not source or source == "*":
        return None
    path: list[models.Field] = []
    for name in source.split("."):
        if model is None:
            return None
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        path.append(model_field)
        model = model_field.related_model if model_field.is_relation else None
    return path


def _blank_model_field(field: serializers.Field) -> bool:
    path = _model_field_path(field)
    return bool(path) and bool(getattr(path[-1], "blank", False))


class MedServiceAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with the field corrections the module docstring lists."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        # A ViewSet whose `list` answers one object per query (the trace) says so; without
        # this drf-spectacular documents an array for every `list` action.
        if getattr(self.view, "answers_one_object", False):
            return False
        return super()._is_list_view(serializer)

    def _insert_field_validators(self, field: serializers.Field, schema: dict[str, Any]) -> None:
        super()._insert_field_validators(field, schema)
        # The e-mail and URL validators set a format that "" does not meet, but a blank e-mail
        # or address is stored and answered "": say "such a value, or empty".
        if (
            isinstance(field, serializers.EmailField | serializers.URLField)
            and "anyOf" not in schema
            and schema.get("format") in ("email", "uri")
            and (getattr(field, "allow_blank", False) or _blank_model_field(field))
        ):
            schema["anyOf"] = [{"format": schema.pop("format")}, {"maxLength": 0}]

    def _map_serializer_field(
        self, field: serializers.Field, direction: str, bypass_extensions: bool = False
    ) -> dict[str, Any] | None:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(schema, dict):  # a field left out of the schema
            return schema
        if isinstance(field, serializers.TimeField) and schema.get("format") == "time":
            schema = {key: value for key, value in schema.items() if key != "format"}
            schema["pattern"] = TIME_PATTERN
        if not field.read_only or "$ref" in schema:
            return schema
        path = _model_field_path(field)
        if not path:
            return schema
        last = path[-1]
        # A relation on the way that is null (device.serial without a device) answers null.
        # (Concrete fields only: a reverse relation's `null` says nothing of the answer.)
        nullable = any(
            getattr(step, "concrete", False) and getattr(step, "null", False) for step in path
        )
        if "enum" in schema:
            choices = list(schema["enum"])
            if last.blank and isinstance(last, models.CharField) and "" not in choices:
                choices.append("")
            if nullable and None not in choices:
                choices.append(None)
            schema["enum"] = choices
        elif nullable and not isinstance(field, serializers.ManyRelatedField):
            schema["nullable"] = True
        return schema
