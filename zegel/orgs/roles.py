"""Who may do what: the one place that decides every permission of a staff user.

Every page, API call and action asks here (``allows``, ``require``, or the API's
``token_allows``); nothing else looks at a user's role. The roles:

- admin: everything in the organisation (users, data-leak rules, audit log, sending);
- policy admin: the data-leak rules and policies, and sending;
- auditor: the audit log, read-only; no sending and no message content;
- member: sending, and the conversations they sent.

An API token carries its user's role: it is checked on every call, so a user whose role is
lowered loses what the role allowed at once, on the web and over the API.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    POLICY_ADMIN = "policy_admin", _("Policy administrator")
    AUDITOR = "auditor", _("Auditor")
    MEMBER = "member", _("Member")


class Permission(Enum):
    # Compose and send messages, and read and change the conversations one sent.
    SEND = "send"
    # The organisation's data-leak rules, patterns, terms and allow list.
    MANAGE_DLP = "manage_dlp"
    # The organisation's audit log (identifiers and outcomes, never content).
    READ_AUDIT = "read_audit"
    # Invite, suspend, reactivate, delete staff users and change their roles.
    MANAGE_USERS = "manage_users"
    # The organisation's settings: name, contact details, branding, logo, defaults and limits.
    MANAGE_SETTINGS = "manage_settings"
    # The recipient directory: contacts, shared access codes, CSV import and export, contact sync.
    MANAGE_CONTACTS = "manage_contacts"


GRANTS: dict[str, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.POLICY_ADMIN: frozenset({Permission.SEND, Permission.MANAGE_DLP}),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT}),
    Role.MEMBER: frozenset({Permission.SEND}),
}


class NotAllowed(PermissionDenied):
    """The user's role does not allow this; `message` says so in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def allows(user: Any, permission: Permission) -> bool:
    """Whether this user may do this: an active staff user whose role grants it."""
    role = getattr(user, "role", None)
    if role is None or not getattr(user, "is_active", False):
        return False
    return permission in GRANTS.get(role, frozenset())


_REFUSALS = {
    Permission.SEND: _("Your role does not include sending messages."),
    Permission.MANAGE_DLP: _("Only an administrator or policy administrator of your "
                             "organisation can change the data-leak rules."),
    Permission.READ_AUDIT: _("Only an administrator or auditor of your organisation can read "
                             "the audit log."),
    Permission.MANAGE_USERS: _("Only an administrator of your organisation can manage its "
                               "users."),
    Permission.MANAGE_SETTINGS: _("Only an administrator of your organisation can change its "
                                  "settings."),
    Permission.MANAGE_CONTACTS: _("Only an administrator of your organisation can manage its "
                                  "recipient directory."),
}


def refusal(permission: Permission) -> str:
    return str(_REFUSALS[permission])


def require(user: Any, permission: Permission) -> None:
    """Raise NotAllowed (a 403) unless the user may do this."""
    if not allows(user, permission):
        raise NotAllowed(refusal(permission))


# What each API scope needs of the token's user, on every call.
SCOPE_PERMISSIONS = {"send": Permission.SEND, "read": Permission.SEND,
                     "admin": Permission.MANAGE_DLP}


def scope_allowed(user: Any, scope: str) -> bool:
    """Whether the user's role allows what the API scope stands for."""
    permission = SCOPE_PERMISSIONS.get(scope)
    return permission is not None and allows(user, permission)


def allowed_scopes(user: Any) -> tuple[str, ...]:
    """The scopes a new token of this user may have (in the order of models.SCOPES)."""
    return tuple(s for s in ("send", "read", "admin") if scope_allowed(user, s))


def nav(user: Any) -> dict[str, bool]:
    """Which parts of the sender app the menu shows this user."""
    return {"send": allows(user, Permission.SEND),
            "dlp": allows(user, Permission.MANAGE_DLP),
            "audit": allows(user, Permission.READ_AUDIT),
            "users": allows(user, Permission.MANAGE_USERS),
            "settings": allows(user, Permission.MANAGE_SETTINGS),
            "contacts": allows(user, Permission.MANAGE_CONTACTS)}


def menu_context(request: Any) -> dict[str, Any]:
    """Template context processor: `may.send`, `may.dlp`, `may.audit`, `may.users`,
    `may.settings`, `may.contacts`."""
    return {"may": nav(getattr(request, "user", None))}
