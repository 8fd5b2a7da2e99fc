"""OpenAPI post-processing: every operation documents the error answers it can give.

The exception handler (core/api/errors.py) gives one error body for every failure; views
declare their successful answers, and most did not list the 400/401/403/404/409 they also
give, so the schema said less than the API did (schemathesis: undocumented status codes).
"""

from __future__ import annotations

from typing import Any

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
}
WRITES = {"post", "put", "patch", "delete"}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular hook: add the error answers an operation does not declare itself."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = ["400", "401", "403"]
            if "{" in path:
                codes.append("404")
            if method in WRITES:
                codes.append("409")
            responses = operation["responses"]
            for code in codes:
                if code not in responses:
                    responses[code] = {
                        "description": DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": ERROR_REF}},
                    }
    return result
