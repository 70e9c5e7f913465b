"""An organisation's own "not sensitive" values: findings its staff marked as false positives.

A sender who sees "a BSN in the message" for what is really an order number marks it from the
compose page ("This is not a BSN"). The decision is audited (kind only) and stored as a keyed
hash of the normalised value, HMAC-SHA256 with a key derived from the keyring and the
organisation's id in the message, so the stored list is no list of BSNs and the same value
hashes differently in every organisation. Later scans of that organisation drop findings of
that kind whose value hashes the same. The shipped detectors and term lists are not touched.

The compose page never sends the value back: each finding it shows carries a signed token
(``finding_token``) holding the organisation, the kind and the hash. The token is refused when
it was tampered with, is older than ``TOKEN_MAX_AGE`` or was made for another organisation.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence

from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from zegel.audit.log import record, staff_actor
from zegel.crypto.keyring import get_keyring
from zegel.dlp.findings import NOT_SCANNED, Finding
from zegel.dlp.models import AllowedValue
from zegel.dlp.normalize import normalize
from zegel.messaging.errors import ActionError, NotFound
from zegel.orgs import roles
from zegel.orgs.models import Organisation, User

KEY_PURPOSE = "dlp-allow-list"
TOKEN_SALT = "zegel.dlp.allowlist"  # noqa: S105 (a namespace for signing, not a secret)
TOKEN_MAX_AGE = 24 * 3600
MAX_TOKEN_LENGTH = 500
_NUMBER_KINDS = {"bsn", "iban", "payment_card", "passport_nl", "phone_nl"}
_SPACES = re.compile(r"\s+")


def canonical_value(kind: str, raw: str) -> str:
    """The form of a matched value that is hashed: ``1112.22.333`` and ``111222333`` are the
    same BSN, ``Diabetes`` and ``diabetes`` the same term."""
    text = normalize(raw).text
    if kind in _NUMBER_KINDS:
        value = "".join(c for c in text if c.isalnum()).upper()
        if kind == "bsn":
            value = value.zfill(9)  # a BSN written without its leading zero is the same BSN
        if kind == "phone_nl" and value.startswith("0031"):
            value = "0" + value[4:]
        return value
    return _SPACES.sub(" ", text).strip().casefold()


def value_hash(organisation_id: int, kind: str, raw: str) -> str:
    key = get_keyring().derive(KEY_PURPOSE)
    message = f"{organisation_id}\x00{kind}\x00{canonical_value(kind, raw)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def markable(finding: Finding) -> bool:
    """Findings that point at a value; "could not be checked" is not a value."""
    return finding.kind != NOT_SCANNED and finding.end > finding.start


def finding_token(organisation: Organisation, text: str, finding: Finding) -> str:
    """What the compose page sends back to mark this finding; holds no value, only its hash."""
    digest = value_hash(organisation.pk, finding.kind, text[finding.start:finding.end])
    return signing.dumps({"o": organisation.pk, "k": finding.kind, "h": digest}, salt=TOKEN_SALT,
                         compress=False)


def allowed_hashes(organisation: Organisation) -> set[tuple[str, str]]:
    return set(AllowedValue.objects.filter(organisation=organisation)
               .values_list("kind", "value_hash"))


def drop_allowed(organisation: Organisation, text: str, findings: Sequence[Finding],
                 allowed: set[tuple[str, str]]) -> list[Finding]:
    """The findings whose value this organisation did not mark as "not sensitive"."""
    if not allowed:
        return list(findings)
    kinds = {kind for kind, _hash in allowed}
    return [
        f for f in findings
        if f.kind not in kinds or not markable(f)
        or (f.kind, value_hash(organisation.pk, f.kind, text[f.start:f.end])) not in allowed
    ]


def _unknown() -> NotFound:
    return NotFound(_("This finding is not known (any more). Check the message again."),
                    field="finding")


def mark_not_sensitive(user: User, token: str, *, request: HttpRequest | None = None
                       ) -> AllowedValue:
    """Add the token's value to the user's organisation's allow list; audited (kind only)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise _unknown()
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        raise _unknown() from None
    if (not isinstance(data, dict) or data.get("o") != user.organisation_id
            or not isinstance(data.get("k"), str) or not isinstance(data.get("h"), str)
            or data["k"] == NOT_SCANNED):
        # A token made for another organisation is as unknown here as a made-up one.
        raise _unknown()
    kind, digest = data["k"], data["h"]
    try:
        with transaction.atomic():
            entry, created = AllowedValue.objects.get_or_create(
                organisation_id=user.organisation_id, kind=kind, value_hash=digest,
                defaults={"created_by": user})
    except IntegrityError:  # marked by a colleague at the same moment
        entry, created = AllowedValue.objects.get(
            organisation_id=user.organisation_id, kind=kind, value_hash=digest), False
    record("dlp.allow.added", organisation=user.organisation, **staff_actor(user),
           object_type="dlp_allowed_value", object_id=entry.pk, request=request,
           data={"kind": kind, "new": created})
    return entry


def allowed_of(user: User) -> Iterable[AllowedValue]:
    return AllowedValue.objects.filter(organisation=user.organisation).select_related(
        "created_by")


def remove_allowed(user: User, entry_id: int, *, request: HttpRequest | None = None) -> None:
    """An admin takes a value off the allow list; another organisation's entry is not found."""
    if not roles.allows(user, roles.Permission.MANAGE_DLP):
        raise ActionError(roles.refusal(roles.Permission.MANAGE_DLP), status=403)
    entry = AllowedValue.objects.filter(organisation=user.organisation, pk=entry_id).first()
    if entry is None:
        raise NotFound(_("This entry could not be found."))
    entry.delete()
    record("dlp.allow.removed", organisation=user.organisation, **staff_actor(user),
           object_type="dlp_allowed_value", object_id=entry_id, request=request,
           data={"kind": entry.kind})
