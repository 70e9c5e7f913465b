"""The error every action raises when it refuses a request."""

from __future__ import annotations


class ActionError(Exception):
    """A request the action refuses, with a message fit to show the person who made it."""

    def __init__(self, message: str, *, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status
