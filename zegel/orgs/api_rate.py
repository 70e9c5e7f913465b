"""The API's rate limit: at most API_RATE_LIMIT requests per token in each fixed window of
API_RATE_WINDOW seconds, counted in the database so that every web process shares the count.

A window is a fixed slice of time (its start is a multiple of the window length), so a limit
ends at the window's end whatever the client keeps sending; requests over the limit are
counted too, which changes nothing. Counting is one statement (an upsert that returns the new
count), exact under parallel requests on SQLite and PostgreSQL alike. Like the log-in
throttle's FailedLogin, this is operational data and writes no audit event.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from zegel.orgs.models import ApiRequestCount

# Django's ORM has no upsert that increments, so this one statement is SQL; SQLite (3.35+)
# and PostgreSQL both speak it.
_COUNT = """
    INSERT INTO {table} (token_id, window_start, requests) VALUES (%s, %s, 1)
    ON CONFLICT (token_id, window_start) DO UPDATE SET requests = {table}.requests + 1
    RETURNING requests
"""


def _clock() -> float:
    return time.time()


@dataclass(frozen=True)
class RateCount:
    requests: int  # in the current window, this one included
    retry_after: int  # seconds until the window ends

    @property
    def over(self) -> bool:
        return settings.API_RATE_LIMIT > 0 and self.requests > settings.API_RATE_LIMIT


def _window() -> tuple[int, int]:
    """The current window's start and the whole seconds until its end (at least 1)."""
    now = _clock()
    length = settings.API_RATE_WINDOW
    start = int(now // length) * length
    return start, max(1, math.ceil(start + length - now))


def count_request(token_id: int) -> RateCount:
    start, retry_after = _window()
    table = connection.ops.quote_name(ApiRequestCount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_COUNT.format(table=table), [token_id, start])
        row = cursor.fetchone()
    requests = int(row[0]) if row else 1
    if requests == 1:
        # The first request of a new window: forget the windows before it, of every token.
        ApiRequestCount.objects.filter(window_start__lt=start).delete()
    return RateCount(requests, retry_after)


def over_limit(token_id: int) -> bool:
    """Whether the token's next request would be refused, without counting one."""
    if settings.API_RATE_LIMIT <= 0:
        return False
    start, _retry = _window()
    used = (ApiRequestCount.objects.filter(token_id=token_id, window_start=start)
            .values_list("requests", flat=True).first())
    return (used or 0) >= settings.API_RATE_LIMIT
