"""Run one action from several threads at the same moment, each with its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def at_once(action: Callable[[], Any], times: int = 4) -> list[Any]:
    """Results (or the exceptions raised) of `times` concurrent calls of `action`."""
    barrier = threading.Barrier(times, timeout=30)
    results: list[Any] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            outcome: Any = action()
        except Exception as exc:  # the test inspects what each thread got
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == times, "a thread did not finish"
    return results
