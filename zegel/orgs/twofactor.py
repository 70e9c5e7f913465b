"""Second factors of staff log-in: an authenticator app (TOTP, RFC 6238), passkeys (WebAuthn)
and single-use recovery codes; the organisation's "2FA required" policy.

Secrets: the TOTP secret is stored only wrapped by the key file's KEK, bound to its device and
user (`totp_context`), so a database dump alone does not hold it;
recovery codes are stored as an HMAC under a key derived from the key file, so a dump does not
let anyone try them offline either. No secret, code or credential is ever logged or audited:
events carry the method and outcome only.

A TOTP code is accepted once: the device row is locked, and the time step of an accepted code
becomes its `last_step`, so the same code (or an older one) is refused afterwards, also when two
log-ins send it at the same moment.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from hashlib import sha256
from typing import Any
from urllib.parse import urlsplit

import pyotp
import segno
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

from zegel.audit.log import record, staff_actor
from zegel.crypto.keyring import KeyringError, get_keyring, new_dek
from zegel.orgs.models import Passkey, RecoveryCode, TotpDevice, User

# RFC 4226 recommends 160 bits; authenticator apps expect SHA-1, 6 digits, 30 s steps.
TOTP_SECRET_BYTES = 20
TOTP_DIGITS = 6
TOTP_STEP = 30
# One step either side of now: a phone's clock may be 30 s off.
TOTP_DRIFT_STEPS = 1
RECOVERY_CODES = 10
# 12 characters from 31 (no 0/o, 1/i/l): 59 bits each, shown as xxxx-xxxx-xxxx.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 12
PASSKEY_NAME_MAX = 60
MAX_PASSKEYS = 20
# A ceremony's challenge lives in the session that asked for it, for this long.
CHALLENGE_SECONDS = 300

_REGISTRATION = "zegel_webauthn_registration"
_AUTHENTICATION = "zegel_webauthn_authentication"


class TwoFactorError(Exception):
    """A refusal with a message for the person (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- policy ---------------------------------------------------------------------------------


def has_second_factor(user: User) -> bool:
    return (TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()
            or Passkey.objects.filter(user=user).exists())


def must_enrol(user: User) -> bool:
    """Whether the organisation requires a second factor, the user's grace period has passed
    and they have none: then they may only enrol one (zegel.orgs.middleware)."""
    organisation = user.organisation
    if not organisation.two_factor_required:
        return False
    deadline = user.date_joined + timedelta(days=organisation.two_factor_grace_days)
    return timezone.now() >= deadline and not has_second_factor(user)


def enrol_deadline(user: User) -> Any:
    """When the grace period ends, if the organisation requires a second factor."""
    if not user.organisation.two_factor_required:
        return None
    return user.date_joined + timedelta(days=user.organisation.two_factor_grace_days)


def _audit(action: str, user: User, request: HttpRequest | None, *,
           actor: User | None = None, **data: Any) -> None:
    record(action, organisation=user.organisation, **staff_actor(actor or user),
           object_type="user", object_id=user.pk, request=request, data=data or None)


# -- TOTP -----------------------------------------------------------------------------------


def totp_context(device_id: uuid.UUID, user_id: int) -> bytes:
    """What a TOTP secret is wrapped with: its device's id and its user, so a wrapped secret
    copied to another row does not unwrap. `zegel keys rotate` re-wraps it with the stored
    copy of this context (zegel.keystore.rotation)."""
    return device_id.bytes + b"ZGLT\x01" + str(user_id).encode()


def _secret(device: TotpDevice) -> str:
    try:
        dek = get_keyring().unwrap(device.kek_id, bytes(device.wrapped),
                                   context=totp_context(device.id, device.user_id))
    except KeyringError:
        raise TwoFactorError(_("Your authenticator app cannot be checked; ask an admin to "
                               "reset your second factors.")) from None
    return base64.b32encode(dek[:TOTP_SECRET_BYTES]).decode("ascii")


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP)


def start_totp(user: User, request: HttpRequest | None = None) -> TotpDevice:
    """A new, unconfirmed authenticator for the user (replacing an unconfirmed one). Refused
    when one is confirmed already: remove it first."""
    with transaction.atomic():
        User.objects.select_for_update(of=("self",), no_key=True).filter(pk=user.pk).first()
        old = TotpDevice.objects.filter(user=user).first()
        if old is not None and old.confirmed_at is not None:
            raise TwoFactorError(_("An authenticator app is set up already; remove it first."))
        if old is not None:
            old.delete()
        device = TotpDevice(id=uuid.uuid4(), user=user)
        device.context = totp_context(device.id, user.pk)
        device.kek_id, device.wrapped = get_keyring().wrap(new_dek(), context=device.context)
        device.save()
        return device


def pending_totp(user: User) -> TotpDevice | None:
    return (TotpDevice.objects.filter(user=user, confirmed_at__isnull=True)
            .select_related("user").first())


def manual_key(device: TotpDevice) -> str:
    """The secret as people type it: base32 in groups of four."""
    secret = _secret(device)
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(device: TotpDevice) -> str:
    issuer = f"Zegel ({device.user.organisation.name})"
    return _totp(_secret(device)).provisioning_uri(name=device.user.email, issuer_name=issuer)


def qr_svg(device: TotpDevice) -> bytes:
    """The enrolment QR code as a standalone SVG (paths only, no script or style)."""
    qr = segno.make(provisioning_uri(device), error="m")
    from io import BytesIO

    out = BytesIO()
    qr.save(out, kind="svg", scale=5, border=4, xmldecl=True, svgclass=None, lineclass=None,
            title=_("QR code for your authenticator app"))
    return out.getvalue()


def _clean_code(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace())


def _matching_step(secret: str, code: str, after: int, now: float | None = None) -> int | None:
    """The time step within the drift window, newer than `after`, whose code this is."""
    if not (code.isdigit() and len(code) == TOTP_DIGITS):
        return None
    current = int((time.time() if now is None else now) // TOTP_STEP)
    totp = _totp(secret)
    found = None
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        # Every candidate is compared, so the answer time does not tell which step matched.
        if hmac.compare_digest(totp.generate_otp(step), code) and step > after and found is None:
            found = step
    return found


def confirm_totp(user: User, code: str, request: HttpRequest | None = None) -> list[str]:
    """Confirm the pending authenticator with a code from it; returns new recovery codes if
    the user had none (shown once), else an empty list."""
    code = _clean_code(code)
    with transaction.atomic():
        device = (TotpDevice.objects.select_for_update(of=("self",), no_key=True)
                  .select_related("user").filter(user=user, confirmed_at__isnull=True)
                  .first())
        if device is None:
            raise TwoFactorError(_("Start setting up the authenticator app again."))
        step = _matching_step(_secret(device), code, device.last_step)
        if step is not None:
            device.confirmed_at = timezone.now()
            device.last_step = step
            device.save(update_fields=["confirmed_at", "last_step"])
            _audit("user.totp_enrolled", user, request)
            return _first_recovery_codes(user, request)
    _audit("user.totp_enrol_failed", user, request)
    raise TwoFactorError(_("That code is not right. Enter the 6 digits the app shows now."))


def verify_totp(user: User, code: str) -> bool:
    """Whether this is a right code not used before; accepting it uses it up."""
    code = _clean_code(code)
    with transaction.atomic():
        device = (TotpDevice.objects.select_for_update(of=("self",), no_key=True)
                  .select_related("user")
                  .filter(user=user, confirmed_at__isnull=False).first())
        if device is None:
            return False
        step = _matching_step(_secret(device), code, device.last_step)
        if step is None:
            return False
        TotpDevice.objects.filter(pk=device.pk).update(last_step=step)
        return True


def remove_totp(user: User, request: HttpRequest | None = None) -> bool:
    with transaction.atomic():
        device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
        if device is None:
            return False
        device.delete()
        _audit("user.totp_removed", user, request)
        _drop_recovery_codes_if_alone(user)
        return True


# -- recovery codes -------------------------------------------------------------------------


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
        _audit("user.recovery_codes_generated", user, request, count=RECOVERY_CODES)
    return [f"{c[:4]}-{c[4:8]}-{c[8:]}" for c in codes]


def _first_recovery_codes(user: User, request: HttpRequest | None) -> list[str]:
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


def _drop_recovery_codes_if_alone(user: User) -> None:
    # Recovery codes stand in for a second factor; without one they would be a password.
    if not has_second_factor(user):
        RecoveryCode.objects.filter(user=user).delete()


# -- WebAuthn -------------------------------------------------------------------------------


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
        _audit("user.passkey_add_failed", user, request, reason=type(exc).__name__)
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
        _audit("user.passkey_added", user, request, passkey=passkey.pk)
        return passkey, _first_recovery_codes(user, request)


def rename_passkey(user: User, passkey_id: int, name: str,
                   request: HttpRequest | None = None) -> Passkey:
    cleaned = _clean_name(name)
    passkey = Passkey.objects.filter(user=user, pk=passkey_id).first()
    if passkey is None:
        raise TwoFactorError(_("That passkey does not exist (any more)."))
    with transaction.atomic():
        Passkey.objects.filter(pk=passkey.pk).update(name=cleaned)
        _audit("user.passkey_renamed", user, request, passkey=passkey.pk)
    passkey.name = cleaned
    return passkey


def remove_passkey(user: User, passkey_id: int, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        if not Passkey.objects.filter(user=user, pk=passkey_id).delete()[0]:
            raise TwoFactorError(_("That passkey does not exist (any more)."))
        _audit("user.passkey_removed", user, request, passkey=passkey_id)
        _drop_recovery_codes_if_alone(user)


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


# -- admins ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResetOutcome:
    totp: bool
    passkeys: int
    recovery_codes: int


def reset_second_factors(user: User, *, actor: User | None,
                         request: HttpRequest | None = None) -> ResetOutcome:
    """Remove every second factor of `user` (authenticator app, passkeys, recovery codes), for
    someone who lost them; audited with `actor` (None: an operator on the command line). The
    caller checks that the actor may do this (an admin of the same organisation)."""
    with transaction.atomic():
        User.objects.select_for_update(of=("self",), no_key=True).filter(pk=user.pk).first()
        device = TotpDevice.objects.filter(user=user).first()
        if device is not None:
            device.delete()
        passkeys = Passkey.objects.filter(user=user).delete()[0]
        codes = RecoveryCode.objects.filter(user=user).delete()[0]
        outcome = ResetOutcome(totp=device is not None and device.confirmed_at is not None,
                               passkeys=passkeys, recovery_codes=codes)
        fields = {"totp": outcome.totp, "passkeys": passkeys, "recovery_codes": codes}
        if actor is None:
            record("user.second_factors_reset", organisation=user.organisation,
                   actor_type="system", actor_label="cli", object_type="user",
                   object_id=user.pk, request=request, data=fields)
        else:
            _audit("user.second_factors_reset", user, request, actor=actor, **fields)
    return outcome
