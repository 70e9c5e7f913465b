"""A HEAD request on a download (link checkers, mail scanners) is not a download: it is not
recorded, and it answers the headers without opening a key."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_attachments import make_attachment
from zegel.audit.models import AuditEvent
from zegel.messaging import content
from zegel.messaging.models import Attachment, Message, RecipientEvent
from zegel.orgs.models import User

DATA = b"%PDF-1.4 uitslag " * 500


@pytest.fixture
def message(sender: User) -> Message:
    return send(sender, attachments=[make_attachment(sender, DATA)])


def _guest(token: str) -> Client:
    client = Client()
    client.post(f"/m/{token}/code")
    assert client.post(f"/m/{token}/verify", {"code": latest_sms_code()}).status_code == 302
    return client


def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> Any:
        raise AssertionError("HEAD opened a key")

    monkeypatch.setattr(content, "iter_attachment", refuse)
    monkeypatch.setattr(content, "attachment_name", refuse)


def _downloads() -> tuple[int, int]:
    return (RecipientEvent.objects.filter(kind=RecipientEvent.Kind.DOWNLOADED).count(),
            AuditEvent.objects.filter(action="attachment.downloaded").count())


def _assert_headers_only(response: Any) -> None:
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(DATA))
    assert response["Content-Disposition"] == "attachment"
    assert "no-store" in response["Cache-Control"]
    assert response.content == b""


def test_head_in_the_portal_is_not_a_download(message: Message,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    token = deliver_and_get_link()
    guest = _guest(token)
    attachment = Attachment.objects.get(message=message)
    _no_keys(monkeypatch)
    _assert_headers_only(guest.head(f"/m/{token}/a/{attachment.pk}"))
    assert _downloads() == (0, 0)


def test_head_in_the_sender_app_is_not_a_download(message: Message, sender_client: Client,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    attachment = Attachment.objects.get(message=message)
    _no_keys(monkeypatch)
    _assert_headers_only(sender_client.head(
        f"/c/{message.conversation_id}/a/{attachment.pk}"))
    assert _downloads() == (0, 0)


def test_get_still_downloads_and_is_recorded(message: Message, sender_client: Client) -> None:
    token = deliver_and_get_link()
    guest = _guest(token)
    attachment = Attachment.objects.get(message=message)
    response = guest.get(f"/m/{token}/a/{attachment.pk}")
    assert b"".join(response.streaming_content) == DATA
    response = sender_client.get(f"/c/{message.conversation_id}/a/{attachment.pk}")
    assert b"".join(response.streaming_content) == DATA
    assert _downloads() == (1, 2)


def test_head_without_access_finds_nothing(message: Message, teammate: User) -> None:
    attachment = Attachment.objects.get(message=message)
    assert Client().head(f"/m/{deliver_and_get_link()}/a/{attachment.pk}").status_code == 404
    other = Client()
    other.force_login(teammate)
    assert other.head(f"/c/{message.conversation_id}/a/{attachment.pk}").status_code == 404
    assert _downloads() == (0, 0)
