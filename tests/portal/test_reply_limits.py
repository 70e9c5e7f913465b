"""What a verified guest may send: replies per conversation per hour, bytes of files per
conversation, and the sender told once per conversation per few minutes, not once per reply."""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_concurrency import _no_errors, _same_session, run_together
from zegel.audit.models import AuditEvent
from zegel.keystore.models import DataKey
from zegel.messaging import actions
from zegel.messaging.models import Attachment, Message, Recipient
from zegel.notify.models import CapturedMessage, OutboxItem
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import User


@pytest.fixture
def token(sender: User) -> str:
    send(sender)
    return deliver_and_get_link()


def _verified(token: str) -> Client:
    client = Client()
    client.post(f"/m/{token}/code")
    assert client.post(f"/m/{token}/verify", {"code": latest_sms_code()}).status_code == 302
    return client


def _reply(client: Client, token: str, body: str = "Dank u.", **files: bytes) -> Any:
    uploads = [SimpleUploadedFile(name, data) for name, data in files.items()]
    return client.post(f"/m/{token}/reply", {"body": body, "attachments": uploads},
                       HTTP_ACCEPT_LANGUAGE="en")


def _blobs(settings: Any) -> list[Path]:
    return [p for p in Path(settings.BLOB_DIR).rglob("*") if p.is_file()]


def _guest_replies() -> int:
    return Message.objects.filter(author_recipient__isnull=False).count()


def test_it_refuses_replies_over_the_hourly_cap_kindly(token: str, settings: Any) -> None:
    settings.GUEST_REPLIES_PER_HOUR = 3
    client = _verified(token)
    for _ in range(3):
        assert _reply(client, token).status_code == 302
    refused = _reply(client, token, "Nog een vraag.", **{"extra.pdf": b"%PDF-1.4 x"})
    assert refused.status_code == 429
    page = html.unescape(refused.content.decode())
    assert "You have sent many replies in a short time" in page
    assert "Nog een vraag." in page  # the text is kept in the form
    dutch = client.post(f"/m/{token}/reply", {"body": "Vraag"}, HTTP_ACCEPT_LANGUAGE="nl")
    assert "U heeft in korte tijd veel antwoorden gestuurd" in html.unescape(
        dutch.content.decode())
    assert _guest_replies() == 3
    assert not Attachment.objects.filter(uploaded_by_recipient__isnull=False).exists()
    assert {e.data["limit"] for e in AuditEvent.objects.filter(action="reply.refused")} == {
        "replies_per_hour"}
    # An hour later there is room again.
    Message.objects.filter(author_recipient__isnull=False).update(
        created_at=timezone.now() - timedelta(hours=1, seconds=1))
    assert _reply(client, token).status_code == 302


@pytest.mark.django_db(transaction=True)  # the blobs are removed after the commit
def test_it_refuses_files_over_the_conversation_limit_and_keeps_nothing(
        token: str, settings: Any) -> None:
    settings.GUEST_UPLOAD_BYTES_PER_CONVERSATION = 1000
    client = _verified(token)
    assert _reply(client, token, **{"a.pdf": b"%PDF" + b"a" * 596}).status_code == 302
    blobs_before = _blobs(settings)
    keys_before = DataKey.objects.count()
    refused = _reply(client, token, "Zie bijlage.", **{"b.pdf": b"%PDF" + b"b" * 500})
    assert refused.status_code == 413
    page = html.unescape(refused.content.decode())
    assert "Your files are too large together" in page and "1000" in page
    assert _guest_replies() == 1
    assert Attachment.objects.count() == 1
    assert sorted(_blobs(settings)) == sorted(blobs_before)  # the refused blob is gone
    assert DataKey.objects.count() == keys_before
    assert AuditEvent.objects.get(action="reply.refused").data == {
        "limit": "upload_bytes", "files_removed": 1}
    assert _reply(client, token, **{"c.pdf": b"%PDF" + b"c" * 396}).status_code == 302


def test_the_upload_limit_counts_the_files_of_every_recipient(sender: User,
                                                              settings: Any) -> None:
    settings.GUEST_UPLOAD_BYTES_PER_CONVERSATION = 1000
    send(sender, recipients=[
        actions.RecipientSpec(email="piet@example.nl", method="sms", phone="06 12345678"),
        actions.RecipientSpec(email="kees@example.nl", method="sms", phone="06 12345679")])
    piet = _verified(deliver_and_get_link("piet@example.nl"))
    piet_token = deliver_and_get_link("piet@example.nl")
    assert _reply(piet, piet_token, **{"a.pdf": b"a" * 800}).status_code == 302
    kees_token = deliver_and_get_link("kees@example.nl")
    kees = Client()
    kees.post(f"/m/{kees_token}/code")
    kees.post(f"/m/{kees_token}/verify", {"code": latest_sms_code("+31612345679")})
    assert _reply(kees, kees_token, **{"b.pdf": b"b" * 300}).status_code == 413


def test_replies_close_together_share_one_notice_and_none_is_lost(
        token: str, sender: User, settings: Any) -> None:
    settings.REPLY_NOTICE_WINDOW_SECONDS = 300
    client = _verified(token)
    notices = OutboxItem.objects.filter(purpose="reply_notice")
    assert _reply(client, token).status_code == 302
    # The first reply is told at once.
    assert notices.count() == 1
    deliver_due()
    assert CapturedMessage.objects.filter(to=sender.email).count() == 1
    for _ in range(4):
        assert _reply(client, token).status_code == 302
    # The later ones share one notice, due when the window ends, not before.
    assert notices.count() == 2
    deferred = notices.order_by("-id").first()
    assert deferred is not None and deferred.state == "pending"
    assert deferred.next_attempt_at > timezone.now() + timedelta(seconds=290)
    deliver_due()
    assert CapturedMessage.objects.filter(to=sender.email).count() == 1
    # After the window it goes out.
    notices.filter(pk=deferred.pk).update(next_attempt_at=timezone.now())
    deliver_due()
    assert CapturedMessage.objects.filter(to=sender.email).count() == 2


def test_a_reply_after_a_quiet_window_is_told_at_once(token: str, settings: Any) -> None:
    settings.REPLY_NOTICE_WINDOW_SECONDS = 300
    client = _verified(token)
    _reply(client, token)
    notices = OutboxItem.objects.filter(purpose="reply_notice")
    notices.update(created_at=timezone.now() - timedelta(minutes=30))
    # The due moment is in the key: move it back as if the reply came half an hour ago.
    for item in list(notices):
        prefix, _stamp = item.dedupe_key.rsplit(":", 1)
        old = (timezone.now() - timedelta(minutes=30)).timestamp()
        notices.filter(pk=item.pk).update(dedupe_key=f"{prefix}:{old:.6f}")
    assert _reply(client, token).status_code == 302
    notices = OutboxItem.objects.filter(purpose="reply_notice")
    newest = notices.order_by("-id").first()
    assert notices.count() == 2 and newest is not None
    assert newest.next_attempt_at <= timezone.now()


@pytest.mark.django_db(transaction=True)
def test_parallel_replies_at_one_below_the_cap_store_exactly_one(token: str,
                                                                 settings: Any) -> None:
    settings.GUEST_REPLIES_PER_HOUR = 3
    client = _verified(token)
    for _ in range(2):
        assert _reply(client, token).status_code == 302
    twins = [_same_session(client) for _ in range(6)]
    results = run_together([lambda c=c: _reply(c, token).status_code for c in twins])
    _no_errors(results)
    assert sorted(results) == [302] + [429] * 5
    assert _guest_replies() == 3
    recipient = Recipient.objects.get()
    assert recipient.replies.count() == 3
