"""The audit chain's formulas, computed again from docs/security.md ("The chain is keyed") and
docs/crypto.md (derive) with the standard library and `cryptography` only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zegel.audit.log import record
from zegel.audit.models import AuditEvent, AuditHead
from zegel.crypto.keyring import get_keyring
from zegel.orgs.models import Organisation


def _chain_key() -> bytes:
    document = json.loads(get_keyring().path.read_text(encoding="utf-8"))
    return HKDF(algorithm=SHA256(), length=32, salt=None,
                info=b"zegel derive audit-chain").derive(base64.b64decode(document["derivation"]))


def test_events_and_head_carry_the_documented_hmacs(org: Organisation) -> None:
    record("test.first", organisation=None, actor_type="system", data={"n": 1})
    record("message.viewed", organisation=org, actor_type="recipient", actor_id=7,
           actor_label="piet@example.nl", object_type="message", object_id="m-1",
           ip="192.0.2.4", data={"nested": {"b": 2, "a": [1, "é"]}})
    key = _chain_key()
    previous = "0" * 64
    for event in AuditEvent.objects.order_by("id"):
        fields: dict[str, Any] = {
            "org": event.organisation_id, "at": event.at.isoformat(),
            "actor_type": event.actor_type, "actor_id": event.actor_id,
            "actor_label": event.actor_label, "action": event.action,
            "object_type": event.object_type, "object_id": event.object_id,
            "ip": event.ip, "data": event.data,
        }
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        message = b"zegel audit v2\n" + previous.encode() + b"\n" + canonical.encode()
        assert event.prev_hash == previous
        assert event.hash == hmac.new(key, message, hashlib.sha256).hexdigest(), event.action
        previous = event.hash
    head = AuditHead.objects.get()
    assert head.last_hash == previous
    assert head.seal == hmac.new(key, b"zegel audit head v2\n" + previous.encode(),
                                 hashlib.sha256).hexdigest()
