"""API tokens with scopes (send, read, admin) and an expiry, enforced on every endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.conftest import send
from zegel.orgs.models import ApiToken, User

UUID = "00000000-0000-0000-0000-000000000000"
# Every operation of the API and the scope it needs. A new endpoint must be added here.
NEEDS = {
    ("post", "/api/v1/attachments"): "send",
    ("post", "/api/v1/messages"): "send",
    ("post", "/api/v1/check"): "send",
    ("get", "/api/v1/messages/{message_id}"): "read",
    ("get", "/api/v1/messages"): "read",
    ("get", "/api/v1/messages/{message_id}/proof"): "read",
    ("post", "/api/v1/messages/{message_id}/revoke"): "send",
    ("delete", "/api/v1/messages/{message_id}/revoke-schedule"): "send",
    ("post", "/api/v1/messages/{message_id}/answer"): "send",
    ("patch", "/api/v1/messages/{message_id}/recipients/{recipient_id}"): "send",
    ("get", "/api/v1/conversations/{conversation_id}"): "read",
    ("get", "/api/v1/dlp/rules"): "admin",
    ("post", "/api/v1/dlp/rules"): "admin",
    ("post", "/api/v1/dlp/rules/adopt-defaults"): "admin",
    ("put", "/api/v1/dlp/rules/{rule_id}"): "admin",
    ("delete", "/api/v1/dlp/rules/{rule_id}"): "admin",
    ("get", "/api/v1/dlp/patterns"): "admin",
    ("post", "/api/v1/dlp/patterns"): "admin",
    ("put", "/api/v1/dlp/patterns/{pattern_id}"): "admin",
    ("delete", "/api/v1/dlp/patterns/{pattern_id}"): "admin",
    ("post", "/api/v1/dlp/patterns/test"): "admin",
    ("get", "/api/v1/dlp/terms"): "admin",
    ("post", "/api/v1/dlp/terms"): "admin",
    ("delete", "/api/v1/dlp/terms/{term_id}"): "admin",
    ("get", "/api/v1/contacts"): "admin",
    ("get", "/api/v1/contacts/{external_id}"): "admin",
    ("put", "/api/v1/contacts/{external_id}"): "admin",
    ("delete", "/api/v1/contacts/{external_id}"): "admin",
    ("get", "/api/v1/organisation"): "admin",
    ("patch", "/api/v1/organisation"): "admin",
}


def _call(client: Client, method: str, path: str) -> int:
    url = (path.replace("{message_id}", UUID).replace("{conversation_id}", UUID)
           .replace("{rule_id}", "1").replace("{recipient_id}", "1")
           .replace("{pattern_id}", "1").replace("{term_id}", "1")
           .replace("{external_id}", "P-1"))
    if method == "get":
        response = client.get(url)
    else:
        response = getattr(client, method)(url, "{}", content_type="application/json")
    if response.status_code in (401, 403):
        assert response["Content-Type"] == "application/problem+json"
    return int(response.status_code)


def _client(user: User, *scopes: str) -> Client:
    _token, secret = ApiToken.issue(user, scopes=scopes)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_every_operation_is_in_the_table_and_documents_its_403(db: None) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    operations = {(method, path) for path, ops in document["paths"].items() for method in ops}
    assert operations == set(NEEDS)
    for ops in document["paths"].values():
        for operation in ops.values():
            answer = operation["responses"]["403"]
            assert "scope" in answer["description"]
            assert "application/problem+json" in answer["content"]


@pytest.mark.parametrize(("method", "path"), sorted(NEEDS))
@pytest.mark.parametrize("scope", ["send", "read", "admin"])
def test_each_endpoint_needs_its_scope(sender: User, method: str, path: str,
                                       scope: str) -> None:
    sender.role = "admin"
    sender.save()
    status = _call(_client(sender, scope), method, path)
    if NEEDS[(method, path)] == scope:
        assert status not in (401, 403), status
    else:
        assert status == 403


def test_the_admin_scope_needs_an_admin_user_too(sender: User) -> None:
    # Written past the action, which refuses it: the check at the door refuses it as well.
    assert _call(_client(sender, "admin"), "get", "/api/v1/dlp/rules") == 403
    sender.role = "admin"
    sender.save()
    assert _call(_client(sender, "send", "read"), "get", "/api/v1/dlp/rules") == 403
    assert _call(_client(sender, "admin"), "get", "/api/v1/dlp/rules") == 200


def test_a_scope_refusal_comes_before_the_body_is_read(sender: User) -> None:
    reader = _client(sender, "read")
    response = reader.post("/api/v1/messages", "{not json", content_type="application/json")
    assert response.status_code == 403
    assert "'send' scope" in response.json()["detail"]


def test_an_expired_token_gets_401(sender: User) -> None:
    path = f"/api/v1/messages/{send(sender).pk}"
    later = timezone.now() + timedelta(hours=1)
    _token, secret = ApiToken.issue(sender, expires_at=later)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(path).status_code == 200
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.get(path)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_an_expiry_set_by_a_direct_database_edit_counts_too(sender: User) -> None:
    path = f"/api/v1/messages/{send(sender).pk}"
    _token, secret = ApiToken.issue(sender)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE orgs_apitoken SET expires_at = CURRENT_TIMESTAMP")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(path).status_code == 401
