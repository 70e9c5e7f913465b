"""The key file's formulas, computed again from docs/crypto.md with `cryptography` alone:
the DEK wrap layout, the KEK id in its associated data, derive(), and concurrent rotations."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zegel.crypto.keyring import Keyring, KeyringError, new_dek

CONTEXT = b"\x01" * 16


def _key_file(path: Path, keys: dict[str, bytes], current: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"version": 1, "current": current,
                "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()},
                "derivation": base64.b64encode(b"\x07" * 32).decode()}
    path.write_text(json.dumps(document), encoding="utf-8")
    path.chmod(0o600)
    return path


def test_a_wrapped_dek_opens_with_aesgcm_as_the_doc_describes(tmp_path: Path) -> None:
    kek = bytes(range(32))
    keyring = Keyring.load(_key_file(tmp_path / "keyring.json", {"k1": kek}, "k1"))
    dek = new_dek()
    kek_id, wrapped = keyring.wrap(dek, context=CONTEXT)
    assert kek_id == "k1" and len(wrapped) == 60
    # nonce (12) || AES-256-GCM(KEK, nonce, DEK, ad) (32) || tag (16)
    # ad = b"zegel dek wrap v1" 00 || kek_id (ASCII) || 00 || context
    ad = b"zegel dek wrap v1\x00" + b"k1" + b"\x00" + CONTEXT
    assert AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], ad) == dek


def test_the_kek_id_is_bound_into_the_wrap(tmp_path: Path) -> None:
    same = b"\x42" * 32
    keyring = Keyring.load(_key_file(tmp_path / "keyring.json", {"k1": same, "k2": same}, "k1"))
    kek_id, wrapped = keyring.wrap(new_dek(), context=CONTEXT)
    assert kek_id == "k1"
    # The same key bytes under another id: only the id in the associated data tells them apart.
    with pytest.raises(KeyringError):
        keyring.unwrap("k2", wrapped, context=CONTEXT)


def test_derive_is_hkdf_with_the_documented_info(tmp_path: Path) -> None:
    keyring = Keyring.load(_key_file(tmp_path / "keyring.json", {"k1": bytes(32)}, "k1"))
    for purpose in ("verification-code", "audit-chain"):
        expected = HKDF(algorithm=SHA256(), length=32, salt=None,
                        info=b"zegel derive " + purpose.encode()).derive(b"\x07" * 32)
        assert keyring.derive(purpose) == expected


def test_two_rotations_at_the_same_moment_both_keep_their_keys(tmp_path: Path) -> None:
    path = Keyring.generate(tmp_path / "keys" / "keyring.json").path
    start = threading.Barrier(2)
    new_ids: list[str] = []
    errors: list[BaseException] = []

    def rotate() -> None:
        keyring = Keyring.load(path)  # each its own view of the file, as two processes
        start.wait(timeout=10)
        try:
            new_ids.append(keyring.rotate())
        except BaseException as exc:  # reported below, in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=rotate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(new_ids) == ["k2", "k3"]
    on_disk = Keyring.load(path)
    assert set(on_disk.kek_ids) == {"k1", "k2", "k3"}
    assert on_disk.current_id == "k3"
