"""A draft's recipients, checked before anything is written, and its default end date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.directory import lookup
from zegel.directory.validation import hint_gives_away
from zegel.messaging.errors import ActionErrors, FieldError
from zegel.messaging.models import (
    HeldReason,
    Recipient,
)
from zegel.messaging.validation import (
    MIN_ACCESS_CODE_LENGTH,
    clean_access_code,
    clean_display_name,
    clean_email,
    clean_phone,
    normalise_code,
)
from zegel.orgs.models import Organisation

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
    # Only from the directory (with_directory), never from a request: the contact's code as
    # stored, used when no access code was typed.
    access_code_hash: str = ""


@dataclass
class CleanRecipient:
    email: str
    name: str
    kind: str
    method: str
    phone: str
    access_code_hash: str
    access_code_hint: str
    # Not empty: the recipient is held for this reason (HeldReason), see check_recipients.
    held_reason: str = ""

# The problems that hold a recipient instead of refusing the send (with ``hold``): what is
# missing is a way to verify, and the sender can add it later. A value that is there but wrong
# (a bad number, a short access code, a bad address) is always refused.
HOLDABLE = frozenset(HeldReason.values)


def default_expiry(organisation: Organisation) -> datetime | None:
    """The end date a new message gets when its sender chooses none: the organisation's
    policy (Organisation.default_expiry_days; 0 is no end date)."""
    days = organisation.default_expiry_days
    return timezone.now() + timedelta(days=days) if days else None


def with_directory(organisation: Organisation,
                   specs: Sequence[RecipientSpec]) -> list[RecipientSpec]:
    """The recipients with what the organisation's directory adds to each one (its method,
    number, access code) where the sender left it out; lookup.resolve_recipient says which
    wins. Run before the recipients are checked. One query."""
    contacts = lookup.contacts_by_email(organisation, (s.email for s in specs))
    resolved = []
    for spec in specs:
        found = lookup.resolve_recipient(organisation, spec,
                                         contacts.get(spec.email.strip().lower()))
        resolved.append(replace(spec, method=found.method, name=found.name, phone=found.phone,
                                access_code_hash=found.access_code_hash,
                                access_code_hint=found.access_code_hint)
                        if found.from_directory else spec)
    return resolved


def clean_recipients(specs: Sequence[RecipientSpec]) -> list[CleanRecipient]:
    """Check every recipient; raise ActionErrors naming every problem (field = index.name),
    each message naming the recipient it is about."""
    clean, errors = check_recipients(specs)
    if errors:
        raise ActionErrors(errors)
    return clean


def check_recipients(specs: Sequence[RecipientSpec], *, hold: bool = False
                     ) -> tuple[list[CleanRecipient], list[FieldError]]:
    """The recipients that passed and every problem found, in the order of the form.

    With ``hold``, a recipient whose only problem is a missing way to verify (no method, no
    mobile number for an SMS code, no access code) passes as held (``held_reason``): it is
    created without a link and notified once the sender adds what is missing.

    Only the fields a recipient's method needs are read: a phone for an SMS code, a code and
    its hint for an access code, nothing more for an e-mail code. A form keeps every field
    (people switch methods while typing); what the method does not use is not stored."""
    if not specs:
        return [], [FieldError("recipients", _("Add at least one recipient."))]
    if len(specs) > MAX_RECIPIENTS:
        return [], [FieldError("recipients", _("A message can have at most %(n)d recipients.")
                               % {"n": MAX_RECIPIENTS})]
    seen: set[str] = set()
    result: list[CleanRecipient] = []
    errors: list[FieldError] = []
    for index, spec in enumerate(specs):
        found = _check_one(index, spec, seen, hold=hold)
        if isinstance(found, CleanRecipient):
            result.append(found)
        else:
            errors.extend(found)
    return result, errors


def recipient_label(index: int, spec: RecipientSpec) -> str:
    """How a message names a recipient: the address typed, else the name, else its place."""
    typed = spec.email.strip()[:100] or clean_display_name(spec.name)[:100]
    return typed or _("recipient %(n)d") % {"n": index + 1}


def _check_one(index: int, spec: RecipientSpec, seen: set[str], *,
               hold: bool = False) -> CleanRecipient | list[FieldError]:
    who = recipient_label(index, spec)
    errors: list[FieldError] = []

    def refuse(name: str, message: str, code: str = "") -> None:
        errors.append(FieldError(f"{index}.{name}", message, code))

    email = ""
    if not spec.email.strip():
        refuse("email", _("Enter an e-mail address for %(who)s.") % {"who": who})
    else:
        try:
            email = clean_email(spec.email)
        except ValidationError:
            refuse("email", _("%(email)s is not a valid e-mail address.")
                   % {"email": spec.email.strip()[:100]})
        else:
            if email.lower() in seen:
                refuse("email", _("%(email)s is listed twice.") % {"email": email})
            seen.add(email.lower())
    method = spec.method or (Recipient.Method.SMS if spec.phone.strip() else "")
    phone = code_hash = hint = ""
    if method not in Recipient.Method.values:
        refuse("method", _("Choose how %(email)s proves who they are.") % {"email": who},
               HeldReason.METHOD_MISSING if not method else "")
    elif method == Recipient.Method.SMS:
        if not spec.phone.strip():
            refuse("phone", _("Enter a mobile number for %(email)s to receive the SMS code.")
                   % {"email": who}, HeldReason.PHONE_MISSING)
        else:
            try:
                phone = clean_phone(spec.phone)
            except ValidationError as exc:
                refuse("phone", _phone_message(exc, who))
    elif method == Recipient.Method.ACCESS_CODE and spec.access_code_hash \
            and not spec.access_code.strip():
        # The directory's code, checked when it was stored. Only its hash is here, so a hint
        # the sender typed for it cannot be compared with the code.
        code_hash = spec.access_code_hash
        hint = clean_display_name(spec.access_code_hint)
    elif method == Recipient.Method.ACCESS_CODE:
        try:
            code_hash = _argon2.hash(normalise_code(clean_access_code(spec.access_code)))
        except ValidationError as exc:
            refuse("access_code", _code_message(exc, who),
                   HeldReason.ACCESS_CODE_MISSING if not spec.access_code.strip() else "")
        hint = clean_display_name(spec.access_code_hint)
        if code_hash and hint_gives_away(hint, spec.access_code):
            # The hint goes in the notification e-mail: with the code in it, the e-mail alone
            # would open the message.
            refuse("access_code_hint", _("The hint for %(email)s contains the access code. The "
                                         "hint is in the notification e-mail, so choose a hint "
                                         "that does not give the code away.") % {"email": who})
    kind = spec.kind or Recipient.Kind.TO
    if kind not in Recipient.Kind.values:
        refuse("kind", _("Choose To, CC or BCC for %(email)s.") % {"email": who})
    if errors and hold and all(e.code in HOLDABLE for e in errors):
        # Only a way to verify is missing: kept, without one, until the sender adds it.
        return CleanRecipient(email=email, name=clean_display_name(spec.name), kind=kind,
                              method=method if method in Recipient.Method.values else "",
                              phone="", access_code_hash="", access_code_hint="",
                              held_reason=errors[0].code)
    if errors:
        return errors
    return CleanRecipient(email=email, name=clean_display_name(spec.name), kind=kind,
                          method=method, phone=phone, access_code_hash=code_hash,
                          access_code_hint=hint)


def _phone_message(exc: ValidationError, who: str) -> str:
    if exc.code == "phone_not_mobile":
        return _("The number for %(who)s is not a mobile number; an SMS cannot reach it.") \
            % {"who": who}
    return _("Enter a valid mobile number for %(who)s, such as 06 12345678.") % {"who": who}


def _code_message(exc: ValidationError, who: str) -> str:
    if exc.code == "code_long":
        return _("The access code for %(who)s is too long (at most 128 characters).") \
            % {"who": who}
    return _("Enter an access code of at least %(n)d characters for %(who)s.") \
        % {"n": MIN_ACCESS_CODE_LENGTH, "who": who}


def latest_expiry(organisation: Organisation, now: datetime | None = None) -> datetime | None:
    """The latest end date the organisation allows (Organisation.max_expiry_days): the end of
    the day that many days from now, so a date picked on the conversation page fits; None when
    there is no maximum."""
    days = organisation.max_expiry_days
    if not days:
        return None
    last_day = timezone.localtime(now or timezone.now()) + timedelta(days=days)
    return last_day.replace(hour=23, minute=59, second=59, microsecond=999999)


def expiry_refusal(organisation: Organisation, expires_at: datetime | None) -> str | None:
    """Why the organisation does not allow this end date, or None when it does."""
    latest = latest_expiry(organisation)
    if latest is None:
        return None
    if expires_at is None:
        return _("Your organisation requires an end date of at most %(n)d days.") \
            % {"n": organisation.max_expiry_days}
    if expires_at > latest:
        return _("Your organisation allows an end date of at most %(n)d days from today.") \
            % {"n": organisation.max_expiry_days}
    return None


def hold_refused_methods(organisation: Organisation, clean: Sequence[CleanRecipient]) -> None:
    """For a send that holds (check_recipients' ``hold``): a recipient given the e-mail code
    where the organisation does not allow it is held instead of refused."""
    if organisation.email_code_allowed:
        return
    for recipient in clean:
        if recipient.method == Recipient.Method.EMAIL and not recipient.held_reason:
            recipient.held_reason = HeldReason.METHOD_NOT_ALLOWED


def method_refusals(organisation: Organisation,
                    specs: Sequence[RecipientSpec]) -> list[FieldError]:
    """A refusal for each recipient given the e-mail code where the organisation does not
    allow it (Organisation.email_code_allowed)."""
    if organisation.email_code_allowed:
        return []
    return [FieldError(f"{index}.method",
                       _("Your organisation does not allow the e-mail code: choose an SMS code "
                         "or an access code for %(who)s.") % {"who": recipient_label(index, spec)},
                       HeldReason.METHOD_NOT_ALLOWED)
            for index, spec in enumerate(specs) if spec.method == Recipient.Method.EMAIL]
