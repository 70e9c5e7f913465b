"""What a verified recipient does in the portal: read, download, reply."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from zegel.audit.log import guest_actor, record, staff_actor
from zegel.messaging import access
from zegel.messaging.actions.attachments import claim_attachments
from zegel.messaging.actions.compose import new_message
from zegel.messaging.actions.guest_auth import tell_sender
from zegel.messaging.content import conversation_subject, visible_messages
from zegel.messaging.errors import ActionError, NotFound
from zegel.messaging.models import (
    Attachment,
    Conversation,
    Message,
    Recipient,
    RecipientEvent,
)
from zegel.orgs.models import User


class LockedOut(ActionError):
    """The recipient was locked out after failed attempts (the portal shows its own page)."""

    def __init__(self) -> None:
        super().__init__(_("You can no longer open this message. Contact the sender."),
                         status=403)


def _guest(recipient: Recipient) -> Recipient:
    """Inside the action's transaction: the recipient re-read and locked, still with access."""
    current = access.recipient_for_guest(recipient.pk, for_update=True)
    if current.locked_at is not None:
        raise LockedOut
    return current


def record_opened(recipient: Recipient, messages: Sequence[Message], *,
                  request: HttpRequest | None = None) -> None:
    """The recipient read these messages: the first time counts, once per message, also when
    two page loads arrive at once (the recipient's row lock puts them in a row)."""
    with transaction.atomic(durable=True):
        recipient = _guest(recipient)
        staff_ids = [m.pk for m in messages if m.author_user_id is not None]
        already = set(RecipientEvent.objects.filter(
            recipient=recipient, kind=RecipientEvent.Kind.OPENED, message_id__in=staff_ids,
        ).values_list("message_id", flat=True))
        for pk in staff_ids:
            if pk in already:
                continue
            RecipientEvent.objects.create(recipient=recipient, message_id=pk,
                                          kind=RecipientEvent.Kind.OPENED)
            record("message.viewed", organisation=recipient.conversation.organisation,
                   **guest_actor(recipient),
                   object_type="message", object_id=pk, request=request)


def record_download(attachment: Attachment, *, recipient: Recipient | None = None,
                    user: User | None = None, request: HttpRequest | None = None) -> None:
    """Someone downloads a sent file: a recipient who may still read it, or its sender."""
    with transaction.atomic(durable=True):
        if recipient is not None:
            recipient = _guest(recipient)
            message_id = attachment.message_id
            if message_id is None or not visible_messages(recipient).filter(
                    pk=message_id).exists():
                raise NotFound(_("An attachment could not be found."))
            RecipientEvent.objects.create(recipient=recipient, message_id=attachment.message_id,
                                          kind=RecipientEvent.Kind.DOWNLOADED)
            actor = guest_actor(recipient)
        else:
            if user is None:
                raise ValueError("a download is by a recipient or a user")
            if attachment.message_id is None:
                raise NotFound(_("An attachment could not be found."))
            message = access.message_for_user(user, attachment.message_id)
            if message.conversation.revoked_at is not None:
                raise NotFound(_("An attachment could not be found."))
            actor = staff_actor(user)
        record("attachment.downloaded", organisation=attachment.organisation,
               object_type="attachment", object_id=attachment.pk, request=request,
               data={"message": str(attachment.message_id)}, **actor)


def reply_as_recipient(recipient: Recipient, body: str, attachments: Sequence[Attachment] = (),
                       *, request: HttpRequest | None = None) -> Message:
    """The recipient's reply, to the sender only. Refused (NotFound) once access was revoked
    or the conversation is gone, also when that happens while the reply is on its way."""
    with transaction.atomic(durable=True):
        # The conversation first, then the recipient: the order revoke-for-everyone locks them
        # in too, so the two wait for each other instead of deadlocking. Whichever commits
        # first wins; a reply never lands after the keys were destroyed.
        Conversation.objects.select_for_update().filter(pk=recipient.conversation_id).first()
        recipient = _guest(recipient)
        if not body.strip() and not attachments:
            raise ActionError(_("Write a message or add an attachment."), field="body")
        conversation = recipient.conversation
        subject = conversation_subject(conversation)
        message = new_message(conversation, subject, body, recipient=recipient)
        claim_attachments(attachments, message, recipient=recipient)
        RecipientEvent.objects.create(recipient=recipient, message=message,
                                      kind=RecipientEvent.Kind.REPLIED)
        Conversation.objects.filter(pk=conversation.pk).update(
            last_activity_at=message.created_at, has_unread_reply=True)
        org = conversation.organisation
        tell_sender("reply_notice", recipient, purpose="reply_notice",
                     dedupe_key=f"reply:{message.pk}", message=message)
        record("message.replied", organisation=org, **guest_actor(recipient), object_type="message",
               object_id=message.pk, request=request,
               data={"conversation": str(conversation.pk), "attachments": len(attachments)})
    return message
