"""The hash formulas of the audit chain, frozen per version (docs/security.md, "Audit log").

Version 1 is the unkeyed SHA-256 of the first releases; those events are still verified as
written. Version 2 is an HMAC-SHA256 under a key derived from the key file, which never sits in
the database: whoever can write the database can no longer re-hash a changed event forward.
A formula never changes once released; a new one gets a new version.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from zegel.crypto.keyring import get_keyring

GENESIS = "0" * 64
LEGACY = 1
KEYED = 2
# The derivation label of the chain key: its own purpose, so no other keyed hash shares it.
KEY_PURPOSE = "audit-chain"
_EVENT_LABEL = b"zegel audit v2\n"
_HEAD_LABEL = b"zegel audit head v2\n"


def chain_key() -> bytes:
    """The HMAC key of the chain, derived from the key file's derivation secret."""
    return get_keyring().derive(KEY_PURPOSE)


def event_fields(event: Any) -> dict[str, Any]:
    """What an event's hash covers: everything but its id and the hashes themselves."""
    return {
        "org": event.organisation_id,
        "at": event.at.isoformat(),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "ip": event.ip,
        "data": event.data,
    }


def _payload(prev_hash: str, fields: dict[str, Any]) -> bytes:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return prev_hash.encode() + b"\n" + text.encode()


def legacy_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    """Version 1: anyone can compute it, so it shows accidents, not a forger."""
    return hashlib.sha256(_payload(prev_hash, fields)).hexdigest()


def keyed_digest(key: bytes, prev_hash: str, fields: dict[str, Any]) -> str:
    """Version 2."""
    return hmac.new(key, _EVENT_LABEL + _payload(prev_hash, fields), hashlib.sha256).hexdigest()


def head_seal(key: bytes, last_hash: str) -> str:
    """The head's own HMAC: moving the head back to an older event needs a seal nobody but
    the key holder can make (a different label, so an event's hash is never a head's seal)."""
    return hmac.new(key, _HEAD_LABEL + last_hash.encode(), hashlib.sha256).hexdigest()


def digest_of(key: bytes, version: int, prev_hash: str, fields: dict[str, Any]) -> str | None:
    """The hash an event of `version` must carry; None for an unknown version."""
    if version == KEYED:
        return keyed_digest(key, prev_hash, fields)
    if version == LEGACY:
        return legacy_digest(prev_hash, fields)
    return None
