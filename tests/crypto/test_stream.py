"""The streaming AEAD format: round trips, slicing, tampering and the checked-in vectors."""

# Seeded `random` on purpose: test data must be reproducible, not secret.
# ruff: noqa: S311

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zegel.crypto import stream
from zegel.crypto.stream import (
    CHUNK_SIZE,
    FORMAT_VERSION,
    HEADER_SIZE,
    DecryptionError,
    Decryptor,
    Encryptor,
    ciphertext_size,
    decrypt_bytes,
    encrypt_bytes,
    iter_decrypt,
)

DEK = bytes(range(32))
OTHER_DEK = bytes(range(1, 33))
OBJECT_ID = bytes.fromhex("0f" * 16)
OTHER_OBJECT_ID = bytes.fromhex("f0" * 16)
SEALED = CHUNK_SIZE + 16
VECTORS_PATH = Path(__file__).with_name("vectors.json")

SIZES = [0, 1, 5, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE]


def _plaintext(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _slices(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    """Cut `data` into pieces whose sizes cycle through `sizes`."""
    offset = 0
    index = 0
    while offset < len(data):
        step = sizes[index % len(sizes)]
        yield data[offset : offset + step]
        offset += step
        index += 1


def _encrypt_in_slices(plaintext: bytes, sizes: list[int], salt: bytes | None = None) -> bytes:
    encryptor = Encryptor(DEK, OBJECT_ID, salt=salt)
    parts = [encryptor.header]
    parts.extend(encryptor.update(piece) for piece in _slices(plaintext, sizes))
    parts.append(encryptor.finalize())
    return b"".join(parts)


def _decrypt_in_slices(ciphertext: bytes, sizes: list[int]) -> bytes:
    decryptor = Decryptor(DEK, OBJECT_ID)
    parts = [decryptor.update(piece) for piece in _slices(ciphertext, sizes)]
    parts.append(decryptor.finalize())
    return b"".join(parts)


def _chunks(ciphertext: bytes) -> tuple[bytes, list[bytes]]:
    body = ciphertext[HEADER_SIZE:]
    return ciphertext[:HEADER_SIZE], [body[i : i + SEALED] for i in range(0, len(body), SEALED)]


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_it_round_trips_boundary_sizes(size: int) -> None:
    plaintext = _plaintext(size)
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, plaintext)
    assert len(ciphertext) == ciphertext_size(size)
    assert decrypt_bytes(DEK, OBJECT_ID, ciphertext) == plaintext


def test_it_round_trips_random_sizes() -> None:
    rng = random.Random(1234)
    for _ in range(25):
        size = rng.randrange(0, 5 * CHUNK_SIZE)
        plaintext = rng.randbytes(size)
        ciphertext = encrypt_bytes(DEK, OBJECT_ID, plaintext)
        assert len(ciphertext) == ciphertext_size(size)
        assert decrypt_bytes(DEK, OBJECT_ID, ciphertext) == plaintext


@pytest.mark.parametrize(
    "slice_sizes",
    [[1], [7, 1000, 3], [CHUNK_SIZE], [SEALED], [CHUNK_SIZE - 1, 2], [CHUNK_SIZE + 1], [10**6]],
)
@pytest.mark.parametrize("size", [0, 5, CHUNK_SIZE, 2 * CHUNK_SIZE + 3])
def test_it_accepts_odd_slices_on_both_sides(size: int, slice_sizes: list[int]) -> None:
    plaintext = _plaintext(size)
    reference = _encrypt_in_slices(plaintext, [size or 1], salt=b"s" * 16)
    ciphertext = _encrypt_in_slices(plaintext, slice_sizes, salt=b"s" * 16)
    assert ciphertext == reference
    assert _decrypt_in_slices(ciphertext, slice_sizes) == plaintext


@pytest.mark.parametrize("slice_sizes", [[1], [CHUNK_SIZE], [CHUNK_SIZE + 1], [10**6],
                                         [17 * CHUNK_SIZE + 5, 3]])
@pytest.mark.parametrize("size", [0, 5, CHUNK_SIZE, 2 * CHUNK_SIZE + 3, 40 * CHUNK_SIZE + 9])
def test_update_to_writes_what_update_returns(size: int, slice_sizes: list[int]) -> None:
    """The upload handler writes sealed chunks straight from the encryptor's buffer."""
    plaintext = _plaintext(size)
    reference = _encrypt_in_slices(plaintext, slice_sizes, salt=b"s" * 16)
    encryptor = Encryptor(DEK, OBJECT_ID, salt=b"s" * 16)
    written = bytearray(encryptor.header)
    for piece in _slices(plaintext, slice_sizes):
        # A view is only valid during the call: copy it, as a file's write does.
        encryptor.update_to(piece, written.extend)
    written += encryptor.finalize()
    assert bytes(written) == reference
    assert _decrypt_in_slices(bytes(written), [SEALED]) == plaintext


def test_update_to_refuses_further_use_after_a_failed_write() -> None:
    encryptor = Encryptor(DEK, OBJECT_ID)

    def full_disk(_sealed: memoryview) -> None:
        raise OSError("no space left on device")

    with pytest.raises(OSError, match="no space"):
        encryptor.update_to(_plaintext(3 * CHUNK_SIZE), full_disk)
    with pytest.raises(RuntimeError, match="finalized"):
        encryptor.update(b"more")
    with pytest.raises(RuntimeError, match="finalized"):
        encryptor.finalize()


def test_it_decrypts_one_byte_at_a_time() -> None:
    plaintext = _plaintext(2 * CHUNK_SIZE + 3)
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, plaintext)
    assert _decrypt_in_slices(ciphertext, [1]) == plaintext


def test_it_accepts_bytearray_and_memoryview_input() -> None:
    plaintext = _plaintext(CHUNK_SIZE + 10)
    encryptor = Encryptor(DEK, OBJECT_ID)
    buffer = bytearray(plaintext)
    sealed = encryptor.header + encryptor.update(memoryview(buffer)) + encryptor.finalize()
    # No export of the caller's buffer may outlive the call.
    buffer.extend(b"x")
    assert decrypt_bytes(DEK, OBJECT_ID, bytearray(sealed)) == plaintext


def test_it_holds_back_a_full_chunk_until_it_knows_more_follows() -> None:
    encryptor = Encryptor(DEK, OBJECT_ID)
    assert encryptor.update(b"a" * CHUNK_SIZE) == b""
    assert len(encryptor.update(b"b")) == SEALED
    assert len(encryptor.finalize()) == 1 + 16


def test_it_streams_plaintext_as_chunks_verify() -> None:
    plaintext = _plaintext(3 * CHUNK_SIZE + 1)
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, plaintext)
    pieces = list(iter_decrypt(DEK, OBJECT_ID, _slices(ciphertext, [SEALED])))
    assert b"".join(pieces) == plaintext
    assert [len(piece) for piece in pieces] == [CHUNK_SIZE] * 3 + [1]


def test_it_uses_a_fresh_salt_for_every_write() -> None:
    first = encrypt_bytes(DEK, OBJECT_ID, b"same")
    second = encrypt_bytes(DEK, OBJECT_ID, b"same")
    assert first[:HEADER_SIZE] != second[:HEADER_SIZE]
    assert first[HEADER_SIZE:] != second[HEADER_SIZE:]


def test_ciphertext_size_matches_the_layout() -> None:
    assert ciphertext_size(0) == HEADER_SIZE + 16
    assert ciphertext_size(CHUNK_SIZE) == HEADER_SIZE + CHUNK_SIZE + 16
    assert ciphertext_size(CHUNK_SIZE + 1) == HEADER_SIZE + CHUNK_SIZE + 1 + 32
    with pytest.raises(ValueError):
        ciphertext_size(-1)


def test_header_layout() -> None:
    encryptor = Encryptor(DEK, OBJECT_ID, salt=b"\x01" * 16)
    assert HEADER_SIZE == 21
    assert encryptor.header == b"ZGLS" + bytes([FORMAT_VERSION]) + b"\x01" * 16


# -- input validation and state ------------------------------------------------------------


@pytest.mark.parametrize("dek", [b"", b"k" * 16, b"k" * 31, b"k" * 33])
def test_it_rejects_bad_dek_lengths(dek: bytes) -> None:
    with pytest.raises(ValueError):
        Encryptor(dek, OBJECT_ID)
    with pytest.raises(ValueError):
        Decryptor(dek, OBJECT_ID)


@pytest.mark.parametrize("object_id", [b"", b"i" * 15, b"i" * 17, b"i" * 36])
def test_it_rejects_bad_object_id_lengths(object_id: bytes) -> None:
    with pytest.raises(ValueError):
        Encryptor(DEK, object_id)
    with pytest.raises(ValueError):
        Decryptor(DEK, object_id)


def test_it_rejects_bad_salt_length() -> None:
    with pytest.raises(ValueError):
        Encryptor(DEK, OBJECT_ID, salt=b"s" * 15)


def test_it_refuses_use_after_finalize() -> None:
    encryptor = Encryptor(DEK, OBJECT_ID)
    ciphertext = encryptor.header + encryptor.finalize()
    with pytest.raises(RuntimeError):
        encryptor.update(b"more")
    with pytest.raises(RuntimeError):
        encryptor.finalize()
    decryptor = Decryptor(DEK, OBJECT_ID)
    decryptor.update(ciphertext)
    decryptor.finalize()
    with pytest.raises(RuntimeError):
        decryptor.update(b"")
    with pytest.raises(RuntimeError):
        decryptor.finalize()


def test_it_refuses_counter_overflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "_MAX_COUNTER", 1)
    encryptor = Encryptor(DEK, OBJECT_ID)
    encryptor.update(b"x" * (2 * CHUNK_SIZE + 1))  # seals chunks 0 and 1, the last allowed
    with pytest.raises(OverflowError):
        encryptor.finalize()
    encryptor = Encryptor(DEK, OBJECT_ID)
    with pytest.raises(OverflowError):
        encryptor.update(b"x" * (3 * CHUNK_SIZE + 1))


def test_it_refuses_counter_overflow_when_decrypting(monkeypatch: pytest.MonkeyPatch) -> None:
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, b"x" * (2 * CHUNK_SIZE + 1))
    monkeypatch.setattr(stream, "_MAX_COUNTER", 1)
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, ciphertext)


def test_the_real_counter_limit_is_eleven_bytes() -> None:
    assert stream._MAX_COUNTER == 2**88 - 1
    assert stream._nonce(stream._MAX_COUNTER, last=True) == b"\xff" * 11 + b"\x01"


# -- tampering -----------------------------------------------------------------------------


@pytest.fixture
def three_chunks() -> tuple[bytes, bytes]:
    plaintext = _plaintext(2 * CHUNK_SIZE + 100)
    return plaintext, encrypt_bytes(DEK, OBJECT_ID, plaintext)


def test_it_rejects_truncated_object(three_chunks: tuple[bytes, bytes]) -> None:
    _, ciphertext = three_chunks
    header, chunks = _chunks(ciphertext)
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, header + b"".join(chunks[:-1]))


def test_it_rejects_object_truncated_at_a_chunk_boundary_of_full_chunks() -> None:
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, _plaintext(3 * CHUNK_SIZE))
    header, chunks = _chunks(ciphertext)
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, header + b"".join(chunks[:2]))


@pytest.mark.parametrize("keep", [0, 1, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + 15])
def test_it_rejects_object_cut_inside_header_or_first_tag(keep: int) -> None:
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, b"")
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, ciphertext[:keep])


def test_it_rejects_object_cut_mid_chunk(three_chunks: tuple[bytes, bytes]) -> None:
    _, ciphertext = three_chunks
    for cut in (1, 17, 100, SEALED):
        with pytest.raises(DecryptionError):
            decrypt_bytes(DEK, OBJECT_ID, ciphertext[:-cut])


def test_iter_decrypt_raises_at_the_end_when_truncated(three_chunks: tuple[bytes, bytes]) -> None:
    plaintext, ciphertext = three_chunks
    header, chunks = _chunks(ciphertext)
    received: list[bytes] = []
    with pytest.raises(DecryptionError):
        for piece in iter_decrypt(DEK, OBJECT_ID, [header, *chunks[:-1]]):
            received.append(piece)
    # What came out before the error was authentic, just not all of it.
    assert plaintext.startswith(b"".join(received))


def test_it_rejects_reordered_chunks(three_chunks: tuple[bytes, bytes]) -> None:
    _, ciphertext = three_chunks
    header, chunks = _chunks(ciphertext)
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, header + chunks[1] + chunks[0] + chunks[2])


def test_it_rejects_a_dropped_middle_chunk(three_chunks: tuple[bytes, bytes]) -> None:
    _, ciphertext = three_chunks
    header, chunks = _chunks(ciphertext)
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, header + chunks[0] + chunks[2])


def test_it_rejects_a_chunk_from_another_object_id() -> None:
    plaintext = _plaintext(2 * CHUNK_SIZE + 1)
    salt = b"\x07" * 16
    ours = _encrypt_in_slices(plaintext, [CHUNK_SIZE], salt=salt)
    encryptor = Encryptor(DEK, OTHER_OBJECT_ID, salt=salt)
    theirs = encryptor.header + encryptor.update(plaintext) + encryptor.finalize()
    header, our_chunks = _chunks(ours)
    _, their_chunks = _chunks(theirs)
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, header + their_chunks[0] + b"".join(our_chunks[1:]))


def test_it_rejects_a_whole_object_under_another_object_id() -> None:
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, b"attachment one")
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OTHER_OBJECT_ID, ciphertext)


def test_it_rejects_a_chunk_from_another_write_of_the_same_object() -> None:
    plaintext = _plaintext(CHUNK_SIZE + 1)
    first = _encrypt_in_slices(plaintext, [CHUNK_SIZE], salt=b"\x01" * 16)
    second = _encrypt_in_slices(plaintext, [CHUNK_SIZE], salt=b"\x02" * 16)
    header, first_chunks = _chunks(first)
    _, second_chunks = _chunks(second)
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, header + second_chunks[0] + first_chunks[1])
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, header + first_chunks[0] + second_chunks[1])


def test_it_rejects_a_swapped_header() -> None:
    first = encrypt_bytes(DEK, OBJECT_ID, b"first")
    second = encrypt_bytes(DEK, OBJECT_ID, b"first")
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, second[:HEADER_SIZE] + first[HEADER_SIZE:])


def test_it_rejects_wrong_dek() -> None:
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, b"secret")
    with pytest.raises(DecryptionError):
        decrypt_bytes(OTHER_DEK, OBJECT_ID, ciphertext)


def test_it_rejects_any_flipped_bit_in_a_short_object() -> None:
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, b"hello, world")
    for index in range(len(ciphertext)):
        for bit in range(8):
            tampered = bytearray(ciphertext)
            tampered[index] ^= 1 << bit
            with pytest.raises(DecryptionError):
                decrypt_bytes(DEK, OBJECT_ID, bytes(tampered))


def test_it_rejects_flipped_bits_across_a_long_object(three_chunks: tuple[bytes, bytes]) -> None:
    _, ciphertext = three_chunks
    positions = [0, 4, 5, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + SEALED - 1]
    positions += [HEADER_SIZE + SEALED, len(ciphertext) - 17, len(ciphertext) - 1]
    positions += random.Random(5).sample(range(len(ciphertext)), 20)
    for index in positions:
        tampered = bytearray(ciphertext)
        tampered[index] ^= 0x80
        with pytest.raises(DecryptionError):
            decrypt_bytes(DEK, OBJECT_ID, bytes(tampered))


@pytest.mark.parametrize("extra", [b"\x00", b"x" * 16, b"x" * SEALED, b"x" * (SEALED + 1)])
@pytest.mark.parametrize("size", [0, 5, CHUNK_SIZE, CHUNK_SIZE + 5])
def test_it_rejects_data_appended_after_the_final_chunk(size: int, extra: bytes) -> None:
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, _plaintext(size))
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, ciphertext + extra)


def test_it_rejects_a_second_copy_of_the_final_chunk() -> None:
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, b"short")
    with pytest.raises(DecryptionError):
        decrypt_bytes(DEK, OBJECT_ID, ciphertext + ciphertext[HEADER_SIZE:])


def test_it_rejects_an_empty_final_chunk_after_full_chunks() -> None:
    # Re-seal by hand what a non-canonical writer would produce: full chunk, then empty last.
    salt = b"\x03" * 16
    header = b"ZGLS" + bytes([FORMAT_VERSION]) + salt
    subkey = HKDF(SHA256(), 32, salt, b"zegel stream v2" + OBJECT_ID).derive(DEK)
    aead, ad = AESGCM(subkey), header + OBJECT_ID
    body = aead.encrypt(bytes(11) + b"\x00", b"a" * CHUNK_SIZE, ad)
    body += aead.encrypt((1).to_bytes(11, "big") + b"\x01", b"", ad)
    with pytest.raises(DecryptionError, match="empty final chunk"):
        decrypt_bytes(DEK, OBJECT_ID, header + body)


def test_it_rejects_bad_magic_and_unknown_versions() -> None:
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, b"x")
    with pytest.raises(DecryptionError, match="magic"):
        decrypt_bytes(DEK, OBJECT_ID, b"GZIP" + ciphertext[4:])
    with pytest.raises(DecryptionError, match="version 3"):
        decrypt_bytes(DEK, OBJECT_ID, ciphertext[:4] + b"\x03" + ciphertext[5:])


def test_a_failed_decryptor_stays_failed(three_chunks: tuple[bytes, bytes]) -> None:
    _, ciphertext = three_chunks
    header, chunks = _chunks(ciphertext)
    decryptor = Decryptor(DEK, OBJECT_ID)
    with pytest.raises(DecryptionError):
        decryptor.update(header + chunks[1] + chunks[0])
    with pytest.raises(DecryptionError):
        decryptor.update(chunks[2])
    with pytest.raises(DecryptionError):
        decryptor.finalize()


def test_errors_do_not_contain_key_material() -> None:
    ciphertext = encrypt_bytes(DEK, OBJECT_ID, b"secret")
    with pytest.raises(DecryptionError) as caught:
        decrypt_bytes(OTHER_DEK, OBJECT_ID, ciphertext)
    message = str(caught.value)
    for secret in (DEK, OTHER_DEK):
        assert secret.hex() not in message
        assert repr(secret) not in message


# -- test vectors --------------------------------------------------------------------------


def _vectors() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    return loaded


def _vector_plaintext(case: dict[str, Any]) -> bytes:
    if "plaintext_hex" in case:
        return bytes.fromhex(case["plaintext_hex"])
    pattern = bytes.fromhex(case["plaintext_pattern_hex"])
    length: int = case["plaintext_length"]
    return (pattern * (length // len(pattern) + 1))[:length]


def _case(section: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(case for case in section["cases"] if case["name"] == name)
    return found


def _check_case(case: dict[str, Any], ciphertext: bytes) -> None:
    assert hashlib.sha256(ciphertext).hexdigest() == case["ciphertext_sha256"]
    if "ciphertext_hex" in case:
        assert ciphertext.hex() == case["ciphertext_hex"]
    else:
        assert len(ciphertext) == case["ciphertext_length"]
        assert ciphertext.endswith(bytes.fromhex(case["ciphertext_last_chunk_hex"]))


@pytest.mark.parametrize("name", ["empty", "five_bytes", "two_chunks"])
def test_it_matches_the_checked_in_v2_vectors(name: str) -> None:
    vectors = _vectors()
    assert vectors["chunk_size"] == CHUNK_SIZE
    dek = bytes.fromhex(vectors["dek_hex"])
    salt = bytes.fromhex(vectors["salt_hex"])
    object_id = bytes.fromhex(vectors["object_id_hex"])
    context = bytes.fromhex(vectors["v2"]["context_hex"])
    case = _case(vectors["v2"], name)
    plaintext = _vector_plaintext(case)

    encryptor = Encryptor(dek, object_id, context=context, salt=salt)
    ciphertext = encryptor.header + encryptor.update(plaintext) + encryptor.finalize()

    _check_case(case, ciphertext)
    assert decrypt_bytes(dek, object_id, ciphertext, context=context) == plaintext
    with pytest.raises(DecryptionError):
        decrypt_bytes(dek, object_id, ciphertext, context=context[:-1] + b"\x01")


@pytest.mark.parametrize("name", ["empty", "five_bytes", "two_chunks"])
def test_version_1_objects_still_decrypt(name: str) -> None:
    vectors = _vectors()
    dek = bytes.fromhex(vectors["dek_hex"])
    salt = bytes.fromhex(vectors["salt_hex"])
    object_id = bytes.fromhex(vectors["object_id_hex"])
    case = _case(vectors["v1"], name)
    plaintext = _vector_plaintext(case)

    encryptor = Encryptor(dek, object_id, salt=salt, version=stream.LEGACY_VERSION)
    ciphertext = encryptor.header + encryptor.update(plaintext) + encryptor.finalize()

    _check_case(case, ciphertext)
    assert decrypt_bytes(dek, object_id, ciphertext, version=stream.LEGACY_VERSION) == plaintext


def test_it_refuses_a_version_1_object_where_version_2_is_expected() -> None:
    """A v1 object has no context; accepting it for a v2 owner would drop the binding."""
    legacy = encrypt_bytes(DEK, OBJECT_ID, b"old", version=stream.LEGACY_VERSION)
    with pytest.raises(DecryptionError, match="version 1, expected 2"):
        decrypt_bytes(DEK, OBJECT_ID, legacy, context=b"owner")
    current = encrypt_bytes(DEK, OBJECT_ID, b"new", context=b"owner")
    with pytest.raises(DecryptionError, match="version 2, expected 1"):
        decrypt_bytes(DEK, OBJECT_ID, current, version=stream.LEGACY_VERSION)
    with pytest.raises(ValueError, match="no context"):
        Decryptor(DEK, OBJECT_ID, context=b"owner", version=stream.LEGACY_VERSION)


def test_the_vectors_follow_the_documented_layout() -> None:
    """Decode the vectors with only `cryptography` and docs/crypto.md, not zegel's code."""
    vectors = _vectors()
    dek = bytes.fromhex(vectors["dek_hex"])
    salt = bytes.fromhex(vectors["salt_hex"])
    object_id = bytes.fromhex(vectors["object_id_hex"])
    for version, extra_ad in ((1, b""), (2, bytes.fromhex(vectors["v2"]["context_hex"]))):
        section = vectors[f"v{version}"]
        info = b"zegel stream v%d" % version
        subkey = HKDF(SHA256(), 32, salt, info + object_id).derive(dek)
        assert subkey.hex() == section["subkey_hex"]
        for case in section["cases"]:
            if "ciphertext_hex" not in case:
                continue
            ciphertext = bytes.fromhex(case["ciphertext_hex"])
            header = ciphertext[:21]
            assert header == b"ZGLS" + bytes([version]) + salt
            nonce = (0).to_bytes(11, "big") + b"\x01"
            plaintext = AESGCM(subkey).decrypt(nonce, ciphertext[21:],
                                               header + object_id + extra_ad)
            assert plaintext == bytes.fromhex(case["plaintext_hex"])


def test_encryptor_works_in_bounded_memory() -> None:
    encryptor = Encryptor(DEK, OBJECT_ID)
    piece = os.urandom(3 * CHUNK_SIZE + 7)
    for _ in range(20):
        encryptor.update(piece)
        assert len(encryptor._pending) <= CHUNK_SIZE
        assert len(encryptor._scratch) <= stream._BATCH_CHUNKS * SEALED
