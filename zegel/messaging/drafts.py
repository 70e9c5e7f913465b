"""A draft's recipients, checked before anything is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from zegel.messaging.errors import ActionError
from zegel.messaging.models import (
    Recipient,
)
from zegel.messaging.validation import (
    clean_access_code,
    clean_display_name,
    clean_email,
    clean_phone,
    normalise_code,
)

_argon2 = PasswordHasher()  # Argon2id with the library's current recommended parameters
MAX_RECIPIENTS = 100


@dataclass
class RecipientSpec:
    email: str
    method: str = ""
    name: str = ""
    kind: str = Recipient.Kind.TO
    phone: str = ""
    access_code: str = ""
    access_code_hint: str = ""


@dataclass
class CleanRecipient:
    email: str
    name: str
    kind: str
    method: str
    phone: str
    access_code_hash: str
    access_code_hint: str


def clean_recipients(specs: Sequence[RecipientSpec]) -> list[CleanRecipient]:
    """Check every recipient; raise ActionError naming the first problem (field = index.name)."""
    if not specs:
        raise ActionError(_("Add at least one recipient."), field="recipients")
    if len(specs) > MAX_RECIPIENTS:
        raise ActionError(_("A message can have at most %(n)d recipients.")
                          % {"n": MAX_RECIPIENTS}, field="recipients")
    seen: set[str] = set()
    result = []
    for index, spec in enumerate(specs):
        try:
            email = clean_email(spec.email)
        except ValidationError:
            raise ActionError(_("%(email)s is not a valid e-mail address.")
                              % {"email": spec.email[:100]}, field=f"{index}.email") from None
        if email.lower() in seen:
            raise ActionError(_("%(email)s is listed twice.") % {"email": email},
                              field=f"{index}.email")
        seen.add(email.lower())
        phone = ""
        if spec.phone.strip():
            try:
                phone = clean_phone(spec.phone)
            except ValidationError as exc:
                raise ActionError(exc.messages[0], field=f"{index}.phone") from None
        method = spec.method or (Recipient.Method.SMS if phone else "")
        if method not in Recipient.Method.values:
            raise ActionError(_("Choose how %(email)s proves who they are.") % {"email": email},
                              field=f"{index}.method")
        if method == Recipient.Method.SMS and not phone:
            raise ActionError(_("Enter a mobile number for %(email)s to receive the SMS code.")
                              % {"email": email}, field=f"{index}.phone")
        code_hash = ""
        if method == Recipient.Method.ACCESS_CODE:
            try:
                code_hash = _argon2.hash(normalise_code(clean_access_code(spec.access_code)))
            except ValidationError as exc:
                raise ActionError(exc.messages[0], field=f"{index}.access_code") from None
        hint = clean_display_name(spec.access_code_hint)
        if code_hash and _gives_away(hint, spec.access_code):
            # The hint goes in the notification e-mail: with the code in it, the e-mail alone
            # would open the message.
            raise ActionError(_("The hint for %(email)s contains the access code. The hint is "
                                "in the notification e-mail, so choose a hint that does not "
                                "give the code away.") % {"email": email},
                              field=f"{index}.access_code_hint")
        kind = spec.kind or Recipient.Kind.TO
        if kind not in Recipient.Kind.values:
            raise ActionError(_("Choose To, CC or BCC for %(email)s.") % {"email": email},
                              field=f"{index}.kind")
        result.append(CleanRecipient(
            email=email, name=clean_display_name(spec.name), kind=kind, method=method,
            phone=phone, access_code_hash=code_hash, access_code_hint=hint,
        ))
    return result


def _gives_away(hint: str, code: str) -> bool:
    """Whether the hint holds the code, also written with other case, spaces or dashes."""
    def bare(text: str) -> str:
        return "".join(ch for ch in text.casefold() if ch.isalnum())

    code = bare(code)
    return bool(code) and code in bare(hint)
