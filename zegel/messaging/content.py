"""Read-side selectors: opening messages and attachments for the portal, the sender app, the API
and the data-leak checks. Nothing here writes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from zegel.crypto.stream import CHUNK_SIZE, iter_decrypt
from zegel.files.blobs import blob_store
from zegel.keystore.keys import ShreddedError, open_text, unwrap
from zegel.messaging import access
from zegel.messaging.models import (
    Attachment,
    Conversation,
    Message,
    Recipient,
    RecipientLink,
)
from zegel.orgs.models import hash_token

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def attachment_name(attachment: Attachment) -> str:
    return open_text(unwrap(attachment.key), attachment.name_oid, attachment.name_ct)


def iter_attachment(attachment: Attachment) -> Iterator[bytes]:
    dek = unwrap(attachment.key)

    def chunks() -> Iterator[bytes]:
        with blob_store().open(attachment.blob_id) as handle:
            while block := handle.read(CHUNK_SIZE + 16):
                yield block

    return iter_decrypt(dek, bytes.fromhex(attachment.blob_id), chunks())


@dataclass
class OpenMessage:
    message: Message
    subject: str
    body: str
    author: str
    attachments: list[tuple[Attachment, str]]


def open_message(message: Message) -> OpenMessage:
    dek = unwrap(message.key)
    author = (message.author_user.display_name if message.author_user
              else message.author_recipient.label if message.author_recipient else "")
    return OpenMessage(
        message=message,
        subject=open_text(dek, message.subject_oid, message.subject_ct),
        body=open_text(dek, message.body_oid, message.body_ct),
        author=author,
        attachments=[(a, attachment_name(a)) for a in message.attachments.all()],
    )


def conversation_subject(conversation: Conversation) -> str:
    first = conversation.messages.select_related("key").order_by("created_at", "id").first()
    return _subject_of(first)


def prefetch_first_message() -> Prefetch[Any]:
    """For a list of conversations: each one's first message with its key, in one query
    (a window function), for first_subject()."""
    return Prefetch("messages", to_attr="first_messages",
                    queryset=Message.objects.select_related("key").defer("body_ct")
                    .order_by("created_at", "id")[:1])


def first_subject(conversation: Conversation) -> str:
    """The subject of a conversation fetched with prefetch_first_message()."""
    first: list[Message] = getattr(conversation, "first_messages", [])
    return _subject_of(first[0] if first else None)


def _subject_of(first: Message | None) -> str:
    if first is None:
        return ""
    try:
        return open_text(unwrap(first.key), first.subject_oid, first.subject_ct)
    except ShreddedError:
        return _("(revoked: content destroyed)")


def visible_messages(recipient: Recipient) -> QuerySet[Message]:
    """What one recipient may read: the staff's messages since they were added, and their own
    replies. Other guests' replies stay between them and the sender."""

    return (
        Message.objects.filter(conversation_id=recipient.conversation_id)
        .filter(Q(author_user__isnull=False, created_at__gte=recipient.created_at)
                | Q(author_recipient=recipient))
        .select_related("key", "author_user", "author_recipient")
        .prefetch_related("attachments__key")
    )


def resolve_link(token: str) -> Recipient | None:
    """The recipient a link belongs to, or None. Unknown, malformed and revoked links are the
    same None, so nobody outside can tell them apart."""
    if not _TOKEN_RE.match(token or ""):
        return None
    link = (RecipientLink.objects.select_related("recipient__conversation__organisation")
            .filter(token_hash=hash_token(token)).first())
    if link is None or not access.guest_access_holds(link.recipient):
        return None
    return link.recipient
