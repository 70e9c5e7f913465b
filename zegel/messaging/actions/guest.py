"""What a verified recipient does in the portal: read, download, reply."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.audit.log import guest_actor, record, staff_actor
from zegel.db import retry_on_conflict
from zegel.messaging import access
from zegel.messaging.actions.attachments import claim_attachments, delete_drafts
from zegel.messaging.actions.compose import new_message
from zegel.messaging.actions.guest_auth import tell_sender
from zegel.messaging.content import conversation_subject, visible_messages
from zegel.messaging.errors import ActionError, NotFound
from zegel.messaging.events import link_audit
from zegel.messaging.models import (
    Attachment,
    Conversation,
    Message,
    Recipient,
    RecipientEvent,
)
from zegel.notify.models import OutboxItem
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


@retry_on_conflict
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
        new = [pk for pk in staff_ids if pk not in already]
        events = [RecipientEvent.objects.create(recipient=recipient, message_id=pk,
                                                kind=RecipientEvent.Kind.OPENED)
                  for pk in new]
        # The audit log last: its head is the last lock of the transaction.
        for event in events:
            entry = record("message.viewed", organisation=recipient.conversation.organisation,
                           **guest_actor(recipient),
                           object_type="message", object_id=event.message_id, request=request)
            link_audit([event], entry)


@retry_on_conflict
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
            events = [RecipientEvent.objects.create(recipient=recipient,
                                                    message_id=attachment.message_id,
                                                    kind=RecipientEvent.Kind.DOWNLOADED)]
            actor = guest_actor(recipient)
        else:
            events = []
            if user is None:
                raise ValueError("a download is by a recipient or a user")
            if attachment.message_id is None:
                raise NotFound(_("An attachment could not be found."))
            message = access.message_for_user(user, attachment.message_id)
            if message.conversation.revoked_at is not None:
                raise NotFound(_("An attachment could not be found."))
            actor = staff_actor(user)
        entry = record("attachment.downloaded", organisation=attachment.organisation,
                       object_type="attachment", object_id=attachment.pk, request=request,
                       data={"message": str(attachment.message_id)}, **actor)
        link_audit(events, entry)


@retry_on_conflict
def record_own_copy(recipient: Recipient, messages: Sequence[Message], *, form: str,
                    attachments: Sequence[Attachment] = (),
                    request: HttpRequest | None = None) -> None:
    """The recipient saved their own copy: the conversation as a PDF (`form` "pdf", every
    message they may see) or one message as an .eml (`form` "eml", with the `attachments`
    inside it). Refused (NotFound) once access ended, also when that happened while the copy
    was being made, and for a message they may not see."""
    if form not in ("pdf", "eml") or not messages:
        raise ValueError("an own copy is a PDF or an .eml of at least one message")
    with transaction.atomic(durable=True):
        recipient = _guest(recipient)
        ids = {m.pk for m in messages}
        if visible_messages(recipient).filter(pk__in=ids).count() != len(ids):
            raise NotFound(_("This message could not be found."))
        conversation = recipient.conversation
        RecipientEvent.objects.create(
            recipient=recipient, message_id=messages[0].pk if form == "eml" else None,
            kind=RecipientEvent.Kind.SAVED, detail=form)
        if form == "pdf":
            record("conversation.downloaded", organisation=conversation.organisation,
                   **guest_actor(recipient), object_type="conversation",
                   object_id=conversation.pk, request=request,
                   data={"format": "pdf", "messages": [str(m.pk) for m in messages]})
        else:
            record("message.downloaded", organisation=conversation.organisation,
                   **guest_actor(recipient), object_type="message", object_id=messages[0].pk,
                   request=request,
                   data={"format": "eml", "conversation": str(conversation.pk),
                         "attachments": [str(a.pk) for a in attachments]})


class ReplyRefused(ActionError):
    """A reply over one of the guest limits (replies per hour, bytes per conversation). The
    files of the refused reply are removed already, so the page must not offer them again."""

    def __init__(self, message: str, *, limit: str, status: int) -> None:
        super().__init__(message, status=status)
        self.limit = limit  # for the audit log, never shown


@retry_on_conflict
def reply_as_recipient(recipient: Recipient, body: str, attachments: Sequence[Attachment] = (),
                       *, request: HttpRequest | None = None) -> Message:
    """The recipient's reply, to the sender only. Refused (NotFound) once access was revoked
    or the conversation is gone, also when that happens while the reply is on its way; refused
    (ReplyRefused, nothing kept) over the limits for replies per hour and bytes per
    conversation."""
    refused: ReplyRefused | None = None
    with transaction.atomic(durable=True):
        # The conversation first, then the recipient: the order revoke-for-everyone locks them
        # in too, so the two wait for each other instead of deadlocking. Whichever commits
        # first wins; a reply never lands after the keys were destroyed. The conversation's
        # lock also puts parallel replies in a row for the limits below.
        Conversation.objects.select_for_update(no_key=True).filter(pk=recipient.conversation_id).first()
        recipient = _guest(recipient)
        if not body.strip() and not attachments:
            raise ActionError(_("Write a message or add an attachment."), field="body")
        conversation = recipient.conversation
        org = conversation.organisation
        now = timezone.now()
        refused = _over_limit(conversation, recipient, attachments, now)
        if refused is not None:
            # Committed, not rolled back: the refused files are removed for good.
            removed = _discard_uploads(attachments, recipient)
            record("reply.refused", organisation=org, **guest_actor(recipient),
                   object_type="conversation", object_id=conversation.pk, request=request,
                   data={"limit": refused.limit, "files_removed": removed})
        else:
            message = _store_reply(conversation, recipient, body, attachments, now,
                                   request=request)
    if refused is not None:
        raise refused
    return message


def _store_reply(conversation: Conversation, recipient: Recipient, body: str,
                 attachments: Sequence[Attachment], now: datetime, *,
                 request: HttpRequest | None) -> Message:
    """Inside reply_as_recipient's transaction."""
    subject = conversation_subject(conversation)
    message = new_message(conversation, subject, body, recipient=recipient)
    claim_attachments(attachments, message, recipient=recipient)
    event = RecipientEvent.objects.create(recipient=recipient, message=message,
                                          kind=RecipientEvent.Kind.REPLIED)
    Conversation.objects.filter(pk=conversation.pk).update(
        last_activity_at=message.created_at, has_unread_reply=True)
    _tell_sender_of_reply(recipient, message, now)
    entry = record("message.replied", organisation=conversation.organisation,
                   **guest_actor(recipient), object_type="message", object_id=message.pk,
                   request=request,
                   data={"conversation": str(conversation.pk), "attachments": len(attachments)})
    link_audit([event], entry)
    return message


def _over_limit(conversation: Conversation, recipient: Recipient,
                attachments: Sequence[Attachment], now: datetime) -> ReplyRefused | None:
    """Inside reply_as_recipient's transaction, holding the conversation's lock."""
    recent = Message.objects.filter(conversation=conversation, author_recipient__isnull=False,
                                    created_at__gt=now - timedelta(hours=1)).count()
    if recent >= settings.GUEST_REPLIES_PER_HOUR:
        return ReplyRefused(_("You have sent many replies in a short time. Your reply was not "
                              "sent: please wait a while before you send it again."),
                            status=429, limit="replies_per_hour")
    if not attachments:
        return None
    # Sizes as the database holds them, for the uploads still this guest's drafts.
    adding = Attachment.objects.filter(
        pk__in=[a.pk for a in attachments], message__isnull=True,
        uploaded_by_recipient_id=recipient.pk).aggregate(total=Sum("size"))["total"] or 0
    stored = Attachment.objects.filter(
        message__conversation=conversation,
        uploaded_by_recipient__isnull=False).aggregate(total=Sum("size"))["total"] or 0
    if stored + adding > settings.GUEST_UPLOAD_BYTES_PER_CONVERSATION:
        return ReplyRefused(
            _("Your files are too large together: replies in this conversation may hold "
              "%(limit)s of files in all. Your reply was not sent and the files were not "
              "kept. Send fewer or smaller files.")
            % {"limit": filesizeformat(settings.GUEST_UPLOAD_BYTES_PER_CONVERSATION)},
            status=413, limit="upload_bytes")
    return None


def _discard_uploads(attachments: Sequence[Attachment], recipient: Recipient) -> int:
    """Inside the transaction: remove this guest's unsent uploads, their keys, and after the
    commit their blobs."""
    return delete_drafts(Attachment.objects.filter(pk__in=[a.pk for a in attachments],
                                                   message__isnull=True,
                                                   uploaded_by_recipient_id=recipient.pk))


def _tell_sender_of_reply(recipient: Recipient, message: Message, now: datetime) -> None:
    """Inside reply_as_recipient's transaction, holding the conversation's lock: at most one
    reply notice per conversation per window. The first reply after a quiet window is told at
    once; a reply inside the window gets one notice due when the window ends, which the
    replies after it share, so none of them goes untold."""
    conversation = recipient.conversation
    window = timedelta(seconds=settings.REPLY_NOTICE_WINDOW_SECONDS)
    if not window:
        tell_sender("reply_notice", recipient, purpose="reply_notice",
                    dedupe_key=f"reply:{message.pk}", message=message)
        return
    prefix = f"reply:{conversation.pk}:"
    # The key carries the moment the notice is due; only the latest matters, and a notice
    # created before now - 2 windows was due before now - 1 window.
    keys = OutboxItem.objects.filter(purpose="reply_notice", dedupe_key__startswith=prefix,
                                     created_at__gte=now - 2 * window
                                     ).values_list("dedupe_key", flat=True)
    last_due = max((_due(key.removeprefix(prefix)) for key in keys), default=None)
    if last_due is not None and last_due > now:
        return  # a notice is waiting for the end of the window and covers this reply too
    due = now if last_due is None or last_due <= now - window else last_due + window
    item = tell_sender("reply_notice", recipient, purpose="reply_notice",
                       dedupe_key=f"{prefix}{due.timestamp():.6f}", message=message)
    if item is not None and due > now:
        OutboxItem.objects.filter(pk=item.pk).update(next_attempt_at=due)


def _due(stamp: str) -> datetime:
    return datetime.fromtimestamp(float(stamp), tz=UTC)
