"""The key file: creation, loading, wrapping, rotation, retirement and the process cache."""

from __future__ import annotations

import base64
import json
import logging
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_django import Settings

from zegel.crypto.keyring import (
    Keyring,
    KeyringError,
    create_default_keyring,
    get_keyring,
    new_dek,
    reset_keyring_cache,
)

CONTEXT = b"message:0f0f0f0f-0f0f-0f0f-0f0f-0f0f0f0f0f0f"
OTHER_CONTEXT = b"message:f0f0f0f0-f0f0-f0f0-f0f0-f0f0f0f0f0f0"


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "keyring.json"


@pytest.fixture
def keyring(key_path: Path) -> Keyring:
    return Keyring.generate(key_path)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    reset_keyring_cache()
    yield
    reset_keyring_cache()


def _document(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _write(path: Path, content: str, mode: int = 0o600) -> Path:
    path.write_text(content, encoding="utf-8")
    path.chmod(mode)
    return path


def _valid_document() -> dict[str, Any]:
    key = base64.b64encode(bytes(32)).decode()
    return {"version": 1, "current": "k1", "keys": {"k1": key}, "derivation": key}


# -- creating and loading ------------------------------------------------------------------


def test_new_dek_is_32_random_bytes() -> None:
    first, second = new_dek(), new_dek()
    assert len(first) == 32
    assert first != second


def test_generate_writes_the_documented_format(keyring: Keyring, key_path: Path) -> None:
    document = _document(key_path)
    assert document["version"] == 1
    assert document["current"] == "k1" == keyring.current_id
    assert list(document["keys"]) == ["k1"]
    assert len(base64.b64decode(document["keys"]["k1"])) == 32
    assert len(base64.b64decode(document["derivation"])) == 32
    assert document["derivation"] != document["keys"]["k1"]


def test_generate_makes_the_file_0600_and_the_directory_0700(key_path: Path) -> None:
    Keyring.generate(key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.parent.stat().st_mode) & 0o077 == 0
    # No temporary files are left behind next to the key file.
    assert sorted(p.name for p in key_path.parent.iterdir()) == ["keyring.json"]


def test_generate_refuses_to_overwrite(keyring: Keyring, key_path: Path) -> None:
    before = key_path.read_bytes()
    with pytest.raises(KeyringError, match="already exists"):
        Keyring.generate(key_path)
    assert key_path.read_bytes() == before


def test_load_reads_what_generate_wrote(keyring: Keyring, key_path: Path) -> None:
    loaded = Keyring.load(key_path)
    assert loaded.current_id == keyring.current_id
    kek_id, wrapped = keyring.wrap(b"d" * 32, context=CONTEXT)
    assert loaded.unwrap(kek_id, wrapped, context=CONTEXT) == b"d" * 32


def test_load_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="not found"):
        Keyring.load(tmp_path / "nope.json")


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{not json",
        "[]",
        '"string"',
        json.dumps({**_valid_document(), "version": 2}),
        json.dumps({**_valid_document(), "current": "k9"}),
        json.dumps({**_valid_document(), "keys": {}}),
        json.dumps({**_valid_document(), "keys": {"k1": base64.b64encode(bytes(16)).decode()}}),
        json.dumps({**_valid_document(), "keys": {"k1": "not base64!"}}),
        json.dumps({**_valid_document(), "keys": {"k1": 12}}),
        json.dumps({**_valid_document(), "keys": {"key-one": _valid_document()["derivation"]}}),
        json.dumps({**_valid_document(), "derivation": base64.b64encode(bytes(31)).decode()}),
        json.dumps({k: v for k, v in _valid_document().items() if k != "derivation"}),
    ],
)
def test_load_rejects_bad_files(tmp_path: Path, content: str) -> None:
    path = _write(tmp_path / "keyring.json", content)
    with pytest.raises(KeyringError):
        Keyring.load(path)


def test_load_accepts_a_valid_hand_written_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "keyring.json", json.dumps(_valid_document()))
    assert Keyring.load(path).current_id == "k1"


def test_load_refuses_a_world_writable_file(keyring: Keyring, key_path: Path) -> None:
    key_path.chmod(0o606)
    with pytest.raises(KeyringError, match="world-writable"):
        Keyring.load(key_path)


def test_load_warns_about_a_group_readable_file(
    keyring: Keyring, key_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_path.chmod(0o640)
    with caplog.at_level(logging.WARNING, logger="zegel.crypto.keyring"):
        Keyring.load(key_path)
    assert "chmod 600" in caplog.text


def test_errors_and_repr_never_show_keys(keyring: Keyring, key_path: Path) -> None:
    document = _document(key_path)
    secrets = [document["keys"]["k1"], document["derivation"]]
    assert not any(secret in repr(keyring) for secret in secrets)
    document["keys"]["k1"] = document["keys"]["k1"][:20]
    _write(key_path, json.dumps(document))
    with pytest.raises(KeyringError) as caught:
        Keyring.load(key_path)
    assert not any(secret[:20] in str(caught.value) for secret in secrets)


# -- wrapping ------------------------------------------------------------------------------


def test_it_wraps_and_unwraps(keyring: Keyring) -> None:
    dek = new_dek()
    kek_id, wrapped = keyring.wrap(dek, context=CONTEXT)
    assert kek_id == "k1"
    assert len(wrapped) == 12 + 32 + 16
    assert dek not in wrapped
    assert keyring.unwrap(kek_id, wrapped, context=CONTEXT) == dek


def test_wrapping_twice_gives_different_ciphertexts(keyring: Keyring) -> None:
    dek = new_dek()
    assert keyring.wrap(dek, context=CONTEXT) != keyring.wrap(dek, context=CONTEXT)


def test_it_rejects_a_context_mismatch(keyring: Keyring) -> None:
    kek_id, wrapped = keyring.wrap(new_dek(), context=CONTEXT)
    with pytest.raises(KeyringError):
        keyring.unwrap(kek_id, wrapped, context=OTHER_CONTEXT)


def test_it_rejects_a_tampered_wrap(keyring: Keyring) -> None:
    kek_id, wrapped = keyring.wrap(new_dek(), context=CONTEXT)
    for index in (0, 12, len(wrapped) - 1):
        tampered = bytearray(wrapped)
        tampered[index] ^= 1
        with pytest.raises(KeyringError):
            keyring.unwrap(kek_id, bytes(tampered), context=CONTEXT)
    with pytest.raises(KeyringError):
        keyring.unwrap(kek_id, wrapped[:-1], context=CONTEXT)


def test_it_rejects_an_unknown_kek_id(keyring: Keyring) -> None:
    _, wrapped = keyring.wrap(new_dek(), context=CONTEXT)
    with pytest.raises(KeyringError, match="unknown key id"):
        keyring.unwrap("k7", wrapped, context=CONTEXT)


def test_it_rejects_a_wrap_from_another_key_file(keyring: Keyring, tmp_path: Path) -> None:
    other = Keyring.generate(tmp_path / "other" / "keyring.json")
    kek_id, wrapped = other.wrap(new_dek(), context=CONTEXT)
    with pytest.raises(KeyringError):
        keyring.unwrap(kek_id, wrapped, context=CONTEXT)


def test_it_refuses_to_wrap_a_short_dek(keyring: Keyring) -> None:
    with pytest.raises(ValueError):
        keyring.wrap(b"short", context=CONTEXT)


# -- rotation and retirement ---------------------------------------------------------------


def test_rotate_keeps_old_wraps_readable(keyring: Keyring, key_path: Path) -> None:
    dek = new_dek()
    old_id, old_wrapped = keyring.wrap(dek, context=CONTEXT)
    assert keyring.rotate() == "k2"
    assert keyring.current_id == "k2"
    new_id, new_wrapped = keyring.wrap(dek, context=CONTEXT)
    assert new_id == "k2"
    reloaded = Keyring.load(key_path)
    assert reloaded.current_id == "k2"
    assert reloaded.unwrap(old_id, old_wrapped, context=CONTEXT) == dek
    assert reloaded.unwrap(new_id, new_wrapped, context=CONTEXT) == dek
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_retire_removes_an_old_key(keyring: Keyring, key_path: Path) -> None:
    old_id, old_wrapped = keyring.wrap(new_dek(), context=CONTEXT)
    keyring.rotate()
    keyring.retire(old_id)
    assert keyring.kek_ids == ("k2",)
    assert list(_document(key_path)["keys"]) == ["k2"]
    with pytest.raises(KeyringError, match="unknown key id"):
        Keyring.load(key_path).unwrap(old_id, old_wrapped, context=CONTEXT)


def test_retire_refuses_the_current_key(keyring: Keyring) -> None:
    with pytest.raises(KeyringError, match="current"):
        keyring.retire("k1")
    with pytest.raises(KeyringError, match="unknown"):
        keyring.retire("k5")


def test_ids_are_never_reused(keyring: Keyring) -> None:
    keyring.rotate()
    keyring.rotate()
    keyring.retire("k1")
    keyring.retire("k2")
    assert keyring.rotate() == "k4"
    assert keyring.kek_ids == ("k3", "k4")


def test_rotation_starts_from_the_file_not_a_stale_copy(keyring: Keyring, key_path: Path) -> None:
    # Two processes holding the same keyring both rotate: both new keys must survive, since
    # either may already have wrapped DEKs.
    other_process = Keyring.load(key_path)
    assert keyring.rotate() == "k2"
    dek = new_dek()
    wrapped = keyring.wrap(dek, context=CONTEXT)
    assert other_process.rotate() == "k3"
    assert Keyring.load(key_path).unwrap(*wrapped, context=CONTEXT) == dek
    assert other_process.unwrap(*wrapped, context=CONTEXT) == dek


# -- derivation ----------------------------------------------------------------------------


def test_derive_is_stable_across_rotate_and_reload(keyring: Keyring, key_path: Path) -> None:
    before = keyring.derive("code-hmac")
    assert len(before) == 32
    keyring.rotate()
    assert keyring.derive("code-hmac") == before
    assert Keyring.load(key_path).derive("code-hmac") == before


def test_derive_separates_purposes(keyring: Keyring) -> None:
    assert keyring.derive("code-hmac") != keyring.derive("token-hmac")
    with pytest.raises(ValueError):
        keyring.derive("")


def test_derive_does_not_use_a_kek(keyring: Keyring, key_path: Path) -> None:
    kek = base64.b64decode(_document(key_path)["keys"]["k1"])
    assert kek not in {keyring.derive(purpose) for purpose in ("a", "b")}


# -- get_keyring ---------------------------------------------------------------------------


def test_get_keyring_creates_the_default_file(settings: Settings, tmp_path: Path) -> None:
    settings.KEYRING_FILE = ""
    settings.KEYRING_DEFAULT = tmp_path / "data" / "keys" / "keyring.json"
    keyring = get_keyring()
    assert keyring.path == settings.KEYRING_DEFAULT
    assert stat.S_IMODE(settings.KEYRING_DEFAULT.stat().st_mode) == 0o600
    assert get_keyring() is keyring


def test_get_keyring_loads_an_existing_default(settings: Settings, key_path: Path) -> None:
    created = Keyring.generate(key_path)
    settings.KEYRING_FILE = ""
    settings.KEYRING_DEFAULT = key_path
    assert get_keyring().derive("x") == created.derive("x")


def test_get_keyring_uses_the_configured_file(settings: Settings, key_path: Path) -> None:
    created = Keyring.generate(key_path)
    settings.KEYRING_FILE = str(key_path)
    settings.KEYRING_DEFAULT = key_path.parent / "unused.json"
    assert get_keyring().derive("x") == created.derive("x")
    assert not settings.KEYRING_DEFAULT.exists()


def test_get_keyring_never_creates_a_configured_file(settings: Settings, tmp_path: Path) -> None:
    settings.KEYRING_FILE = str(tmp_path / "typo.json")
    settings.KEYRING_DEFAULT = tmp_path / "default.json"
    with pytest.raises(KeyringError, match="not found"):
        get_keyring()
    assert not (tmp_path / "typo.json").exists()
    assert not (tmp_path / "default.json").exists()


def test_the_cached_keyring_follows_a_rotation_by_another_process(settings: Settings,
                                                                   tmp_path: Path) -> None:
    settings.KEYRING_FILE = ""
    settings.KEYRING_DEFAULT = tmp_path / "keyring.json"
    first = get_keyring()
    assert first.current_id == "k1"
    Keyring.load(first.path).rotate()
    # The file was replaced: the next call loads it again instead of wrapping under k1.
    assert get_keyring().current_id == "k2"
    reset_keyring_cache()
    assert get_keyring().current_id == "k2"


def test_concurrent_first_starts_share_one_key_file(tmp_path: Path) -> None:
    # Several processes starting at once each try to create the default file; exactly one
    # wins and all of them end up with the same keys. Threads stand in for the processes and
    # call the creation step directly, bypassing the per-process cache.
    path = tmp_path / "keys" / "keyring.json"
    results: list[bytes] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def first_start() -> None:
        try:
            barrier.wait()
            create_default_keyring(path)
            results.append(Keyring.load(path).derive("x"))
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=first_start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 8
    assert len(set(results)) == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["keyring.json"]
