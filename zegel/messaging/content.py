"""Read-side selectors: opening messages and attachments for the portal, the sender app, the API
and the data-leak checks. Nothing here writes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from zegel.crypto.stream import (
    FORMAT_VERSION,
    SEALED_CHUNK_SIZE,
    DecryptionError,
    iter_decrypt,
)
from zegel.files.blobs import blob_store
from zegel.files.uploads import file_context
from zegel.keystore.binding import Owner, Role
from zegel.keystore.keys import ContentIntegrityError, ShreddedError, open_text, unwrap
from zegel.messaging import access
from zegel.messaging.models import (
    Attachment,
    Conversation,
    HelpRequest,
    Message,
    Recipient,
    RecipientLink,
)
from zegel.orgs.models import hash_token

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# Whole sealed chunks per read of a stored file (512 KiB of plaintext). With the decryptor's
# buffer and the piece in flight, a download holds about four times this.
_READ_SIZE = 8 * SEALED_CHUNK_SIZE


@dataclass(frozen=True)
class AttachmentMeta:
    """What is known about a file, sealed together as the attachment's metadata object."""

    name: str
    content_type: str
    sha256: str
    size: int
    # The stream format version of the stored file: files stored before version 2 stay
    # version 1, and only the sealed metadata can say so.
    stream: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "content_type": self.content_type,
                           "sha256": self.sha256, "size": self.size, "stream": self.stream},
                          sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> AttachmentMeta:
        data = json.loads(text)
        return cls(name=str(data["name"]), content_type=str(data["content_type"]),
                   sha256=str(data["sha256"]), size=int(data["size"]),
                   stream=int(data["stream"]))


def _open_meta(attachment: Attachment, dek: bytes) -> AttachmentMeta:
    return AttachmentMeta.from_json(open_text(dek, attachment.meta_oid, attachment.meta_ct,
                                              role=Role.FILE_METADATA,
                                              owner=attachment.upload_owner()))


def _with_key(attachment: Attachment) -> Attachment:
    # The row and its key from one statement. Claiming re-wraps the key; a draft row read
    # before a claim committed, paired with its key read after, would look like tampering.
    if Attachment.key.is_cached(attachment):
        return attachment
    return Attachment.objects.select_related("key", "message__conversation").get(
        pk=attachment.pk)


def attachment_meta(attachment: Attachment) -> AttachmentMeta:
    """Name, content type, SHA-256 and size of a file; ContentIntegrityError if the row does not
    belong where it is (moved to another message, conversation or organisation)."""
    attachment = _with_key(attachment)
    return _open_meta(attachment, unwrap(attachment.key, attachment.owner()))


def attachment_name(attachment: Attachment) -> str:
    return attachment_meta(attachment).name


def iter_attachment(attachment: Attachment) -> Iterator[bytes]:
    """The file's plaintext, chunk by chunk (see open_attachment)."""
    return open_attachment(attachment)[1]


def open_attachment(attachment: Attachment) -> tuple[AttachmentMeta, Iterator[bytes]]:
    """The file's sealed metadata and its plaintext, chunk by chunk.

    The first chunk is decrypted before this returns, so a moved or altered file fails here,
    before a response has started. A failure later (the blob cut or altered in the middle)
    raises ContentIntegrityError from the iterator; the response must then break off, and
    since the final chunk is released only after the whole file authenticated, the bytes sent
    are always fewer than the sealed size the response announced.
    """
    attachment = _with_key(attachment)
    owner = attachment.owner()
    dek = unwrap(attachment.key, owner)
    meta = _open_meta(attachment, dek)
    context = (file_context(attachment.organisation_id, attachment.pk)
               if meta.stream != 1 else b"")
    try:
        handle = blob_store().open(attachment.blob_id)
    except OSError:
        raise ContentIntegrityError(f"file {attachment.pk}: stored content missing", owner,
                                    Role.FILE) from None

    def chunks() -> Iterator[memoryview]:
        # 512 KiB per read into one reused buffer: a read per 64 KiB chunk made the
        # download spend more time in Python than in decryption. The decryptor copies what
        # it keeps, and each block is used up before the next read.
        buffer = bytearray(_READ_SIZE)
        view = memoryview(buffer)
        with handle:
            while count := handle.readinto(buffer):
                yield view[:count]

    def checked() -> Iterator[bytes]:
        total = 0
        try:
            for piece in iter_decrypt(dek, bytes.fromhex(attachment.blob_id), chunks(),
                                      context=context, version=meta.stream):
                total += len(piece)
                yield piece
        except DecryptionError as exc:
            raise ContentIntegrityError(f"file {attachment.pk}: {exc}", owner,
                                        Role.FILE) from None
        if total != meta.size:
            raise ContentIntegrityError(f"file {attachment.pk}: {total} bytes, sealed size "
                                        f"{meta.size}", owner, Role.FILE)

    stream = checked()
    first = next(stream, None)
    return meta, (stream if first is None else _starting_with(first, stream))


def _starting_with(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    """`first`, then `rest`, without keeping `first` alive to the end (itertools.chain would:
    a whole read of the file, for as long as the download lasts)."""
    held = [first]
    del first
    yield held.pop()
    yield from rest


@dataclass
class OpenMessage:
    message: Message
    subject: str
    body: str
    author: str
    attachments: list[tuple[Attachment, str]]
    # The same files with their whole sealed metadata (type and size), for pages that show it.
    files: list[tuple[Attachment, AttachmentMeta]] = field(default_factory=list)
    # For the portal: whom else the viewer is shown this message went to (shown_to()).
    shown_to: list[Recipient] = field(default_factory=list)


def message_subject(message: Message, dek: bytes | None = None) -> str:
    owner = message.owner()
    return open_text(dek or unwrap(message.key, owner), message.subject_oid, message.subject_ct,
                     role=Role.SUBJECT, owner=owner)


def open_message(message: Message) -> OpenMessage:
    owner = message.owner()
    dek = unwrap(message.key, owner)
    author = (message.author_user.display_name if message.author_user
              else message.author_recipient.label if message.author_recipient else "")
    files = [(a, attachment_meta(a)) for a in message.attachments.all()]
    return OpenMessage(
        message=message,
        subject=message_subject(message, dek),
        body=open_text(dek, message.body_oid, message.body_ct, role=Role.BODY, owner=owner),
        author=author,
        attachments=[(a, meta.name) for a, meta in files],
        files=files,
    )


def conversation_subject(conversation: Conversation) -> str:
    first = (conversation.messages.select_related("key", "conversation")
             .order_by("created_at", "id").first())
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
        return message_subject(first)
    except ShreddedError:
        return _("(revoked: content destroyed)")


def visible_messages(recipient: Recipient) -> QuerySet[Message]:
    """What one recipient may read: the staff's messages addressed to them, and their own
    replies. Other guests' replies stay between them and the sender, and so do answers the
    sender addressed to other recipients only."""

    return (
        Message.objects.filter(conversation_id=recipient.conversation_id)
        .filter(Q(author_user__isnull=False,
                  pk__in=Message.audience.through.objects.filter(recipient=recipient)
                  .values("message_id"))
                | Q(author_recipient=recipient))
        .select_related("key", "conversation", "author_user", "author_recipient")
        .prefetch_related("attachments__key", "audience")
    )


def find_link(token: str) -> RecipientLink | None:
    """The link a token names, whatever the state of its recipient, or None for a malformed or
    unknown token. Only someone who holds the whole token gets a link back: the portal may
    then say what became of the message (withdrawn, expired), which the link's holder was
    told about anyway."""
    if not _TOKEN_RE.match(token or ""):
        return None
    return (RecipientLink.objects
            .select_related("recipient__conversation__organisation",
                            "recipient__conversation__created_by")
            .filter(token_hash=hash_token(token)).first())


def may_receive_answer(recipient: Recipient) -> bool:
    """An answer can be addressed to a recipient who can still open the conversation: neither
    revoked nor locked out."""
    return recipient.revoked_at is None and recipient.locked_at is None


def answerable(conversation: Conversation) -> list[Recipient]:
    """The recipients the sender may address an answer to, in order."""
    return [r for r in conversation.recipients.all() if may_receive_answer(r)]


def shown_to(message: Message, viewer: Recipient) -> list[Recipient]:
    """Whom else a recipient is shown a staff message went to: only its To and CC
    recipients, never a BCC one, never the viewer themselves, nobody for a reply. Reads
    ``message.audience`` (prefetched by visible_messages)."""
    if message.author_user_id is None:
        return []
    return [r for r in message.audience.all()
            if r.pk != viewer.pk and r.kind in (Recipient.Kind.TO, Recipient.Kind.CC)]


def resolve_link(token: str) -> Recipient | None:
    """The recipient a link belongs to, or None. Unknown, malformed and revoked links are the
    same None, so nobody outside can tell them apart."""
    link = find_link(token)
    if link is None or not access.guest_access_holds(link.recipient):
        return None
    return link.recipient


def help_note_owner(help_request: HelpRequest, message: Message) -> Owner:
    """What a help note is sealed for (docs/crypto.md): the recipient, the conversation and
    the message whose key seals it."""
    return Owner(kind="help-note", organisation=message.conversation.organisation_id,
                 conversation=message.conversation_id, message=message.pk,
                 recipient=help_request.recipient_id)


@dataclass
class HelpEntry:
    """A recipient's request for help as the sender sees it; ``note`` is "" without one and
    ``note_lost`` tells a note whose key is gone (the conversation was revoked) from none."""

    request: HelpRequest
    note: str = ""
    note_lost: bool = False


def help_requests(conversation: Conversation) -> list[HelpEntry]:
    """The requests for help of the conversation's recipients, oldest first, notes opened."""
    entries = []
    for item in (HelpRequest.objects.filter(recipient__conversation=conversation)
                 .select_related("recipient", "message__key", "message__conversation")
                 .order_by("created_at", "id")):
        entry = HelpEntry(request=item)
        if item.note_ct:
            try:
                entry.note = open_text(unwrap(item.message.key, item.message.owner()),
                                       item.note_oid, item.note_ct, role=Role.HELP_NOTE,
                                       owner=help_note_owner(item, item.message))
            except ShreddedError:
                entry.note_lost = True
        entries.append(entry)
    return entries
