"""Every change to conversations goes through a function here.

Each action validates, writes its rows, appends the audit event and enqueues notifications in one
transaction. Views, the API and the command line call these; none of them write models directly.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.audit.log import guest_actor, record, staff_actor
from zegel.blobs import blob_store
from zegel.crypto.keyring import get_keyring
from zegel.crypto.stream import CHUNK_SIZE, iter_decrypt
from zegel.messaging.models import (
    Attachment,
    Conversation,
    Message,
    Recipient,
    RecipientEvent,
    RecipientLink,
    VerificationCode,
)
from zegel.messaging.sealing import (
    ShreddedError,
    create_data_key,
    open_text,
    seal_text,
    unwrap,
)
from zegel.messaging.validation import (
    clean_access_code,
    clean_display_name,
    clean_email,
    clean_phone,
)
from zegel.notify.emails import render_email
from zegel.notify.outbox import enqueue_email, enqueue_sms
from zegel.orgs.models import Organisation, User, hash_token
from zegel.web import EncryptedUpload

_argon2 = PasswordHasher()  # Argon2id with the library's current recommended parameters
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_SUBJECT = 300
MAX_BODY = 1_000_000
MAX_RECIPIENTS = 100


class ActionError(Exception):
    """A request the action refuses, with a message fit to show the person who made it."""

    def __init__(self, message: str, *, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


@dataclass
class RecipientSpec:
    email: str
    method: str = ""
    name: str = ""
    kind: str = Recipient.Kind.TO
    phone: str = ""
    access_code: str = ""
    access_code_hint: str = ""


@dataclass
class CleanRecipient:
    email: str
    name: str
    kind: str
    method: str
    phone: str
    access_code_hash: str
    access_code_hint: str


def clean_recipients(specs: Sequence[RecipientSpec]) -> list[CleanRecipient]:
    """Check every recipient; raise ActionError naming the first problem (field = index.name)."""
    if not specs:
        raise ActionError(_("Add at least one recipient."), field="recipients")
    if len(specs) > MAX_RECIPIENTS:
        raise ActionError(_("A message can have at most %(n)d recipients.")
                          % {"n": MAX_RECIPIENTS}, field="recipients")
    seen: set[str] = set()
    result = []
    for index, spec in enumerate(specs):
        try:
            email = clean_email(spec.email)
        except ValidationError:
            raise ActionError(_("%(email)s is not a valid e-mail address.")
                              % {"email": spec.email[:100]}, field=f"{index}.email") from None
        if email.lower() in seen:
            raise ActionError(_("%(email)s is listed twice.") % {"email": email},
                              field=f"{index}.email")
        seen.add(email.lower())
        phone = ""
        if spec.phone.strip():
            try:
                phone = clean_phone(spec.phone)
            except ValidationError as exc:
                raise ActionError(exc.messages[0], field=f"{index}.phone") from None
        method = spec.method or (Recipient.Method.SMS if phone else "")
        if method not in Recipient.Method.values:
            raise ActionError(_("Choose how %(email)s proves who they are.") % {"email": email},
                              field=f"{index}.method")
        if method == Recipient.Method.SMS and not phone:
            raise ActionError(_("Enter a mobile number for %(email)s to receive the SMS code.")
                              % {"email": email}, field=f"{index}.phone")
        code_hash = ""
        if method == Recipient.Method.ACCESS_CODE:
            try:
                code_hash = _argon2.hash(clean_access_code(spec.access_code))
            except ValidationError as exc:
                raise ActionError(exc.messages[0], field=f"{index}.access_code") from None
        kind = spec.kind if spec.kind in Recipient.Kind.values else Recipient.Kind.TO
        result.append(CleanRecipient(
            email=email, name=clean_display_name(spec.name), kind=kind, method=method,
            phone=phone, access_code_hash=code_hash,
            access_code_hint=clean_display_name(spec.access_code_hint),
        ))
    return result


# --- Attachments -------------------------------------------------------------------------


def store_upload(upload: EncryptedUpload, *, organisation: Organisation,
                 user: User | None = None, recipient: Recipient | None = None) -> Attachment:
    """Take an upload that the encrypting handler already wrote as ciphertext."""
    with transaction.atomic():
        key, dek = create_data_key(upload.dek)
        attachment = Attachment(organisation=organisation, uploaded_by_user=user,
                                uploaded_by_recipient=recipient, key=key,
                                blob_id=upload.blob_id, size=upload.size or 0, sha256=upload.sha256,
                                content_type=upload.content_type or "application/octet-stream")
        attachment.name_ct = seal_text(dek, attachment.name_oid, upload.name or "attachment")
        attachment.save()
        upload.claimed = True
    return attachment


def attachment_name(attachment: Attachment) -> str:
    return open_text(unwrap(attachment.key), attachment.name_oid, attachment.name_ct)


def iter_attachment(attachment: Attachment) -> Iterator[bytes]:
    dek = unwrap(attachment.key)

    def chunks() -> Iterator[bytes]:
        with blob_store().open(attachment.blob_id) as handle:
            while block := handle.read(CHUNK_SIZE + 16):
                yield block

    return iter_decrypt(dek, bytes.fromhex(attachment.blob_id), chunks())


def _check_owned(attachments: Sequence[Attachment], *, user: User | None = None,
                 recipient: Recipient | None = None) -> None:
    """Refuse attachments this person did not upload or that a message already has; checked
    before anything reads them (the DLP scan) and again when they are claimed."""
    for attachment in attachments:
        owned = (attachment.uploaded_by_user_id == (user.pk if user else None)
                 and attachment.uploaded_by_recipient_id == (recipient.pk if recipient else None))
        if not owned or attachment.message_id is not None:
            raise ActionError(_("An attachment could not be found."), field="attachments",
                              status=404)


def _claim_attachments(attachments: Sequence[Attachment], message: Message, *,
                       user: User | None = None, recipient: Recipient | None = None) -> None:
    _check_owned(attachments, user=user, recipient=recipient)
    ids = [a.pk for a in attachments]
    # Bind only drafts that are still unbound: a concurrent send cannot take the same file.
    updated = Attachment.objects.filter(pk__in=ids, message__isnull=True).update(message=message)
    if updated != len(ids):
        raise ActionError(_("An attachment could not be found."), field="attachments",
                          status=404)


def discard_draft_attachments(older_than: timedelta = timedelta(days=1)) -> int:
    """Remove uploads that never became part of a message."""
    cutoff = timezone.now() - older_than
    count = 0
    for attachment in Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff):
        blob_store().delete(attachment.blob_id)
        key = attachment.key
        attachment.delete()
        key.delete()
        count += 1
    return count


# --- Reading -------------------------------------------------------------------------------


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
    if first is None:
        return ""
    try:
        return open_text(unwrap(first.key), first.subject_oid, first.subject_ct)
    except ShreddedError:
        return _("(revoked: content destroyed)")


def visible_messages(recipient: Recipient) -> QuerySet[Message]:
    """What one recipient may read: the staff's messages since they were added, and their own
    replies. Other guests' replies stay between them and the sender."""
    from django.db.models import Q

    return (
        Message.objects.filter(conversation_id=recipient.conversation_id)
        .filter(Q(author_user__isnull=False, created_at__gte=recipient.created_at)
                | Q(author_recipient=recipient))
        .select_related("key", "author_user", "author_recipient")
        .prefetch_related("attachments__key")
    )


# --- Sending -------------------------------------------------------------------------------


def _new_message(conversation: Conversation, subject: str, body: str, *,
                 user: User | None = None, recipient: Recipient | None = None) -> Message:
    if len(subject) > MAX_SUBJECT:
        raise ActionError(_("The subject is too long."), field="subject")
    if len(body) > MAX_BODY:
        raise ActionError(_("The message is too long."), field="body")
    key, dek = create_data_key()
    message = Message(conversation=conversation, author_user=user, author_recipient=recipient,
                      key=key)
    message.subject_ct = seal_text(dek, message.subject_oid, subject)
    message.body_ct = seal_text(dek, message.body_oid, body)
    message.save()
    return message


def _notify_recipient(recipient: Recipient, message: Message, sender: User, *,
                      dedupe_key: str = "") -> None:
    token = secrets.token_urlsafe(32)
    RecipientLink.objects.create(recipient=recipient, token_hash=hash_token(token))
    org = sender.organisation
    email = render_email(
        "notification",
        {"org": org, "sender_name": sender.display_name, "recipient": recipient,
         "link": f"{settings.BASE_URL}/m/{token}"},
        to=recipient.email,
        from_name=f"{org.name} via Zegel",
    )
    enqueue_email(org, email, dedupe_key=dedupe_key or f"notify:{message.pk}:{recipient.pk}",
                  purpose="notification", recipient=recipient, message=message)


def send_message(*, sender: User, subject: str, body: str, recipients: Sequence[RecipientSpec],
                 attachments: Sequence[Attachment] = (), request: HttpRequest | None = None,
                 via: str = "web", dlp_confirmed: bool = False,
                 expires_at: datetime | None = None) -> Message:
    """Send a new conversation, if the organisation's data-leak rules let it go.

    ``dlp_confirmed`` is the sender's confirmation that a warning was read.
    """
    from zegel.dlp import service as dlp  # the DLP service builds on this module

    subject = clean_display_name(subject)
    if not subject:
        raise ActionError(_("Enter a subject."), field="subject")
    if not body.strip() and not attachments:
        raise ActionError(_("Write a message or add an attachment."), field="body")
    clean = clean_recipients(recipients)
    if expires_at is not None and expires_at <= timezone.now():
        raise ActionError(_("Choose a date in the future."), field="expires_at")
    _check_owned(attachments, user=sender)
    check = dlp.check_draft(sender=sender, subject=subject, body=body, recipients=clean,
                            attachments=attachments)
    dlp.guard_send(check, sender=sender, confirmed=dlp_confirmed,
                   methods=[r.method for r in clean], via=via, request=request)
    with transaction.atomic():
        conversation = Conversation.objects.create(organisation=sender.organisation,
                                                   created_by=sender, expires_at=expires_at)
        message = _new_message(conversation, subject, body, user=sender)
        _claim_attachments(attachments, message, user=sender)
        for spec in clean:
            recipient = Recipient.objects.create(
                conversation=conversation, email=spec.email, name=spec.name, kind=spec.kind,
                method=spec.method, phone=spec.phone, access_code_hash=spec.access_code_hash,
                access_code_hint=spec.access_code_hint, created_at=message.created_at,
            )
            _notify_recipient(recipient, message, sender)
        record("message.sent", organisation=sender.organisation, **staff_actor(sender),
               object_type="message",
               object_id=message.pk, request=request,
               data={"conversation": str(conversation.pk), "via": via,
                     "recipients": [r.email for r in clean],
                     "methods": [r.method for r in clean], "attachments": len(attachments)})
        dlp.record_sent(check, sender=sender, confirmed=dlp_confirmed,
                        conversation=conversation, via=via, request=request)
    return message


def answer_conversation(*, sender: User, conversation: Conversation, body: str,
                        attachments: Sequence[Attachment] = (),
                        request: HttpRequest | None = None, via: str = "web",
                        dlp_confirmed: bool = False) -> Message:
    from zegel.dlp import service as dlp  # the DLP service builds on this module

    if conversation.organisation_id != sender.organisation_id:
        raise ActionError(_("Conversation not found."), status=404)
    if conversation.revoked_at is not None:
        raise ActionError(_("This conversation was revoked; it cannot be answered."),
                          status=409)
    if not body.strip() and not attachments:
        raise ActionError(_("Write a message or add an attachment."), field="body")
    subject = conversation_subject(conversation)
    _check_owned(attachments, user=sender)
    active = list(conversation.recipients.filter(revoked_at__isnull=True))
    check = dlp.check_draft(sender=sender, subject=subject, body=body, recipients=active,
                            attachments=attachments)
    dlp.guard_send(check, sender=sender, confirmed=dlp_confirmed,
                   methods=[r.method for r in active], via=via, request=request)
    with transaction.atomic():
        _locked_open_conversation(conversation)
        message = _new_message(conversation, subject, body, user=sender)
        _claim_attachments(attachments, message, user=sender)
        for recipient in active:
            _notify_recipient(recipient, message, sender)
        Conversation.objects.filter(pk=conversation.pk).update(
            last_activity_at=message.created_at, has_unread_reply=False)
        record("message.sent", organisation=sender.organisation, **staff_actor(sender),
               object_type="message",
               object_id=message.pk, request=request,
               data={"conversation": str(conversation.pk), "answer": True,
                     "recipients": [r.email for r in active], "attachments": len(attachments)})
        dlp.record_sent(check, sender=sender, confirmed=dlp_confirmed,
                        conversation=conversation, via=via, request=request)
    return message


def mark_seen_by_sender(conversation: Conversation) -> None:
    if conversation.has_unread_reply:
        Conversation.objects.filter(pk=conversation.pk).update(has_unread_reply=False)


# --- The guest side ----------------------------------------------------------------------


def resolve_link(token: str) -> Recipient | None:
    """The recipient a link belongs to, or None. Unknown, malformed and revoked links are the
    same None, so nobody outside can tell them apart."""
    if not _TOKEN_RE.match(token or ""):
        return None
    link = (RecipientLink.objects.select_related("recipient__conversation__organisation")
            .filter(token_hash=hash_token(token)).first())
    if link is None or link.recipient.revoked_at is not None:
        return None
    conversation = link.recipient.conversation
    if conversation.revoked_at is not None:
        return None
    if conversation.expires_at is not None and conversation.expires_at <= timezone.now():
        return None
    return link.recipient


def _code_hmac(recipient: Recipient, code: str) -> str:
    key = get_keyring().derive("verification-code")
    return hmac.new(key, f"{recipient.pk}:{code}".encode(), hashlib.sha256).hexdigest()


def _session_hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


@dataclass
class CodeRequest:
    sent: bool
    wait_seconds: int = 0
    locked: bool = False


CODES_PER_HOUR = 10


def request_code(recipient: Recipient, session_key: str, *,
                 request: HttpRequest | None = None) -> CodeRequest:
    """Send a fresh SMS or e-mail code, unless the cooldown or the hourly cap says wait."""
    if recipient.method not in (Recipient.Method.SMS, Recipient.Method.EMAIL):
        raise ActionError(_("This message is opened with an access code."))
    if recipient.locked_at:
        return CodeRequest(sent=False, locked=True)
    now = timezone.now()
    with transaction.atomic():
        # One request at a time per recipient, or parallel requests all pass the cooldown.
        Recipient.objects.select_for_update().filter(pk=recipient.pk).first()
        recent = recipient.codes.filter(created_at__gt=now - timedelta(hours=1))
        last = recent.order_by("-created_at").first()
        if last is not None:
            elapsed = (now - last.created_at).total_seconds()
            if elapsed < settings.CODE_RESEND_COOLDOWN_SECONDS:
                return CodeRequest(sent=False, wait_seconds=int(
                    settings.CODE_RESEND_COOLDOWN_SECONDS - elapsed) + 1)
        if recent.count() >= CODES_PER_HOUR:
            return CodeRequest(sent=False, wait_seconds=3600)
        # A new code replaces the old ones: only the latest can be used.
        recipient.codes.filter(used_at__isnull=True).update(used_at=now)
        code = f"{secrets.randbelow(10**6):06d}"
        channel = recipient.method
        entry = VerificationCode.objects.create(
            recipient=recipient, channel=channel, code_hmac=_code_hmac(recipient, code),
            session_hash=_session_hash(session_key), created_at=now,
            expires_at=now + timedelta(seconds=settings.CODE_TTL_SECONDS),
        )
        org = recipient.conversation.organisation
        if channel == Recipient.Method.SMS:
            body = _("%(code)s is your code for the secure message from %(org)s. "
                     "It is valid for 10 minutes.") % {"code": code, "org": org.name}
            enqueue_sms(org, recipient.phone, body, dedupe_key=f"code:{entry.pk}",
                        purpose="code", recipient=recipient)
        else:
            email = render_email("code", {"org": org, "code": code}, to=recipient.email,
                                 from_name=f"{org.name} via Zegel")
            enqueue_email(org, email, dedupe_key=f"code:{entry.pk}", purpose="code",
                          recipient=recipient)
        record(f"code.{channel}.requested", organisation=org, **guest_actor(recipient),
               object_type="recipient",
               object_id=recipient.pk, request=request)
    return CodeRequest(sent=True)


def _fail(recipient: Recipient, reason: str, request: HttpRequest | None) -> None:
    org = recipient.conversation.organisation
    Recipient.objects.filter(pk=recipient.pk).update(failed_attempts=recipient.failed_attempts + 1)
    recipient.failed_attempts += 1
    record("verify.failed", organisation=org, **guest_actor(recipient),
           object_type="recipient", object_id=recipient.pk,
           request=request, data={"reason": reason, "failures": recipient.failed_attempts})
    if recipient.failed_attempts >= settings.RECIPIENT_MAX_FAILURES and not recipient.locked_at:
        lock_recipient(recipient, request=request)


def _tell_sender(template: str, recipient: Recipient, *, purpose: str, dedupe_key: str,
                 message: Message | None = None) -> None:
    """E-mail the conversation's sender about something a recipient did: a link into the
    sender app, never content."""
    conversation = recipient.conversation
    org = conversation.organisation
    email = render_email(
        template,
        {"org": org, "recipient": recipient,
         "link": f"{settings.BASE_URL}/c/{conversation.pk}"},
        to=conversation.created_by.email, from_name="Zegel",
    )
    enqueue_email(org, email, dedupe_key=dedupe_key, purpose=purpose, message=message)


def lock_recipient(recipient: Recipient, *, request: HttpRequest | None = None) -> None:
    now = timezone.now()
    Recipient.objects.filter(pk=recipient.pk).update(locked_at=now)
    recipient.locked_at = now
    recipient.codes.filter(used_at__isnull=True).update(used_at=now)
    RecipientEvent.objects.create(recipient=recipient, kind=RecipientEvent.Kind.LOCKED)
    org = recipient.conversation.organisation
    _tell_sender("locked", recipient, purpose="locked_notice",
                 dedupe_key=f"locked:{recipient.pk}:{now.timestamp()}")
    record("recipient.locked", organisation=org, actor_type="system", object_type="recipient",
           object_id=recipient.pk, request=request, data={"email": recipient.email})


def verify_code(recipient: Recipient, code: str, session_key: str, *,
                request: HttpRequest | None = None) -> bool:
    code = "".join(ch for ch in (code or "") if not ch.isspace())
    with transaction.atomic():
        recipient = Recipient.objects.select_for_update().select_related(
            "conversation__organisation", "conversation__created_by").get(pk=recipient.pk)
        if recipient.locked_at:
            return False
        now = timezone.now()
        entry = (recipient.codes.select_for_update()
                 .filter(used_at__isnull=True, expires_at__gt=now,
                         session_hash=_session_hash(session_key),
                         failures__lt=settings.CODE_MAX_FAILURES)
                 .order_by("-created_at").first())
        if entry is None:
            _fail(recipient, "no valid code", request)
            return False
        if not (len(code) == 6 and code.isdigit()
                and hmac.compare_digest(entry.code_hmac, _code_hmac(recipient, code))):
            VerificationCode.objects.filter(pk=entry.pk).update(failures=entry.failures + 1)
            _fail(recipient, "wrong code", request)
            return False
        VerificationCode.objects.filter(pk=entry.pk).update(used_at=now)
        _verified(recipient, request)
    return True


def verify_access_code(recipient: Recipient, code: str, *,
                       request: HttpRequest | None = None) -> bool:
    with transaction.atomic():
        recipient = Recipient.objects.select_for_update().select_related(
            "conversation__organisation", "conversation__created_by").get(pk=recipient.pk)
        if recipient.locked_at or recipient.method != Recipient.Method.ACCESS_CODE:
            return False
        ok: bool
        try:
            ok = _argon2.verify(recipient.access_code_hash, (code or "").strip())
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            _fail(recipient, "wrong access code", request)
            return False
        _verified(recipient, request)
    return True


def _verified(recipient: Recipient, request: HttpRequest | None) -> None:
    Recipient.objects.filter(pk=recipient.pk).update(failed_attempts=0)
    RecipientEvent.objects.create(recipient=recipient, kind=RecipientEvent.Kind.VERIFIED)
    record("verify.succeeded", organisation=recipient.conversation.organisation,
           **guest_actor(recipient),
           object_type="recipient", object_id=recipient.pk, request=request,
           data={"method": recipient.method})


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
        _locked_open_conversation(conversation)
        message = _new_message(conversation, subject, body, recipient=recipient)
        _claim_attachments(attachments, message, recipient=recipient)
        RecipientEvent.objects.create(recipient=recipient, message=message,
                                      kind=RecipientEvent.Kind.REPLIED)
        Conversation.objects.filter(pk=conversation.pk).update(
            last_activity_at=message.created_at, has_unread_reply=True)
        org = conversation.organisation
        _tell_sender("reply_notice", recipient, purpose="reply_notice",
                     dedupe_key=f"reply:{message.pk}", message=message)
        record("message.replied", organisation=org, **guest_actor(recipient), object_type="message",
               object_id=message.pk, request=request,
               data={"conversation": str(conversation.pk), "attachments": len(attachments)})
    return message


# --- Revoking --------------------------------------------------------------------------------


def _own(sender: User, conversation: Conversation) -> None:
    if (conversation.organisation_id != sender.organisation_id
            or conversation.created_by_id != sender.pk):
        raise ActionError(_("Conversation not found."), status=404)


def revoke_recipient(*, sender: User, recipient: Recipient,
                     request: HttpRequest | None = None) -> None:
    """One recipient's links stop working at once; the others keep theirs."""
    _own(sender, recipient.conversation)
    if recipient.revoked_at is not None:
        return
    now = timezone.now()
    with transaction.atomic():
        Recipient.objects.filter(pk=recipient.pk).update(revoked_at=now)
        recipient.revoked_at = now
        recipient.codes.filter(used_at__isnull=True).update(used_at=now)
        RecipientEvent.objects.create(recipient=recipient, kind=RecipientEvent.Kind.REVOKED)
        record("recipient.revoked", organisation=sender.organisation, **staff_actor(sender),
               object_type="recipient",
               object_id=recipient.pk, request=request, data={"email": recipient.email})


def revoke_conversation(*, sender: User, conversation: Conversation,
                        request: HttpRequest | None = None) -> None:
    """Revoke for everyone: every link stops working and the data keys of every message and
    file are destroyed (crypto-shredding), so the content is gone from backups too."""
    _own(sender, conversation)
    _shred_conversation(conversation, action="conversation.revoked", request=request,
                        actor=staff_actor(sender))


def set_expiry(*, sender: User, conversation: Conversation, expires_at: datetime | None,
               request: HttpRequest | None = None) -> None:
    """Change until when the recipients can open the conversation (None: no end date)."""
    _own(sender, conversation)
    if conversation.revoked_at is not None:
        raise ActionError(_("This conversation was revoked; it cannot be changed."), status=409)
    if expires_at is not None and expires_at <= timezone.now():
        raise ActionError(_("Choose a date in the future."), field="expires_at")
    with transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).update(expires_at=expires_at)
        conversation.expires_at = expires_at
        record("conversation.expiry_changed", organisation=sender.organisation,
               **staff_actor(sender),
               object_type="conversation", object_id=conversation.pk, request=request,
               data={"expires_at": expires_at.isoformat() if expires_at else None})


def expire_due(limit: int = 100) -> int:
    """Destroy the content of conversations whose expiry date has passed (the worker runs it)."""
    due = list(Conversation.objects.filter(revoked_at__isnull=True, expires_at__lte=timezone.now())
               .order_by("expires_at")[:limit])
    for conversation in due:
        _shred_conversation(conversation, action="conversation.expired", request=None,
                            actor={"actor_type": "system"})
    return len(due)


def _locked_open_conversation(conversation: Conversation) -> None:
    """Inside a transaction: lock the conversation row and refuse if it was revoked meanwhile,
    so a reply cannot slip in after the keys were destroyed."""
    current = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if current.revoked_at is not None:
        raise ActionError(_("This conversation was revoked; it cannot be answered."),
                          status=409)


def _shred_conversation(conversation: Conversation, *, action: str,
                        request: HttpRequest | None, actor: dict[str, Any]) -> None:
    from zegel.messaging.models import DataKey

    now = timezone.now()
    with transaction.atomic():
        current = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if current.revoked_at is not None:
            return
        Conversation.objects.filter(pk=conversation.pk).update(revoked_at=now,
                                                               has_unread_reply=False)
        conversation.revoked_at = now
        recipients = list(conversation.recipients.filter(revoked_at__isnull=True))
        conversation.recipients.filter(revoked_at__isnull=True).update(revoked_at=now)
        VerificationCode.objects.filter(recipient__conversation=conversation,
                                        used_at__isnull=True).update(used_at=now)
        for recipient in recipients:
            RecipientEvent.objects.create(recipient=recipient, kind=RecipientEvent.Kind.REVOKED)
        attachments = Attachment.objects.filter(message__conversation=conversation)
        blob_ids = list(attachments.values_list("blob_id", flat=True))
        key_ids = set(Message.objects.filter(conversation=conversation)
                      .values_list("key_id", flat=True))
        key_ids |= set(attachments.values_list("key_id", flat=True))
        shredded = DataKey.objects.filter(pk__in=key_ids).update(wrapped=b"", shredded_at=now)
        record(action, organisation=conversation.organisation, object_type="conversation",
               object_id=conversation.pk, request=request,
               data={"recipients": len(recipients), "keys_destroyed": shredded,
                     "files": len(blob_ids)}, **actor)

        def delete_blobs() -> None:
            # The keys are gone already; removing the ciphertext too frees the space.
            for blob_id in blob_ids:
                blob_store().delete(blob_id)

        transaction.on_commit(delete_blobs)


def resend_notification(*, sender: User, recipient: Recipient,
                        request: HttpRequest | None = None) -> None:
    """Send the recipient a fresh notification with a new link, for example after a bounce or
    when they lost the e-mail. A recipient who was locked out after wrong codes is let in
    again: the sender decides that, after speaking to them."""
    conversation = recipient.conversation
    _own(sender, conversation)
    if conversation.revoked_at is not None or recipient.revoked_at is not None:
        raise ActionError(_("Access was revoked; the message cannot be sent again."), status=409)
    latest = (conversation.messages.filter(author_user__isnull=False)
              .order_by("-created_at").first())
    if latest is None:
        raise ActionError(_("Conversation not found."), status=404)
    now = timezone.now()
    with transaction.atomic():
        was_locked = recipient.locked_at is not None
        if was_locked:
            Recipient.objects.filter(pk=recipient.pk).update(locked_at=None, failed_attempts=0)
            recipient.locked_at = None
            recipient.failed_attempts = 0
        _notify_recipient(recipient, latest, sender,
                          dedupe_key=f"resend:{recipient.pk}:{now.timestamp()}")
        record("notification.resent", organisation=sender.organisation, **staff_actor(sender),
               object_type="recipient",
               object_id=recipient.pk, request=request,
               data={"email": recipient.email, "unlocked": was_locked})
