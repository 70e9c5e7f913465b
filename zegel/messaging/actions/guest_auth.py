"""The recipient proves who they are: SMS and e-mail codes, access codes, lock-out."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.audit.log import guest_actor, record
from zegel.crypto.keyring import get_keyring
from zegel.messaging import access
from zegel.messaging.errors import ActionError
from zegel.messaging.models import (
    Message,
    Recipient,
    RecipientEvent,
    VerificationCode,
)
from zegel.notify.emails import render_email
from zegel.notify.outbox import enqueue_email, enqueue_sms

_argon2 = PasswordHasher()  # Argon2id with the library's current recommended parameters


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
    with transaction.atomic(durable=True):
        # Locked and re-read: parallel requests would all pass the cooldown otherwise, and a
        # request racing a lock-out or a revoke must not send a code after it.
        recipient = access.recipient_for_guest(recipient.pk, for_update=True)
        if recipient.method not in (Recipient.Method.SMS, Recipient.Method.EMAIL):
            raise ActionError(_("This message is opened with an access code."))
        if recipient.locked_at:
            return CodeRequest(sent=False, locked=True)
        now = timezone.now()
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
    """Inside a transaction that holds the recipient's row lock: count one failure."""
    org = recipient.conversation.organisation
    # F(): the count is the database's, never one read earlier.
    Recipient.objects.filter(pk=recipient.pk).update(failed_attempts=F("failed_attempts") + 1)
    recipient.refresh_from_db(fields=["failed_attempts", "locked_at"])
    record("verify.failed", organisation=org, **guest_actor(recipient),
           object_type="recipient", object_id=recipient.pk,
           request=request, data={"reason": reason, "failures": recipient.failed_attempts})
    if recipient.failed_attempts >= settings.RECIPIENT_MAX_FAILURES and not recipient.locked_at:
        _lock(recipient, request=request)


def tell_sender(template: str, recipient: Recipient, *, purpose: str, dedupe_key: str,
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
    """Lock a recipient out (no code opens the message until the sender lets them in)."""
    with transaction.atomic(durable=True):
        recipient = access.recipient_for_guest(recipient.pk, for_update=True)
        if not recipient.locked_at:
            _lock(recipient, request=request)


def _lock(recipient: Recipient, *, request: HttpRequest | None) -> None:
    """Inside a transaction that holds the recipient's row lock."""
    now = timezone.now()
    Recipient.objects.filter(pk=recipient.pk).update(locked_at=now)
    recipient.locked_at = now
    recipient.codes.filter(used_at__isnull=True).update(used_at=now)
    RecipientEvent.objects.create(recipient=recipient, kind=RecipientEvent.Kind.LOCKED)
    org = recipient.conversation.organisation
    tell_sender("locked", recipient, purpose="locked_notice",
                 dedupe_key=f"locked:{recipient.pk}:{now.timestamp()}")
    record("recipient.locked", organisation=org, actor_type="system", object_type="recipient",
           object_id=recipient.pk, request=request, data={"email": recipient.email})


def verify_code(recipient: Recipient, code: str, session_key: str, *,
                request: HttpRequest | None = None) -> bool:
    """Check an SMS or e-mail code. False for a wrong, used or expired code and while locked
    out; NotFound once access was revoked or the conversation is gone."""
    code = "".join(ch for ch in (code or "") if not ch.isspace())
    with transaction.atomic(durable=True):
        recipient = access.recipient_for_guest(recipient.pk, for_update=True)
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
            VerificationCode.objects.filter(pk=entry.pk).update(failures=F("failures") + 1)
            _fail(recipient, "wrong code", request)
            return False
        VerificationCode.objects.filter(pk=entry.pk).update(used_at=now)
        _verified(recipient, request)
    return True


def verify_access_code(recipient: Recipient, code: str, *,
                       request: HttpRequest | None = None) -> bool:
    """Check an access code; False and NotFound as for verify_code."""
    # Argon2 is slow on purpose, so it runs before the transaction instead of holding the
    # write lock (on SQLite every writer would wait behind it). It checks the hash as it is
    # now; inside, under lock, the hash must still be that one, and everything that can
    # change (locked, revoked, expired) is checked there.
    hashed = Recipient.objects.filter(pk=recipient.pk).values_list(
        "access_code_hash", flat=True).first() or ""
    matches: bool
    try:
        matches = _argon2.verify(hashed, (code or "").strip())
    except (VerificationError, InvalidHashError):
        matches = False
    with transaction.atomic(durable=True):
        recipient = access.recipient_for_guest(recipient.pk, for_update=True)
        if recipient.locked_at or recipient.method != Recipient.Method.ACCESS_CODE:
            return False
        if not (matches and hmac.compare_digest(recipient.access_code_hash, hashed)):
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
