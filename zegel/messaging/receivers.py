"""How a notification's delivery ended becomes the recipient's status for the sender."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from zegel.messaging.models import RecipientEvent
from zegel.notify.models import OutboxItem
from zegel.notify.signals import delivery_finished

_KIND = {"sent": RecipientEvent.Kind.NOTIFIED, "bounced": RecipientEvent.Kind.BOUNCED,
         "failed": RecipientEvent.Kind.FAILED}


@receiver(delivery_finished)
def record_notification_status(sender: Any, item: OutboxItem, outcome: str, detail: str = "",
                               **kwargs: Any) -> None:
    if item.recipient_id is None or item.purpose != "notification":
        return
    RecipientEvent.objects.create(recipient_id=item.recipient_id, message_id=item.message_id,
                                  kind=_KIND[outcome], detail=detail)
