"""The base of every REST API request body: what is refused before a view sees it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import BaseModel, model_validator


def _has_nul(value: Any) -> bool:
    # Iterative: a condition can nest as deep as its JSON, and must not exhaust the stack.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, BaseModel):
            pending.extend(item.__dict__.values())
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


class Input(Schema):
    """Text with a NUL character is refused (422), as Django's own form fields do: PostgreSQL
    cannot store it, and no name, address, rule or term has a reason to contain one."""

    @model_validator(mode="after")
    def _refuse_nul_characters(self) -> Input:
        if _has_nul(self):
            raise ValueError(_("Text must not contain NUL characters."))
        return self
