"""The OpenAPI schema documents the error answers (issue 12 fuzzing: schemathesis found
400/404/409 answered by 440 operations whose schema listed only their success)."""

import jsonschema
import pytest

from medservice.core.api.schema import ERROR_SCHEMA, add_error_responses


def test_the_hook_adds_the_error_answers_an_operation_does_not_declare():
    schema = {
        "paths": {
            "/api/v1/things/": {"get": {"responses": {"200": {}}}},
            "/api/v1/things/{id}/close/": {
                "post": {"responses": {"200": {}, "409": {"description": "own"}}}
            },
        }
    }
    result = add_error_responses(schema)
    # 404 everywhere (an unmatched address under /api/ too), 414 and 429 from the servers
    assert set(result["paths"]["/api/v1/things/"]["get"]["responses"]) == {
        "200", "400", "401", "403", "404", "414", "429",
    }  # fmt: skip
    action = result["paths"]["/api/v1/things/{id}/close/"]["post"]["responses"]
    assert set(action) == {"200", "400", "401", "403", "404", "409", "414", "429"}
    assert action["409"] == {"description": "own"}  # a view's own answer is kept
    assert action["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert result["components"]["schemas"]["Error"] == ERROR_SCHEMA


@pytest.mark.django_db
def test_the_error_bodies_match_the_documented_schema(api, auditor):
    client = api.as_user(auditor)
    not_found = client.get("/api/v1/organizations/999999/")
    assert not_found.status_code == 404
    jsonschema.validate(not_found.json(), ERROR_SCHEMA)
    refused = client.post("/api/v1/organizations/", {}, format="json")  # the auditor reads only
    assert refused.status_code == 403
    jsonschema.validate(refused.json(), ERROR_SCHEMA)
