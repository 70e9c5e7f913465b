"""A periodic job that runs once however many workers run: the first worker to take the job's
lease row runs it; the others see the lease taken and skip it until the lease runs out.

Taking the lease is one conditional UPDATE (``... SET holder, until WHERE name = %s AND
until <= now``): on PostgreSQL a second worker's UPDATE waits for the first one's row lock and
then finds the condition false; on SQLite writers take turns anyway. Both answer "1 row" to one
worker only. A worker that stops half way holds nothing: its lease simply runs out.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from zegel.jobs.models import Lease


def take_lease(name: str, seconds: float) -> str | None:
    """The lease of job `name` for `seconds`, as a token to renew it with, or None while
    another worker holds it."""
    now = timezone.now()
    until = Lease.objects.filter(name=name).values_list("until", flat=True).first()
    if until is None:
        _create_row(name, now)
    elif until > now:
        return None  # held: a read, so a waiting worker writes nothing (SQLite has one writer)
    token = secrets.token_hex(16)
    taken = Lease.objects.filter(name=name, until__lte=now).update(
        holder=token, until=now + timedelta(seconds=seconds))
    return token if taken == 1 else None


def renew_lease(name: str, token: str, seconds: float) -> bool:
    """Keep the lease a while longer; False if it ran out and another worker took it (then
    this one stops: the other goes on where it left off)."""
    return Lease.objects.filter(name=name, holder=token).update(
        until=timezone.now() + timedelta(seconds=seconds)) == 1


def _create_row(name: str, now: datetime) -> None:
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder="", until=now - timedelta(seconds=1))
    except IntegrityError:
        pass  # another worker made it at the same moment: the same row
