"""How the cost of one send grows with the sender's history.

    .venv/bin/python bench/send_cost_growth.py [--rounds 15] [--sizes 0,5000,50000]
    DATABASE_URL=postgres://zegel@127.0.0.1:25432/NAME .venv/bin/python bench/send_cost_growth.py

Builds a throwaway database (Django's test database next to the configured one: a file in a
temporary data dir on SQLite, ``test_NAME`` on PostgreSQL; dropped at the end), then one
organisation and sender per size, each with that many earlier recipients, every one at a
domain of its own (the worst case for the look-alike check). The history is written with
``bulk_create`` straight into the tables: the conversations and recipients the old check read,
and, where this code has them (``zegel.dlp.history``), the history tables the check reads now.

Then, interleaved per round (A B C A B C ...), for each size:

- ``check``: ``check_draft`` for a draft to one new address at a new domain (what the compose
  page's live check and the API's check cost);
- ``send``: ``send_message`` of such a draft (the check again, the sending transaction and the
  history write).

Each row gives the median and range over the rounds in milliseconds (wall clock) and the ratio
of the median to the 0-history median measured in the same run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zegel.settings")
os.environ.setdefault("ZEGEL_DATA_DIR", tempfile.mkdtemp(prefix="zegel-bench-"))

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from zegel.dlp.service import check_draft  # noqa: E402
from zegel.messaging import actions  # noqa: E402
from zegel.messaging.models import Conversation, Recipient  # noqa: E402
from zegel.orgs.models import Organisation, User  # noqa: E402

try:  # the history tables exist from dlp 0004 on; the old code reads the recipients only
    from zegel.dlp import history as history_tables
except ImportError:  # pragma: no cover - measuring the code before the history tables
    history_tables = None  # type: ignore[assignment]

BATCH = 5_000
PER_CONVERSATION = 10


def word(seed: str) -> str:
    """A pronounceable-free, deterministic 8 to 14 letter label: no two seeds look alike."""
    digest = hashlib.sha256(seed.encode()).digest()
    letters = "".join(chr(ord("a") + b % 26) for b in digest)
    return letters[: 8 + digest[0] % 7]


def build_history(sender: User, count: int) -> None:
    """``count`` earlier recipients of ``sender``, each at a domain of its own."""
    now = timezone.now()
    people = [(f"p{i}@{word(f'{sender.pk}-{i}')}.nl", f"Persoon {i}") for i in range(count)]
    for start in range(0, count, BATCH):
        chunk = people[start:start + BATCH]
        conversations = Conversation.objects.bulk_create(
            [Conversation(organisation_id=sender.organisation_id, created_by=sender)
             for _ in range(0, len(chunk), PER_CONVERSATION)])
        Recipient.objects.bulk_create(
            [Recipient(conversation=conversations[n // PER_CONVERSATION], email=email, name=name,
                       method="email", created_at=now)
             for n, (email, name) in enumerate(chunk)], batch_size=1000)
        if history_tables is not None:
            history_tables.note(sender.organisation_id, sender.pk, chunk, at=now)


def draft(sender: User, n: int) -> list[actions.RecipientSpec]:
    domain = word(f"new-{sender.pk}-{n}")
    return [actions.RecipientSpec(email=f"nieuw{n}@{domain}.nl", name=f"Nieuw {n}",
                                  method="email")]


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sizes", default="0,5000,50000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.perf_counter()
        senders = {}
        for size in sizes:
            org = Organisation.objects.create(name=f"Org {size}", domain=f"org{size}.example")
            sender = User.objects.create_user(f"anna@org{size}.example", org, "x" * 20,
                                              name="Anna de Vries")
            build_history(sender, size)
            senders[size] = sender
        print(f"{connection.vendor}; history tables: {'yes' if history_tables else 'no'}; "
              f"history built in {time.perf_counter() - started:.0f} s", flush=True)

        results: dict[tuple[str, int], list[float]] = {}
        for round_ in range(args.rounds + 1):  # round 0 warms up and is not counted
            for size, sender in senders.items():
                recipients = draft(sender, round_)
                check = timed(partial(check_draft, sender=sender, subject="Uitslag",
                                      body="Beste mevrouw, de uitslag.", recipients=recipients))
                send = timed(partial(actions.send_message, sender=sender, subject="Uitslag",
                                     body="Beste mevrouw, de uitslag.", recipients=recipients,
                                     dlp_confirmed=True))
                if round_:
                    results.setdefault(("check", size), []).append(check)
                    results.setdefault(("send", size), []).append(send)

        print(f"{'what':6} {'earlier recipients':>18} {'median ms':>10} {'range ms':>16} "
              f"{'ratio':>6}")
        for what in ("check", "send"):
            base = statistics.median(results[(what, sizes[0])])
            for size in sizes:
                values = results[(what, size)]
                median = statistics.median(values)
                print(f"{what:6} {size:>18,} {median:>10.1f} "
                      f"{min(values):>7.1f}-{max(values):<8.1f} {median / base:>6.1f}")
    finally:
        connection.creation.destroy_test_db(test_name, verbosity=0)


if __name__ == "__main__":
    main()
