"""Two requests at once: the actions lock and re-read what they change, so parallel requests
give the same result as the same requests one after another.

Each test runs its requests in threads, every thread with its own database connection, against
the real database (SQLite here, PostgreSQL in `make test`), started together at a barrier.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from tests.conftest import deliver_and_get_link, send
from tests.messaging.test_attachments import make_attachment
from zegel.audit.models import AuditEvent
from zegel.files.blobs import FileBlobStore, blob_store
from zegel.keystore.models import DataKey
from zegel.messaging import actions, content
from zegel.messaging.models import Attachment, Message, Recipient, RecipientEvent, VerificationCode
from zegel.notify.models import OutboxItem
from zegel.orgs.models import User

pytestmark = pytest.mark.django_db(transaction=True)

ACCESS_CODE = "geheim-123"


def run_together(calls: list[Callable[[], Any]], *, timeout: float = 120) -> list[Any]:
    """Run the calls in parallel threads released at once; each result or raised exception
    in the calls' order. Every thread closes its own database connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        except BaseException as exc:  # handed to the test to assert on
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), "a request did not finish"
    return results


def _no_errors(results: list[Any]) -> None:
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors


def _access_code_message(sender: User) -> tuple[Message, str]:
    message = send(sender, recipients=[actions.RecipientSpec(
        email="piet@example.nl", name="Piet", method="access_code", access_code=ACCESS_CODE)])
    return message, deliver_and_get_link()


def _verified(token: str) -> Client:
    client = Client()
    assert client.post(f"/m/{token}/verify", {"code": ACCESS_CODE}).status_code == 302
    return client


def _same_session(client: Client) -> Client:
    twin = Client()
    for name, morsel in client.cookies.items():
        twin.cookies[name] = morsel.value
    return twin


def test_twenty_parallel_wrong_codes_count_twenty_and_lock_once(sender: User,
                                                               settings: Any) -> None:
    # The throttle off, to race the count and the lock themselves (tests/portal/test_throttle.py
    # races the throttle).
    settings.GUEST_THROTTLE_AFTER = 1000
    settings.RECIPIENT_MAX_FAILURES = 20
    _message, token = _access_code_message(sender)

    def wrong() -> int:
        return Client().post(f"/m/{token}/verify", {"code": "niet-goed"}).status_code

    results = run_together([wrong] * 20)
    _no_errors(results)
    assert set(results) <= {400, 403}
    recipient = Recipient.objects.get()
    assert recipient.failed_attempts == 20
    assert recipient.locked_at is not None
    assert AuditEvent.objects.filter(action="verify.failed").count() == 20
    assert RecipientEvent.objects.filter(kind="locked").count() == 1
    assert AuditEvent.objects.filter(action="recipient.locked").count() == 1
    assert OutboxItem.objects.filter(purpose="locked_notice").count() == 1


def test_a_code_requested_while_the_recipient_is_locked_out_is_never_sent(
        sender: User, settings: Any) -> None:
    settings.RECIPIENT_MAX_FAILURES = 5
    settings.GUEST_THROTTLE_AFTER = 1000
    send(sender)
    token = deliver_and_get_link()
    # One session that was sent a code: only wrong guesses at an issued code count.
    guest = Client()
    guest.post(f"/m/{token}/code")

    def wrong() -> int:
        return _same_session(guest).post(f"/m/{token}/verify", {"code": "000000"}).status_code

    def ask() -> int:
        return _same_session(guest).post(f"/m/{token}/code").status_code

    _no_errors(run_together([wrong, ask] * 5))
    recipient = Recipient.objects.get()
    assert recipient.locked_at is not None
    # The lock-out ends every code; a request that came after it must not have made one.
    assert not VerificationCode.objects.filter(used_at__isnull=True).exists()
    assert not VerificationCode.objects.filter(created_at__gt=recipient.locked_at).exists()
    assert (OutboxItem.objects.filter(purpose="code").count()
            == VerificationCode.objects.count())


def test_a_reply_racing_a_revoke_is_never_stored_after_the_keys_are_gone(
        sender: User, sender_client: Client) -> None:
    for _round in range(4):
        message, token = _access_code_message(sender)
        guests = [_verified(token) for _ in range(3)]

        def reply(guest: Client, token: str = token) -> int:
            return guest.post(f"/m/{token}/reply", {"body": "Dank u."}).status_code

        def revoke(conversation_id: Any = message.conversation_id) -> int:
            return sender_client.post(f"/c/{conversation_id}/revoke",
                                      {"confirm": "yes"}).status_code

        results = run_together([revoke, *[lambda g=g: reply(g) for g in guests]])
        _no_errors(results)
        assert results[0] == 302
        assert set(results[1:]) <= {302, 404, 410}
        replies = Message.objects.filter(conversation_id=message.conversation_id,
                                         author_recipient__isnull=False)
        assert replies.count() == results[1:].count(302)
        # Every message in the conversation, the replies that made it included, is shredded.
        keys = DataKey.objects.filter(pk__in=Message.objects.filter(
            conversation_id=message.conversation_id).values("key_id"))
        assert keys.count() == 1 + replies.count()
        assert all(k.shredded_at is not None for k in keys)


def test_a_verify_racing_a_revoke_never_lets_the_recipient_in_after_it(sender: User) -> None:
    _message, token = _access_code_message(sender)
    recipient = Recipient.objects.get()

    def verify() -> int:
        return Client().post(f"/m/{token}/verify", {"code": ACCESS_CODE}).status_code

    def revoke() -> None:
        actions.revoke_recipient(sender=sender, recipient=recipient)

    results = run_together([*[verify] * 8, revoke])
    _no_errors(results)
    assert set(results[:-1]) <= {302, 404, 410}
    revoked = RecipientEvent.objects.get(kind="revoked")
    # Events are written under the recipient's lock, so their ids are the order of events.
    assert not RecipientEvent.objects.filter(kind="verified", pk__gt=revoked.pk).exists()
    assert (RecipientEvent.objects.filter(kind="verified").count()
            == results.count(302))


def test_the_sweep_racing_a_send_never_leaves_a_message_without_its_file(
        sender: User, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {f"brief-{i}.txt": f"Inhoud van brief {i}.".encode() for i in range(6)}
    drafts = [make_attachment(sender, data, name) for name, data in files.items()]
    Attachment.objects.update(created_at=timezone.now() - timedelta(days=2))
    slow_delete = FileBlobStore.delete

    def delete(store: FileBlobStore, blob_id: str) -> None:
        threading.Event().wait(0.05)  # a slow blob store widens the window for the race
        slow_delete(store, blob_id)

    monkeypatch.setattr(FileBlobStore, "delete", delete)

    def send_all() -> list[Message | actions.ActionError]:
        sent: list[Message | actions.ActionError] = []
        for draft in reversed(drafts):  # the sweep reaches the newest last
            try:
                sent.append(send(sender, attachments=[draft]))
            except actions.ActionError as exc:
                sent.append(exc)
        return sent

    swept, outcomes = run_together([actions.discard_draft_attachments, send_all])
    _no_errors([swept, outcomes])
    messages = [m for m in outcomes if isinstance(m, Message)]
    refused = [m for m in outcomes if not isinstance(m, Message)]
    assert all(isinstance(e, actions.NotFound) for e in refused), refused
    for message in messages:
        attachment = Attachment.objects.get(message=message)
        assert blob_store().exists(attachment.blob_id)
        name = content.attachment_name(attachment)
        assert b"".join(content.iter_attachment(attachment)) == files[name]
    assert swept == len(drafts) - len(messages)
    assert Attachment.objects.count() == len(messages)


def test_two_page_loads_at_once_count_one_opening(sender: User) -> None:
    message, token = _access_code_message(sender)
    guest = _verified(token)
    for round_ in range(2):
        if round_:
            message = actions.answer_conversation(sender=sender,
                                                  conversation=message.conversation,
                                                  body="Nog een vraag.")
        twins = [_same_session(guest) for _ in range(4)]
        results = run_together([lambda t=t: t.get(f"/m/{token}").status_code for t in twins])
        _no_errors(results)
        assert results == [200] * 4
        assert RecipientEvent.objects.filter(kind="opened", message=message).count() == 1
        assert AuditEvent.objects.filter(action="message.viewed",
                                         object_id=str(message.pk)).count() == 1
