"""After sending: revoke (one recipient, for recipients, for everyone; now or scheduled), end
dates, sending the notification again. The periodic job that applies schedules, end dates and
the retention period is zegel.messaging.actions.lifecycle_due."""

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
def revoke_for_recipients(*, sender: User, conversation: Conversation,
                          request: HttpRequest | None = None) -> None:
    """Revoke for recipients: every recipient's links and portal sessions stop working at
    once; the content stays, so the sender still reads the whole conversation."""
    with transaction.atomic(durable=True):
        conversation = access.conversation_for_user(sender, conversation.pk, for_update=True)
        if conversation.revoked_at is not None:
            raise ActionError(_("This conversation was revoked; it cannot be changed."),
                              status=409)
        close_for_recipients(conversation, reason=Conversation.Closed.REVOKED,
                             action="conversation.revoked_for_recipients", request=request,
                             actor=staff_actor(sender))


@retry_on_conflict
def revoke_conversation(*, sender: User, conversation: Conversation,
                        request: HttpRequest | None = None) -> None:
    """Revoke for everyone: every link stops working and the data keys of every message and
    file are destroyed (crypto-shredding), so the content is gone from backups too."""
    with transaction.atomic(durable=True):
        conversation = access.conversation_for_user(sender, conversation.pk, for_update=True)
        shred_conversation(conversation, reason=Conversation.Shredded.REVOKED,
                           action="conversation.revoked", request=request,
                           actor=staff_actor(sender))


@retry_on_conflict
def schedule_revocation(*, sender: User, conversation: Conversation, scope: str,
                        at: datetime, request: HttpRequest | None = None) -> None:
    """Revoke later, in either scope: the periodic job applies it at `at` (or as soon as it
    runs after that). One schedule per conversation: a new one replaces the one pending."""
    if scope not in Conversation.RevokeScope.values:
        raise ActionError(_("Choose whether to revoke for recipients or for everyone."),
                          field="scope")
    with transaction.atomic(durable=True):
        conversation = access.conversation_for_user(sender, conversation.pk, for_update=True)
        if conversation.revoked_at is not None:
            raise ActionError(_("This conversation was revoked; it cannot be changed."),
                              status=409)
        if scope == Conversation.RevokeScope.RECIPIENTS and conversation.closed_at is not None:
            raise ActionError(_("The recipients' access has ended already."), status=409,
                              field="scope")
        if at <= timezone.now():
            raise ActionError(_("Choose a moment in the future."), field="at")
        before = _schedule_of(conversation)
        Conversation.objects.filter(pk=conversation.pk).update(revoke_scheduled_at=at,
                                                               revoke_scheduled_scope=scope)
        conversation.revoke_scheduled_at = at
        conversation.revoke_scheduled_scope = scope
        record("conversation.revoke_scheduled", organisation=sender.organisation,
               **staff_actor(sender), object_type="conversation", object_id=conversation.pk,
               request=request, data={"scope": scope, "at": at.isoformat(), "replaced": before})


@retry_on_conflict
def cancel_revocation(*, sender: User, conversation: Conversation,
                      request: HttpRequest | None = None) -> bool:
    """Cancel the pending scheduled revoke; False (and nothing recorded) if none was pending."""
    with transaction.atomic(durable=True):
        conversation = access.conversation_for_user(sender, conversation.pk, for_update=True)
        before = _schedule_of(conversation)
        if before is None:
            return False
        Conversation.objects.filter(pk=conversation.pk).update(revoke_scheduled_at=None,
                                                               revoke_scheduled_scope="")
        conversation.revoke_scheduled_at = None
        conversation.revoke_scheduled_scope = ""
        record("conversation.revoke_schedule_cancelled", organisation=sender.organisation,
               **staff_actor(sender), object_type="conversation", object_id=conversation.pk,
               request=request, data={"cancelled": before})
        return True


def _schedule_of(conversation: Conversation) -> dict[str, str] | None:
    if conversation.revoke_scheduled_at is None:
        return None
    return {"scope": conversation.revoke_scheduled_scope,
            "at": conversation.revoke_scheduled_at.isoformat()}


@retry_on_conflict
def set_expiry(*, sender: User, conversation: Conversation, expires_at: datetime | None,
               request: HttpRequest | None = None) -> None:
    """Change until when the recipients can open the conversation (None: no end date)."""
    with transaction.atomic(durable=True):
        conversation = access.conversation_for_user(sender, conversation.pk, for_update=True)
        if conversation.revoked_at is not None:
            raise ActionError(_("This conversation was revoked; it cannot be changed."),
                              status=409)
        if conversation.closed_at is not None:
            raise ActionError(_("The recipients' access has ended already."), status=409,
                              field="expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise ActionError(_("Choose a date in the future."), field="expires_at")
        if (too_long := expiry_refusal(sender.organisation, expires_at)) is not None:
            raise ActionError(too_long, field="expires_at")
        Conversation.objects.filter(pk=conversation.pk).update(expires_at=expires_at)
        record("conversation.expiry_changed", organisation=sender.organisation,
               **staff_actor(sender),
               object_type="conversation", object_id=conversation.pk, request=request,
               data={"expires_at": expires_at.isoformat() if expires_at else None})


def close_for_recipients(conversation: Conversation, *, reason: str, action: str,
                         request: HttpRequest | None, actor: dict[str, Any],
                         data: dict[str, Any] | None = None) -> bool:
    """Inside a transaction that holds the conversation's row lock: end every recipient's
    access (links, sessions, codes) and keep the content. False if it had ended already."""
    if conversation.closed_at is not None or conversation.revoked_at is not None:
        return False
    now = timezone.now()
    changes: dict[str, Any] = {"closed_at": now, "closed_reason": reason}
    if conversation.revoke_scheduled_scope == Conversation.RevokeScope.RECIPIENTS:
        changes.update(revoke_scheduled_at=None, revoke_scheduled_scope="")
    Conversation.objects.filter(pk=conversation.pk).update(**changes)
    for field, value in changes.items():
        setattr(conversation, field, value)
    VerificationCode.objects.filter(recipient__conversation=conversation,
                                    used_at__isnull=True).update(used_at=now)
    revoked = 0
    if reason == Conversation.Closed.REVOKED:
        # Each recipient's access revoked as by revoke_recipient, so the status and the
        # portal say "withdrawn". At the end date they are left as they are: "expired".
        recipients = list(conversation.recipients.select_for_update(of=("self",), no_key=True)
                          .filter(revoked_at__isnull=True))
        conversation.recipients.filter(pk__in=[r.pk for r in recipients]).update(revoked_at=now)
        RecipientEvent.objects.bulk_create(
            [RecipientEvent(recipient=r, kind=RecipientEvent.Kind.REVOKED) for r in recipients])
        revoked = len(recipients)
    record(action, organisation=conversation.organisation, object_type="conversation",
           object_id=conversation.pk, request=request,
           data={"recipients": revoked, **(data or {})}, **actor)
    return True


def shred_conversation(conversation: Conversation, *, reason: str, action: str,
                       request: HttpRequest | None, actor: dict[str, Any],
                       data: dict[str, Any] | None = None) -> bool:
    """Inside a transaction that holds the conversation's row lock. False if it was shredded
    already."""
    if conversation.revoked_at is not None:
        return False
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(
        revoked_at=now, shredded_reason=reason, has_unread_reply=False,
        revoke_scheduled_at=None, revoke_scheduled_scope="")
    conversation.revoked_at = now
    conversation.shredded_reason = reason
    conversation.revoke_scheduled_at = None
    conversation.revoke_scheduled_scope = ""
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
                         "files": len(blob_ids), **(data or {})}, **actor)
    link_audit(events, entry)

    def delete_blobs() -> None:
        # The keys are gone already; removing the ciphertext too frees the space.
        for blob_id in blob_ids:
            blob_store().delete(blob_id)

    transaction.on_commit(delete_blobs)
    return True


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
        if not access.guest_access_holds(recipient):
            raise ActionError(_("The recipients' access has ended; the message cannot be "
                                "sent again."), status=409)
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
