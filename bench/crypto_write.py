"""How much does encryption at rest cost compared with writing plaintext?

    .venv/bin/python bench/crypto_write.py [--size-mib 1024] [--dir var/bench]

Encrypts SIZE bytes (a 64 MiB random buffer, repeated) in memory only, then writes it and
reads it back, three times each:
  encrypt only    Encryptor alone, output discarded: the CPU cost without the disk
  plain write     1 MiB writes to a file, then fsync
  encrypted write the same data through zegel.crypto.stream.Encryptor, then fsync
  decrypted read  the encrypted file read back in 1 MiB reads through Decryptor
and a plain read of the plaintext file for comparison. Reads right after writes mostly come
from the page cache, so they measure the CPU side. Prints MB/s (10**6 bytes per second), the
encrypted/plain ratio and the peak RSS. The files are deleted afterwards. Nothing is asserted:
timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Runs from a checkout without installing the package or configuring Django.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zegel.crypto.stream import Decryptor, Encryptor, ciphertext_size

MIB = 1024 * 1024
WRITE_SIZE = MIB
PATTERN_SIZE = 64 * MIB
RUNS = 3
DEK = os.urandom(32)
OBJECT_ID = os.urandom(16)


def _pieces(pattern: memoryview, total: int) -> list[memoryview]:
    """1 MiB views into the repeated pattern, `total` bytes in all (no copies)."""
    pieces = []
    offset = 0
    while offset < total:
        start = offset % len(pattern)
        length = min(WRITE_SIZE, total - offset, len(pattern) - start)
        pieces.append(pattern[start : start + length])
        offset += length
    return pieces


def write_plain(path: Path, pieces: list[memoryview]) -> int:
    with path.open("wb", buffering=0) as out:
        for piece in pieces:
            out.write(piece)
        os.fsync(out.fileno())
    return sum(len(piece) for piece in pieces)


def write_encrypted(path: Path, pieces: list[memoryview]) -> int:
    encryptor = Encryptor(DEK, OBJECT_ID)
    with path.open("wb", buffering=0) as out:
        out.write(encryptor.header)
        for piece in pieces:
            out.write(encryptor.update(piece))
        out.write(encryptor.finalize())
        os.fsync(out.fileno())
    return sum(len(piece) for piece in pieces)


def encrypt_only(pieces: list[memoryview]) -> int:
    """Encryption without the disk: the CPU cost alone."""
    encryptor = Encryptor(DEK, OBJECT_ID)
    for piece in pieces:
        encryptor.update(piece)
    encryptor.finalize()
    return sum(len(piece) for piece in pieces)


def read_plain(path: Path) -> int:
    buffer = bytearray(WRITE_SIZE)
    total = 0
    with path.open("rb", buffering=0) as source:
        while count := source.readinto(buffer):
            total += count
    return total


def read_decrypted(path: Path) -> int:
    decryptor = Decryptor(DEK, OBJECT_ID)
    buffer = bytearray(WRITE_SIZE)
    view = memoryview(buffer)
    total = 0
    with path.open("rb", buffering=0) as source:
        while count := source.readinto(buffer):
            total += len(decryptor.update(view[:count]))
    total += len(decryptor.finalize())
    return total


def measure(label: str, run: Callable[[], int]) -> float:
    """Run three times; print each rate and return the median in MB/s."""
    rates = []
    for _ in range(RUNS):
        started = time.perf_counter()
        size = run()
        elapsed = time.perf_counter() - started
        rates.append(size / elapsed / 1e6)
    median = statistics.median(rates)
    runs = "  ".join(f"{rate:8.0f}" for rate in rates)
    print(f"{label:<16} {runs}   median {median:8.0f} MB/s")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="data per run (MiB)")
    parser.add_argument("--dir", type=Path, default=Path("var/bench"), help="where to write")
    args = parser.parse_args()
    total = args.size_mib * MIB
    args.dir.mkdir(parents=True, exist_ok=True)
    plain_path = args.dir / "plain.bin"
    encrypted_path = args.dir / "encrypted.bin"

    pattern = memoryview(os.urandom(PATTERN_SIZE))
    pieces = _pieces(pattern, total)
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{args.size_mib} MiB per run in {WRITE_SIZE // MIB} MiB writes, {RUNS} runs, {args.dir}")
    print(f"{'':<16} {'run 1':>8}  {'run 2':>8}  {'run 3':>8}")
    try:
        measure("encrypt only", lambda: encrypt_only(pieces))
        plain = measure("plain write", lambda: write_plain(plain_path, pieces))
        encrypted = measure("encrypted write", lambda: write_encrypted(encrypted_path, pieces))
        assert encrypted_path.stat().st_size == ciphertext_size(total)
        plain_read = measure("plain read", lambda: read_plain(plain_path))
        decrypted = measure("decrypted read", lambda: read_decrypted(encrypted_path))
    finally:
        plain_path.unlink(missing_ok=True)
        encrypted_path.unlink(missing_ok=True)
    print(f"encrypted/plain write: {encrypted / plain:.2f}")
    print(f"decrypted/plain read:  {decrypted / plain_read:.2f}")
    # ru_maxrss is in KiB on Linux (bytes on macOS); the 64 MiB pattern is part of it.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mib = peak / MIB if sys.platform == "darwin" else peak / 1024
    print(f"peak RSS: {peak_mib:.0f} MiB (includes the {PATTERN_SIZE // MIB} MiB source buffer)")


if __name__ == "__main__":
    main()
