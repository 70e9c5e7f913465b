"""Passkeys (WebAuthn, with py_webauthn): registration and assertion ceremonies whose
challenges live in the session that asked for them, for this server's origin and RP ID."""

from __future__ import annotations

import hmac
import json
import time
from hashlib import sha256
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from zegel.crypto.keyring import get_keyring
from zegel.orgs.models import Passkey, User
from zegel.orgs.twofactor import TwoFactorError, audit_user
from zegel.orgs.twofactor.recovery import drop_if_alone, first_codes

PASSKEY_NAME_MAX = 60
MAX_PASSKEYS = 20
# A ceremony's challenge lives in the session that asked for it, for this long.
CHALLENGE_SECONDS = 300

_REGISTRATION = "zegel_webauthn_registration"
_AUTHENTICATION = "zegel_webauthn_authentication"



def rp_id() -> str:
    return urlsplit(settings.BASE_URL).hostname or ""


def expected_origin() -> str:
    parts = urlsplit(settings.BASE_URL)
    return f"{parts.scheme}://{parts.netloc}"


def _user_handle(user: User) -> bytes:
    # Stable per user and says nothing about them (no e-mail address, no database id).
    return hmac.new(get_keyring().derive("webauthn-user-handle"), str(user.pk).encode(),
                    sha256).digest()


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for passkey in Passkey.objects.filter(user=user):
        transports = []
        for name in passkey.transports.split(","):
            try:
                transports.append(AuthenticatorTransport(name))
            except ValueError:
                continue
        out.append(PublicKeyCredentialDescriptor(id=base64url_to_bytes(passkey.credential_id),
                                                 transports=transports or None))
    return out


def _store_challenge(request: HttpRequest, slot: str, challenge: bytes, user: User) -> None:
    request.session[slot] = {"challenge": bytes_to_base64url(challenge), "user": user.pk,
                             "at": time.time()}


def _take_challenge(request: HttpRequest, slot: str, user: User) -> bytes:
    """The challenge this session was given for this user; used up by asking."""
    stored = request.session.pop(slot, None)
    if (not isinstance(stored, dict) or stored.get("user") != user.pk
            or not isinstance(stored.get("at"), int | float)
            or time.time() - stored["at"] > CHALLENGE_SECONDS):
        raise TwoFactorError(_("The request for your passkey has expired. Please try again."))
    return base64url_to_bytes(str(stored["challenge"]))


def registration_options(request: HttpRequest, user: User) -> str:
    """The options for navigator.credentials.create(), as JSON; remembers the challenge."""
    if Passkey.objects.filter(user=user).count() >= MAX_PASSKEYS:
        raise TwoFactorError(_("You have the most passkeys allowed; remove one first."))
    options = generate_registration_options(
        rp_id=rp_id(), rp_name="Zegel", user_id=_user_handle(user), user_name=user.email,
        user_display_name=user.display_name, exclude_credentials=_descriptors(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED))
    _store_challenge(request, _REGISTRATION, options.challenge, user)
    return options_to_json(options)


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())[:PASSKEY_NAME_MAX]
    if not cleaned:
        raise TwoFactorError(_("Give the passkey a name, such as \"work laptop\"."))
    return cleaned


def register_passkey(request: HttpRequest, user: User, name: str,
                     credential: Any) -> tuple[Passkey, list[str]]:
    """Finish a registration; returns the passkey and first recovery codes (or [])."""
    cleaned = _clean_name(name)
    challenge = _take_challenge(request, _REGISTRATION, user)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(),
            expected_origin=expected_origin())
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as exc:
        audit_user("user.passkey_add_failed", user, request, reason=type(exc).__name__)
        raise TwoFactorError(_("The passkey could not be added. Please try again.")) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    transports = ""
    if isinstance(credential, dict):
        raw = (credential.get("response") or {}).get("transports") or []
        if isinstance(raw, list):
            transports = ",".join(str(t)[:20] for t in raw[:8])
    with transaction.atomic():
        if Passkey.objects.filter(credential_id=credential_id).exists():
            raise TwoFactorError(_("This passkey is registered already."))
        passkey = Passkey.objects.create(
            user=user, name=cleaned, credential_id=credential_id,
            public_key=verified.credential_public_key, sign_count=verified.sign_count,
            transports=transports)
        audit_user("user.passkey_added", user, request, passkey=passkey.pk)
        return passkey, first_codes(user, request)


def rename_passkey(user: User, passkey_id: int, name: str,
                   request: HttpRequest | None = None) -> Passkey:
    cleaned = _clean_name(name)
    passkey = Passkey.objects.filter(user=user, pk=passkey_id).first()
    if passkey is None:
        raise TwoFactorError(_("That passkey does not exist (any more)."))
    with transaction.atomic():
        Passkey.objects.filter(pk=passkey.pk).update(name=cleaned)
        audit_user("user.passkey_renamed", user, request, passkey=passkey.pk)
    passkey.name = cleaned
    return passkey


def remove_passkey(user: User, passkey_id: int, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        if not Passkey.objects.filter(user=user, pk=passkey_id).delete()[0]:
            raise TwoFactorError(_("That passkey does not exist (any more)."))
        audit_user("user.passkey_removed", user, request, passkey=passkey_id)
        drop_if_alone(user)


def authentication_options(request: HttpRequest, user: User) -> str:
    descriptors = _descriptors(user)
    if not descriptors:
        raise TwoFactorError(_("You have no passkey. Use your authenticator app or a recovery "
                               "code."))
    options = generate_authentication_options(
        rp_id=rp_id(), allow_credentials=descriptors,
        user_verification=UserVerificationRequirement.PREFERRED)
    _store_challenge(request, _AUTHENTICATION, options.challenge, user)
    return options_to_json(options)


def verify_passkey(request: HttpRequest, user: User, credential: Any) -> Passkey:
    """Check an assertion against this session's challenge, the user's passkeys, this server's
    origin and RP ID, and the signature counter (a counter that goes back means a cloned
    authenticator: refused)."""
    challenge = _take_challenge(request, _AUTHENTICATION, user)
    credential_id = credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(credential_id, str):
        raise TwoFactorError(_("That passkey could not be checked."))
    with transaction.atomic():
        passkey = (Passkey.objects.select_for_update(of=("self",), no_key=True)
                   .filter(user=user, credential_id=credential_id).first())
        if passkey is None:
            raise TwoFactorError(_("That passkey is not one of yours."))
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(),
                expected_origin=expected_origin(),
                credential_public_key=bytes(passkey.public_key),
                credential_current_sign_count=passkey.sign_count)
        except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError):
            raise TwoFactorError(_("That passkey could not be checked.")) from None
        Passkey.objects.filter(pk=passkey.pk).update(sign_count=verified.new_sign_count,
                                                     last_used_at=timezone.now())
        return passkey


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise TwoFactorError(_("The browser sent something that is not JSON.")) from None
    if not isinstance(value, dict):
        raise TwoFactorError(_("The browser sent something that is not JSON."))
    return value
