"""The errors every action raises when it refuses a request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.http import Http404


class ActionError(Exception):
    """A request the action refuses, with a message fit to show the person who made it."""

    def __init__(self, message: str, *, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class NotFound(ActionError, Http404):
    """The object does not exist or is not this person's to see: the two look the same. It is
    an Http404 too, so a web view that does not catch it answers with the 404 page."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message, field=field, status=404)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a request: ``field`` as ActionError's ("0.phone")."""

    field: str
    message: str
    # What is wrong, for a program ("phone_missing"); empty when only the message says it.
    code: str = ""


class ActionErrors(ActionError):
    """Every problem found in a request at once, so a form can show them all together. As an
    ActionError it is the first of them: callers that show one error keep working."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        if not errors:
            raise ValueError("ActionErrors needs at least one error")
        super().__init__(errors[0].message, field=errors[0].field)
        self.errors = list(errors)
