"""Single-use recovery codes: ten at a time, shown once, stored as keyed hashes."""

from __future__ import annotations

import hmac
import secrets
from hashlib import sha256

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.crypto.keyring import get_keyring
from zegel.orgs.models import RecoveryCode, User
from zegel.orgs.twofactor import TwoFactorError, audit_user
from zegel.orgs.twofactor.policy import has_second_factor

RECOVERY_CODES = 10
# 12 characters from 31 (no 0/o, 1/i/l): 59 bits each, shown as xxxx-xxxx-xxxx.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 12


def _recovery_hash(user: User, code: str) -> str:
    key = get_keyring().derive("recovery-code")
    return hmac.new(key, f"{user.pk}:{code}".encode(), sha256).hexdigest()


def _normalise_recovery(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_recovery_codes(user: User, request: HttpRequest | None = None) -> list[str]:
    """Replace the user's recovery codes by RECOVERY_CODES new ones, returned to be shown once.
    Only for a user with a second factor: the codes stand in for it."""
    if not has_second_factor(user):
        raise TwoFactorError(_("Set up an authenticator app or a passkey first."))
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
                 for _ in range(RECOVERY_CODES)]
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=user, code_hash=_recovery_hash(user, c)) for c in codes)
        audit_user("user.recovery_codes_generated", user, request, count=RECOVERY_CODES)
    return [f"{c[:4]}-{c[4:8]}-{c[8:]}" for c in codes]


def first_codes(user: User, request: HttpRequest | None) -> list[str]:
    if RecoveryCode.objects.filter(user=user, used_at__isnull=True).exists():
        return []
    return new_recovery_codes(user, request)


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def use_recovery_code(user: User, code: str) -> bool:
    normalised = _normalise_recovery(code)
    if len(normalised) != RECOVERY_LENGTH or not has_second_factor(user):
        return False
    # One UPDATE: two log-ins with the same code cannot both use it.
    return RecoveryCode.objects.filter(
        user=user, code_hash=_recovery_hash(user, normalised), used_at__isnull=True,
    ).update(used_at=timezone.now()) == 1


def drop_if_alone(user: User) -> None:
    # Recovery codes stand in for a second factor; without one they would be a password.
    if not has_second_factor(user):
        RecoveryCode.objects.filter(user=user).delete()
