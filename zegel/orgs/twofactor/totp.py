"""The authenticator app (TOTP, RFC 6238): enrolment with a QR code Zegel draws itself, and
checking a code. A code is accepted once: the device row is locked, and the time step of an
accepted code becomes its `last_step`, so the same code (or an older one) is refused afterwards,
also when two log-ins send it at the same moment.
"""

from __future__ import annotations

import base64
import hmac
import time
import uuid
from io import BytesIO

import pyotp
import segno
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.crypto.keyring import KeyringError, get_keyring, new_dek
from zegel.orgs.models import TotpDevice, User
from zegel.orgs.twofactor import TwoFactorError, audit_user
from zegel.orgs.twofactor.recovery import drop_if_alone, first_codes

# RFC 4226 recommends 160 bits; authenticator apps expect SHA-1, 6 digits, 30 s steps.
TOTP_SECRET_BYTES = 20
TOTP_DIGITS = 6
TOTP_STEP = 30
# One step either side of now: a phone's clock may be 30 s off.
TOTP_DRIFT_STEPS = 1


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
            audit_user("user.totp_enrolled", user, request)
            return first_codes(user, request)
    audit_user("user.totp_enrol_failed", user, request)
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
        audit_user("user.totp_removed", user, request)
        drop_if_alone(user)
        return True
