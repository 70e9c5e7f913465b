"""More files in one request than allowed: a clear 413 at every entry point, nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from zegel.messaging.models import Attachment
from zegel.orgs.models import ApiToken, User

# The shipped limit (ZEGEL_MAX_UPLOAD_FILES).
LIMIT = 50


def _files(count: int) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(f"brief-{i}.txt", b"uitslag " * 100) for i in range(count)]


def _stored(settings: Any) -> list[Path]:
    root = Path(settings.BLOB_DIR)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _verified_guest(sender: User) -> tuple[Client, str]:
    send(sender)
    token = deliver_and_get_link()
    client = Client()
    client.post(f"/m/{token}/code")
    assert client.post(f"/m/{token}/verify", {"code": latest_sms_code()}).status_code == 302
    return client, token


def test_compose_with_too_many_files_is_refused(sender_client: Client, settings: Any) -> None:
    response = sender_client.post("/compose", {
        "subject": "Uitslag", "body": "Zie bijlagen.", "r-0-email": "piet@example.nl",
        "r-0-method": "email", "attachments": _files(LIMIT + 1)})
    assert response.status_code == 413
    assert b"50" in response.content
    assert _stored(settings) == [] and not Attachment.objects.exists()


def test_an_answer_with_too_many_files_is_refused(sender: User, sender_client: Client,
                                                  settings: Any) -> None:
    message = send(sender)
    response = sender_client.post(f"/c/{message.conversation_id}", {
        "body": "Nog meer.", "attachments": _files(LIMIT + 1)})
    assert response.status_code == 413
    assert message.attachments.count() == 0
    assert _stored(settings) == [] and not Attachment.objects.exists()


def test_a_guest_reply_with_too_many_files_is_refused(sender: User, settings: Any) -> None:
    guest, token = _verified_guest(sender)
    response = guest.post(f"/m/{token}/reply", {
        "body": "Hierbij.", "attachments": _files(LIMIT + 1)})
    assert response.status_code == 413
    assert _stored(settings) == [] and not Attachment.objects.exists()


def test_an_api_upload_with_too_many_files_is_a_problem(sender: User, settings: Any) -> None:
    _token, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.post("/api/v1/attachments", {"file": _files(LIMIT + 1)})
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert "at most 50 files" in response.json()["detail"]
    assert _stored(settings) == [] and not Attachment.objects.exists()


@pytest.mark.parametrize("count", [1, LIMIT])
def test_up_to_the_limit_the_files_are_taken(sender_client: Client, settings: Any,
                                             count: int) -> None:
    response = sender_client.post("/compose", {
        "subject": "Uitslag", "body": "Zie bijlagen.", "r-0-email": "piet@example.nl",
        "r-0-method": "email", "attachments": _files(count)})
    assert response.status_code == 302
    assert Attachment.objects.count() == count == len(_stored(settings))


def test_the_limit_is_configurable(sender_client: Client, settings: Any) -> None:
    settings.MAX_UPLOAD_FILES = 2
    response = sender_client.post("/compose", {"subject": "x", "attachments": _files(3)})
    assert response.status_code == 413
    assert _stored(settings) == [] and not Attachment.objects.exists()
