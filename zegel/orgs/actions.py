"""Every change to organisations, staff users and API tokens goes through a function here.

Each action opens its transaction first, re-reads and locks the rows it changes, checks, writes
and appends its audit event in that one transaction, so two operators doing the same thing at
once produce one change and one event. The command line (and later the admin pages) call these;
none of them write these models directly. Audit events carry ids and outcomes, never passwords
or tokens.

The admin pages' actions take the acting admin first: they check the admin's permission
(zegel.orgs.roles) and find the user only within the admin's own organisation, so a user of
another organisation is "not found" (404). The command line is the installation's operator and
acts without those limits.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from zegel.audit.log import client_ip, record, staff_actor
from zegel.orgs import roles
from zegel.orgs.backends import claim_reset_request, client_key
from zegel.orgs.logo import LogoRefused, clean_logo
from zegel.orgs.models import (
    _COLOUR,
    SCOPES,
    AccountLink,
    ApiToken,
    Organisation,
    OrganisationLogo,
    PasswordResetRequest,
    StaffSession,
    User,
    hash_token,
)
from zegel.orgs.roles import Role
from zegel.orgs.twofactor.policy import ResetOutcome, reset_second_factors

INVITATION_VALID = timedelta(days=7)
RESET_VALID = timedelta(hours=1)


class Refused(Exception):
    """An action that was not done, with a one-line reason fit to show the person asking, and
    the HTTP status a page or the API answers it with (400 bad input, 403 not allowed, 404 not
    found, 409 refused in the current state)."""

    def __init__(self, message: str, status: int = 400, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        # The setting it is about, where there is one (the settings page marks that input).
        self.field = field


def _actor(actor: User | None) -> dict[str, Any]:
    # The command line runs as the operator of the installation, who has no user row.
    return staff_actor(actor) if actor is not None else {"actor_type": "system"}


def _clean_domain(domain: str) -> str:
    cleaned = domain.strip().lower()
    if not cleaned or "." not in cleaned or any(c in cleaned for c in "/@ \r\n\t"):
        raise Refused(_("Not a domain name: %(domain)r") % {"domain": domain})
    return cleaned


def _clean_email(email: str) -> str:
    cleaned = email.strip().lower()
    try:
        validate_email(cleaned)
    except ValidationError:
        raise Refused(_("Not an e-mail address: %(email)r") % {"email": email}) from None
    return cleaned


def _check_password(password: str, user: User | None = None) -> None:
    """The NIST rules of zegel.orgs.passwords; `user` (saved or not) gives the context words
    and, through its organisation, the minimum length."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise Refused(" ".join(exc.messages)) from None


def _locked_user(email: str) -> User:
    user = (User.objects.select_for_update(of=("self",), no_key=True).select_related("organisation")
            .filter(email=email.strip().lower()).first())
    if user is None:
        raise Refused(_("No user %(email)s.") % {"email": email.strip()})
    return user


def _end_sessions(user: User, *, keep: str | None = None) -> int:
    """Delete the user's web sessions (all but `keep`), so that reactivating the account later
    does not bring an old cookie back to life. Sessions from before StaffSession existed are
    not indexed by user: this reads each live one."""
    ended = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.pk != keep and session.get_decoded().get(SESSION_KEY) == str(user.pk):
            ended.append(session.pk)
    Session.objects.filter(pk__in=ended).delete()
    StaffSession.objects.filter(user=user).exclude(session_key=keep or "").delete()
    return len(ended)


def create_organisation(*, name: str, domain: str, explanation: str = "", info_url: str = "",
                        actor: User | None = None) -> Organisation:
    with transaction.atomic(durable=True):
        domain = _clean_domain(domain)
        if not name.strip():
            raise Refused(_("The organisation needs a name."))
        if Organisation.objects.filter(domain=domain).exists():
            raise Refused(_("An organisation with domain %(domain)s exists already.")
                          % {"domain": domain})
        try:
            with transaction.atomic():
                org = Organisation.objects.create(name=name.strip(), domain=domain,
                                                  explanation=explanation, info_url=info_url)
        except IntegrityError:
            # Created by someone else between the check and the insert.
            raise Refused(_("An organisation with domain %(domain)s exists already.")
                          % {"domain": domain}) from None
        record("org.created", organisation=org, **_actor(actor), object_type="organisation",
               object_id=org.pk, data={"domain": domain})
    return org


# The longest end date a sender can choose on the compose page.
MAX_DEFAULT_EXPIRY_DAYS = 365
_PHONE_TEXT = re.compile(r"^\+?[0-9][0-9 ()\-]{4,38}$")


# WCAG 2.x AA for normal text: the notification's button and the portal's header put white
# text on the brand colour.
MIN_CONTRAST = 4.5
MAX_EXPLANATION = 2000
VERIFICATION_METHODS = ("sms", "access_code", "email")


def _luminance(colour: str) -> float:
    """Relative luminance of #rrggbb (WCAG 2.x)."""
    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_with_white(colour: str) -> float:
    """The contrast ratio of white text on the colour, 1 to 21."""
    return 1.05 / (_luminance(colour) + 0.05)


def _clean_colour(colour: str) -> str:
    cleaned = colour.strip().lower()
    if not _COLOUR.match(cleaned):
        raise Refused(_("Not a colour: %(colour)r (write it as #rrggbb, such as #154273).")
                      % {"colour": colour})
    ratio = contrast_with_white(cleaned)
    if ratio < MIN_CONTRAST:
        raise Refused(_("White text on %(colour)s has a contrast of %(ratio).2f:1; at least "
                        "4.5:1 is needed so that everyone can read the button. Choose a darker "
                        "colour.") % {"colour": cleaned, "ratio": ratio})
    return cleaned


def _clean_days(value: Any, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) \
            or not 0 <= value <= MAX_DEFAULT_EXPIRY_DAYS:
        raise Refused(message)
    return value


def _clean_explanation(text: str) -> str:
    cleaned = "\n".join(line.rstrip() for line in text.strip().splitlines())
    if len(cleaned) > MAX_EXPLANATION:
        raise Refused(_("The explanation is at most %(n)d characters.") % {"n": MAX_EXPLANATION})
    return cleaned


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise Refused(_("The organisation needs a name."))
    if len(cleaned) > 200:
        raise Refused(_("The name is at most 200 characters."))
    return cleaned


def _clean_contact_email(email: str) -> str:
    return _clean_email(email) if email.strip() else ""


def _clean_phone(text: str) -> str:
    phone = " ".join(text.split())
    if phone and not _PHONE_TEXT.match(phone):
        raise Refused(_("Not a phone number: %(phone)r (digits, spaces, +, - and brackets)")
                      % {"phone": text})
    return phone


def _clean_default_days(days: Any) -> int:
    return _clean_days(days, _("The default end date is 0 (no end date) to %(max)d days.")
                       % {"max": MAX_DEFAULT_EXPIRY_DAYS})


def _clean_max_days(days: Any) -> int:
    return _clean_days(days, _("The maximum end date is 0 (no maximum) to %(max)d days.")
                       % {"max": MAX_DEFAULT_EXPIRY_DAYS})


# The longest retention period an organisation may choose: ten years, what Dutch healthcare
# keeps a medical record for at least (WGBO: 20 years since 2020, kept in the record itself).
MAX_RETENTION_DAYS = 3650


def _clean_retention_days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_RETENTION_DAYS:
        raise Refused(_("The retention period is 0 (off) to %(max)d days.")
                      % {"max": MAX_RETENTION_DAYS})
    return days


def _clean_button_text(button_text: str) -> str:
    text = " ".join(button_text.split())
    limit = Organisation._meta.get_field("notification_button_text").max_length or 60
    if len(text) > limit:
        raise Refused(_("The button text is at most %(n)d characters.") % {"n": limit})
    return text


def _clean_info_url(info_url: str) -> str:
    url = info_url.strip()
    if url:
        try:
            URLValidator(schemes=["https", "http"])(url)
        except ValidationError:
            raise Refused(_("Not a web address: %(url)r") % {"url": info_url}) from None
    return url


# The portal's idle timeout an organisation may choose, in minutes (0: the installation's).
MIN_IDLE_MINUTES, MAX_IDLE_MINUTES = 2, 120


def _clean_idle(minutes: Any) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) \
            or not (minutes == 0 or MIN_IDLE_MINUTES <= minutes <= MAX_IDLE_MINUTES):
        raise Refused(_("The portal's idle timeout is 0 (the installation's) or %(min)d to "
                        "%(max)d minutes.") % {"min": MIN_IDLE_MINUTES, "max": MAX_IDLE_MINUTES})
    return minutes


def _clean_attachment_mb(mb: Any) -> int:
    largest = settings.MAX_UPLOAD_SIZE // (1024 * 1024)
    if isinstance(mb, bool) or not isinstance(mb, int) or not 0 <= mb <= largest:
        raise Refused(_("The maximum attachment size is 0 (the installation's) to %(max)d MB.")
                      % {"max": largest})
    return mb


# "Remember this browser" on the portal, in days (0: off).
MAX_REMEMBER_DAYS = 90


def _clean_remember_days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int) \
            or not 0 <= days <= MAX_REMEMBER_DAYS:
        raise Refused(_("Remembering a recipient's browser is 0 (off) or 1 to %(max)d days.")
                      % {"max": MAX_REMEMBER_DAYS})
    return days


def _clean_method(method: Any) -> str:
    if method not in VERIFICATION_METHODS:
        raise Refused(_("The verification method is sms, access_code or email, not %(m)r.")
                      % {"m": method})
    return str(method)


def _clean_flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Refused(_("Whether the e-mail code is allowed is yes or no."))
    return value


NOTIFICATION_SENDERS = ("platform", "on_behalf")


def _clean_notification_sender(value: Any) -> str:
    if value not in NOTIFICATION_SENDERS:
        raise Refused(_("The notification sender is platform or on_behalf, not %(v)r.")
                      % {"v": value})
    return str(value)


def _shipped_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def _clean_languages(value: Any) -> str:
    """The offered languages, given as a list of codes (or one text of codes separated by
    commas), as the column holds them: known codes, each once, in settings.LANGUAGES order."""
    shipped = _shipped_languages()
    codes = value.split(",") if isinstance(value, str) else value
    if not isinstance(codes, (list, tuple)) or not all(isinstance(c, str) for c in codes):
        raise Refused(_("The languages are a list of language codes, such as nl,en."))
    wanted = {code.strip().lower() for code in codes if code.strip()}
    unknown = sorted(wanted - set(shipped))
    if unknown:
        raise Refused(_("Zegel has no language %(codes)s; it ships %(shipped)s.")
                      % {"codes": ", ".join(unknown), "shipped": ", ".join(shipped)})
    if not wanted:
        raise Refused(_("Offer recipients at least one language."))
    return ",".join(code for code in shipped if code in wanted)


def _clean_default_language(value: Any) -> str:
    shipped = _shipped_languages()
    code = value.strip().lower() if isinstance(value, str) else value
    if code not in shipped:
        raise Refused(_("Zegel has no language %(codes)s; it ships %(shipped)s.")
                      % {"codes": str(value), "shipped": ", ".join(shipped)})
    return str(code)


# Each setting update_organisation takes: its argument, the model field and its check.
_SETTINGS: tuple[tuple[str, str, Any], ...] = (
    ("name", "name", _clean_name),
    ("contact_email", "contact_email", _clean_contact_email),
    ("contact_phone", "contact_phone", _clean_phone),
    ("info_url", "info_url", _clean_info_url),
    ("brand_colour", "brand_colour", _clean_colour),
    ("explanation_nl", "explanation", _clean_explanation),
    ("explanation_en", "explanation_en", _clean_explanation),
    ("button_text", "notification_button_text", _clean_button_text),
    ("default_expiry_days", "default_expiry_days", _clean_default_days),
    ("max_expiry_days", "max_expiry_days", _clean_max_days),
    ("default_method", "default_method", _clean_method),
    ("email_code_allowed", "email_code_allowed", _clean_flag),
    ("portal_idle_minutes", "portal_idle_minutes", _clean_idle),
    ("max_attachment_mb", "max_attachment_mb", _clean_attachment_mb),
    ("remember_browser_days", "remember_browser_days", _clean_remember_days),
    ("notification_sender", "notification_sender", _clean_notification_sender),
    ("retention_days", "retention_days", _clean_retention_days),
    ("languages", "recipient_languages", _clean_languages),
    ("default_language", "default_language", _clean_default_language),
)
SETTING_NAMES = tuple(argument for argument, _field, _check in _SETTINGS)


def organisation_settings(org: Organisation) -> dict[str, Any]:
    """The organisation's current value of each of SETTING_NAMES (what update_organisation
    takes), for the API and the command line."""
    values = {argument: getattr(org, field) for argument, field, _check in _SETTINGS}
    values["languages"] = org.recipient_languages.split(",")
    return values


def update_organisation(domain: str, *, actor: User | None = None,
                        **values: Any) -> Organisation:
    """Change what recipients see of an organisation and its senders' limits (the keywords
    are SETTING_NAMES); each setting left out stays as it is, an empty text clears it. A
    refusal names the setting it is about (Refused.field). Only settings whose value changes
    are written; the audit event names those fields, not their values."""
    unknown = sorted(set(values) - set(SETTING_NAMES))
    if unknown:
        raise TypeError(f"unknown organisation settings: {unknown}")
    if not values:
        raise Refused(_("Nothing to change: name at least one setting."))
    cleaned: dict[str, Any] = {}
    for argument, field, check in _SETTINGS:
        if argument in values:
            try:
                cleaned[field] = check(values[argument])
            except Refused as exc:
                exc.field = argument
                raise
    with transaction.atomic(durable=True):
        org = Organisation.objects.select_for_update().filter(domain=_clean_domain(domain)).first()
        if org is None:
            raise Refused(_("No organisation with domain %(domain)s.") % {"domain": domain})
        changed = sorted(f for f, value in cleaned.items() if getattr(org, f) != value)
        for field in changed:
            setattr(org, field, cleaned[field])
        _check_limits(org)
        if changed:
            org.save(update_fields=changed)
            record("org.updated", organisation=org, **_actor(actor),
                   object_type="organisation", object_id=org.pk, data={"fields": changed})
    return org


def _clean_role(role: str) -> Role:
    if role not in Role.values:
        raise Refused(_("Roles are %(roles)s, not %(role)r.")
                      % {"roles": ", ".join(Role.values), "role": role})
    return Role(role)


def _check_limits(org: Organisation) -> None:
    """The settings together: the default end date within the maximum, the default method
    one that is allowed, and the default language one that is offered."""
    if org.max_expiry_days:
        if not org.default_expiry_days:
            raise Refused(_("With a maximum end date, the default cannot be \"no end date\"."),
                          field="default_expiry_days")
        if org.default_expiry_days > org.max_expiry_days:
            raise Refused(_("The default end date (%(default)d days) is longer than the maximum "
                            "(%(max)d days).") % {"default": org.default_expiry_days,
                                                  "max": org.max_expiry_days},
                          field="default_expiry_days")
    # The retention period destroys content for everyone: not before the recipients' end
    # date could have come.
    longest = max(org.max_expiry_days, org.default_expiry_days)
    if org.retention_days and org.retention_days < longest:
        raise Refused(_("The retention period (%(retention)d days) is shorter than the end "
                        "date senders may choose (%(days)d days).")
                      % {"retention": org.retention_days, "days": longest},
                      field="retention_days")
    if org.default_language not in org.recipient_languages.split(","):
        raise Refused(_("The default language must be one of the languages offered to "
                        "recipients."), field="default_language")
    if not org.email_code_allowed and org.default_method == "email":
        raise Refused(_("The default verification method cannot be the e-mail code when the "
                        "e-mail code is not allowed."), field="default_method")


def create_user(*, organisation_domain: str, email: str, name: str = "",
                password: str | None = None, role: str = Role.MEMBER, phone: str = "",
                actor: User | None = None) -> User:
    """A new staff user; without a password the account cannot log in until one is set."""
    with transaction.atomic(durable=True):
        org = Organisation.objects.filter(domain=organisation_domain.strip().lower()).first()
        if org is None:
            raise Refused(_("No organisation with domain %(domain)s.")
                          % {"domain": organisation_domain.strip()})
        email = _clean_email(email)
        role = _clean_role(role)
        if password is not None:
            _check_password(password, User(email=email, name=name.strip(), organisation=org))
        if User.objects.filter(email=email).exists():
            raise Refused(_("A user %(email)s exists already.") % {"email": email})
        try:
            with transaction.atomic():
                user = User.objects.create_user(email, org, password or None, name=name.strip(),
                                                role=role, phone=phone)
        except IntegrityError:
            raise Refused(_("A user %(email)s exists already.") % {"email": email}) from None
        record("user.created", organisation=org, **_actor(actor), object_type="user",
               object_id=user.pk, data={"email": email, "role": role,
                                        "password_set": bool(password)})
    return user


def _deactivate(user: User, actor: User | None, request: HttpRequest | None) -> None:
    if not user.is_active:
        raise Refused(_("User %(email)s is deactivated already.") % {"email": user.email},
                      status=409)
    now = timezone.now()
    user.is_active = False
    user.save(update_fields=["is_active"])
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    sessions = _end_sessions(user)
    record("user.deactivated", organisation=user.organisation, **_actor(actor),
           object_type="user", object_id=user.pk, request=request,
           data={"email": user.email, "tokens_revoked": revoked, "sessions_ended": sessions})


def _reactivate(user: User, actor: User | None, request: HttpRequest | None) -> None:
    if user.is_active:
        raise Refused(_("User %(email)s is active already.") % {"email": user.email},
                      status=409)
    if user.anonymised_at is not None:
        raise Refused(_("This account was deleted."), status=409)
    user.is_active = True
    user.save(update_fields=["is_active"])
    # Again: a log-in that passed its password check just before the deactivation may
    # have saved its session after the deactivation had ended the others.
    sessions = _end_sessions(user)
    record("user.reactivated", organisation=user.organisation, **_actor(actor),
           object_type="user", object_id=user.pk, request=request,
           data={"email": user.email, "sessions_ended": sessions})


def deactivate_user(email: str, *, actor: User | None = None) -> User:
    """Stop a user at once: web sessions end, API tokens are revoked, log-in is refused."""
    with transaction.atomic(durable=True):
        user = _locked_user(email)
        _deactivate(user, actor, None)
    return user


def reactivate_user(email: str, *, actor: User | None = None) -> User:
    """Allow log-in again with the user's password. Tokens revoked stay revoked."""
    with transaction.atomic(durable=True):
        user = _locked_user(email)
        _reactivate(user, actor, None)
    return user


def generate_password() -> str:
    """A random password for an operator to hand over (about 128 bits)."""
    return secrets.token_urlsafe(16)


def reset_password(email: str, password: str, *, actor: User | None = None) -> User:
    """Set a new password. Every session of the user ends: Django ties a session to a hash of
    the password, so a session opened with the old one no longer authenticates."""
    with transaction.atomic(durable=True):
        user = _locked_user(email)
        _check_password(password, user)
        user.set_password(password)
        user.save(update_fields=["password"])
        record("user.password_reset", organisation=user.organisation, **_actor(actor),
               object_type="user", object_id=user.pk, data={"email": user.email})
    return user


def _clean_scopes(user: User, scopes: tuple[str, ...]) -> tuple[str, ...]:
    wanted = tuple(s.strip().lower() for s in scopes if s.strip())
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise Refused(_("Scopes are send, read and admin, not %(scopes)r.")
                      % {"scopes": ",".join(scopes)})
    if "admin" in wanted and not roles.scope_allowed(user, "admin"):
        raise Refused(_("User %(email)s is not an admin: no admin scope.")
                      % {"email": user.email})
    if any(not roles.scope_allowed(user, s) for s in wanted):
        raise Refused(_("The role of %(email)s does not allow the scopes %(scopes)s.")
                      % {"email": user.email, "scopes": ",".join(wanted)})
    return wanted


def issue_api_token(email: str, *, label: str = "", scopes: tuple[str, ...] = ("send", "read"),
                    expires_at: datetime | None = None, actor: User | None = None) -> str:
    """A new API token for the user; returns the token, which is stored only as a hash.
    It may do only what `scopes` name; the admin scope only for an admin user."""
    with transaction.atomic(durable=True):
        user = _locked_user(email)
        if not user.is_active:
            raise Refused(_("User %(email)s is deactivated.") % {"email": user.email})
        wanted = _clean_scopes(user, scopes)
        if expires_at is not None and expires_at <= timezone.now():
            raise Refused(_("The expiry must lie in the future."))
        token, secret = ApiToken.issue(user, label=label.strip(), scopes=wanted,
                                       expires_at=expires_at)
        record("token.created", organisation=user.organisation, **_actor(actor),
               object_type="api_token", object_id=token.pk,
               data={"user": user.email, "scopes": token.scopes,
                     "expires_at": expires_at.isoformat() if expires_at else None})
    return secret


@dataclass(frozen=True)
class TokenInfo:
    id: int
    prefix: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    scopes: str
    expires_at: datetime | None


def list_api_tokens(email: str) -> list[TokenInfo]:
    """The user's API tokens, oldest first, revoked ones included."""
    user = User.objects.filter(email=email.strip().lower()).first()
    if user is None:
        raise Refused(_("No user %(email)s.") % {"email": email.strip()})
    return [TokenInfo(t.pk, t.prefix, t.label, t.created_at, t.last_used_at, t.revoked_at,
                      t.scopes, t.expires_at)
            for t in ApiToken.objects.filter(user=user).order_by("created_at", "pk")]


def _token_query(reference: str | int) -> Any:
    if isinstance(reference, int) or reference.strip().isdigit():
        return {"pk": int(reference)}
    return {"token_hash": hash_token(reference.strip())}


def revoke_api_token(reference: str | int, *, actor: User | None = None) -> ApiToken:
    """Revoke a token given by its id (as `list_api_tokens` shows) or by the token itself."""
    with transaction.atomic(durable=True):
        token = (ApiToken.objects.select_for_update(of=("self",), no_key=True)
                 .select_related("user__organisation")
                 .filter(**_token_query(reference)).first())
        if token is None:
            # Never repeat the reference: it may be the secret token itself.
            raise Refused(_("No such API token."))
        if token.revoked_at is not None:
            raise Refused(_("API token %(id)s is revoked already.") % {"id": token.pk})
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record("token.revoked", organisation=token.user.organisation, **_actor(actor),
               object_type="api_token", object_id=token.pk,
               data={"user": token.user.email})
    return token


# The admin pages' actions: an admin acting on the users of their own organisation.

LinkDelivery = Callable[[User, str, AccountLink], None]
# The reset e-mail: called with None for an address that gets no mail, to do the same work.
ResetDelivery = Callable[[User | None, str, AccountLink | None], None]


def _require(actor: User, permission: roles.Permission) -> None:
    """The actor's role as the database holds it now: an admin demoted or suspended a moment
    ago (by another admin, in another request) can no longer act."""
    current = User.objects.filter(pk=actor.pk).values("role", "is_active").first()
    if current is None or not roles.allows(User(**current), permission):
        raise Refused(roles.refusal(permission), status=403)


def _org_user(actor: User, user_id: object) -> User:
    """A user of the admin's own organisation, locked; any other id (and a deleted account
    kept anonymised) is 404, so an admin cannot tell another organisation's user from one that
    does not exist."""
    try:
        pk = int(str(user_id))
    except ValueError:
        pk = None
    user = (User.objects.select_for_update(of=("self",), no_key=True)
            .select_related("organisation")
            .filter(organisation_id=actor.organisation_id, pk=pk,
                    anonymised_at__isnull=True).first()
            if pk is not None else None)
    if user is None:
        raise Refused(_("No such user in your organisation."), status=404)
    return user


def _lock_admins(actor: User) -> list[int]:
    """Lock the organisation's active admins, in id order, before the user being changed: two
    admins demoting each other at once then take turns (no deadlock) and the second finds the
    first one's change."""
    return list(User.objects.select_for_update(of=("self",), no_key=True)
                .filter(organisation_id=actor.organisation_id, role=Role.ADMIN, is_active=True)
                .order_by("pk").values_list("pk", flat=True))


def _keep_an_admin(user: User, admins: list[int]) -> None:
    """Refuse a change that would leave the organisation without an active admin."""
    if user.pk in admins and len(admins) == 1:
        raise Refused(_("%(email)s is the organisation's last administrator: make someone "
                        "else an administrator first.") % {"email": user.email}, status=409)


def _not_self(actor: User, user: User) -> None:
    if user.pk == actor.pk:
        raise Refused(_("You cannot do this to your own account; ask another administrator."),
                      status=409)


def suspend_user(actor: User, user_id: object, *, request: HttpRequest | None = None) -> User:
    """Stop a user of the admin's organisation at once: sessions end, tokens are revoked."""
    with transaction.atomic(durable=True):
        _require(actor, roles.Permission.MANAGE_USERS)
        admins = _lock_admins(actor)
        user = _org_user(actor, user_id)
        _not_self(actor, user)
        _keep_an_admin(user, admins)
        _deactivate(user, actor, request)
    return user


def reactivate_suspended_user(actor: User, user_id: object, *,
                              request: HttpRequest | None = None) -> User:
    with transaction.atomic(durable=True):
        _require(actor, roles.Permission.MANAGE_USERS)
        user = _org_user(actor, user_id)
        _reactivate(user, actor, request)
    return user


def reset_two_factor(actor: User, user_id: object, *,
                     request: HttpRequest | None = None) -> ResetOutcome:
    """Remove every second factor of a user of the admin's organisation, for someone who lost
    them (audited as user.second_factors_reset by zegel.orgs.twofactor.policy)."""
    with transaction.atomic(durable=True):
        _require(actor, roles.Permission.MANAGE_USERS)
        user = _org_user(actor, user_id)
        return reset_second_factors(user, actor=actor, request=request)


def change_role(actor: User, user_id: object, role: str, *,
                request: HttpRequest | None = None) -> User:
    with transaction.atomic(durable=True):
        _require(actor, roles.Permission.MANAGE_USERS)
        admins = _lock_admins(actor)
        user = _org_user(actor, user_id)
        new = _clean_role(role)
        if user.anonymised_at is not None:
            raise Refused(_("This account was deleted."), status=409)
        if new == user.role:
            raise Refused(_("%(email)s has this role already.") % {"email": user.email},
                          status=409)
        if user.role == Role.ADMIN:
            _keep_an_admin(user, admins)
        old = user.role
        user.role = new
        user.save(update_fields=["role"])
        record("user.role_changed", organisation=user.organisation, **staff_actor(actor),
               object_type="user", object_id=user.pk, request=request,
               data={"email": user.email, "from": old, "to": new})
    return user


def delete_user(actor: User, user_id: object, *, request: HttpRequest | None = None) -> str:
    """Delete a user of the admin's organisation: "deleted" when nothing refers to the account,
    "anonymised" when it sent conversations, wrote messages or uploaded files. Those must keep
    their author (the organisation's record of what it sent, and the audit log names the id),
    so the row stays, with its name, address, phone and password removed, inactive for good."""
    with transaction.atomic(durable=True):
        _require(actor, roles.Permission.MANAGE_USERS)
        admins = _lock_admins(actor)
        user = _org_user(actor, user_id)
        _not_self(actor, user)
        _keep_an_admin(user, admins)
        email, pk, org = user.email, user.pk, user.organisation
        sessions = _end_sessions(user)
        tokens = ApiToken.objects.filter(user=user).count()
        try:
            with transaction.atomic():
                user.delete()
            outcome = "deleted"
        except ProtectedError:
            ApiToken.objects.filter(user=user).delete()
            AccountLink.objects.filter(user=user).delete()
            user.email = f"deleted-{pk}@deleted.invalid"
            user.name = ""
            user.phone = ""
            user.is_active = False
            user.role = Role.MEMBER
            user.password = make_password(None)
            user.anonymised_at = timezone.now()
            user.last_login_ip = user.previous_login_ip = None
            user.save(update_fields=["email", "name", "phone", "is_active", "role", "password",
                                     "anonymised_at", "last_login_ip", "previous_login_ip"])
            outcome = "anonymised"
        record(f"user.{outcome}", organisation=org, **staff_actor(actor), object_type="user",
               object_id=pk, request=request,
               data={"email": email, "sessions_ended": sessions, "tokens_removed": tokens})
    return outcome


def _new_link(user: User, purpose: str, valid: timedelta, created_by: User | None
              ) -> tuple[AccountLink, str]:
    # A new link replaces the user's earlier ones of the same purpose.
    now = timezone.now()
    AccountLink.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(
        used_at=now)
    token = secrets.token_urlsafe(32)
    link = AccountLink.objects.create(user=user, purpose=purpose, token_hash=hash_token(token),
                                      expires_at=now + valid, created_by=created_by)
    return link, token


def invite_user(actor: User, *, email: str, name: str = "", role: str = Role.MEMBER,
                deliver: LinkDelivery, request: HttpRequest | None = None) -> User:
    """A new user of the admin's organisation, without a password, and a single-use link valid
    INVITATION_VALID to set one. `deliver` puts the e-mail with the link in the outbox, in this
    transaction: no invitation without its e-mail, no e-mail for an invitation rolled back."""
    with transaction.atomic(durable=True):
        _require(actor, roles.Permission.MANAGE_USERS)
        email = _clean_email(email)
        new_role = _clean_role(role)
        if len(name) > 200:
            raise Refused(_("The name is longer than 200 characters."))
        if User.objects.filter(email=email).exists():
            raise Refused(_("A user %(email)s exists already.") % {"email": email}, status=409)
        try:
            with transaction.atomic():
                user = User.objects.create_user(email, actor.organisation, None,
                                                name=name.strip(), role=new_role)
        except IntegrityError:
            raise Refused(_("A user %(email)s exists already.") % {"email": email},
                          status=409) from None
        link, token = _new_link(user, AccountLink.Purpose.INVITE, INVITATION_VALID, actor)
        record("user.invited", organisation=user.organisation, **staff_actor(actor),
               object_type="user", object_id=user.pk, request=request,
               data={"email": email, "role": new_role,
                     "expires_at": link.expires_at.isoformat()})
        deliver(user, token, link)
    return user


def resend_invitation(actor: User, user_id: object, *, deliver: LinkDelivery,
                      request: HttpRequest | None = None) -> User:
    """A fresh invitation link for a user who has not set a password yet; the old one stops."""
    with transaction.atomic(durable=True):
        _require(actor, roles.Permission.MANAGE_USERS)
        user = _org_user(actor, user_id)
        if user.has_usable_password() or not user.is_active:
            raise Refused(_("%(email)s has accepted the invitation already or is suspended.")
                          % {"email": user.email}, status=409)
        link, token = _new_link(user, AccountLink.Purpose.INVITE, INVITATION_VALID, actor)
        record("user.invited", organisation=user.organisation, **staff_actor(actor),
               object_type="user", object_id=user.pk, request=request,
               data={"email": user.email, "role": user.role, "again": True,
                     "expires_at": link.expires_at.isoformat()})
        deliver(user, token, link)
    return user


def _live_link(token: str, purpose: str, *, for_update: bool = False) -> AccountLink | None:
    links = AccountLink.objects.select_related("user__organisation")
    if for_update:
        links = links.select_for_update(of=("self",), no_key=True)
    link = links.filter(token_hash=hash_token(token), purpose=purpose).first()
    if (link is None or link.used_at is not None or link.expires_at <= timezone.now()
            or not link.user.is_active):
        return None
    return link


def account_link(token: str, purpose: str) -> AccountLink | None:
    """The link if it can still be used (a GET shows its form and changes nothing)."""
    return _live_link(token, purpose)


def set_password_with_link(token: str, purpose: str, password: str, *,
                           request: HttpRequest | None = None) -> User:
    """Use an invitation or reset link: set the password, and the link is spent. An unknown,
    used, replaced or expired link is refused in the same words, whatever the reason."""
    with transaction.atomic(durable=True):
        link = _live_link(token, purpose, for_update=True)
        if link is None:
            raise Refused(_("This link no longer works: it was used already, replaced by a "
                            "newer one or has expired."), status=404)
        user = link.user
        _check_password(password, user)
        now = timezone.now()
        link.used_at = now
        link.save(update_fields=["used_at"])
        AccountLink.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
        user.set_password(password)
        user.save(update_fields=["password"])
        # A reset ends every session (Django's session hash does too, this removes the rows).
        sessions = _end_sessions(user)
        action = ("user.invitation_accepted" if purpose == AccountLink.Purpose.INVITE
                  else "user.password_reset")
        record(action, organisation=user.organisation, actor_type="user", actor_id=user.pk,
               actor_label=user.email, object_type="user", object_id=user.pk, request=request,
               data={"email": user.email, "sessions_ended": sessions, "by": "link"})
    return user


def request_password_reset(email: str, *, deliver: ResetDelivery,
                           request: HttpRequest | None = None) -> None:
    """"Forgot password": a single-use reset link (valid RESET_VALID) to an active user who has
    a password. The caller answers the same whether or not the address is known, and this does
    about the same work either way: one audit event, and the e-mail rendered (by `deliver`,
    which for an unknown address is given no user to send to).

    Throttled (zegel.orgs.backends.claim_reset_request): a client over its limit is refused
    (Refused, 429, the same for every address, nothing recorded); a typed address over its
    limit, or the installation over its e-mails, gets the usual answer but no e-mail."""
    cleaned = email.strip().lower()[:254]
    claim = claim_reset_request(cleaned, client_key(request))
    if claim.row is None:
        minutes = -(-settings.RESET_WINDOW // 60)
        raise Refused(ngettext(
            "There have been too many requests for a new password from your network. Please "
            "try again in %(minutes)s minute.",
            "There have been too many requests for a new password from your network. Please "
            "try again in at most %(minutes)s minutes.", minutes) % {"minutes": minutes},
            status=429)
    with transaction.atomic(durable=True):
        user = (User.objects.select_for_update(of=("self",), no_key=True)
                .select_related("organisation").filter(email=cleaned).first())
        if (claim.may_send and user is not None and user.is_active
                and user.anonymised_at is None):
            link, token = _new_link(user, AccountLink.Purpose.RESET, RESET_VALID, None)
            deliver(user, token, link)
            PasswordResetRequest.objects.filter(pk=claim.row).update(sent=True)
            record("user.password_reset_requested", organisation=user.organisation,
                   actor_type="anonymous", actor_label=cleaned, object_type="user",
                   object_id=user.pk, request=request, data={"sent": True})
        else:
            deliver(None, secrets.token_urlsafe(32), None)
            record("user.password_reset_requested",
                   organisation=user.organisation if user else None, actor_type="anonymous",
                   actor_label=cleaned, object_type="user",
                   object_id=user.pk if user else "", request=request,
                   data={"sent": False, **({} if claim.may_send else {"throttled": True})})


def change_own_password(user: User, *, current: str, new: str,
                        request: HttpRequest | None = None) -> User:
    """The user changes their own password; the current one is asked first. Their other
    sessions end; the caller keeps this one (update_session_auth_hash)."""
    with transaction.atomic(durable=True):
        locked = (User.objects.select_for_update(of=("self",), no_key=True)
                  .select_related("organisation").get(pk=user.pk))
        if not locked.check_password(current):
            raise Refused(_("The current password is not right."), field="current_password")
        _check_password(new, locked)
        if current == new:
            raise Refused(_("Choose a password other than the current one."))
        locked.set_password(new)
        locked.save(update_fields=["password"])
        keep = request.session.session_key if request is not None else None
        sessions = _end_sessions(locked, keep=keep)
        record("user.password_changed", organisation=locked.organisation,
               **staff_actor(locked), object_type="user", object_id=locked.pk,
               request=request, data={"sessions_ended": sessions})
    return locked


# --- The user's own sessions


def record_login(user: User, request: HttpRequest) -> None:
    """On log-in: remember when and from where (the one before is kept to show the user), and
    which session this is, for the "your sessions" page."""
    now = timezone.now()
    ip = client_ip(request)
    User.objects.filter(pk=user.pk).update(previous_login_at=user.last_login,
                                           previous_login_ip=user.last_login_ip,
                                           last_login=now, last_login_ip=ip)
    user.previous_login_at, user.previous_login_ip = user.last_login, user.last_login_ip
    user.last_login, user.last_login_ip = now, ip
    key = request.session.session_key
    # This request wrote the row: the next minute's requests need not (touch_session).
    request.session[_SEEN_AT] = now.timestamp()
    if key:
        StaffSession.objects.update_or_create(session_key=key, defaults={
            "user": user, "ip": ip, "created_at": now, "last_seen_at": now,
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300]})


def live_sessions(user: User) -> list[StaffSession]:
    """The user's sessions that still work, newest activity first."""
    alive = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    return list(StaffSession.objects.filter(user=user, session_key__in=alive)
                .order_by("-last_seen_at", "-pk"))


def end_own_session(user: User, session_id: object, *,
                    request: HttpRequest | None = None) -> None:
    """Log one of the user's own sessions out (another user's is not found)."""
    with transaction.atomic(durable=True):
        try:
            pk = int(str(session_id))
        except ValueError:
            pk = None
        row = StaffSession.objects.filter(user=user, pk=pk).first() if pk is not None else None
        if row is None:
            raise Refused(_("No such session."), status=404)
        Session.objects.filter(session_key=row.session_key).delete()
        row.delete()
        record("user.session_ended", organisation=user.organisation, **staff_actor(user),
               object_type="user", object_id=user.pk, request=request,
               data={"session": pk})


def end_all_own_sessions(user: User, *, request: HttpRequest | None = None) -> int:
    """"Log out everywhere": every session of the user ends, this one included."""
    with transaction.atomic(durable=True):
        ended = _end_sessions(user)
        record("user.sessions_ended", organisation=user.organisation, **staff_actor(user),
               object_type="user", object_id=user.pk, request=request,
               data={"sessions_ended": ended})
    return ended


SEEN_PRECISION = timedelta(seconds=60)
_SEEN_AT = "zegel_seen_at"


def touch_session(user: User, request: HttpRequest) -> None:
    """Note the session's latest activity, at most once a minute (the session remembers when
    it last wrote, so other requests cost no query). Activity is no event: not audited. A
    session from before StaffSession existed gets its row here."""
    now = timezone.now()
    seen = request.session.get(_SEEN_AT)
    if isinstance(seen, int | float) and now.timestamp() - seen < SEEN_PRECISION.total_seconds():
        return
    key = request.session.session_key
    if not key:
        return
    request.session[_SEEN_AT] = now.timestamp()
    if not StaffSession.objects.filter(session_key=key, user=user).update(last_seen_at=now):
        StaffSession.objects.get_or_create(session_key=key, defaults={
            "user": user, "ip": client_ip(request), "created_at": now, "last_seen_at": now,
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300]})


def session_rekeyed(old_key: str | None, request: HttpRequest) -> None:
    """Django gave this session a new key (after a password change): the row follows it."""
    new_key = request.session.session_key
    if old_key and new_key and old_key != new_key:
        StaffSession.objects.filter(session_key=old_key).update(session_key=new_key)


def set_logo(domain: str, data: bytes, *, actor: User | None = None) -> OrganisationLogo:
    """Check the upload, re-encode it (zegel.orgs.logo) and make it the organisation's logo.
    The audit event has the stored PNG's size, never the image."""
    try:
        clean = clean_logo(data)
    except LogoRefused as exc:
        raise Refused(exc.message, field="logo") from None
    digest = hashlib.sha256(clean.png).hexdigest()[:16]
    with transaction.atomic(durable=True):
        org = Organisation.objects.select_for_update().filter(domain=_clean_domain(domain)).first()
        if org is None:
            raise Refused(_("No organisation with domain %(domain)s.") % {"domain": domain})
        logo, _created = OrganisationLogo.objects.update_or_create(
            organisation=org, defaults={"png": clean.png, "width": clean.width,
                                        "height": clean.height, "digest": digest,
                                        "updated_at": timezone.now()})
        org.logo_digest = digest
        org.save(update_fields=["logo_digest"])
        record("org.logo_set", organisation=org, **_actor(actor), object_type="organisation",
               object_id=org.pk, data={"width": clean.width, "height": clean.height,
                                       "bytes": len(clean.png)})
    return logo


def remove_logo(domain: str, *, actor: User | None = None) -> None:
    with transaction.atomic(durable=True):
        org = Organisation.objects.select_for_update().filter(domain=_clean_domain(domain)).first()
        if org is None:
            raise Refused(_("No organisation with domain %(domain)s.") % {"domain": domain})
        deleted, _rows = OrganisationLogo.objects.filter(organisation=org).delete()
        if not deleted:
            raise Refused(_("The organisation has no logo."), field="logo")
        org.logo_digest = ""
        org.save(update_fields=["logo_digest"])
        record("org.logo_removed", organisation=org, **_actor(actor),
               object_type="organisation", object_id=org.pk, data={})
