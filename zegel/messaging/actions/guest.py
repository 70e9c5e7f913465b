"""What a verified recipient does in the portal: read, download, reply."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from zegel.audit.log import guest_actor, record, staff_actor
from zegel.messaging.actions.attachments import claim_attachments
from zegel.messaging.actions.compose import locked_open_conversation, new_message
from zegel.messaging.actions.guest_auth import tell_sender
from zegel.messaging.content import conversation_subject
from zegel.messaging.errors import ActionError
from zegel.messaging.models import (
    Attachment,
    Conversation,
    Message,
    Recipient,
    RecipientEvent,
)
from zegel.orgs.models import User


def record_opened(recipient: Recipient, messages: Sequence[Message], *,
                  request: HttpRequest | None = None) -> None:
    staff_ids = [m.pk for m in messages if m.author_user_id is not None]
    already = set(RecipientEvent.objects.filter(
        recipient=recipient, kind=RecipientEvent.Kind.OPENED, message_id__in=staff_ids,
    ).values_list("message_id", flat=True))
    new = [pk for pk in staff_ids if pk not in already]
    if not new:
        return
    with transaction.atomic():
        for pk in new:
            RecipientEvent.objects.create(recipient=recipient, message_id=pk,
                                          kind=RecipientEvent.Kind.OPENED)
            record("message.viewed", organisation=recipient.conversation.organisation,
                   **guest_actor(recipient),
                   object_type="message", object_id=pk, request=request)


def record_download(attachment: Attachment, *, recipient: Recipient | None = None,
                    user: User | None = None, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        if recipient is not None:
            RecipientEvent.objects.create(recipient=recipient, message_id=attachment.message_id,
                                          kind=RecipientEvent.Kind.DOWNLOADED)
            actor = guest_actor(recipient)
        else:
            if user is None:
                raise ValueError("a download is by a recipient or a user")
            actor = staff_actor(user)
        record("attachment.downloaded", organisation=attachment.organisation,
               object_type="attachment", object_id=attachment.pk, request=request,
               data={"message": str(attachment.message_id)}, **actor)


def reply_as_recipient(recipient: Recipient, body: str, attachments: Sequence[Attachment] = (),
                       *, request: HttpRequest | None = None) -> Message:
    if recipient.locked_at or recipient.revoked_at or recipient.conversation.revoked_at:
        raise ActionError(_("You can no longer reply to this message."), status=403)
    if not body.strip() and not attachments:
        raise ActionError(_("Write a message or add an attachment."), field="body")
    conversation = recipient.conversation
    subject = conversation_subject(conversation)
    with transaction.atomic():
        locked_open_conversation(conversation)
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
