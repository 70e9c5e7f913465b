"""Sending a notification again, also to unblock a locked-out recipient."""

from __future__ import annotations

from django.test import Client
from django.utils import timezone

from tests.conftest import deliver_and_get_link, send
from zegel.audit.models import AuditEvent
from zegel.messaging.models import Recipient
from zegel.orgs.models import User


def test_resend_gives_a_new_working_link(sender: User, sender_client: Client) -> None:
    message = send(sender)
    first = deliver_and_get_link()
    recipient = Recipient.objects.get()
    response = sender_client.post(f"/c/{message.conversation_id}/recipients/{recipient.pk}/resend")
    assert response.status_code == 302
    second = deliver_and_get_link()
    assert second != first
    assert Client().get(f"/m/{second}").status_code == 200
    assert AuditEvent.objects.filter(action="notification.resent").count() == 1


def test_resend_unblocks_a_locked_recipient(sender: User, sender_client: Client) -> None:
    message = send(sender)
    deliver_and_get_link()
    Recipient.objects.update(locked_at=timezone.now(), failed_attempts=20)
    recipient = Recipient.objects.get()
    sender_client.post(f"/c/{message.conversation_id}/recipients/{recipient.pk}/resend")
    recipient.refresh_from_db()
    assert recipient.locked_at is None and recipient.failed_attempts == 0
    token = deliver_and_get_link()
    assert Client().get(f"/m/{token}").status_code == 200


def test_no_resend_after_revoke_or_by_others(sender: User, sender_client: Client,
                                             outsider: User) -> None:
    message = send(sender)
    recipient = Recipient.objects.get()
    other = Client()
    other.force_login(outsider)
    url = f"/c/{message.conversation_id}/recipients/{recipient.pk}/resend"
    assert other.post(url).status_code == 404
    Recipient.objects.update(revoked_at=timezone.now())
    sender_client.post(url)
    assert not AuditEvent.objects.filter(action="notification.resent").exists()


def test_resend_kills_the_old_links(sender: User, sender_client: Client) -> None:
    message = send(sender)
    old = deliver_and_get_link()
    Recipient.objects.update(locked_at=timezone.now(), failed_attempts=50,
                             last_failed_at=timezone.now())
    recipient = Recipient.objects.get()
    sender_client.post(f"/c/{message.conversation_id}/recipients/{recipient.pk}/resend")
    new = deliver_and_get_link()
    unknown = Client().get("/m/" + "A" * 43)
    dead = Client().get(f"/m/{old}")
    # The old link answers exactly like a link that never existed.
    assert dead.status_code == unknown.status_code == 404
    assert [t.name for t in dead.templates] == [t.name for t in unknown.templates]
    assert Client().get(f"/m/{new}").status_code == 200
    recipient.refresh_from_db()
    assert recipient.last_failed_at is None and recipient.failed_attempts == 0
    assert recipient.links.count() == 1
    event = AuditEvent.objects.get(action="notification.resent")
    assert event.data["links_killed"] == 1 and event.data["unlocked"] is True


def test_only_the_creating_sender_can_unblock(sender: User, teammate: User) -> None:
    import pytest

    from zegel.messaging import actions

    message = send(sender)
    deliver_and_get_link()
    Recipient.objects.update(locked_at=timezone.now(), failed_attempts=20)
    recipient = Recipient.objects.get()
    colleague = Client()
    colleague.force_login(teammate)
    url = f"/c/{message.conversation_id}/recipients/{recipient.pk}/resend"
    assert colleague.post(url).status_code == 404
    with pytest.raises(actions.ActionError) as refused:
        actions.resend_notification(sender=teammate, recipient=recipient)
    assert refused.value.status == 404
    recipient.refresh_from_db()
    assert recipient.locked_at is not None and recipient.failed_attempts == 20
    assert not AuditEvent.objects.filter(action="notification.resent").exists()


def test_a_waiting_notification_with_a_dead_link_is_not_sent(sender: User,
                                                             sender_client: Client) -> None:
    from zegel.notify.models import CapturedMessage, OutboxItem
    from zegel.notify.outbox import deliver_due

    message = send(sender)  # its notification is still waiting in the outbox
    waiting = OutboxItem.objects.get(purpose="notification")
    recipient = Recipient.objects.get()
    sender_client.post(f"/c/{message.conversation_id}/recipients/{recipient.pk}/resend")
    waiting.refresh_from_db()
    assert waiting.state == OutboxItem.State.CANCELLED and bytes(waiting.payload_ct) == b""
    deliver_due()
    # Only the new notification reaches the recipient, and its link works.
    assert CapturedMessage.objects.filter(to__contains="piet@example.nl").count() == 1
    link = deliver_and_get_link()
    assert Client().get(f"/m/{link}").status_code == 200
    assert AuditEvent.objects.filter(action="email.cancelled").count() == 1
