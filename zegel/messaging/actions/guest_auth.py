"""The recipient proves who they are: SMS and e-mail codes, access codes, throttle, lock-out."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from zegel.audit.log import guest_actor, record
from zegel.audit.models import AuditEvent
from zegel.crypto.keyring import get_keyring
from zegel.db import retry_on_conflict
from zegel.messaging import access
from zegel.messaging.errors import ActionError, NotFound
from zegel.messaging.events import link_audit
from zegel.messaging.models import (
    Message,
    Recipient,
    RecipientEvent,
    VerificationCode,
)
from zegel.messaging.validation import legacy_code_forms, normalise_code
from zegel.notify.emails import render_email
from zegel.notify.models import OutboxItem
from zegel.notify.outbox import enqueue_email, enqueue_sms
from zegel.orgs.models import Organisation, User
from zegel.orgs.roles import Role

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
    # A cap on codes was reached (per recipient, phone number or organisation): the portal
    # says so kindly, without saying which.
    limited: bool = False


@retry_on_conflict
def request_code(recipient: Recipient, session_key: str, *,
                 request: HttpRequest | None = None) -> CodeRequest:
    """Send a fresh SMS or e-mail code, unless the cooldown or a cap says wait."""
    with transaction.atomic(durable=True):
        if recipient.method == Recipient.Method.SMS:
            # The organisation's row first: the caps per phone number and per organisation
            # count other recipients' codes, so parallel requests for different recipients
            # must take turns too, or each would see room under the cap. NO KEY UPDATE: rows
            # that only point at the organisation (audit events, outbox rows, written by
            # actions that hold a recipient's lock) still go in, or those would deadlock.
            Organisation.objects.select_for_update(no_key=True).filter(
                pk=recipient.conversation.organisation_id).first()
        # Locked and re-read: parallel requests would all pass the cooldown otherwise, and a
        # request racing a lock-out or a revoke must not send a code after it.
        recipient = access.recipient_for_guest(recipient.pk, for_update=True)
        if recipient.method not in (Recipient.Method.SMS, Recipient.Method.EMAIL):
            raise ActionError(_("This message is opened with an access code."))
        if recipient.locked_at:
            return CodeRequest(sent=False, locked=True)
        now = timezone.now()
        last = recipient.codes.order_by("-created_at").first()
        if last is not None:
            elapsed = (now - last.created_at).total_seconds()
            if elapsed < settings.CODE_RESEND_COOLDOWN_SECONDS:
                return CodeRequest(sent=False, wait_seconds=int(
                    settings.CODE_RESEND_COOLDOWN_SECONDS - elapsed) + 1)
        org = recipient.conversation.organisation
        cap = _cap_reached(recipient, now)
        if cap:
            if cap == "organisation":
                _alert_sms_budget(org, now, request)
            record("code.refused", organisation=org, **guest_actor(recipient),
                   object_type="recipient", object_id=recipient.pk, request=request,
                   data={"cap": cap})
            return CodeRequest(sent=False, limited=True)
        # A new code replaces the old ones: only the latest can be used.
        recipient.codes.filter(used_at__isnull=True).update(used_at=now)
        code = f"{secrets.randbelow(10**6):06d}"
        channel = recipient.method
        entry = VerificationCode.objects.create(
            recipient=recipient, channel=channel, code_hmac=_code_hmac(recipient, code),
            session_hash=_session_hash(session_key), created_at=now,
            expires_at=now + timedelta(seconds=settings.CODE_TTL_SECONDS),
        )
        if channel == Recipient.Method.SMS:
            body = _("%(code)s is your code for the secure message from %(org)s. "
                     "It is valid for 10 minutes.") % {"code": code, "org": org.name}
            enqueue_sms(org, recipient.phone, body, dedupe_key=f"code:{entry.pk}",
                        purpose="code", recipient=recipient)
        else:
            # In the language of the portal page the code was asked for on, as the SMS is.
            email = render_email("code", {"org": org, "code": code}, to=recipient.email,
                                 from_name=f"{org.name} via Zegel",
                                 language=translation.get_language() or "")
            enqueue_email(org, email, dedupe_key=f"code:{entry.pk}", purpose="code",
                          recipient=recipient)
        record(f"code.{channel}.requested", organisation=org, **guest_actor(recipient),
               object_type="recipient",
               object_id=recipient.pk, request=request)
    return CodeRequest(sent=True)


def _cap_reached(recipient: Recipient, now: datetime) -> str:
    """Inside request_code's transaction: the name of the first cap a new code would pass,
    or "". Counted from the codes themselves, so a cap holds across restarts and workers."""
    hour, day = now - timedelta(hours=1), now - timedelta(days=1)
    mine = recipient.codes
    if mine.filter(created_at__gt=hour).count() >= settings.CODES_PER_RECIPIENT_HOUR:
        return "recipient_hour"
    if mine.filter(created_at__gt=day).count() >= settings.CODES_PER_RECIPIENT_DAY:
        return "recipient_day"
    if recipient.method != Recipient.Method.SMS:
        return ""
    sms = VerificationCode.objects.filter(
        channel=VerificationCode.Channel.SMS,
        recipient__conversation__organisation_id=recipient.conversation.organisation_id)
    if (sms.filter(recipient__phone=recipient.phone, created_at__gt=day).count()
            >= settings.SMS_PER_PHONE_DAY):
        return "phone_day"
    if sms.filter(created_at__gt=hour).count() >= settings.SMS_PER_ORGANISATION_HOUR:
        return "organisation"
    return ""


def _alert_sms_budget(org: Organisation, now: datetime, request: HttpRequest | None) -> None:
    """Inside request_code's transaction, holding the organisation's row lock: tell the admins
    once per clock hour that the SMS budget is used up, and write that in the audit log."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    if AuditEvent.objects.filter(organisation=org, action="sms.budget_reached",
                                 at__gte=hour).exists():
        return
    admins = list(User.objects.filter(organisation=org, role=Role.ADMIN, is_active=True)
                  .order_by("pk"))
    for admin in admins:
        email = render_email("sms_budget", {"org": org,
                                            "budget": settings.SMS_PER_ORGANISATION_HOUR},
                             to=admin.email, from_name="Zegel")
        enqueue_email(org, email, purpose="sms_budget_alert",
                      dedupe_key=f"sms-budget:{org.pk}:{int(hour.timestamp())}:{admin.pk}")
    record("sms.budget_reached", organisation=org, actor_type="system",
           object_type="organisation", object_id=org.pk, request=request,
           data={"budget": settings.SMS_PER_ORGANISATION_HOUR, "admins_alerted": len(admins)})


@dataclass(frozen=True)
class Verification:
    """The answer to a code: true when it opened the message. ``wait_seconds`` is set when the
    try came too soon after earlier wrong ones and was not checked at all. On a refusal,
    ``reason`` says why ("wrong", "no_code": none valid for this session, "locked") and
    ``tries_left`` how many wrong tries remain before the code (``code_dead`` once it has
    none) or the recipient is locked, so the page can say what to do next."""

    ok: bool
    wait_seconds: int = 0
    reason: str = ""
    tries_left: int | None = None
    code_dead: bool = False
    # On success: the recipient's auth_version the code was checked under, read under its
    # lock. The portal binds the session to it, so a change of method committed a moment
    # later still ends that session (never a version read after the change).
    version: int = 0

    def __bool__(self) -> bool:
        return self.ok


def throttle_delay(failures: int) -> int:
    """Seconds a recipient must wait after this many wrong codes in a row: none for the first
    few, then doubling up to the maximum."""
    over = failures - settings.GUEST_THROTTLE_AFTER
    if over < 0:
        return 0
    return int(min(settings.GUEST_THROTTLE_SECONDS * 2 ** min(over, 32),
                   settings.GUEST_THROTTLE_MAX_SECONDS))


def wait_seconds(recipient: Recipient, now: datetime) -> int:
    """How long this recipient must still wait before a code is checked again; from the
    stored failure count and time, so every worker and every session sees the same."""
    if recipient.last_failed_at is None:
        return 0
    due = recipient.last_failed_at + timedelta(seconds=throttle_delay(recipient.failed_attempts))
    return max(0, math.ceil((due - now).total_seconds()))


def _fail(recipient: Recipient, reason: str, request: HttpRequest | None) -> None:
    """Inside a transaction that holds the recipient's row lock: count one failure."""
    org = recipient.conversation.organisation
    # F(): the count is the database's, never one read earlier.
    Recipient.objects.filter(pk=recipient.pk).update(failed_attempts=F("failed_attempts") + 1,
                                                     last_failed_at=timezone.now())
    recipient.refresh_from_db(fields=["failed_attempts", "last_failed_at", "locked_at"])
    locking = (recipient.failed_attempts >= settings.RECIPIENT_MAX_FAILURES
               and not recipient.locked_at)
    lock_event = _lock_rows(recipient) if locking else None
    # The audit log last: its head is the last lock of the transaction (docs/architecture.md).
    record("verify.failed", organisation=org, **guest_actor(recipient),
           object_type="recipient", object_id=recipient.pk,
           request=request, data={"reason": reason, "failures": recipient.failed_attempts})
    if lock_event is not None:
        _record_lock(recipient, lock_event, request=request)


def tell_sender(template: str, recipient: Recipient, *, purpose: str, dedupe_key: str,
                 message: Message | None = None) -> OutboxItem | None:
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
    return enqueue_email(org, email, dedupe_key=dedupe_key, purpose=purpose, message=message)


@retry_on_conflict
def lock_recipient(recipient: Recipient, *, request: HttpRequest | None = None) -> None:
    """Lock a recipient out (no code opens the message until the sender lets them in)."""
    with transaction.atomic(durable=True):
        recipient = access.recipient_for_guest(recipient.pk, for_update=True)
        if not recipient.locked_at:
            _lock(recipient, request=request)


def _lock(recipient: Recipient, *, request: HttpRequest | None) -> None:
    """Inside a transaction that holds the recipient's row lock."""
    _record_lock(recipient, _lock_rows(recipient), request=request)


def _lock_rows(recipient: Recipient) -> RecipientEvent:
    """The rows of a lock-out, before anything of it goes into the audit log."""
    now = timezone.now()
    Recipient.objects.filter(pk=recipient.pk).update(locked_at=now)
    recipient.locked_at = now
    recipient.codes.filter(used_at__isnull=True).update(used_at=now)
    event = RecipientEvent.objects.create(recipient=recipient, kind=RecipientEvent.Kind.LOCKED)
    tell_sender("locked", recipient, purpose="locked_notice",
                 dedupe_key=f"locked:{recipient.pk}:{now.timestamp()}")
    return event


def _record_lock(recipient: Recipient, event: RecipientEvent, *,
                 request: HttpRequest | None) -> None:
    org = recipient.conversation.organisation
    entry = record("recipient.locked", organisation=org, actor_type="system",
                   object_type="recipient", object_id=recipient.pk, request=request,
                   data={"email": recipient.email})
    link_audit([event], entry)


@retry_on_conflict
def verify_code(recipient: Recipient, code: str, session_key: str, *,
                request: HttpRequest | None = None) -> Verification:
    """Check an SMS or e-mail code. False for a wrong, used or expired code, while throttled
    and while locked out; NotFound once access was revoked or the conversation is gone.

    Only a wrong guess at a code this session was sent counts as a failure: a try without
    one (no code asked for, or it expired) is refused without counting, so someone who only
    has the link cannot run the real recipient into the lock."""
    code = normalise_code(code)
    with transaction.atomic(durable=True):
        recipient = access.recipient_for_guest(recipient.pk, for_update=True)
        if recipient.locked_at:
            return Verification(ok=False, reason="locked")
        now = timezone.now()
        wait = wait_seconds(recipient, now)
        if wait:
            return Verification(ok=False, wait_seconds=wait)
        entry = (recipient.codes.select_for_update(of=("self",), no_key=True)
                 .filter(used_at__isnull=True, expires_at__gt=now,
                         session_hash=_session_hash(session_key),
                         failures__lt=settings.CODE_MAX_FAILURES)
                 .order_by("-created_at").first())
        if entry is None:
            return Verification(ok=False, reason="no_code")
        if not (len(code) == 6 and code.isdigit()
                and hmac.compare_digest(entry.code_hmac, _code_hmac(recipient, code))):
            VerificationCode.objects.filter(pk=entry.pk).update(failures=F("failures") + 1)
            _fail(recipient, "wrong code", request)
            code_left = settings.CODE_MAX_FAILURES - entry.failures - 1
            return Verification(ok=False, reason="locked" if recipient.locked_at else "wrong",
                                tries_left=max(0, min(code_left, _tries_left(recipient))),
                                code_dead=code_left <= 0)
        VerificationCode.objects.filter(pk=entry.pk).update(used_at=now)
        _verified(recipient, request)
    return Verification(ok=True, version=recipient.auth_version)


def verify_access_code(recipient: Recipient, code: str, *,
                       request: HttpRequest | None = None) -> Verification:
    """Check an access code; False, throttled and NotFound as for verify_code."""
    current = Recipient.objects.filter(pk=recipient.pk).only(
        "access_code_hash", "failed_attempts", "last_failed_at").first()
    if current is None:
        raise NotFound(_("This message is no longer available."))
    # A throttled try is refused before the slow hash: waiting must not cost the server CPU.
    # Checked again under lock below, where it counts.
    wait = wait_seconds(current, timezone.now())
    if wait:
        return Verification(ok=False, wait_seconds=wait)
    # Argon2 is slow on purpose, so it runs before the transaction instead of holding the
    # write lock (on SQLite every writer would wait behind it). It checks the hash as it is
    # now; inside, under lock, the hash must still be that one, and everything that can
    # change (locked, revoked, expired, throttled) is checked there.
    hashed = current.access_code_hash or ""
    # Codes are hashed normalised (no spaces or dashes, capitals); older ones in older forms.
    candidates = legacy_code_forms(code)
    matches = False
    for candidate in candidates:
        try:
            matches = _argon2.verify(hashed, candidate)
        except (VerificationError, InvalidHashError):
            matches = False
        if matches:
            break
    return _check_access_code(recipient.pk, hashed, matches, request)


@retry_on_conflict
def _check_access_code(recipient_id: int, hashed: str, matches: bool,
                       request: HttpRequest | None) -> Verification:
    """verify_access_code's transaction, after the slow hash."""
    with transaction.atomic(durable=True):
        recipient = access.recipient_for_guest(recipient_id, for_update=True)
        if recipient.locked_at or recipient.method != Recipient.Method.ACCESS_CODE:
            return Verification(ok=False, reason="locked" if recipient.locked_at else "")
        wait = wait_seconds(recipient, timezone.now())
        if wait:
            return Verification(ok=False, wait_seconds=wait)
        if not (matches and hmac.compare_digest(recipient.access_code_hash, hashed)):
            _fail(recipient, "wrong access code", request)
            return Verification(ok=False, reason="locked" if recipient.locked_at else "wrong",
                                tries_left=_tries_left(recipient))
        _verified(recipient, request)
    return Verification(ok=True, version=recipient.auth_version)


def _tries_left(recipient: Recipient) -> int:
    """Wrong tries this recipient has left before the lock (after a _fail, which re-read it)."""
    return max(0, settings.RECIPIENT_MAX_FAILURES - recipient.failed_attempts)


def _verified(recipient: Recipient, request: HttpRequest | None) -> None:
    Recipient.objects.filter(pk=recipient.pk).update(failed_attempts=0, last_failed_at=None)
    event = RecipientEvent.objects.create(recipient=recipient,
                                          kind=RecipientEvent.Kind.VERIFIED)
    entry = record("verify.succeeded", organisation=recipient.conversation.organisation,
                   **guest_actor(recipient),
                   object_type="recipient", object_id=recipient.pk, request=request,
                   data={"method": recipient.method})
    link_audit([event], entry)
