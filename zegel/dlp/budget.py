"""The time a scan may take, checked inside every detector's loop.

A budget checked only between chunks lets one slow chunk run past it; detectors call
``check()`` once per candidate instead, so a scan stops within one candidate's work of its
deadline, and the caller reports the rest as not scanned.
"""

from __future__ import annotations

import time


class BudgetExceeded(Exception):
    """The scan's deadline passed; what is left is reported as ``not_scanned``."""


class Budget:
    """A deadline on the monotonic clock."""

    __slots__ = ("deadline", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise BudgetExceeded

    def exceeded(self) -> bool:
        return time.monotonic() > self.deadline


def check(budget: Budget | None) -> None:
    """``budget.check()``, for detectors that may run without a budget."""
    if budget is not None and time.monotonic() > budget.deadline:
        raise BudgetExceeded
