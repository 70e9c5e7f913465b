"""Second factors of staff log-in: an authenticator app (TOTP, RFC 6238, `totp`), passkeys
(WebAuthn, `passkeys`) and single-use recovery codes (`recovery`); the organisation's
"2FA required" policy and the admins' reset (`policy`).

Secrets: the TOTP secret is stored only wrapped by the key file's KEK, bound to its device and
user (`totp.totp_context`), so a database dump alone does not hold it; recovery codes are stored
as an HMAC under a key derived from the key file, so a dump does not let anyone try them
offline either. No secret, code or credential is ever logged or audited: events carry the
method and outcome only.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from zegel.audit.log import record, staff_actor
from zegel.orgs.models import User


class TwoFactorError(Exception):
    """A refusal with a message for the person (translated)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def audit_user(action: str, user: User, request: HttpRequest | None, *,
               actor: User | None = None, **data: Any) -> None:
    """One audit event about `user`'s second factors: ids and outcomes, never a secret."""
    record(action, organisation=user.organisation, **staff_actor(actor or user),
           object_type="user", object_id=user.pk, request=request, data=data or None)
