"""Format v2 bindings: the context layout and the key-wrap vector, checked against the doc."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zegel.crypto.keyring import Keyring, KeyringError
from zegel.keystore.binding import Owner, Role, binding, wrap_context

VECTORS = json.loads(Path(__file__).with_name("vectors.json").read_text(encoding="utf-8"))


def _owner(data: dict[str, Any]) -> Owner:
    def maybe_uuid(value: str | None) -> uuid.UUID | None:
        return uuid.UUID(value) if value else None

    return Owner(kind=data["kind"], organisation=data["organisation"],
                 conversation=maybe_uuid(data["conversation"]),
                 message=maybe_uuid(data["message"]),
                 attachment=maybe_uuid(data["attachment"]), recipient=data["recipient"])


def _documented_binding(role: str, owner: dict[str, Any]) -> bytes:
    """docs/crypto.md, "Binding", written out by hand."""
    out = b"ZGLB\x02"
    for value in (role, owner["kind"], owner["organisation"], owner["conversation"],
                  owner["message"], owner["attachment"], owner["recipient"]):
        text = "" if value is None else str(value)
        out += len(text.encode()).to_bytes(2, "big") + text.encode()
    return out


def test_the_context_follows_the_documented_layout() -> None:
    v2 = VECTORS["v2"]
    expected = _documented_binding(v2["role"], v2["owner"])
    assert expected.hex() == v2["context_hex"]
    assert binding(v2["role"], _owner(v2["owner"])) == expected


def test_the_wrap_vector_follows_the_documented_layout(tmp_path: Path) -> None:
    wrap = VECTORS["wrap_v2"]
    owner = _owner(VECTORS["v2"]["owner"])
    key_id = uuid.UUID(wrap["data_key_id"])
    context = key_id.bytes + _documented_binding(Role.DATA_KEY, VECTORS["v2"]["owner"])
    assert context.hex() == wrap["context_hex"] == wrap_context(key_id, owner).hex()
    ad = b"zegel dek wrap v1\x00" + wrap["kek_id"].encode() + b"\x00" + context
    assert ad.hex() == wrap["ad_hex"]
    kek, nonce = bytes.fromhex(wrap["kek_hex"]), bytes.fromhex(wrap["nonce_hex"])
    wrapped = bytes.fromhex(wrap["wrapped_hex"])
    assert wrapped[:12] == nonce
    dek = AESGCM(kek).decrypt(nonce, wrapped[12:], ad)
    assert dek.hex() == VECTORS["dek_hex"]
    # And zegel's keyring opens it for this owner only.
    keyring = Keyring(tmp_path / "k.json", "k1", {"k1": kek}, bytes(32))
    assert keyring.unwrap("k1", wrapped, context=wrap_context(key_id, owner)) == dek
    other = Owner(kind=owner.kind, organisation=owner.organisation,
                  conversation=uuid.uuid4(), message=owner.message)
    with pytest.raises(KeyringError):
        keyring.unwrap("k1", wrapped, context=wrap_context(key_id, other))


@pytest.mark.parametrize("change", [
    {"kind": "attachment"}, {"organisation": 8}, {"conversation": uuid.uuid4()},
    {"message": uuid.uuid4()}, {"attachment": uuid.uuid4()}, {"recipient": 1},
])
def test_every_owner_field_changes_the_context(change: dict[str, Any]) -> None:
    base = Owner(kind="message", organisation=7, conversation=uuid.uuid4(), message=uuid.uuid4())
    fields = {**base.__dict__, **change}
    assert binding(Role.BODY, Owner(**fields)) != binding(Role.BODY, base)


def test_fields_cannot_run_into_each_other() -> None:
    """Length prefixes keep ("ab", "c") apart from ("a", "bc")."""
    one = Owner(kind="ab", organisation=1)
    two = Owner(kind="a", organisation=1)
    assert binding("x", one) != binding("xa", two)
    assert binding(Role.SUBJECT, one) != binding(Role.BODY, one)
