"""Enqueueing and delivering outbox items.

Enqueue happens inside the caller's transaction, so a notification exists if and only if the
change that caused it was committed.

Delivery takes one row at a time, right before sending it: a conditional UPDATE sets it to
`sending` with a fresh random claim token and a lease (on PostgreSQL the candidate is picked
with SELECT ... FOR UPDATE SKIP LOCKED, so N workers do not queue on the same row). Every
completion (sent, retry, failed, cancelled) is written `WHERE pk = ... AND claim = ...`: a worker
that outlived its lease, whose row another worker has taken since, writes and records nothing.
Every error is caught per item and pushes that item into the future; one bad row never stops
the loop or the rows after it. Recording an outcome is run again when PostgreSQL breaks a
deadlock or serialization failure (zegel.db.retry_on_conflict): a row that was sent must not
wait out its lease in `sending` and go out a second time. Only the worker dying, or the
database going away, between the send and that commit can still send a row twice (at least
once, with a fenced claim; docs/architecture.md, "Locking on PostgreSQL"). The e-mails of one
`deliver_due` call share one SMTP connection (checked with NOOP before each reuse, dropped
after any error).
"""

from __future__ import annotations

import json
import logging
import secrets
import smtplib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, make_msgid
from types import TracebackType
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from zegel.audit.log import record
from zegel.audit.models import AuditEvent
from zegel.db import is_conflict, retry_on_conflict
from zegel.keystore.binding import Owner, Role
from zegel.keystore.integrity import report_integrity_failure
from zegel.keystore.keys import ContentIntegrityError, create_data_key, open_text, seal_text, unwrap
from zegel.notify.backends import SMS_TIMEOUT, SmsError, send_sms
from zegel.notify.models import OutboxItem
from zegel.notify.signals import delivery_check, delivery_finished
from zegel.orgs.models import Organisation

log = logging.getLogger(__name__)

# Like a mail server's queue: keep trying transient failures (a relay that is down, 4xx
# answers) for days, backing off up to an hour, then give up.
GIVE_UP_AFTER = timedelta(days=5)
MAX_BACKOFF_SECONDS = 3600
# An error the outbox does not expect (a payload that does not decrypt, a retired key, a
# gateway answering garbage) does not heal by waiting days: give up after this many.
MAX_FAULTS = 5
# How many due rows a worker tries on SQLite before it concludes that others took them all.
CANDIDATES = 10
# Errors of the relay or the network: worth trying again later, for days.
TRANSIENT = (TimeoutError, OSError, smtplib.SMTPException, SmsError)


def send_deadline() -> float:
    """Seconds after which an SMTP exchange is cut off, however slowly the relay dribbles:
    four socket timeouts (connect, greeting, envelope, data)."""
    return 4.0 * float(settings.EMAIL_TIMEOUT or 30)


def lease() -> timedelta:
    """How long a claim holds: ten socket timeouts of the slower channel, so 300 s with the
    default 30 s SMTP timeout. An e-mail is cut off after four (send_deadline); an SMS webhook
    call waits at most five times (connect, TLS, request, answer, body). The lease is thus at
    least twice the worst single send, and a live worker always completes within it."""
    longest = float(settings.EMAIL_TIMEOUT or 30)
    if settings.SMS.backend == "webhook":
        longest = max(longest, float(SMS_TIMEOUT))
    return timedelta(seconds=10 * longest)


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    from_name: str
    reply_to: str = ""


def _payload_owner(organisation_id: int, recipient_id: int | None,
                   message_id: Any) -> Owner:
    # A payload (with its link or code) moved to another row, organisation, recipient or
    # message does not open: the worker cannot be made to send it to someone else.
    return Owner(kind="outbox", organisation=organisation_id, message=message_id,
                 recipient=recipient_id)


def _seal(payload: dict[str, Any], owner: Owner) -> tuple[Any, bytes, Any]:
    import uuid

    key, dek = create_data_key(owner=owner)
    oid = uuid.UUID(bytes=key.id.bytes)
    return key, seal_text(dek, oid, json.dumps(payload), role=Role.OUTBOX_PAYLOAD,
                          owner=owner), oid


def _enqueue(org: Organisation, channel: str, dedupe_key: str, purpose: str,
             payload: dict[str, Any], recipient: models.Model | None,
             message: models.Model | None, *, new_key: bool = False) -> OutboxItem | None:
    if not new_key and OutboxItem.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    key, sealed, _oid = _seal(payload, _payload_owner(org.pk, recipient.pk if recipient else None,
                                                      message.pk if message else None))
    if new_key:
        # The key names a row created in this transaction (a new message's id): no other row
        # can have it, so there is nothing to look up and no conflict to catch. A conflict
        # anyway is a bug, and fails the caller's transaction instead of dropping the mail.
        return OutboxItem.objects.create(
            organisation=org, channel=channel, dedupe_key=dedupe_key, purpose=purpose,
            recipient_id=recipient.pk if recipient else None,
            message_id=message.pk if message else None, key=key, payload_ct=sealed,
        )
    try:
        with transaction.atomic():
            return OutboxItem.objects.create(
                organisation=org, channel=channel, dedupe_key=dedupe_key, purpose=purpose,
                recipient_id=recipient.pk if recipient else None,
                message_id=message.pk if message else None, key=key, payload_ct=sealed,
            )
    except IntegrityError:
        return None


def enqueue_email(org: Organisation, email: Email, *, dedupe_key: str, purpose: str,
                  recipient: models.Model | None = None,
                  message: models.Model | None = None,
                  new_key: bool = False) -> OutboxItem | None:
    """Write the e-mail to the outbox in the caller's transaction; None if a row with this
    `dedupe_key` exists already. `new_key`: the caller guarantees that no row can have the
    key yet (it contains the id of a row this transaction created), which saves the look-up
    and the savepoint around the insert."""
    payload = {"to": email.to, "subject": email.subject, "text": email.text, "html": email.html,
               "from_name": email.from_name, "reply_to": email.reply_to,
               # Fixed now, so every attempt carries the same id and a receiving server (or
               # a person) can tell a repeated delivery from a new message.
               "message_id": make_msgid(idstring="zegel", domain=org.domain)}
    return _enqueue(org, "email", dedupe_key, purpose, payload, recipient, message,
                    new_key=new_key)


def enqueue_sms(org: Organisation, to: str, body: str, *, dedupe_key: str, purpose: str,
                recipient: models.Model | None = None) -> OutboxItem | None:
    return _enqueue(org, "sms", dedupe_key, purpose, {"to": to, "body": body}, recipient, None)


def _payload(item: OutboxItem) -> dict[str, Any]:
    import uuid

    owner = _payload_owner(item.organisation_id, item.recipient_id, item.message_id)
    dek = unwrap(item.key, owner)
    data: dict[str, Any] = json.loads(open_text(dek, uuid.UUID(bytes=item.key.id.bytes),
                                                item.payload_ct, role=Role.OUTBOX_PAYLOAD,
                                                owner=owner))
    return data


def sender_address(org: Organisation) -> str:
    """The address the organisation's notifications come from (shown on its genuine page)."""
    return settings.EMAIL_FROM or f"noreply@{org.domain}"


def _from_address(org: Organisation, name: str) -> str:
    return formataddr((header_safe(name), sender_address(org)))


def header_safe(text: str) -> str:
    """A display name fit for a mail header: no control characters, and no RFC 2047
    encoded-word that a mail program would decode into a new line."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.replace("=?", "= ?").split())[:150]


class PermanentFailure(Exception):
    pass


class _Deadline:
    """Cuts an SMTP exchange off after `seconds` by shutting its socket: the per-read timeout
    alone lets a relay that answers byte by byte hold a send, and its claim, for ever."""

    def __init__(self, backend: Any, seconds: float) -> None:
        self._backend = backend
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def _cut(self) -> None:
        sock = getattr(getattr(self._backend, "connection", None), "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: the send ended by itself

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._timer.cancel()


class _MailSession:
    """One SMTP connection for the e-mails of one `deliver_due` call, instead of a connect,
    greeting, EHLO (and STARTTLS and AUTH) per e-mail. A connection kept from the previous
    e-mail is asked NOOP first and replaced if it does not answer 250; after any error it is
    dropped, so a failed exchange never leaves its state to the next e-mail. Each e-mail,
    opening the connection included, still has its own deadline."""

    def __init__(self) -> None:
        self.backend: Any = None

    def _usable(self) -> bool:
        connection = getattr(self.backend, "connection", None)
        if connection is None:
            return False
        try:
            return bool(connection.noop()[0] == 250)
        except (smtplib.SMTPException, OSError):
            return False

    def send(self, message: EmailMultiAlternatives) -> None:
        if self.backend is not None and not self._usable():
            self.close()
        backend = self.backend or get_connection(fail_silently=False)
        try:
            with _Deadline(backend, send_deadline()):
                backend.open()  # a no-op while the connection is open
                self.backend = backend
                backend.send_messages([message])
        except BaseException:
            self.backend = backend
            self.close()
            raise

    def close(self) -> None:
        backend, self.backend = self.backend, None
        if backend is not None:
            try:
                backend.close()
            except Exception:  # noqa: S110 - a dead connection: nothing left to close
                pass


class _MailSessions(threading.local):
    current: _MailSession | None = None


_mail_sessions = _MailSessions()


def _send_email(item: OutboxItem, payload: dict[str, Any]) -> None:
    org = item.organisation
    message = EmailMultiAlternatives(
        subject=header_safe(payload["subject"]),
        body=payload["text"],
        from_email=_from_address(org, payload["from_name"]),
        to=[payload["to"]],
        reply_to=[payload["reply_to"]] if payload.get("reply_to") else None,
        headers={
            # The same id on every attempt: a receiving server can drop a duplicate delivery.
            "Message-ID": payload.get("message_id")
            or make_msgid(idstring=f"outbox{item.pk}", domain=org.domain),
            "Auto-Submitted": "auto-generated",
        },
    )
    if payload.get("html"):
        message.attach_alternative(payload["html"], "text/html")
    try:
        session = _mail_sessions.current
        if session is None:
            backend = get_connection(fail_silently=False)
            with _Deadline(backend, send_deadline()), backend:
                backend.send_messages([message])
        else:
            session.send(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _message in exc.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            raise PermanentFailure(f"recipient refused by the mail server: {codes[0]}") from exc
        raise  # 4xx: greylisting or a full mailbox; try again later
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(f"mail server refused: {exc.smtp_code}") from exc
        raise


def _send(item: OutboxItem, payload: dict[str, Any]) -> None:
    if item.channel == "email":
        _send_email(item, payload)
        return
    try:
        send_sms(payload["to"], payload["body"])
    except SmsError as exc:
        if exc.permanent:
            raise PermanentFailure(str(exc)) from exc
        raise


@dataclass(frozen=True)
class Claim:
    """One worker's hold on one row: the row's id and the token only this claim knows."""

    pk: int
    token: str


def _due(now: datetime) -> Q:
    # A worker that died mid-send left its row in SENDING; it is due again after the lease.
    return (Q(state=OutboxItem.State.PENDING, next_attempt_at__lte=now)
            | Q(state=OutboxItem.State.SENDING, claimed_until__lt=now))


def claim_next() -> Claim | None:
    """Take the next due row for this worker, or None when nothing is due."""
    now = timezone.now()
    token = secrets.token_hex(16)
    claimed = {"state": OutboxItem.State.SENDING, "claim": token,
               "claimed_until": now + lease(), "attempts": F("attempts") + 1}
    due = OutboxItem.objects.filter(_due(now)).order_by("next_attempt_at", "id")
    if connection.vendor == "postgresql":
        with transaction.atomic(durable=True):
            pk = (due.select_for_update(skip_locked=True, of=("self",), no_key=True)
                  .values_list("id", flat=True).first())
            if pk is None:
                return None
            won = OutboxItem.objects.filter(_due(now), pk=pk).update(**claimed)
            return Claim(pk, token) if won else None
    # SQLite has one writer at a time: the conditional UPDATE alone decides who wins.
    for pk in list(due.values_list("id", flat=True)[:CANDIDATES]):
        if OutboxItem.objects.filter(_due(now), pk=pk).update(**claimed):
            return Claim(pk, token)
    return None


def _complete(claim: Claim, outcome: str, **fields: Any) -> bool:
    """Write a completion if the claim still holds; False (and nothing written) if another
    worker took the row after this claim's lease ran out."""
    won = OutboxItem.objects.filter(
        pk=claim.pk, claim=claim.token, state=OutboxItem.State.SENDING,
    ).update(claim="", claimed_until=None, **fields)
    if not won:
        log.warning("outbox item %s: claim lost (lease ran out, another worker took the row); "
                    "outcome %r not recorded", claim.pk, outcome)
    return bool(won)


AuditHook = Callable[[AuditEvent], None]


def _finished(item: OutboxItem, outcome: str, detail: str = "") -> list[AuditHook]:
    """Tell whoever listens (the recipient's status in messaging) how a delivery ended; runs
    inside the transaction that records the outcome. A listener that fails is logged and
    rolled back on its own: the outcome itself must still be recorded, or a sent mail would
    be sent again after the lease. Returns what the listeners want called with the outcome's
    audit entry (_audited)."""
    try:
        with transaction.atomic():
            answers = delivery_finished.send(sender=OutboxItem, item=item, outcome=outcome,
                                             detail=detail[:200])
    except Exception as exc:
        if is_conflict(exc):
            raise  # the whole transaction is run again (retry_on_conflict), the listener too
        log.error("outbox item %s: a delivery_finished listener failed (%s)", item.pk,
                  type(exc).__name__)
        return []
    answered: list[Any] = [answer for _receiver, answer in answers]
    return [answer for answer in answered if callable(answer)]


def _audited(hooks: list[AuditHook], entry: AuditEvent) -> None:
    """After the outcome's audit entry: the listeners' hooks. No savepoint of their own (two
    statements a delivery): a hook only updates rows its listener inserted in this
    transaction (zegel.messaging.events.link_audit), which no other transaction can lock."""
    for hook in hooks:
        hook(entry)


def _cancel_reason(item: OutboxItem) -> str:
    for _receiver, reason in delivery_check.send(sender=OutboxItem, item=item):
        if reason:
            return str(reason)
    return ""


def deliver(claim: Claim) -> str:
    """Deliver one claimed row; returns the outcome ("sent", "retry", "failed", "cancelled",
    or "fenced" when the claim no longer held). Never raises for what the row contains."""
    item = (OutboxItem.objects.select_related("organisation", "key")
            .filter(pk=claim.pk, claim=claim.token).first())
    if item is None:
        log.warning("outbox item %s: claim lost before sending", claim.pk)
        return "fenced"
    try:
        reason = _cancel_reason(item)
        if reason:
            return _finish_cancelled(item, claim, reason)
        _send(item, _payload(item))
    except PermanentFailure as exc:
        return _finish_failed(item, claim, str(exc), bounced=True)
    except ContentIntegrityError as exc:
        # A payload moved to another row, altered, or under a key this key file lacks: audit
        # it the first time, then treat it as any poison row (back off, give up after
        # MAX_FAULTS), since a restored key file can still make it readable.
        if item.faults == 0:
            report_integrity_failure(exc)
        # What the check tripped on (a DecryptionError, a KeyringError), never its message.
        origin = exc.__cause__ or exc.__context__
        cause = f" from {type(origin).__name__}" if origin else ""
        return _retry_later(item, claim, f"the payload failed its integrity check "
                            f"(ContentIntegrityError{cause})", fault=True)
    except (ValueError, KeyError) as exc:
        # A malformed address or payload does not get better by trying again.
        return _finish_failed(item, claim, f"cannot build the message: {type(exc).__name__}",
                              bounced=False)
    except TRANSIENT as exc:
        return _retry_later(item, claim, f"{type(exc).__name__}: {str(exc)[:200]}",
                            fault=False)
    except Exception as exc:
        # Anything else (DecryptionError, a retired key, a gateway answering garbage): the
        # type only, since a message may quote what it choked on.
        return _retry_later(item, claim, f"unexpected {type(exc).__module__}."
                            f"{type(exc).__name__}", fault=True)
    return _finish_sent(item, claim)


@retry_on_conflict
def _finish_sent(item: OutboxItem, claim: Claim) -> str:
    # Sent already: this transaction is run again on a deadlock or serialization failure
    # rather than left to the lease, after which the row would be sent a second time.
    with transaction.atomic(durable=True):
        if not _complete(claim, "sent", state=OutboxItem.State.SENT, sent_at=timezone.now(),
                         payload_ct=b"", last_error=""):
            return "fenced"
        hooks = _finished(item, "sent")
        entry = record(f"{item.channel}.sent", organisation=item.organisation,
                       actor_type="system", object_type="outbox", object_id=item.pk,
                       data={"purpose": item.purpose, "recipient": item.recipient_id})
        _audited(hooks, entry)
    return "sent"


def _retry_later(item: OutboxItem, claim: Claim, reason: str, *, fault: bool) -> str:
    faults = item.faults + (1 if fault else 0)
    if faults >= MAX_FAULTS:
        return _finish_failed(item, claim, f"{reason} ({faults} times)", bounced=False,
                              faults=faults)
    if timezone.now() - item.created_at > GIVE_UP_AFTER:
        return _finish_failed(item, claim, reason, bounced=False, faults=faults)
    # item.attempts already counts this attempt: it is raised when the row is claimed.
    delay = min(settings.OUTBOX_RETRY_SECONDS * 2 ** max(item.attempts - 1, 0),
                MAX_BACKOFF_SECONDS)
    if not _record_retry(claim, faults, delay, reason):
        return "fenced"
    log.warning("outbox item %s: attempt %s failed (%s); next try in %ss", item.pk,
                item.attempts, reason.split(":", 1)[0], delay)
    return "retry"


@retry_on_conflict
def _record_retry(claim: Claim, faults: int, delay: int, reason: str) -> bool:
    with transaction.atomic(durable=True):
        return _complete(claim, "retry", state=OutboxItem.State.PENDING, faults=faults,
                         next_attempt_at=timezone.now() + timedelta(seconds=delay),
                         last_error=reason[:300])


@retry_on_conflict
def _finish_failed(item: OutboxItem, claim: Claim, reason: str, *, bounced: bool,
                   faults: int | None = None) -> str:
    with transaction.atomic(durable=True):
        if not _complete(claim, "failed", state=OutboxItem.State.FAILED, payload_ct=b"",
                         last_error=reason[:300],
                         faults=item.faults if faults is None else faults):
            return "fenced"
        hooks = _finished(item, "bounced" if bounced else "failed", reason)
        entry = record(f"{item.channel}.failed", organisation=item.organisation,
                       actor_type="system", object_type="outbox", object_id=item.pk,
                       data={"purpose": item.purpose, "recipient": item.recipient_id,
                             "reason": reason[:200]})
        _audited(hooks, entry)
    log.warning("outbox item %s failed for good: %s", item.pk, reason)
    return "failed"


@retry_on_conflict
def _finish_cancelled(item: OutboxItem, claim: Claim, reason: str) -> str:
    with transaction.atomic(durable=True):
        if not _complete(claim, "cancelled", state=OutboxItem.State.CANCELLED, payload_ct=b"",
                         last_error=reason[:300]):
            return "fenced"
        record(f"{item.channel}.cancelled", organisation=item.organisation,
               actor_type="system", object_type="outbox", object_id=item.pk,
               data={"purpose": item.purpose, "recipient": item.recipient_id,
                     "reason": reason[:200]})
    log.info("outbox item %s not sent: %s", item.pk, reason)
    return "cancelled"


def cancel_waiting(*, recipient_id: int, purpose: str, reason: str) -> list[OutboxItem]:
    """Inside the caller's transaction: rows of this recipient and purpose that wait for
    their (next) attempt end cancelled, their payload emptied. A row being sent right now is
    left to its worker. Returns the cancelled rows, for record_cancelled() at the end of the
    caller's transaction (the audit head is the last lock a transaction takes)."""
    # Only the outbox rows are locked (of="self"): not the organisation they point at, whose
    # row every audit event of the organisation needs a key-share lock on.
    waiting = list(OutboxItem.objects.select_for_update(of=("self",), no_key=True)
                   .filter(recipient_id=recipient_id, purpose=purpose,
                           state=OutboxItem.State.PENDING)
                   .select_related("organisation").order_by("pk"))
    OutboxItem.objects.filter(pk__in=[item.pk for item in waiting],
                              state=OutboxItem.State.PENDING).update(
        state=OutboxItem.State.CANCELLED, payload_ct=b"", last_error=reason[:300])
    return waiting


def record_cancelled(items: list[OutboxItem], reason: str) -> None:
    """The audit events of rows cancel_waiting() cancelled."""
    for item in items:
        record(f"{item.channel}.cancelled", organisation=item.organisation,
               actor_type="system", object_type="outbox", object_id=item.pk,
               data={"purpose": item.purpose, "recipient": item.recipient_id,
                     "reason": reason[:200]})


def deliver_due(limit: int = 20, stop: threading.Event | None = None) -> int:
    """Deliver what is due now, one claim at a time, until nothing is due, `limit` rows were
    handled or `stop` is set; returns how many rows were handled."""
    handled = 0
    session = _mail_sessions.current = _MailSession()
    try:
        while handled < limit and not (stop is not None and stop.is_set()):
            claim = claim_next()
            if claim is None:
                break
            handled += 1
            try:
                deliver(claim)
            except Exception as exc:
                # Recording the outcome failed (the database, most likely): the row stays
                # claimed and is taken again after its lease. The other rows go on.
                log.error("outbox item %s: recording the outcome failed (%s)", claim.pk,
                          type(exc).__name__)
    finally:
        _mail_sessions.current = None
        session.close()
    return handled
