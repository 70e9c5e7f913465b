"""Organisations, their staff users and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from zegel.orgs.roles import Role, allowed_scopes

DEFAULT_BRAND_COLOUR = "#154273"
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("domain"), max_length=253, unique=True)
    # Shown in notification e-mails: what Zegel is for this organisation, in its own words.
    explanation = models.TextField(_("explanation text"), blank=True)
    # A public page explaining how to recognise a genuine notification.
    info_url = models.URLField(_("information page"), blank=True)
    brand_colour = models.CharField(_("brand colour"), max_length=7, default="#154273")
    # Defaults in the database too (db_default): rows written by code that predates these
    # columns (a rolling upgrade, a test at an older migration) still go in.
    # How recipients reach the organisation when a link no longer works (shown on the portal's
    # "withdrawn" and "ended" pages and in notifications). Either may be empty.
    contact_email = models.EmailField(_("contact e-mail address"), blank=True, db_default="")
    contact_phone = models.CharField(_("contact phone number"), max_length=40, blank=True,
                                     db_default="")
    # The end date a new message gets unless its sender chooses another: a safe default, never
    # "no end date" unless the organisation sets 0.
    default_expiry_days = models.PositiveIntegerField(_("default availability in days"),
                                                      default=30, db_default=30)
    # The notification's button text; empty for Zegel's own ("View the message"). An
    # organisation whose communication kit tells recipients to look for other words sets them.
    notification_button_text = models.CharField(_("notification button text"), max_length=60,
                                                blank=True, db_default="")
    # "2FA required" (zegel.orgs.twofactor): once a user's grace period (days after their
    # account was made) has passed, a user without a second factor can only enrol one.
    # The explanation above is the Dutch one (what organisations wrote before this field);
    # recipients reading in English get this one, or the Dutch one when it is empty.
    explanation_en = models.TextField(_("explanation text in English"), blank=True,
                                      db_default="")
    # The longest end date a sender may choose, in days; 0 for no maximum (then "no end date"
    # is allowed too).
    max_expiry_days = models.PositiveIntegerField(_("maximum availability in days"), default=0,
                                                  db_default=0)
    # The verification method a new recipient row starts with on the compose page.
    default_method = models.CharField(_("default verification method"), max_length=20,
                                      default="sms", db_default="sms")
    # Whether senders may choose "e-mail code" at all: a code sent to the same mailbox as the
    # link proves little, so an organisation may switch it off.
    email_code_allowed = models.BooleanField(_("e-mail code allowed"), default=True,
                                             db_default=True)
    # The current logo's digest (OrganisationLogo.digest), part of its address; "" for none.
    # Kept here so that showing the logo costs no query.
    logo_digest = models.CharField(max_length=16, blank=True, db_default="", default="")
    # The largest file a sender or recipient of this organisation may attach, in MB; 0 for the
    # installation's limit (ZEGEL_MAX_UPLOAD_SIZE), which is also the most it can be.
    max_attachment_mb = models.PositiveIntegerField(_("maximum attachment size in MB"),
                                                    default=0, db_default=0)
    # How long a recipient's verified portal session lasts without activity, in minutes; 0 for
    # the installation's (ZEGEL_PORTAL_IDLE_SECONDS).
    portal_idle_minutes = models.PositiveIntegerField(_("portal idle timeout in minutes"),
                                                      default=0, db_default=0)
    # "Remember this browser" on the portal: for how many days a recipient who ticks it after
    # a verification opens new messages without a code; 0 (the default) for off.
    remember_browser_days = models.PositiveIntegerField(_("days a recipient's browser is "
                                                          "remembered"),
                                                        default=0, db_default=0)
    two_factor_required = models.BooleanField(_("two-factor login required"), default=False,
                                              db_default=False)
    two_factor_grace_days = models.PositiveIntegerField(_("days to set up two-factor login"),
                                                        default=14, db_default=14)
    # Whom a recipient's notification names as its sender (its address is always the
    # platform's, zegel.notify.outbox.sender_address): "platform", the organisation ("Zorggroep
    # Noord via Zegel"), or "on_behalf", the staff member who sent it ("Anna de Vries via
    # Zorggroep Noord"), with Reply-To their own address.
    notification_sender = models.CharField(_("notification sender"), max_length=20,
                                           default="platform", db_default="platform")
    # Days after a conversation's last message when its content is destroyed for everyone
    # (crypto-shredding; docs/lifecycle.md); 0: off, content is kept until it is revoked.
    retention_days = models.PositiveIntegerField(_("retention period in days"), default=0,
                                                 db_default=0)
    # What the communication kit (zegel.orgs.kit) fills in besides the settings above: the day
    # the organisation starts sending securely, how a recipient changes the phone number or
    # e-mail address the organisation has for them, and the address of the organisation's own
    # published NTA 7516 record (empty: it publishes none).
    kit_start_date = models.DateField(_("start date"), null=True, blank=True)
    contact_change_procedure = models.TextField(_("procedure for changing contact details"),
                                                blank=True, db_default="", default="")
    nta7516_record_url = models.URLField(_("NTA 7516 record"), blank=True, db_default="",
                                         default="")
    # The shipped languages (settings.LANGUAGES) recipients are offered, as codes in the
    # order of settings.LANGUAGES ("nl,en"), and the one they get when Zegel knows no other:
    # the notification's main language and the portal's first.
    recipient_languages = models.CharField(_("languages offered to recipients"),
                                           max_length=100, default="nl,en", db_default="nl,en")
    default_language = models.CharField(_("recipients' default language"), max_length=10,
                                        default="nl", db_default="nl")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name

    @property
    def safe_brand_colour(self) -> str:
        """The brand colour where it is a plain #rrggbb, Zegel's blue otherwise: e-mails put
        it in a style attribute, where anything else could restyle or hide the text."""
        return self.brand_colour if _COLOUR.match(self.brand_colour) else DEFAULT_BRAND_COLOUR

    @property
    def logo_path(self) -> str:
        """The logo's public address (path only), or "" when the organisation has none."""
        if not self.logo_digest:
            return ""
        return reverse("org_logo", args=[self.domain, self.logo_digest])

    @property
    def logo_url(self) -> str:
        """The logo's absolute address, for e-mails."""
        path = self.logo_path
        return settings.BASE_URL + path if path else ""

    @property
    def upload_limit(self) -> int:
        """The largest attachment this organisation takes, in bytes."""
        own = self.max_attachment_mb * 1024 * 1024
        return min(own, settings.MAX_UPLOAD_SIZE) if own else settings.MAX_UPLOAD_SIZE

    @property
    def portal_idle_seconds(self) -> int:
        """The portal's idle timeout for this organisation's recipients, in seconds."""
        return self.portal_idle_minutes * 60 or settings.PORTAL_IDLE_SECONDS

    @property
    def localised_explanation(self) -> str:
        """The explanation in the active language, the other one when that one is empty."""
        if (get_language() or "nl").startswith("en"):
            return self.explanation_en or self.explanation
        return self.explanation or self.explanation_en

    @property
    def offered_languages(self) -> list[str]:
        """The codes of the languages recipients are offered, the default always among them
        (a row edited outside update_organisation cannot leave recipients none)."""
        shipped = [code for code, _name in settings.LANGUAGES]
        offered = [code for code in self.recipient_languages.split(",") if code in shipped]
        default = self.recipient_language
        return offered if default in offered else [default, *offered]

    @property
    def recipient_language(self) -> str:
        """The language a recipient gets when Zegel knows no other: the default, where it is
        a shipped one, else the site's."""
        shipped = [code for code, _name in settings.LANGUAGES]
        return self.default_language if self.default_language in shipped \
            else settings.LANGUAGE_CODE

    def notification_from(self, sender: Any) -> tuple[str, str]:
        """The display name and Reply-To address of a notification `sender` (a staff user)
        sends to a recipient, by the organisation's choice (notification_sender)."""
        if self.notification_sender == "on_behalf":
            return f"{sender.display_name} via {self.name}", sender.email
        return f"{self.name} via Zegel", ""

    @property
    def info_page_url(self) -> str:
        """Zegel's public information page for this organisation's recipients (/o/<domain>/)."""
        return settings.BASE_URL + reverse("portal:info", args=[self.domain])

    @property
    def genuine_url(self) -> str:
        """Where a recipient reads how to recognise a genuine notification: the organisation's
        own page, or Zegel's page for it when it has none."""
        return self.info_url or settings.BASE_URL + reverse("portal:genuine", args=[self.domain])


class OrganisationLogo(models.Model):
    """The organisation's logo as Zegel re-encoded it (zegel.orgs.logo): a PNG of at most a
    few tens of kilobytes. A logo is public (every notification shows it), so it is kept in the
    database as it is served, not encrypted; a row of its own keeps it out of every query of
    the organisation."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE,
                                        related_name="logo")
    png = models.BinaryField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # Part of the logo's address, so a new logo is a new address (caches never show the old).
    digest = models.CharField(max_length=16)
    updated_at = models.DateTimeField(default=timezone.now)


class UserManager(BaseUserManager["User"]):
    def create_user(
        self, email: str, organisation: Organisation, password: str | None = None, **extra: Any
    ) -> User:
        user = self.model(email=self.normalize_email(email).lower(), organisation=organisation,
                          **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user


class User(AbstractBaseUser, PermissionsMixin):
    """A staff member of one organisation. Recipients are not users: they have no account."""

    email = models.EmailField(_("e-mail address"), unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="users")
    phone = models.CharField(_("mobile number"), max_length=20, blank=True)
    # The database default too, so rows written by code that predates roles still get one.
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER,
                            db_default=Role.MEMBER)
    # False while suspended (or deleted but kept, anonymised): log-in, sessions and API tokens
    # all refuse an inactive user.
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Where the newest log-in came from, and the one before it (shown to the user: "your last
    # log-in was ... from ..."). `last_login` itself is Django's field.
    last_login_ip = models.GenericIPAddressField(null=True, blank=True)
    previous_login_at = models.DateTimeField(null=True, blank=True)
    previous_login_ip = models.GenericIPAddressField(null=True, blank=True)
    # Set when the account was deleted but had to stay as a row (it sent conversations): the
    # name and address are gone, the row keeps the conversations' history intact.
    anonymised_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def is_admin(self) -> bool:
        """An administrator of the organisation (read-only: the role decides; permission
        checks go through zegel.orgs.roles, not through this)."""
        return self.role == Role.ADMIN


def hash_token(token: str) -> str:
    # API and link tokens carry 256 bits of randomness, so a plain SHA-256 is a safe verifier.
    return hashlib.sha256(token.encode()).hexdigest()


# What a token may do: send (upload, check, send, revoke), read (GET) and admin (the
# organisation's data-leak settings). A token never does more than its user's role allows,
# checked on every call (zegel.orgs.roles.token_allows).
SCOPES = ("send", "read", "admin")


class ApiToken(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    label = models.CharField(max_length=100, blank=True)
    # Comma-separated, in the order of SCOPES.
    scopes = models.CharField(max_length=40, default="send,read")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @classmethod
    def issue(cls, user: User, label: str = "", scopes: tuple[str, ...] | None = None,
              expires_at: datetime | None = None) -> tuple[ApiToken, str]:
        """A new token; without `scopes`, every scope the user is allowed."""
        secret = "zgl_" + secrets.token_urlsafe(32)
        wanted = allowed_scopes(user) if scopes is None else scopes
        token = cls.objects.create(user=user, token_hash=hash_token(secret), prefix=secret[:12],
                                   label=label, scopes=join_scopes(wanted),
                                   expires_at=expires_at)
        return token, secret

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)


def join_scopes(scopes: tuple[str, ...] | list[str] | frozenset[str]) -> str:
    return ",".join(s for s in SCOPES if s in scopes)


class ApiRequestCount(models.Model):
    """Requests of one token in one fixed window of the API rate limit (zegel.orgs.api_rate).

    Counted in the database so that every web process shares the count; rows of past windows
    are deleted when a new window starts.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    window_start = models.BigIntegerField()  # Unix seconds
    requests = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "window_start"],
                                               name="orgs_apirequestcount_token_window")]
        indexes = [models.Index(fields=["window_start"], name="orgs_apirequestcount_window")]


class FailedLogin(models.Model):
    """One failed staff log-in: what the log-in throttle counts (zegel.orgs.backends).

    A row is written before the password is checked and deleted again if it was right, so
    parallel attempts cannot pass the limit. Rows older than the throttle's window are pruned as
    new attempts come in; the audit log keeps its own `user.login_failed` events as evidence and
    is never read for this.
    """

    email = models.CharField(max_length=254)
    # The client's address (an IPv6 one as its /64 network); empty when it is not known.
    client = models.CharField(max_length=64, blank=True, default="")
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["email", "at"], name="orgs_failedlogin_email_at"),
                   models.Index(fields=["client", "at"], name="orgs_failedlogin_client_at")]


class AccountLink(models.Model):
    """A single-use link sent by e-mail to set a password: an invitation (valid 7 days) or a
    password reset (valid an hour). Only a hash of its token is stored."""

    class Purpose(models.TextChoices):
        INVITE = "invite"
        RESET = "reset"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_links")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # Used, or replaced by a newer link: either way it no longer works.
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")


class StaffSession(models.Model):
    """What the user's "your sessions" page shows of each web session: Django's session table
    has no user column, so this row names the session's user, device and address."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_sessions")
    # The key of the row in django_session (which holds it in the clear already).
    session_key = models.CharField(max_length=40, unique=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)


class TotpDevice(models.Model):
    """A user's authenticator app (TOTP, RFC 6238); at most one per user.

    The shared secret is the first 20 bytes of 32 random ones stored only wrapped by the key
    file's current KEK (AES-256-GCM, as data keys are), bound to this device and its user; `zegel
    keys rotate` re-wraps it and it goes with the row. `last_step` is the newest time step a
    code was accepted for: a code is accepted once, and never one older than the last
    (zegel.orgs.twofactor).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp_device")
    kek_id = models.CharField(max_length=16)
    wrapped = models.BinaryField()
    # The wrap context, for rotation only: reads rebuild it from the row (id and user).
    context = models.BinaryField(default=b"")
    # None until the user typed a right code once: an unconfirmed device logs nobody in.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=-1)
    created_at = models.DateTimeField(default=timezone.now)


class RecoveryCode(models.Model):
    """One single-use recovery code, kept only as a keyed hash (zegel.orgs.twofactor)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"],
                                               name="orgs_recoverycode_user_hash")]


class Passkey(models.Model):
    """A WebAuthn credential (a passkey or security key) of one user, with a name they chose."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(_("name"), max_length=60)
    # The authenticator's credential id, base64url without padding.
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    transports = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)


class PasswordResetRequest(models.Model):
    """One "forgot password" request that was let through, what its throttle counts
    (zegel.orgs.backends.claim_reset_request): per typed address, per client, and the reset
    e-mails sent on the whole installation. The typed address is kept only as a SHA-256, so
    this table does not collect the addresses people type; rows older than the window are
    pruned as new requests come in."""

    address_hash = models.CharField(max_length=64)
    client = models.CharField(max_length=64, blank=True, default="")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    # Whether a reset e-mail went out for it (a real, active account, within the limits).
    sent = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["address_hash", "at"], name="orgs_resetrequest_addr_at"),
                   models.Index(fields=["client", "at"], name="orgs_resetrequest_client_at")]


class KitText(models.Model):
    """An organisation's own wording of one communication-kit template in one language
    (zegel.orgs.kit). Without a row the built-in text applies; "reset" deletes the row."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE,
                                     related_name="kit_texts")
    template = models.CharField(max_length=40)
    language = models.CharField(max_length=2)
    text = models.TextField()
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "template", "language"],
                                               name="kit_text_once")]
