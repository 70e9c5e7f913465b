"""Checking what senders and admins type about a recipient: addresses, phone numbers, access
codes. Compose and the directory share these, so a contact the directory accepts is a recipient
compose accepts, and an access code is hashed the same way wherever it is set."""

from __future__ import annotations

import re

import phonenumbers
from argon2 import PasswordHasher
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
        raise ValidationError(_("Enter a mobile phone number."), code="phone_missing")
    try:
        number = phonenumbers.parse(raw, "NL")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid mobile phone number, such as 06 12345678."),
                              code="phone_invalid")
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE,
                    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValidationError(_("This is not a mobile number; an SMS cannot reach it."),
                              code="phone_not_mobile")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_CODE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")


def normalise_code(value: str) -> str:
    """A code as typed, without the spaces and dashes people put in to read it back
    ("123 456", "123-456", "AB12 - CD34"), in capitals: neither separators nor case are part of
    a code, so "k7p4 9xm2" is "K7P4-9XM2". Access codes are hashed in this form, and every code
    typed in the portal is checked in it (older hashes in the forms of legacy_code_forms)."""
    return strip_separators(value).upper()


def strip_separators(value: str) -> str:
    return _CODE_SEPARATORS.sub("", value or "")


def legacy_code_forms(typed: str) -> list[str]:
    """The forms a typed access code is checked in, newest first and without repeats: the
    normalised one, then as hashed before codes were case-free (without separators, case kept),
    then as hashed before that (as typed)."""
    typed = (typed or "").strip()
    forms: list[str] = []
    for form in (normalise_code(typed), strip_separators(typed), typed):
        if form not in forms:
            forms.append(form)
    return forms


def clean_access_code(value: str) -> str:
    value = (value or "").strip()
    if len(value) < MIN_ACCESS_CODE_LENGTH:
        raise ValidationError(
            _("The access code must be at least %(n)d characters.") % {"n": MIN_ACCESS_CODE_LENGTH},
            code="code_short",
        )
    if len(value) > 128:
        raise ValidationError(_("The access code is too long."), code="code_long")
    return value


_argon2 = PasswordHasher()  # Argon2id with the library's current recommended parameters


def hash_access_code(value: str) -> str:
    """An access code checked (clean_access_code) and stored as the portal checks it: Argon2id
    over the code without spaces and dashes (normalise_code)."""
    return _argon2.hash(normalise_code(clean_access_code(value)))


def hint_gives_away(hint: str, code: str) -> bool:
    """Whether the hint holds the code, also written with other case, spaces or dashes. The
    hint goes in the notification e-mail: with the code in it, the e-mail alone would open
    the message."""
    def bare(text: str) -> str:
        return "".join(ch for ch in text.casefold() if ch.isalnum())

    code = bare(code)
    return bool(code) and code in bare(hint)
