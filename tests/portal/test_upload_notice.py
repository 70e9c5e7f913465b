"""The upload script (zegel.js) gets a redirect as JSON, so the one-time notice of the page it
goes to is still there when the browser gets there."""

from __future__ import annotations

import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from zegel.orgs.models import User


def _verified(token: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post(f"/m/{token}/code")
    assert client.post(f"/m/{token}/verify", {"code": latest_sms_code()}).status_code == 302
    return client


def test_an_upload_script_gets_the_redirect_as_json_and_the_notice_stays(sender: User) -> None:
    send(sender)
    token = deliver_and_get_link()
    client = _verified(token)
    upload = SimpleUploadedFile("a.pdf", b"%PDF-1.4", content_type="application/pdf")
    answer = client.post(f"/m/{token}/reply", {"body": "Hier", "attachments": upload},
                         headers={"X-Zegel-Upload": "1"})
    assert answer.status_code == 200
    assert json.loads(answer.content) == {"redirect": f"/m/{token}"}
    assert b"Your reply was sent securely" in client.get(f"/m/{token}").content
    page = client.get(f"/m/{token}").content
    assert b"PDF document, 8" in page


def test_without_the_header_a_redirect_stays_a_redirect(sender: User, settings: Any) -> None:
    send(sender)
    token = deliver_and_get_link()
    client = _verified(token)
    answer = client.post(f"/m/{token}/reply", {"body": "Hier"})
    assert answer.status_code == 302 and answer["Location"] == f"/m/{token}"
    # An error page stays a page, header or not.
    refused = client.post(f"/m/{token}/reply", {"body": " "}, headers={"X-Zegel-Upload": "1"})
    assert refused.status_code == 400 and b"<html" in refused.content
