"""Staff log-in: e-mail addresses are matched without regard to case, and log-ins are refused
for a while after many failures per typed address, per client address and over the whole
installation (settings LOGIN_*; the failures are counted in FailedLogin, not read back from the
audit log, which is evidence and not operational data).

Each limit counts the failures of the last LOGIN_FAILURE_WINDOW seconds. An attempt refused by
a limit is not counted, so whatever an attacker keeps sending, a lock ends when the failures
that caused it leave the window: a time fixed when the lock began. A refused attempt does the
same Argon2 work as a wrong password, so the answer time does not show a lock, and unknown
addresses are counted like known ones, so a lock does not show whether an account exists.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from zegel.audit.log import client_ip
from zegel.orgs.models import FailedLogin, PasswordResetRequest

# Any constant: the key of PostgreSQL's advisory lock that serialises attempts being counted.
_ADVISORY_KEY = 0x7A65_676C


def client_key(request: HttpRequest | None) -> str:
    """Who is trying, for the per-IP limit: the client address behind trusted proxies; an IPv6
    client by its /64 network, since one household or server gets a whole /64."""
    address = client_ip(request)
    if not address:
        return ""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _reached(failures: QuerySet[Any], limit: int) -> bool:
    return limit > 0 and failures.count() >= limit


def _serialise_counting() -> None:
    # SQLite runs every transaction IMMEDIATE (settings), which serialises writers already.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_KEY])


def claim_attempt(email: str, client: str) -> int | None:
    """Count one attempt as a failure before its password is checked, so N parallel attempts
    cannot all slip past a limit; None, and nothing counted, when a limit is reached."""
    now = timezone.now()
    since = now - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    with transaction.atomic(durable=True):
        _serialise_counting()
        recent = FailedLogin.objects.filter(at__gte=since)
        if (_reached(recent.filter(email=email), settings.LOGIN_MAX_FAILURES_PER_ACCOUNT)
                or (client and _reached(recent.filter(client=client),
                                        settings.LOGIN_MAX_FAILURES_PER_IP))
                or _reached(recent, settings.LOGIN_MAX_FAILURES_GLOBAL)):
            return None
        # Pruning here keeps the table as small as the window, without a separate job.
        FailedLogin.objects.filter(at__lt=since).delete()
        return FailedLogin.objects.create(email=email, client=client, at=now).pk


@dataclass(frozen=True)
class ResetClaim:
    """What the "forgot password" throttle decided: `row` is the counted request (None when
    the client is over its limit: refused, not counted); `may_send` whether a reset e-mail may
    go out for it (False once the typed address or the installation had their share)."""

    row: int | None
    may_send: bool


def reset_address_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def claim_reset_request(email: str, client: str) -> ResetClaim:
    """Count one "forgot password" request. Over the last RESET_WINDOW: a client that made
    RESET_MAX_PER_IP requests is refused (and not counted); a typed address asked for
    RESET_MAX_PER_ADDRESS times, or RESET_MAX_MAILS_GLOBAL reset e-mails sent, let the request
    through without an e-mail. Unknown addresses are counted like real ones, so none of this
    shows whether an account exists."""
    now = timezone.now()
    since = now - timedelta(seconds=settings.RESET_WINDOW)
    address = reset_address_hash(email)
    with transaction.atomic(durable=True):
        _serialise_counting()
        recent = PasswordResetRequest.objects.filter(at__gte=since)
        if client and _reached(recent.filter(client=client), settings.RESET_MAX_PER_IP):
            return ResetClaim(row=None, may_send=False)
        may_send = not (_reached(recent.filter(address_hash=address),
                                 settings.RESET_MAX_PER_ADDRESS)
                        or _reached(recent.filter(sent=True), settings.RESET_MAX_MAILS_GLOBAL))
        PasswordResetRequest.objects.filter(at__lt=since).delete()
        row = PasswordResetRequest.objects.create(address_hash=address, client=client, at=now)
        return ResetClaim(row=row.pk, may_send=may_send)


def login_throttled(request: HttpRequest | None) -> bool:
    """Whether this request's log-in was refused by a limit (for the page and the audit log)."""
    return bool(getattr(request, "zegel_login_throttled", False))


class EmailBackend(ModelBackend):
    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> Any:
        if not username or password is None:
            return None
        email = username.strip().lower()[:254]
        claim = claim_attempt(email, client_key(request))
        if claim is None:
            # Too many tries: even the right password waits. Hash it all the same, as
            # ModelBackend does for an unknown address, so the refusal takes as long as a check.
            make_password(password)
            if request is not None:
                request.zegel_login_throttled = True  # type: ignore[attr-defined]
            return None
        user = super().authenticate(request, username=email, password=password, **kwargs)
        if user is not None:
            # Not a failure after all.
            FailedLogin.objects.filter(pk=claim).delete()
        return user
