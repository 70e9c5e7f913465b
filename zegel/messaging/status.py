"""What the sender sees of each recipient: the events so far and whether a notification is
still waiting in the outbox. Read for the conversation page and its live status (JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import dateformat, timezone
from django.utils.translation import gettext as _

from zegel.messaging.models import Conversation, HeldReason, Message, Recipient, RecipientEvent
from zegel.notify.models import OutboxItem

QUEUED = "queued"
HELD = RecipientEvent.Kind.HELD.value
_WAITING_STATES = (OutboxItem.State.PENDING, OutboxItem.State.SENDING)


@dataclass
class RecipientStatus:
    recipient: Recipient
    events: list[RecipientEvent] = field(default_factory=list)
    # A notification for this recipient is in the outbox and not yet delivered.
    waiting: bool = False

    @property
    def status(self) -> str:
        """"held" while the recipient is held; otherwise the newest thing that happened, or
        "queued" while a notification waits."""
        if self.recipient.held_reason:
            return HELD
        if self.waiting or not self.events:
            return QUEUED
        return self.events[-1].kind

    @property
    def held_text(self) -> str:
        return held_text(self.recipient)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.recipient.pk,
            "label": self.recipient.label,
            "status": self.status,
            "status_text": status_text(self.status),
            "held_reason": self.recipient.held_reason or None,
            "held_text": self.held_text or None,
            "waiting": self.waiting,
            "events": [{"kind": e.kind, "text": str(e.get_kind_display()),
                        "at": e.at.isoformat(), "at_text": event_time(e),
                        "detail": e.detail}
                       for e in self.events],
        }


def status_text(kind: str) -> str:
    if kind == QUEUED:
        return _("waiting to be sent")
    return str(RecipientEvent.Kind(kind).label)


def held_text(recipient: Recipient) -> str:
    """What the sender must add to release a held recipient, in words; "" if it is not."""
    who = recipient.email
    reason = recipient.held_reason
    if reason == HeldReason.PHONE_MISSING:
        return _("Not sent to %(who)s yet: add a mobile number for the SMS code.") % {"who": who}
    if reason == HeldReason.ACCESS_CODE_MISSING:
        return _("Not sent to %(who)s yet: add the access code agreed with them.") % {"who": who}
    if reason == HeldReason.METHOD_NOT_ALLOWED:
        return _("Not sent to %(who)s yet: your organisation does not allow the e-mail code. "
                 "Add a mobile number or an access code.") % {"who": who}
    if reason:
        return _("Not sent to %(who)s yet: choose how they verify, with a mobile number or an "
                 "access code.") % {"who": who}
    return ""


def event_time(event: RecipientEvent) -> str:
    """As the conversation page writes it (its `j M H:i`), in the active language."""
    return dateformat.format(timezone.localtime(event.at), "j M H:i")


def recipient_statuses(conversation: Conversation) -> list[RecipientStatus]:
    """Every recipient of the conversation with its events, oldest first: three queries."""
    rows = {r.pk: RecipientStatus(r) for r in conversation.recipients.all()}
    for event in RecipientEvent.objects.filter(recipient__conversation=conversation) \
            .order_by("at", "id"):
        rows[event.recipient_id].events.append(event)
    waiting = (OutboxItem.objects.filter(recipient__conversation=conversation,
                                         purpose="notification", state__in=_WAITING_STATES)
               .values_list("recipient_id", flat=True))
    for recipient_id in waiting:
        if recipient_id in rows:
            rows[recipient_id].waiting = True
    return list(rows.values())


def notified_recipients(message: Message) -> list[Recipient]:
    """The recipients a notification of this message went (or goes) to: whoever the send or
    the answer chose, read from the outbox rows it wrote."""
    ids = (OutboxItem.objects.filter(message=message, purpose="notification")
           .values_list("recipient_id", flat=True))
    return list(Recipient.objects.filter(pk__in=ids).order_by("id"))
