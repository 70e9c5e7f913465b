"""Running a transaction again when PostgreSQL broke it to end a deadlock or a serialization
conflict (see "Locking on PostgreSQL" in docs/architecture.md).

The database rolled the whole transaction back, so running the same function again from the
start is safe: every action re-reads and locks what it changes inside its transaction. Only
those two errors are retried, a bounded number of times, and only around a whole (outermost)
transaction; anything else, and a conflict inside a caller's transaction, goes up unchanged.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import DatabaseError, connection

log = logging.getLogger(__name__)

# SQLSTATEs PostgreSQL gives a transaction it rolled back so another could go on.
DEADLOCK_DETECTED = "40P01"
SERIALIZATION_FAILURE = "40001"
ATTEMPTS = 3

P = ParamSpec("P")
R = TypeVar("R")


def is_conflict(exc: BaseException) -> bool:
    """True for a deadlock or serialization failure PostgreSQL answered; false for anything
    else (a lost connection, a constraint, a bug)."""
    if not isinstance(exc, DatabaseError):
        return False
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return state in (DEADLOCK_DETECTED, SERIALIZATION_FAILURE)


def retry_on_conflict(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a function that opens its own (durable) transaction: on a deadlock or
    serialization failure it runs again, at most ATTEMPTS times in all, after a short random
    pause so the two transactions do not meet again at once."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except DatabaseError as exc:
                if (attempt == ATTEMPTS or connection.in_atomic_block
                        or not is_conflict(exc)):
                    raise
                log.warning("%s: the database broke a lock conflict (%s); attempt %s of %s",
                            func.__qualname__, type(exc.__cause__).__name__, attempt + 1,
                            ATTEMPTS)
                time.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311 (not a secret)
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper
