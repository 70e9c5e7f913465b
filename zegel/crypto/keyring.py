"""Key-encryption keys (KEKs): kept in a key file on disk, never in the database.

A database dump holds only wrapped DEKs; without this file they are noise. The file format,
permissions policy and rotation procedure are described in docs/crypto.md.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "Keyring",
    "KeyringError",
    "create_default_keyring",
    "get_keyring",
    "new_dek",
    "reset_keyring_cache",
]

logger = logging.getLogger(__name__)

FILE_VERSION = 1
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
WRAPPED_SIZE = NONCE_SIZE + KEY_SIZE + TAG_SIZE
_KEK_ID = re.compile(r"k[1-9][0-9]{0,8}")
_WRAP_AD_PREFIX = b"zegel dek wrap v1\x00"
_DERIVE_INFO_PREFIX = b"zegel derive "


class KeyringError(Exception):
    """The key file is missing, malformed or unsafe, or a wrapped key does not unwrap.

    Messages name the file and the problem, never key material.
    """


def new_dek() -> bytes:
    """A fresh random 256-bit data-encryption key."""
    return secrets.token_bytes(KEY_SIZE)


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _unb64(value: object, what: str, path: Path) -> bytes:
    if not isinstance(value, str):
        raise KeyringError(f"{path}: {what} is not a base64 string")
    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{path}: {what} is not valid base64") from None
    if len(key) != KEY_SIZE:
        raise KeyringError(f"{path}: {what} must be {KEY_SIZE} bytes, not {len(key)}")
    return key


def _kek_number(kek_id: str) -> int:
    return int(kek_id[1:])


def _wrap_ad(kek_id: str, context: bytes) -> bytes:
    # Kek ids never contain NUL, so the separator keeps (id, context) pairs unambiguous.
    return _WRAP_AD_PREFIX + kek_id.encode("ascii") + b"\x00" + context


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(path: Path, content: bytes) -> Path:
    """Write `content` to a new 0600 file next to `path`, flushed to disk."""
    # mkstemp creates the file 0600 with O_EXCL, so the keys are never readable by others,
    # not even for the moment between creating and chmod-ing.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(content)
            tmp.flush()
            os.fsync(tmp.fileno())
    except BaseException:
        os.unlink(tmp_name)
        raise
    return Path(tmp_name)


def _create_exclusively(path: Path, content: bytes) -> None:
    """Publish a complete file at `path`; FileExistsError if something is already there."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = _write_temp(path, content)
    try:
        # link() fails if `path` exists, so two processes starting at once cannot overwrite
        # each other's keys, and a reader never sees a half-written file.
        os.link(tmp, path)
    finally:
        tmp.unlink()
    _fsync_dir(path.parent)


def _replace(path: Path, content: bytes) -> None:
    tmp = _write_temp(path, content)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


class Keyring:
    """The KEKs and the derivation secret from one key file.

    Wrapping always uses the current KEK; unwrapping accepts any KEK still in the file, so
    rotation never breaks existing rows.
    """

    path: Path
    current_id: str

    def __init__(
        self, path: Path, current_id: str, keys: dict[str, bytes], derivation: bytes
    ) -> None:
        if current_id not in keys:
            raise KeyringError(f"{path}: current key {current_id!r} is not in the key file")
        self.path = path
        self.current_id = current_id
        self._keys = dict(keys)
        self._derivation = derivation

    def __repr__(self) -> str:
        # Never the keys: reprs end up in tracebacks, logs and error reports.
        return f"<Keyring {str(self.path)!r} current={self.current_id} ids={self.kek_ids}>"

    @property
    def kek_ids(self) -> tuple[str, ...]:
        """Ids of all KEKs in the file, oldest first."""
        return tuple(sorted(self._keys, key=_kek_number))

    # -- file I/O --------------------------------------------------------------------------

    def _serialise(self) -> bytes:
        document = {
            "version": FILE_VERSION,
            "current": self.current_id,
            "keys": {kek_id: _b64(self._keys[kek_id]) for kek_id in self.kek_ids},
            "derivation": _b64(self._derivation),
        }
        return (json.dumps(document, indent=2) + "\n").encode("ascii")

    @classmethod
    def _fresh(cls, path: Path) -> Keyring:
        return cls(path, "k1", {"k1": secrets.token_bytes(KEY_SIZE)}, secrets.token_bytes(32))

    @classmethod
    def generate(cls, path: Path) -> Keyring:
        """Create a new key file with one KEK; refuses to overwrite an existing file."""
        keyring = cls._fresh(path)
        try:
            _create_exclusively(path, keyring._serialise())
        except FileExistsError:
            raise KeyringError(f"{path}: key file already exists; not overwriting it") from None
        logger.info("Created key file %s with key %s", path, keyring.current_id)
        return keyring

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Read and validate a key file.

        A world-writable file is refused: whoever can write it can substitute a KEK they know
        and read every message stored afterwards. Group/other read access is only logged as a
        warning, because some container platforms (OpenShift) run with a shared group by
        design; fix the mode with `chmod 600`.
        """
        try:
            with path.open("rb") as key_file:
                mode = os.fstat(key_file.fileno()).st_mode
                raw = key_file.read()
        except FileNotFoundError:
            raise KeyringError(f"{path}: key file not found") from None
        except OSError as exc:
            raise KeyringError(f"{path}: cannot read key file ({exc.strerror})") from None
        if not stat.S_ISREG(mode):
            raise KeyringError(f"{path}: not a regular file")
        if mode & stat.S_IWOTH:
            raise KeyringError(f"{path}: key file is world-writable; refusing to use it")
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning(
                "Key file %s is accessible to group or others (mode %o); use chmod 600",
                path,
                stat.S_IMODE(mode),
            )
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise KeyringError(f"{path}: key file is not valid JSON") from None
        return cls._from_document(path, document)

    @classmethod
    def _from_document(cls, path: Path, document: Any) -> Keyring:
        if not isinstance(document, dict):
            raise KeyringError(f"{path}: key file must hold a JSON object")
        if document.get("version") != FILE_VERSION:
            raise KeyringError(f"{path}: unsupported key file version {document.get('version')!r}")
        current = document.get("current")
        raw_keys = document.get("keys")
        if not isinstance(raw_keys, dict) or not raw_keys:
            raise KeyringError(f"{path}: 'keys' must be a non-empty object")
        keys: dict[str, bytes] = {}
        for kek_id, value in raw_keys.items():
            if not _KEK_ID.fullmatch(kek_id):
                raise KeyringError(f"{path}: bad key id {kek_id!r} (expected k1, k2, ...)")
            keys[kek_id] = _unb64(value, f"key {kek_id}", path)
        if not isinstance(current, str) or current not in keys:
            raise KeyringError(f"{path}: 'current' must name one of the keys")
        derivation = _unb64(document.get("derivation"), "derivation secret", path)
        return cls(path, current, keys, derivation)

    @contextlib.contextmanager
    def _locked_reload(self) -> Iterator[Keyring]:
        """Hold an exclusive lock on the key file and yield its state as on disk.

        Changes start from the file, not from this (possibly stale) object, so two operators
        rotating at once both keep their keys instead of one silently losing a KEK that may
        already have wrapped DEKs.
        """
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield Keyring.load(self.path)
        finally:
            os.close(fd)

    def _adopt(self, other: Keyring) -> None:
        self.current_id = other.current_id
        self._keys = dict(other._keys)
        self._derivation = other._derivation

    # -- keys ------------------------------------------------------------------------------

    def wrap(self, dek: bytes, *, context: bytes) -> tuple[str, bytes]:
        """Encrypt a DEK under the current KEK, bound to `context` (the owning row's id).

        Returns (kek_id, nonce || ciphertext || tag); store both next to each other.
        """
        if len(dek) != KEY_SIZE:
            raise ValueError(f"dek must be {KEY_SIZE} bytes")
        kek_id = self.current_id
        # Random 96-bit nonces are safe here: a KEK wraps far fewer than 2**32 keys before it
        # is rotated, which keeps the collision probability negligible.
        nonce = secrets.token_bytes(NONCE_SIZE)
        sealed = AESGCM(self._keys[kek_id]).encrypt(nonce, dek, _wrap_ad(kek_id, context))
        return kek_id, nonce + sealed

    def unwrap(self, kek_id: str, wrapped: bytes, *, context: bytes) -> bytes:
        """Recover a DEK; KeyringError if the KEK is unknown or the wrap or context is wrong."""
        kek = self._keys.get(kek_id)
        if kek is None and _KEK_ID.fullmatch(kek_id or ""):
            # Another process may have rotated since this one loaded the file: read it again
            # once before calling the id unknown.
            with contextlib.suppress(KeyringError, OSError):
                self._adopt(Keyring.load(self.path))
            kek = self._keys.get(kek_id)
        if kek is None:
            raise KeyringError(f"unknown key id {kek_id!r} (retired, or from another key file)")
        if len(wrapped) != WRAPPED_SIZE:
            raise KeyringError(f"wrapped key must be {WRAPPED_SIZE} bytes, not {len(wrapped)}")
        nonce, sealed = wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:]
        try:
            return AESGCM(kek).decrypt(nonce, sealed, _wrap_ad(kek_id, context))
        except InvalidTag:
            raise KeyringError(
                f"wrapped key does not unwrap under {kek_id} (tampered or wrong context)"
            ) from None

    def rotate(self) -> str:
        """Add a new KEK and make it current; older KEKs stay for unwrapping. Returns its id."""
        with self._locked_reload() as on_disk:
            # Ids grow and are never reused, so a wrapped key can never be read with a
            # different KEK that happens to carry the id of a retired one.
            new_id = f"k{max(map(_kek_number, on_disk._keys)) + 1}"
            on_disk._keys[new_id] = secrets.token_bytes(KEY_SIZE)
            on_disk.current_id = new_id
            _replace(self.path, on_disk._serialise())
        self._adopt(on_disk)
        logger.info("Rotated key file %s: current key is now %s", self.path, new_id)
        return new_id

    def retire(self, kek_id: str) -> None:
        """Remove a non-current KEK.

        Every DEK still wrapped under it becomes unreadable, so re-wrap first (`zegel keys
        rotate` does) and check that no row still names `kek_id`.
        """
        with self._locked_reload() as on_disk:
            if kek_id == on_disk.current_id:
                raise KeyringError(f"{kek_id} is the current key; rotate before retiring it")
            if kek_id not in on_disk._keys:
                raise KeyringError(f"unknown key id {kek_id!r}")
            del on_disk._keys[kek_id]
            _replace(self.path, on_disk._serialise())
        self._adopt(on_disk)
        logger.info("Retired key %s from key file %s", kek_id, self.path)

    def derive(self, purpose: str) -> bytes:
        """A 32-byte secret for `purpose` (e.g. "code-hmac"), stable across KEK rotation."""
        if not purpose:
            raise ValueError("purpose must not be empty")
        # A separate derivation secret, not a KEK, so rotating KEKs does not invalidate keyed
        # hashes (verification codes, tokens) derived for other purposes.
        hkdf = HKDF(
            algorithm=SHA256(),
            length=32,
            salt=None,
            info=_DERIVE_INFO_PREFIX + purpose.encode("utf-8"),
        )
        return hkdf.derive(self._derivation)


def create_default_keyring(path: Path) -> None:
    """Create the key file at `path` unless it exists; safe when processes race to do it."""
    if path.exists():
        return
    # Another process may create it at the same moment; whichever links first wins and
    # everyone then loads that one file.
    with contextlib.suppress(FileExistsError):
        _create_exclusively(path, Keyring._fresh(path)._serialise())
        logger.info("Created key file %s", path)


_cache_lock = threading.Lock()
_cached: Keyring | None = None
_cached_stamp: tuple[int, int] | None = None


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_ino, info.st_mtime_ns)


def get_keyring() -> Keyring:
    """The process-wide keyring, loaded once.

    settings.KEYRING_FILE, when set, must already exist: creating keys at an operator-chosen
    path would hide a typo until the data written under those keys was needed elsewhere.
    Otherwise settings.KEYRING_DEFAULT is used and created on first start.
    """
    global _cached, _cached_stamp
    with _cache_lock:
        # A rotation replaces the file (new inode): every process then wraps new keys under
        # the new KEK at once, instead of only after a restart.
        if _cached is not None and _stamp(_cached.path) == _cached_stamp:
            return _cached
        # Imported here so the crypto package stays usable without Django settings.
        from django.conf import settings

        configured = getattr(settings, "KEYRING_FILE", "")
        if configured:
            keyring = Keyring.load(Path(configured))
        else:
            path = Path(settings.KEYRING_DEFAULT)
            create_default_keyring(path)
            keyring = Keyring.load(path)
        _cached = keyring
        _cached_stamp = _stamp(keyring.path)
        return keyring


def reset_keyring_cache() -> None:
    """Forget the cached keyring (tests; other processes after a rotation)."""
    global _cached
    with _cache_lock:
        _cached = None
