"""Expiry: after the end date the recipients' links stop working and the content stays for the
sender; the retention period destroys it (docs/lifecycle.md)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_attachments import make_attachment
from zegel.audit.models import AuditEvent
from zegel.jobs.worker import run_worker
from zegel.keystore.models import DataKey
from zegel.messaging import actions
from zegel.messaging.models import Conversation
from zegel.orgs.models import ApiToken, User


def _compose(client: Client, **extra: str) -> Any:
    return client.post("/compose", {"rows": "1", "r-0-email": "piet@example.nl",
                                     "r-0-phone": "0612345678", "subject": "Uitslag",
                                     "body": "Hierbij", **extra})


def test_compose_sets_the_end_date(sender_client: Client) -> None:
    assert _compose(sender_client, expires_in="7").status_code == 302
    expires = Conversation.objects.get().expires_at
    assert expires is not None
    assert timedelta(days=6, hours=23) < expires - timezone.now() <= timedelta(days=7)


def test_compose_refuses_an_unknown_period(sender_client: Client) -> None:
    response = _compose(sender_client, expires_in="-5")
    assert response.status_code == 400
    assert not Conversation.objects.exists()


def test_an_expired_link_says_until_when_it_was_available(sender: User) -> None:
    send(sender)
    token = deliver_and_get_link()
    assert Client().get(f"/m/{token}").status_code == 200
    Conversation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    # Gone, and the page says so (only to someone who holds the whole, valid link).
    response = Client().get(f"/m/{token}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410
    assert b"This message was available until" in response.content


def test_the_end_date_ends_access_and_keeps_the_content(sender: User,
                                                        sender_client: Client) -> None:
    message = send(sender)
    send(sender, subject="Blijft")
    Conversation.objects.filter(pk=message.conversation_id).update(
        expires_at=timezone.now() - timedelta(minutes=1))
    assert actions.apply_due().expired == 1
    assert DataKey.objects.get(pk=message.key_id).shredded_at is None
    assert AuditEvent.objects.filter(action="conversation.expired").count() == 1
    assert actions.apply_due().expired == 0  # recorded once
    page = sender_client.get(f"/c/{message.conversation_id}").content.decode()
    assert 'data-closed="expired"' in page and "hierbij de uitslag" in page
    # Nothing can reopen it or reach the recipients any more.
    with pytest.raises(actions.ActionError):
        actions.set_expiry(sender=sender, conversation=message.conversation,
                           expires_at=timezone.now() + timedelta(days=3))
    with pytest.raises(actions.ActionError):
        actions.answer_conversation(sender=sender, conversation=message.conversation,
                                    body="Nog iets")


def test_sender_changes_the_end_date(sender: User, sender_client: Client) -> None:
    message = send(sender)
    url = f"/c/{message.conversation_id}/expiry"
    future = (timezone.localdate() + timedelta(days=10)).isoformat()
    sender_client.post(url, {"expires_on": future})
    convo = Conversation.objects.get()
    assert convo.expires_at is not None
    assert timezone.localtime(convo.expires_at).date().isoformat() == future
    sender_client.post(url, {"expires_on": "2001-01-01"})  # the past is refused
    sender_client.post(url, {"expires_on": "not a date"})
    convo.refresh_from_db()
    assert timezone.localtime(convo.expires_at).date().isoformat() == future
    sender_client.post(url, {"expires_on": ""})
    convo.refresh_from_db()
    assert convo.expires_at is None


def test_api_takes_and_shows_the_end_date(sender: User) -> None:
    _t, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    when = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    sent = api.post("/api/v1/messages", json.dumps({
        "subject": "x", "body": "y", "expires_at": when.isoformat(),
        "recipients": [{"email": "a@example.nl", "verification": "email"}]}),
        content_type="application/json")
    assert sent.status_code == 201
    assert sent.json()["expires_at"] is not None
    past = api.post("/api/v1/messages", json.dumps({
        "subject": "x", "body": "y", "expires_at": "2001-01-01T00:00:00Z",
        "recipients": [{"email": "a@example.nl", "verification": "email"}]}),
        content_type="application/json")
    assert past.status_code == 400 and past.json()["field"] == "expires_at"


def _end_by_revoke(sender: User, conversation: Conversation) -> None:
    actions.revoke_conversation(sender=sender, conversation=conversation)


def _end_by_retention(sender: User, conversation: Conversation) -> None:
    sender.organisation.retention_days = 30
    sender.organisation.save(update_fields=["retention_days"])
    Conversation.objects.filter(pk=conversation.pk).update(
        last_activity_at=timezone.now() - timedelta(days=30, minutes=1))
    assert actions.apply_due().retention == 1


@pytest.mark.parametrize("end", [_end_by_revoke, _end_by_retention])
def test_retention_destroys_keys_and_files_as_a_revoke_does(
        end: Any, sender: User, sender_client: Client, settings: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    attachment = make_attachment(sender, b"dossier bytes")
    message = send(sender, attachments=[attachment])
    token = deliver_and_get_link()
    guest = Client()
    guest.post(f"/m/{token}/code")
    assert guest.post(f"/m/{token}/verify", {"code": latest_sms_code()}).status_code == 302
    assert list(Path(settings.BLOB_DIR).rglob(f"*{attachment.blob_id}*"))
    with django_capture_on_commit_callbacks(execute=True):
        end(sender, message.conversation)
    for key in DataKey.objects.filter(pk__in=[message.key_id, attachment.key_id]):
        assert bytes(key.wrapped) == b"" and key.shredded_at is not None
    assert [p for p in Path(settings.BLOB_DIR).rglob("*") if p.is_file()] == []
    assert guest.get(f"/m/{token}").status_code == 410  # "no longer available", not the thread
    assert guest.get(f"/m/{token}/a/{attachment.pk}").status_code == 410
    assert Client().get(f"/m/{token}").status_code == 410
    assert sender_client.get(f"/c/{message.conversation_id}/a/{attachment.pk}").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_the_worker_loop_expires_conversations(sender: User) -> None:
    message = send(sender)
    Conversation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    stop = threading.Event()

    def work() -> None:
        try:
            run_worker(stop, poll_seconds=0.05)
        finally:
            connection.close()  # or PostgreSQL cannot drop the test database afterwards

    worker = threading.Thread(target=work)
    worker.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if AuditEvent.objects.filter(action="conversation.expired").exists():
                break
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert AuditEvent.objects.filter(action="conversation.expired",
                                     object_id=str(message.conversation_id)).count() == 1
    assert Conversation.objects.get().closed_at is not None
    assert DataKey.objects.get(pk=message.key_id).shredded_at is None
