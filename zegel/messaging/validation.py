"""Checking what senders type: addresses, phone numbers, access codes (shared with the
recipient directory, zegel.directory.validation), and masking them for display."""

from __future__ import annotations

import phonenumbers

from zegel.directory.validation import (
    MIN_ACCESS_CODE_LENGTH,
    clean_access_code,
    clean_display_name,
    clean_email,
    clean_phone,
    legacy_code_forms,
    normalise_code,
)

__all__ = ["MIN_ACCESS_CODE_LENGTH", "clean_access_code", "clean_display_name", "clean_email",
           "clean_phone", "legacy_code_forms", "mask_email", "mask_phone", "normalise_code"]


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
