"""Enqueueing and delivering outbox items.

Enqueue happens inside the caller's transaction, so a notification exists if and only if the
change that caused it was committed. Delivery claims a row with a conditional UPDATE (works on
SQLite and PostgreSQL, any number of workers), sends, and marks it sent; a failure pushes the
row into the future with exponential backoff instead of crash-looping.
"""

from __future__ import annotations

import json
import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr, make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from zegel.audit.log import record
from zegel.keystore.binding import Owner, Role
from zegel.keystore.integrity import report_integrity_failure
from zegel.keystore.keys import ContentIntegrityError, create_data_key, open_text, seal_text, unwrap
from zegel.notify.backends import SmsError, send_sms
from zegel.notify.models import OutboxItem
from zegel.notify.signals import delivery_finished
from zegel.orgs.models import Organisation

log = logging.getLogger(__name__)

# Like a mail server's queue: keep trying for days (backoff up to an hour), then give up.
GIVE_UP_AFTER = timedelta(days=5)
LEASE = timedelta(minutes=5)


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
             message: models.Model | None) -> OutboxItem | None:
    if OutboxItem.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    key, sealed, _oid = _seal(payload, _payload_owner(org.pk, recipient.pk if recipient else None,
                                                      message.pk if message else None))
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
                  message: models.Model | None = None) -> OutboxItem | None:
    payload = {"to": email.to, "subject": email.subject, "text": email.text, "html": email.html,
               "from_name": email.from_name, "reply_to": email.reply_to}
    return _enqueue(org, "email", dedupe_key, purpose, payload, recipient, message)


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


def _from_address(org: Organisation, name: str) -> str:
    address = settings.EMAIL_FROM or f"noreply@{org.domain}"
    return formataddr((header_safe(name), address))


def header_safe(text: str) -> str:
    """A display name fit for a mail header: no control characters, and no RFC 2047
    encoded-word that a mail program would decode into a new line."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.replace("=?", "= ?").split())[:150]


class PermanentFailure(Exception):
    pass


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
            "Message-ID": make_msgid(idstring=f"outbox{item.pk}", domain=org.domain),
            "Auto-Submitted": "auto-generated",
        },
    )
    if payload.get("html"):
        message.attach_alternative(payload["html"], "text/html")
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _message in exc.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            raise PermanentFailure(f"recipient refused by the mail server: {codes[0]}") from exc
        raise  # 4xx: greylisting or a full mailbox; try again later
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(f"mail server refused: {exc.smtp_code}") from exc
        raise


def _finished(item: OutboxItem, outcome: str, detail: str = "") -> None:
    """Tell whoever listens (the recipient's status in messaging) how a delivery ended; runs
    inside the transaction that records the outcome."""
    delivery_finished.send(sender=OutboxItem, item=item, outcome=outcome, detail=detail[:200])


def claim_due(limit: int = 20) -> list[int]:
    now = timezone.now()
    due = list(
        OutboxItem.objects.filter(state=OutboxItem.State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit]
    )
    # A worker that died mid-send left its rows in SENDING; take them back after the lease.
    due += list(
        OutboxItem.objects.filter(state=OutboxItem.State.SENDING, claimed_until__lt=now)
        .values_list("id", flat=True)[:limit]
    )
    claimed = []
    for pk in due:
        won = OutboxItem.objects.filter(
            pk=pk, state__in=[OutboxItem.State.PENDING, OutboxItem.State.SENDING],
        ).exclude(claimed_until__gte=now).update(
            state=OutboxItem.State.SENDING, claimed_until=now + LEASE,
        )
        if won:
            claimed.append(pk)
    return claimed


def deliver(pk: int) -> str:
    item = OutboxItem.objects.select_related("organisation", "key").get(pk=pk)
    try:
        payload = _payload(item)
        if item.channel == "email":
            _send_email(item, payload)
        else:
            try:
                send_sms(payload["to"], payload["body"])
            except SmsError as exc:
                if exc.permanent:
                    raise PermanentFailure(str(exc)) from exc
                raise
    except PermanentFailure as exc:
        return _finish_failed(item, str(exc), bounced=True)
    except ContentIntegrityError as exc:
        # A payload moved to another row (or its key swapped) never opens: audit it and stop.
        report_integrity_failure(exc)
        return _finish_failed(item, "the payload failed its integrity check", bounced=False)
    except (ValueError, KeyError) as exc:
        # A malformed address or payload does not get better by trying again.
        return _finish_failed(item, f"cannot build the message: {type(exc).__name__}",
                              bounced=False)
    except (TimeoutError, OSError, smtplib.SMTPException, SmsError) as exc:
        return _retry_later(item, exc)
    with transaction.atomic():
        OutboxItem.objects.filter(pk=item.pk).update(
            state=OutboxItem.State.SENT, sent_at=timezone.now(), claimed_until=None,
            attempts=item.attempts + 1, payload_ct=b"", last_error="",
        )
        _finished(item, "sent")
        record(f"{item.channel}.sent", organisation=item.organisation, actor_type="system",
               object_type="outbox", object_id=item.pk,
               data={"purpose": item.purpose, "recipient": item.recipient_id})
    return "sent"


def _retry_later(item: OutboxItem, exc: BaseException) -> str:
    attempts = item.attempts + 1
    reason = f"{type(exc).__name__}: {str(exc)[:200]}"
    if timezone.now() - item.created_at > GIVE_UP_AFTER:
        return _finish_failed(item, reason, bounced=False)
    delay = min(60 * 2 ** (attempts - 1), 3600)
    OutboxItem.objects.filter(pk=item.pk).update(
        state=OutboxItem.State.PENDING, attempts=attempts, claimed_until=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay), last_error=reason,
    )
    log.warning("outbox item %s: attempt %s failed (%s); next try in %ss", item.pk, attempts,
                type(exc).__name__, delay)
    return "retry"


def _finish_failed(item: OutboxItem, reason: str, *, bounced: bool) -> str:
    with transaction.atomic():
        OutboxItem.objects.filter(pk=item.pk).update(
            state=OutboxItem.State.FAILED, attempts=item.attempts + 1, claimed_until=None,
            payload_ct=b"", last_error=reason[:300],
        )
        _finished(item, "bounced" if bounced else "failed", reason)
        record(f"{item.channel}.failed", organisation=item.organisation, actor_type="system",
               object_type="outbox", object_id=item.pk,
               data={"purpose": item.purpose, "recipient": item.recipient_id,
                     "reason": reason[:200]})
    log.warning("outbox item %s failed for good: %s", item.pk, reason)
    return "failed"


def deliver_due(limit: int = 20) -> int:
    """Deliver what is due now; returns how many items were handled."""
    claimed = claim_due(limit)
    for pk in claimed:
        deliver(pk)
    return len(claimed)
