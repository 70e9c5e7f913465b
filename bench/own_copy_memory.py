"""How much memory and time does the recipient's own copy of a message (.eml) take?

    .venv/bin/python bench/own_copy_memory.py [--sizes-mib 1,15,100] [--rounds 3]

One message with one attachment of SIZE bytes, built two ways on stand-in objects (no database,
no decryption: the file's chunks come from a random buffer in 512 KiB pieces, as
content.iter_attachment yields them):
  streamed   zegel.portal.owncopy.eml.message_eml, its chunks read to the end and dropped
             (what the portal does: the email package writes the headers and the parts'
             headers, the file's base64 is streamed into its part)
  in memory  the baseline: the same message with EmailMessage.add_attachment(whole file) and
             as_bytes(), the plain way to use the email package
Measured: the peak of Python's allocations (tracemalloc) over the size, and the seconds
(without tracemalloc, in a run of its own). Rounds interleave the two ways and the sizes
(A B A B ...); figures are medians with their range. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zegel.settings")

import django

django.setup()

from zegel.messaging import content  # noqa: E402
from zegel.messaging.content import AttachmentMeta, OpenMessage  # noqa: E402
from zegel.portal.owncopy import eml  # noqa: E402

MIB = 1024 * 1024
CHUNK = 512 * 1024


def _stand_ins(size: int) -> tuple[Any, OpenMessage]:
    org = SimpleNamespace(name="Zorggroep Noord", domain="zorggroep-noord.nl")
    author = SimpleNamespace(name="Anna de Vries", email="anna@zorggroep-noord.nl")
    viewer = SimpleNamespace(pk=1, name="Piet", email="piet@example.nl", kind="to")
    conversation = SimpleNamespace(organisation=org, created_by=author)
    message = SimpleNamespace(
        pk=uuid.uuid4(), conversation=conversation, author_user=author, author_user_id=1,
        author_recipient_id=None, created_at=datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
        audience=SimpleNamespace(all=lambda: [viewer]))
    attachment = SimpleNamespace(pk=uuid.uuid4(), size=size)
    meta = AttachmentMeta(name="scan.pdf", content_type="application/pdf", sha256="0" * 64,
                          size=size)
    entry = OpenMessage(message=message, subject="Uitslag", body="Beste Piet,\nHierbij.",  # type: ignore[arg-type]
                        author="Anna de Vries", attachments=[], files=[(attachment, meta)])  # type: ignore[list-item]
    return viewer, entry


def _chunks(size: int, pattern: bytes) -> Iterator[bytes]:
    left = size
    while left:
        piece = pattern[:min(CHUNK, left)]
        left -= len(piece)
        yield piece


def _streamed(size: int, pattern: bytes) -> int:
    viewer, entry = _stand_ins(size)
    content.iter_attachment = lambda _a: _chunks(size, pattern)  # type: ignore[assignment]
    saved = eml.message_eml(viewer, entry, embed_limit=size)
    total = sum(len(piece) for piece in saved.chunks)
    assert total == saved.size, (total, saved.size)
    return total


def _in_memory(size: int, pattern: bytes) -> int:
    mail = EmailMessage(policy=policy.SMTP)
    mail["From"] = "Anna de Vries <anna@zorggroep-noord.nl>"
    mail["To"] = "Piet <piet@example.nl>"
    mail["Subject"] = "Uitslag"
    mail.set_content("Beste Piet,\nHierbij.", cte="quoted-printable")
    mail.add_attachment(b"".join(_chunks(size, pattern)), maintype="application",
                        subtype="pdf", filename="scan.pdf")
    return len(mail.as_bytes())


WAYS: dict[str, Callable[[int, bytes], int]] = {"streamed": _streamed, "in memory": _in_memory}


def _measure(way: str, size: int, pattern: bytes, *, memory: bool) -> float:
    if memory:
        tracemalloc.start()
        WAYS[way](size, pattern)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return peak / size
    started = time.perf_counter()
    WAYS[way](size, pattern)
    return time.perf_counter() - started


def _check(pattern: bytes) -> None:
    """The streamed .eml parses back to the same file bytes."""
    size = 3 * CHUNK + 5
    viewer, entry = _stand_ins(size)
    content.iter_attachment = lambda _a: _chunks(size, pattern)  # type: ignore[assignment]
    saved = eml.message_eml(viewer, entry, embed_limit=size)
    parsed = message_from_bytes(b"".join(saved.chunks), policy=policy.default)
    [part] = list(parsed.iter_attachments())  # type: ignore[attr-defined]
    assert part.get_payload(decode=True) == b"".join(_chunks(size, pattern))


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes-mib", default="1,15,100")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(float(s) * MIB) for s in args.sizes_mib.split(",")]
    pattern = os.urandom(CHUNK)
    original = content.iter_attachment
    try:
        _check(pattern)
        peaks: dict[tuple[str, int], list[float]] = {(w, s): [] for w in WAYS for s in sizes}
        times: dict[tuple[str, int], list[float]] = {(w, s): [] for w in WAYS for s in sizes}
        for _round in range(args.rounds):
            for size in sizes:
                for way in WAYS:
                    peaks[way, size].append(_measure(way, size, pattern, memory=True))
                    times[way, size].append(_measure(way, size, pattern, memory=False))
    finally:
        content.iter_attachment = original  # type: ignore[assignment]
    print(f"python {sys.version.split()[0]}, {args.rounds} rounds, ways and sizes interleaved")
    print(f"{'file MiB':>8}  {'way':<10} {'peak / size':>18} {'peak MiB':>9} "
          f"{'seconds':>18} {'time vs in memory':>18}")
    for size in sizes:
        for way in WAYS:
            ratios = [a / b for a, b in zip(times[way, size], times["in memory", size],
                                            strict=True)]
            print(f"{size / MIB:>8.0f}  {way:<10} {_fmt(peaks[way, size]):>18} "
                  f"{statistics.median(peaks[way, size]) * size / MIB:>9.1f} "
                  f"{_fmt(times[way, size]):>18} {_fmt(ratios):>18}")


if __name__ == "__main__":
    main()
