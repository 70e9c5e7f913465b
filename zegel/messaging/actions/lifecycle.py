"""After sending: revoke, end dates, expiry, sending the notification again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.audit.log import record, staff_actor
from zegel.db import retry_on_conflict
from zegel.files.blobs import blob_store
from zegel.keystore.models import DataKey
from zegel.messaging import access
from zegel.messaging.actions.compose import notify_recipient
from zegel.messaging.drafts import expiry_refusal
from zegel.messaging.errors import ActionError, NotFound
from zegel.messaging.events import link_audit
from zegel.messaging.models import (
    Attachment,
    Conversation,
    Message,
    Recipient,
    RecipientEvent,
    RecipientLink,
    VerificationCode,
)
from zegel.messaging.search import forget_subject
from zegel.notify.outbox import cancel_waiting, record_cancelled
from zegel.orgs.models import User


@retry_on_conflict
def revoke_recipient(*, sender: User, recipient: Recipient,
                     request: HttpRequest | None = None) -> None:
    """One recipient's links stop working at once; the others keep theirs."""
    with transaction.atomic(durable=True):
        # Conversation, then recipient: the order every action that takes both locks them in.
        conversation = access.conversation_for_user(sender, recipient.conversation_id,
                                                    for_update=True)
        recipient = access.recipient_for_user(sender, conversation, recipient.pk,
                                              for_update=True)
        if recipient.revoked_at is not None:
            return
        now = timezone.now()
        Recipient.objects.filter(pk=recipient.pk).update(revoked_at=now)
        recipient.revoked_at = now
        recipient.codes.filter(used_at__isnull=True).update(used_at=now)
        event = RecipientEvent.objects.create(recipient=recipient,
                                              kind=RecipientEvent.Kind.REVOKED)
        entry = record("recipient.revoked", organisation=sender.organisation,
                       **staff_actor(sender), object_type="recipient",
                       object_id=recipient.pk, request=request, data={"email": recipient.email})
        link_audit([event], entry)


@retry_on_conflict
def revoke_conversation(*, sender: User, conversation: Conversation,
                        request: HttpRequest | None = None) -> None:
    """Revoke for everyone: every link stops working and the data keys of every message and
    file are destroyed (crypto-shredding), so the content is gone from backups too."""
    with transaction.atomic(durable=True):
        conversation = access.conversation_for_user(sender, conversation.pk, for_update=True)
        _shred_conversation(conversation, action="conversation.revoked", request=request,
                            actor=staff_actor(sender))


@retry_on_conflict
def set_expiry(*, sender: User, conversation: Conversation, expires_at: datetime | None,
               request: HttpRequest | None = None) -> None:
    """Change until when the recipients can open the conversation (None: no end date)."""
    with transaction.atomic(durable=True):
        conversation = access.conversation_for_user(sender, conversation.pk, for_update=True)
        if conversation.revoked_at is not None:
            raise ActionError(_("This conversation was revoked; it cannot be changed."),
                              status=409)
        if expires_at is not None and expires_at <= timezone.now():
            raise ActionError(_("Choose a date in the future."), field="expires_at")
        if (too_long := expiry_refusal(sender.organisation, expires_at)) is not None:
            raise ActionError(too_long, field="expires_at")
        Conversation.objects.filter(pk=conversation.pk).update(expires_at=expires_at)
        record("conversation.expiry_changed", organisation=sender.organisation,
               **staff_actor(sender),
               object_type="conversation", object_id=conversation.pk, request=request,
               data={"expires_at": expires_at.isoformat() if expires_at else None})


def expire_due(limit: int = 100) -> int:
    """Destroy the content of conversations whose expiry date has passed (the worker runs it).
    One transaction per conversation, so one that fails does not hold back the rest."""
    due = list(Conversation.objects.filter(revoked_at__isnull=True, expires_at__lte=timezone.now())
               .order_by("expires_at").values_list("pk", flat=True)[:limit])
    for pk in due:
        _expire(pk)
    return len(due)


@retry_on_conflict
def _expire(pk: Any) -> None:
    with transaction.atomic(durable=True):
        # Re-read under lock: the sender may have revoked it or moved the date meanwhile.
        conversation = (Conversation.objects.select_for_update(of=("self",), no_key=True)
                        .select_related("organisation")
                        .filter(pk=pk, revoked_at__isnull=True,
                                expires_at__lte=timezone.now()).first())
        if conversation is not None:
            _shred_conversation(conversation, action="conversation.expired", request=None,
                                actor={"actor_type": "system"})


def _shred_conversation(conversation: Conversation, *, action: str,
                        request: HttpRequest | None, actor: dict[str, Any]) -> None:
    """Inside a transaction that holds the conversation's row lock."""
    if conversation.revoked_at is not None:
        return
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(revoked_at=now,
                                                           has_unread_reply=False)
    conversation.revoked_at = now
    recipients = list(conversation.recipients.select_for_update(of=("self",), no_key=True)
                      .filter(revoked_at__isnull=True))
    conversation.recipients.filter(revoked_at__isnull=True).update(revoked_at=now)
    VerificationCode.objects.filter(recipient__conversation=conversation,
                                    used_at__isnull=True).update(used_at=now)
    events = [RecipientEvent.objects.create(recipient=recipient,
                                            kind=RecipientEvent.Kind.REVOKED)
              for recipient in recipients]
    attachments = Attachment.objects.filter(message__conversation=conversation)
    blob_ids = list(attachments.values_list("blob_id", flat=True))
    key_ids = set(Message.objects.filter(conversation=conversation)
                  .values_list("key_id", flat=True))
    key_ids |= set(attachments.values_list("key_id", flat=True))
    shredded = DataKey.objects.filter(pk__in=key_ids).update(wrapped=b"", shredded_at=now)
    forget_subject([conversation.pk])
    entry = record(action, organisation=conversation.organisation, object_type="conversation",
                   object_id=conversation.pk, request=request,
                   data={"recipients": len(recipients), "keys_destroyed": shredded,
                         "files": len(blob_ids)}, **actor)
    link_audit(events, entry)

    def delete_blobs() -> None:
        # The keys are gone already; removing the ciphertext too frees the space.
        for blob_id in blob_ids:
            blob_store().delete(blob_id)

    transaction.on_commit(delete_blobs)


@retry_on_conflict
def resend_notification(*, sender: User, recipient: Recipient,
                        request: HttpRequest | None = None) -> None:
    """Send the recipient a fresh notification with a new link, for example after a bounce or
    when they lost the e-mail; the links sent before stop working. A recipient who was locked
    out after wrong codes is let in again: the sender decides that, after speaking to them."""
    with transaction.atomic(durable=True):
        conversation = access.conversation_for_user(sender, recipient.conversation_id,
                                                    for_update=True)
        recipient = access.recipient_for_user(sender, conversation, recipient.pk,
                                              for_update=True)
        if conversation.revoked_at is not None or recipient.revoked_at is not None:
            raise ActionError(_("Access was revoked; the message cannot be sent again."),
                              status=409)
        if recipient.held_reason:
            raise ActionError(_("This recipient is held: add how they verify first, which "
                                "sends the message to them."), status=409)
        # The link opens the whole conversation; the notification names the latest message
        # addressed to this recipient.
        latest = (conversation.messages.filter(author_user__isnull=False,
                                                audience=recipient)
                  .order_by("-created_at").first())
        if latest is None:
            raise NotFound(_("Conversation not found."))
        now = timezone.now()
        was_locked = recipient.locked_at is not None
        # The sender spoke to the recipient: the throttle and the lock start again from zero,
        # codes sent before are dead, and so are the old links, so whoever saw an earlier
        # notification cannot use it (an old link now looks like an unknown one).
        Recipient.objects.filter(pk=recipient.pk).update(locked_at=None, failed_attempts=0,
                                                         last_failed_at=None)
        recipient.locked_at = None
        recipient.failed_attempts = 0
        recipient.last_failed_at = None
        recipient.codes.filter(used_at__isnull=True).update(used_at=now)
        links_killed, _by_model = RecipientLink.objects.filter(recipient=recipient).delete()
        # A notification still waiting to go out carries one of those dead links: it goes no
        # more; the new one below replaces it.
        reason = "replaced by a notification sent again"
        cancelled = cancel_waiting(recipient_id=recipient.pk, purpose="notification",
                                   reason=reason)
        notify_recipient(recipient, latest, sender,
                          dedupe_key=f"resend:{recipient.pk}:{now.timestamp()}")
        # The audit log last: its head is the last lock of the transaction.
        record_cancelled(cancelled, reason)
        record("notification.resent", organisation=sender.organisation, **staff_actor(sender),
               object_type="recipient",
               object_id=recipient.pk, request=request,
               data={"email": recipient.email, "unlocked": was_locked,
                     "links_killed": links_killed})
