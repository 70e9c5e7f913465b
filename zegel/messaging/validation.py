"""Checking what senders type: addresses, phone numbers, access codes."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

MIN_ACCESS_CODE_LENGTH = 6


def clean_email(value: str) -> str:
    value = (value or "").strip()
    if any(ch in value for ch in "\r\n\0") or len(value) > 254:
        raise ValidationError(_("Enter a valid e-mail address."))
    validate_email(value)
    local, _sep, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_display_name(value: str) -> str:
    # Names end up in mail headers: control characters (CR/LF among them) never pass.
    value = "".join(ch for ch in (value or "") if ch.isprintable()).strip()
    return value[:200]


def clean_phone(value: str) -> str:
    """A mobile number in E.164. Dutch numbers may be typed as 06..."""
    raw = (value or "").strip()
    if not raw:
        raise ValidationError(_("Enter a mobile phone number."))
    try:
        number = phonenumbers.parse(raw, "NL")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid mobile phone number, such as 06 12345678."))
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValidationError(_("This is not a mobile number; an SMS cannot reach it."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """+31612345678 → '+31 6 ** ** ** 78': enough to recognise, not enough to use."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "•" * 6
    national = str(number.national_number)
    if number.country_code == 31 and national.startswith("6") and len(national) == 9:
        return f"+31 6 ** ** ** {national[-2:]}"
    return f"+{number.country_code} " + "*" * max(len(national) - 2, 0) + national[-2:]


def mask_email(address: str) -> str:
    local, _sep, domain = address.rpartition("@")
    return (local[:1] + "***@" + domain) if local else address


_CODE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def normalise_code(value: str) -> str:
    """A code as typed, without the spaces and dashes people put in to read it back
    ("123 456", "123-456", "AB12 - CD34"): those are never part of a code. Access codes are
    hashed in this form, and every code typed in the portal is checked in it."""
    return _CODE_SEPARATORS.sub("", value or "")


def clean_access_code(value: str) -> str:
    value = (value or "").strip()
    if len(value) < MIN_ACCESS_CODE_LENGTH:
        raise ValidationError(
            _("The access code must be at least %(n)d characters.") % {"n": MIN_ACCESS_CODE_LENGTH}
        )
    if len(value) > 128:
        raise ValidationError(_("The access code is too long."))
    return value
