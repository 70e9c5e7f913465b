"""The OpenAPI document is valid OpenAPI, lists the problem answers of every operation with
their status codes, and describes every field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate

PROBLEM = {"$ref": "#/components/schemas/Problem"}
HTTP_PHRASES = {"Bad Request", "Unauthorized", "Forbidden", "Not Found", "Conflict",
                "Request Entity Too Large", "Unsupported Media Type", "Unprocessable Entity",
                "Too Many Requests"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{method.upper()} {path}", operation)
            for path, operations in document["paths"].items()
            for method, operation in operations.items()]


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_operation_lists_the_problems_it_can_answer(document: dict[str, Any]) -> None:
    operations = _operations(document)
    assert len(operations) >= 18
    for name, operation in operations:
        responses = {int(status): answer for status, answer in operation["responses"].items()}
        expected = {401, 403, 429}  # the token check, on every operation
        if "requestBody" in operation:
            expected |= {400, 413, 415, 422}  # not JSON, too large, not sent as JSON, schema
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            expected |= {404}
        assert expected <= set(responses), (name, sorted(responses))
        assert any(status < 300 for status in responses), name
        for status, answer in responses.items():
            if status < 400:
                continue
            assert answer["content"] == {"application/problem+json": {"schema": PROBLEM}}, \
                (name, status)
            # Says what the status means here, not only the HTTP phrase.
            assert answer["description"] not in HTTP_PHRASES, (name, status)
            assert len(answer["description"]) > 20, (name, status)
        assert "Retry-After" in responses[429]["headers"], name


def test_operations_list_their_own_problems(document: dict[str, Any]) -> None:
    statuses = {name: {int(s) for s in operation["responses"]}
                for name, operation in _operations(document)}
    # Stored content that fails its integrity check, and revoked conversations.
    for name in ("POST /api/v1/messages", "POST /api/v1/check",
                 "GET /api/v1/messages/{message_id}", "POST /api/v1/messages/{message_id}/revoke"):
        assert 409 in statuses[name], name
    # An attachment id that is not the user's.
    assert 404 in statuses["POST /api/v1/messages"] and 404 in statuses["POST /api/v1/check"]


def _undescribed(schema: Any, where: str) -> list[str]:
    missing: list[str] = []
    if not isinstance(schema, dict):
        return missing
    for name, prop in schema.get("properties", {}).items():
        if not prop.get("description"):
            missing.append(f"{where}.{name}")
        missing += _undescribed(prop, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        missing += _undescribed(schema.get(key), f"{where}[]")
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            missing += _undescribed(part, where)
    return missing


def test_every_field_is_described(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert {"Problem", "MessageIn", "MessageOut", "RuleIn"} <= set(schemas)
    missing = [m for name, schema in schemas.items() for m in _undescribed(schema, name)]
    assert missing == []


def test_times_are_documented_as_utc_date_times(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for schema, name in (("MessageOut", "created_at"), ("MessageOut", "expires_at"),
                         ("MessageOut", "revoked_at"), ("EventOut", "at")):
        prop = schemas[schema]["properties"][name]
        kinds = [prop, *prop.get("anyOf", [])]
        assert any(k.get("format") == "date-time" for k in kinds), (schema, name)
        assert "UTC" in prop["description"], (schema, name)


def test_a_body_that_is_not_json_is_a_400_and_one_not_sent_as_json_a_415(
        sender: Any) -> None:
    from zegel.orgs.models import ApiToken

    _entry, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    broken = api.post("/api/v1/check", "{oops", content_type="application/json")
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["detail"]
    for content_type in ("text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x"):
        answer = api.post("/api/v1/messages", '{"subject": "x", "recipients": []}',
                          content_type=content_type)
        assert answer.status_code == 415, (content_type, answer.content[:200])
        assert answer["Content-Type"] == "application/problem+json"
    # JSON by another name is JSON; a body without a Content-Type is read as JSON as before.
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json", ""):
        answer = api.generic("POST", "/api/v1/messages",
                             '{"subject": "x", "body": "y", "recipients": []}',
                             content_type=content_type)
        assert answer.status_code == 400 and answer.json()["field"] == "recipients", \
            (content_type, answer.content[:200])
    upload = api.post("/api/v1/attachments", "{}", content_type="application/json")
    assert upload.status_code == 415 and "multipart/form-data" in upload.json()["detail"]
