"""How a notification's delivery ended becomes the recipient's status for the sender; and
mail for a revoked recipient or a revoked or expired conversation is not sent at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from zegel.audit.models import AuditEvent
from zegel.messaging.events import link_audit
from zegel.messaging.models import Conversation, Message, Recipient, RecipientEvent
from zegel.notify.models import OutboxItem
from zegel.notify.signals import delivery_check, delivery_finished

_KIND = {"sent": RecipientEvent.Kind.NOTIFIED, "bounced": RecipientEvent.Kind.BOUNCED,
         "failed": RecipientEvent.Kind.FAILED}


@receiver(delivery_finished)
def record_notification_status(sender: Any, item: OutboxItem, outcome: str, detail: str = "",
                               **kwargs: Any) -> Callable[[AuditEvent], None] | None:
    """The recipient's event; returns what links it to the outcome's audit entry."""
    if item.recipient_id is None or item.purpose != "notification":
        return None
    event = RecipientEvent.objects.create(recipient_id=item.recipient_id,
                                          message_id=item.message_id,
                                          kind=_KIND[outcome], detail=detail)
    if outcome != "sent":
        from zegel.messaging.actions.guest_auth import tell_sender

        recipient = Recipient.objects.select_related(
            "conversation__organisation", "conversation__created_by").get(pk=item.recipient_id)
        # No message or recipient on the notice itself: it must reach the sender even when
        # the conversation is revoked meanwhile. One notice per failed notification.
        tell_sender("notification_failed", recipient, purpose="failure_notice",
                    dedupe_key=f"notify-failed:{item.pk}")
    return lambda entry: link_audit([event], entry)


@receiver(delivery_check)
def refuse_revoked_or_expired(sender: Any, item: OutboxItem, **kwargs: Any) -> str:
    """The reason not to send `item` now, read through its links; empty to send it."""
    conversation: Conversation | None = None
    recipient: Recipient | None = None
    if item.recipient_id is not None:
        recipient = (Recipient.objects.select_related("conversation")
                     .filter(pk=item.recipient_id).first())
        conversation = recipient.conversation if recipient is not None else None
    if conversation is None and item.message_id is not None:
        message = (Message.objects.select_related("conversation")
                   .filter(pk=item.message_id).first())
        conversation = message.conversation if message is not None else None
    if conversation is not None and conversation.revoked_at is not None:
        return "conversation revoked"
    if (conversation is not None and conversation.expires_at is not None
            and conversation.expires_at <= timezone.now()):
        return "conversation expired"
    if recipient is not None and recipient.revoked_at is not None:
        return "recipient revoked"
    if recipient is not None and recipient.held_reason:
        return "recipient held"
    return ""
