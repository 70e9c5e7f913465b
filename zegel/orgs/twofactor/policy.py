"""The organisation's "2FA required" policy, and an admin's reset of a user's factors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.audit.log import record, staff_actor
from zegel.orgs.models import Organisation, Passkey, RecoveryCode, TotpDevice, User
from zegel.orgs.twofactor import TwoFactorError, audit_user


def has_second_factor(user: User) -> bool:
    return (TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()
            or Passkey.objects.filter(user=user).exists())


def must_enrol(user: User) -> bool:
    """Whether the organisation requires a second factor, the user's grace period has passed
    and they have none: then they may only enrol one (zegel.orgs.middleware)."""
    organisation = user.organisation
    if not organisation.two_factor_required:
        return False
    deadline = user.date_joined + timedelta(days=organisation.two_factor_grace_days)
    return timezone.now() >= deadline and not has_second_factor(user)


def enrol_deadline(user: User) -> Any:
    """When the grace period ends, if the organisation requires a second factor."""
    if not user.organisation.two_factor_required:
        return None
    return user.date_joined + timedelta(days=user.organisation.two_factor_grace_days)


def set_policy(organisation: Organisation, *, required: bool, grace_days: int,
               actor: User | None, request: HttpRequest | None = None) -> Organisation:
    """Turn the organisation's "2FA required" policy on or off (audited). `grace_days` counts
    from each user's account creation; 0 means at once. The caller checks that the actor is an
    admin of this organisation (None: an operator on the command line)."""
    if grace_days < 0 or grace_days > 365:
        raise TwoFactorError(_("The grace period is 0 to 365 days."))
    with transaction.atomic():
        Organisation.objects.filter(pk=organisation.pk).update(
            two_factor_required=required, two_factor_grace_days=grace_days)
        organisation.two_factor_required = required
        organisation.two_factor_grace_days = grace_days
        actor_fields = (staff_actor(actor) if actor is not None
                        else {"actor_type": "system", "actor_label": "cli"})
        record("org.two_factor_policy", organisation=organisation, **actor_fields,
               object_type="organisation", object_id=organisation.pk, request=request,
               data={"required": required, "grace_days": grace_days})
    return organisation


@dataclass(frozen=True)
class ResetOutcome:
    totp: bool
    passkeys: int
    recovery_codes: int


def reset_second_factors(user: User, *, actor: User | None,
                         request: HttpRequest | None = None) -> ResetOutcome:
    """Remove every second factor of `user` (authenticator app, passkeys, recovery codes), for
    someone who lost them; audited with `actor` (None: an operator on the command line). The
    caller checks that the actor may do this (an admin of the same organisation)."""
    with transaction.atomic():
        User.objects.select_for_update(of=("self",), no_key=True).filter(pk=user.pk).first()
        device = TotpDevice.objects.filter(user=user).first()
        if device is not None:
            device.delete()
        passkeys = Passkey.objects.filter(user=user).delete()[0]
        codes = RecoveryCode.objects.filter(user=user).delete()[0]
        outcome = ResetOutcome(totp=device is not None and device.confirmed_at is not None,
                               passkeys=passkeys, recovery_codes=codes)
        fields = {"totp": outcome.totp, "passkeys": passkeys, "recovery_codes": codes}
        if actor is None:
            record("user.second_factors_reset", organisation=user.organisation,
                   actor_type="system", actor_label="cli", object_type="user",
                   object_id=user.pk, request=request, data=fields)
        else:
            audit_user("user.second_factors_reset", user, request, actor=actor, **fields)
    return outcome
