"""The portal's "remember this browser" (an organisation's option, off by default): after a
verification the recipient may ask that this browser open new messages from the same
organisation to the same person, verified the same way, without a new code for some days.

The browser keeps a random secret in a cookie; the database keeps only its hash with the
identity it stands for (docs/recipient-help.md): organisation, lower-cased e-mail address,
method and, for SMS, the phone number. A copied cookie opens nothing for another address,
another organisation, another method or number. It stops working when it expires, when the
organisation switches the option off or shortens it below the row's age, and when the sender
revokes a message to that person after the browser was remembered.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from zegel.audit.log import guest_actor, record
from zegel.db import retry_on_conflict
from zegel.messaging import access
from zegel.messaging.errors import NotFound
from zegel.messaging.models import Recipient, RecipientEvent, RememberedBrowser

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _well_formed(secret: str) -> bool:
    return bool(_SECRET_RE.match(secret or ""))


def identity(recipient: Recipient) -> dict[str, object]:
    """Whom a remembered browser stands for, as the row's fields."""
    return {"organisation_id": recipient.conversation.organisation_id,
            "email": recipient.email.strip().lower(), "method": recipient.method,
            "phone": recipient.phone if recipient.method == Recipient.Method.SMS else ""}


@dataclass(frozen=True)
class Remembered:
    """The secret for the browser's cookie and until when it holds."""

    secret: str
    expires_at: datetime


@retry_on_conflict
def remember_browser(recipient: Recipient, previous: str = "", *,
                     request: HttpRequest | None = None) -> Remembered | None:
    """Right after this recipient verified: remember this browser for their identity, for the
    organisation's number of days; None while the organisation has the option off.

    The browser gets a new secret every time, and rows of its ``previous`` secret (other
    identities it is remembered for) move to the new one: a secret someone planted in the
    browser before the recipient verified opens nothing afterwards."""
    secret = secrets.token_urlsafe(32)
    with transaction.atomic(durable=True):
        recipient = access.recipient_for_guest(recipient.pk, for_update=True)
        org = recipient.conversation.organisation
        days = org.remember_browser_days
        if not days or recipient.locked_at:
            return None
        now = timezone.now()
        expires = now + timedelta(days=days)
        new_hash = _secret_hash(secret)
        if _well_formed(previous):
            RememberedBrowser.objects.filter(secret_hash=_secret_hash(previous)).update(
                secret_hash=new_hash)
        who = identity(recipient)
        row = RememberedBrowser.objects.filter(secret_hash=new_hash, **who).first()
        if row is None:
            row = RememberedBrowser.objects.create(secret_hash=new_hash, created_at=now,
                                                   expires_at=expires, **who)
        else:
            RememberedBrowser.objects.filter(pk=row.pk).update(created_at=now, expires_at=expires)
        # The row's id and the days; never the secret or its hash.
        record("browser.remembered", organisation=org, **guest_actor(recipient),
               object_type="recipient", object_id=recipient.pk, request=request,
               data={"remembered_browser": row.pk, "days": days, "method": recipient.method})
    return Remembered(secret=secret, expires_at=expires)


def remembered_until(recipient: Recipient, secret: str) -> datetime | None:
    """Until when this browser's secret opens this recipient's messages, or None: for the
    portal to say so and offer to forget it. Read only; opening checks again under lock."""
    row = _row(recipient, secret)
    if row is None or _ended(row, recipient, timezone.now()):
        return None
    return _end(row, recipient)


def _row(recipient: Recipient, secret: str) -> RememberedBrowser | None:
    if not _well_formed(secret):
        return None
    return RememberedBrowser.objects.filter(secret_hash=_secret_hash(secret),
                                            **identity(recipient)).first()


def _end(row: RememberedBrowser, recipient: Recipient) -> datetime:
    """The row's expiry, shortened to what the organisation allows now."""
    days = recipient.conversation.organisation.remember_browser_days
    return min(row.expires_at, row.created_at + timedelta(days=days))


def _ended(row: RememberedBrowser, recipient: Recipient, now: datetime) -> str:
    """Why the row no longer opens anything ("expired", "switched_off", "revoked"), or ""."""
    if not recipient.conversation.organisation.remember_browser_days:
        return "switched_off"
    if _end(row, recipient) <= now:
        return "expired"
    # A revoke of any message to this person after the browser was remembered; an expiry
    # (revoked at or after its end date) is not one.
    revoked = Recipient.objects.filter(
        conversation__organisation_id=row.organisation_id, email__iexact=row.email,
        method=row.method, revoked_at__gte=row.created_at,
    ).exclude(Q(conversation__expires_at__isnull=False)
              & Q(conversation__expires_at__lte=F("revoked_at")))
    if row.phone:
        revoked = revoked.filter(phone=row.phone)
    return "revoked" if revoked.exists() else ""


@retry_on_conflict
def open_remembered(recipient: Recipient, secret: str, *,
                    request: HttpRequest | None = None) -> int | None:
    """Whether this browser's secret opens this recipient's link without a code: only for a
    row of exactly this identity that still holds, while the recipient is not locked out.
    Returns the recipient's auth_version read under its lock (the portal session keeps it, so
    a later change of method ends the session), or None. A row that no longer holds is
    deleted (and audited as forgotten)."""
    if _row(recipient, secret) is None:
        return None
    with transaction.atomic(durable=True):
        try:
            recipient = access.recipient_for_guest(recipient.pk, for_update=True)
        except NotFound:
            return None
        row = (RememberedBrowser.objects.select_for_update()
               .filter(secret_hash=_secret_hash(secret), **identity(recipient)).first())
        if row is None or recipient.locked_at:
            return None
        org = recipient.conversation.organisation
        now = timezone.now()
        ended = _ended(row, recipient, now)
        if ended:
            RememberedBrowser.objects.filter(pk=row.pk).delete()
            record("browser.forgotten", organisation=org, actor_type="system",
                   object_type="recipient", object_id=recipient.pk, request=request,
                   data={"remembered_browser": row.pk, "reason": ended})
            return None
        RememberedBrowser.objects.filter(pk=row.pk).update(last_used_at=now)
        RecipientEvent.objects.create(recipient=recipient, kind=RecipientEvent.Kind.VERIFIED,
                                      detail="remembered browser")
        record("browser.used", organisation=org, **guest_actor(recipient),
               object_type="recipient", object_id=recipient.pk, request=request,
               data={"remembered_browser": row.pk, "method": recipient.method})
    return recipient.auth_version


@retry_on_conflict
def forget_browser(secret: str, *, recipient: Recipient | None = None,
                   request: HttpRequest | None = None) -> int:
    """"Forget this browser": delete every row of its secret (each identity it was remembered
    for), audited per organisation. Returns how many rows went."""
    if not _well_formed(secret):
        return 0
    with transaction.atomic(durable=True):
        rows = list(RememberedBrowser.objects.select_for_update()
                    .select_related("organisation").filter(secret_hash=_secret_hash(secret)))
        RememberedBrowser.objects.filter(pk__in=[r.pk for r in rows]).delete()
        actor = (guest_actor(recipient) if recipient is not None
                 else {"actor_type": "recipient"})
        for row in rows:
            record("browser.forgotten", organisation=row.organisation, **actor,
                   object_type="recipient", object_id=recipient.pk if recipient else "",
                   request=request, data={"remembered_browser": row.pk, "reason": "asked"})
    return len(rows)


def purge_remembered_browsers(limit: int = 1000) -> int:
    """Delete rows whose time is up (the worker's hourly sweep); nothing else reads them."""
    with transaction.atomic(durable=True):
        ids = list(RememberedBrowser.objects.filter(expires_at__lte=timezone.now())
                   .values_list("pk", flat=True)[:limit])
        deleted, _by_model = RememberedBrowser.objects.filter(pk__in=ids).delete()
    return deleted
