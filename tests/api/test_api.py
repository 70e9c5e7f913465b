"""The REST API: tokens, streamed uploads, sending, status, problem responses."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import deliver_and_get_link, latest_sms_code
from zegel.messaging.models import Attachment
from zegel.orgs.models import ApiToken, User


@pytest.fixture
def api(sender: User) -> Client:
    _token, secret = ApiToken.issue(sender)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _message(api: Client, **overrides: Any) -> Any:
    payload = {"subject": "Brief", "body": "Zie bijlage.",
               "recipients": [{"email": "piet@example.nl", "verification": "sms",
                               "phone": "06 12345678"}]}
    payload.update(overrides)
    return api.post("/api/v1/messages", json.dumps(payload), content_type="application/json")


def test_the_whole_send_side_works_through_the_api(api: Client) -> None:
    data = b"%PDF-1.4 api upload " * 1000
    response = api.post("/api/v1/attachments",
                        {"file": SimpleUploadedFile("brief.pdf", data)})
    assert response.status_code == 201, response.content
    uploaded = response.json()
    assert uploaded["sha256"] == hashlib.sha256(data).hexdigest()
    assert uploaded["size"] == len(data) and uploaded["name"] == "brief.pdf"
    assert uploaded["content_type"] == "application/pdf"
    response = _message(api, attachments=[uploaded["id"]])
    assert response.status_code == 201, response.content
    sent = response.json()
    assert sent["recipients"][0]["status"] == "queued"
    token = deliver_and_get_link()
    status = api.get(f"/api/v1/messages/{sent['id']}").json()
    assert status["recipients"][0]["status"] == "notified"
    # The sender still gets the hash and type back, from the sealed metadata.
    assert status["attachments"] == [{key: uploaded[key] for key in
                                      ("id", "name", "size", "sha256", "content_type")}]
    guest = Client()
    guest.post(f"/m/{token}/code")
    guest.post(f"/m/{token}/verify", {"code": latest_sms_code()})
    page = guest.get(f"/m/{token}")
    assert b"brief.pdf" in page.content
    attachment = Attachment.objects.get()
    download = guest.get(f"/m/{token}/a/{attachment.pk}")
    assert b"".join(download.streaming_content) == data  # type: ignore[attr-defined]
    kinds = [e["kind"] for e in api.get(f"/api/v1/messages/{sent['id']}").json()
             ["recipients"][0]["events"]]
    assert kinds == ["notified", "verified", "opened", "downloaded"]


def test_it_refuses_a_missing_or_wrong_token(db: None) -> None:
    response = Client().post("/api/v1/messages", "{}", content_type="application/json")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    wrong = Client(HTTP_AUTHORIZATION="Bearer zgl_nonsense")
    assert wrong.get("/api/v1/messages/00000000-0000-0000-0000-000000000000").status_code == 401


@pytest.mark.parametrize(("overrides", "status", "field"), [
    ({"recipients": []}, 400, "recipients"),
    ({"recipients": [{"email": "not-an-address", "verification": "email"}]}, 400, "0.email"),
    ({"recipients": [{"email": "a@example.nl", "verification": "sms", "phone": "12"}]}, 400,
     "0.phone"),
    ({"recipients": [{"email": "a@example.nl", "verification": "access_code",
                      "access_code": "123"}]}, 400, "0.access_code"),
    # Only an address, no method: held, not refused (tests/api/test_held_recipients.py).
    ({"attachments": ["00000000-0000-0000-0000-000000000000"]}, 404, "attachments"),
])
def test_it_answers_bad_messages_with_problems(api: Client, overrides: dict[str, Any],
                                               status: int, field: str) -> None:
    response = _message(api, **overrides)
    assert response.status_code == status
    problem = response.json()
    assert problem["status"] == status and problem["detail"]
    assert problem.get("field") == field


def test_it_answers_broken_json_with_a_problem(api: Client) -> None:
    response = api.post("/api/v1/messages", "{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.json()["detail"]


def test_one_org_cannot_read_anothers_message(api: Client, outsider: User) -> None:
    sent = _message(api).json()
    _t, secret = ApiToken.issue(outsider)
    other = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert other.get(f"/api/v1/messages/{sent['id']}").status_code == 404


def test_one_user_cannot_use_anothers_upload(api: Client, teammate: User) -> None:
    uploaded = api.post("/api/v1/attachments",
                        {"file": SimpleUploadedFile("a.txt", b"abc")}).json()
    _t, secret = ApiToken.issue(teammate)
    other = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    payload = {"subject": "x", "body": "y", "attachments": [uploaded["id"]],
               "recipients": [{"email": "a@example.nl", "verification": "email"}]}
    response = other.post("/api/v1/messages", json.dumps(payload),
                          content_type="application/json")
    assert response.status_code == 404


def test_upload_above_the_limit_is_a_413_problem(api: Client, settings: Any) -> None:
    settings.MAX_UPLOAD_SIZE = 100
    response = api.post("/api/v1/attachments", {"file": SimpleUploadedFile("a.bin", b"x" * 500)})
    assert response.status_code == 413
    assert not Attachment.objects.exists()


def test_openapi_document_is_served(db: None) -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/messages" in paths and "/api/v1/attachments" in paths


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/api/v1/nothing-here", 404),
    ("delete", "/api/v1/messages", 405),
])
def test_every_api_error_is_a_problem_object(api: Client, method: str, path: str,
                                             status: int) -> None:
    response = getattr(api, method)(path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == status
