"""How much does encryption at rest cost compared with writing plaintext? Interleaved rounds.

    .venv/bin/python bench/crypto_write.py [--size-mib 1024] [--rounds 5] [--dir var/bench]

Per round, in this order, on SIZE bytes (a 64 MiB random buffer, repeated, in 1 MiB pieces):
  plain write     1 MiB writes to a file, then fsync
  encrypted write the same data through zegel.crypto.stream.Encryptor, then fsync
  encrypt only    Encryptor alone, output discarded: the CPU cost without the disk
  plain read      the plaintext file read back in 1 MiB reads
  decrypted read  the encrypted file read back in 1 MiB reads through Decryptor
Rounds interleave the kinds (A B A B ...), so a slow phase of the disk or of other jobs hits
both sides of a ratio; the ratios encrypted/plain are taken per round, and the figures are
medians with their range (min - max). Reads right after writes mostly come from the page
cache, so they measure the CPU side. Prints MB/s (10**6 bytes per second) and the peak RSS.
The files are deleted afterwards. Nothing is asserted: timings depend on the machine.
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


def timed(run: Callable[[], int]) -> float:
    """One run: MB/s."""
    started = time.perf_counter()
    size = run()
    return size / (time.perf_counter() - started) / 1e6


def spread(values: list[float], digits: int = 0) -> str:
    return (f"median {statistics.median(values):8.{digits}f}   range "
            f"{min(values):8.{digits}f} - {max(values):<8.{digits}f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="data per run (MiB)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--dir", type=Path, default=Path("var/bench"), help="where to write")
    args = parser.parse_args()
    if args.size_mib < 1 or args.rounds < 1:
        parser.error("--size-mib and --rounds must be at least 1")
    total = args.size_mib * MIB
    args.dir.mkdir(parents=True, exist_ok=True)
    plain_path = args.dir / "plain.bin"
    encrypted_path = args.dir / "encrypted.bin"

    pattern = memoryview(os.urandom(PATTERN_SIZE))
    pieces = _pieces(pattern, total)
    kinds: dict[str, Callable[[], int]] = {
        "plain write": lambda: write_plain(plain_path, pieces),
        "encrypted write": lambda: write_encrypted(encrypted_path, pieces),
        "encrypt only": lambda: encrypt_only(pieces),
        "plain read": lambda: read_plain(plain_path),
        "decrypted read": lambda: read_decrypted(encrypted_path),
    }
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{args.size_mib} MiB per run in {WRITE_SIZE // MIB} MiB writes, {args.rounds} "
          f"rounds interleaved, {args.dir}; MB/s = 10**6 bytes per second")
    print(f"{'round':<7}" + "".join(f"{k:>17}" for k in kinds)
          + f"{'enc/plain write':>17}{'dec/plain read':>16}")
    rates: dict[str, list[float]] = {k: [] for k in kinds}
    write_ratio: list[float] = []
    read_ratio: list[float] = []
    try:
        for i in range(1, args.rounds + 1):
            row = {}
            for kind, run in kinds.items():
                row[kind] = timed(run)
                rates[kind].append(row[kind])
            if encrypted_path.stat().st_size != ciphertext_size(total):
                raise SystemExit("the encrypted file has the wrong size")
            write_ratio.append(row["encrypted write"] / row["plain write"])
            read_ratio.append(row["decrypted read"] / row["plain read"])
            print(f"{i:<7}" + "".join(f"{row[k]:>17.0f}" for k in kinds)
                  + f"{write_ratio[-1]:>17.2f}{read_ratio[-1]:>16.2f}", flush=True)
    finally:
        plain_path.unlink(missing_ok=True)
        encrypted_path.unlink(missing_ok=True)
    print()
    for kind, values in rates.items():
        print(f"{kind + ' MB/s':<24}{spread(values)}")
    print(f"{'encrypted/plain write':<24}{spread(write_ratio, 2)}")
    print(f"{'decrypted/plain read':<24}{spread(read_ratio, 2)}")
    # ru_maxrss is in KiB on Linux (bytes on macOS); the 64 MiB pattern is part of it.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mib = peak / MIB if sys.platform == "darwin" else peak / 1024
    print(f"peak RSS: {peak_mib:.0f} MiB (includes the {PATTERN_SIZE // MIB} MiB source buffer)")


if __name__ == "__main__":
    main()
