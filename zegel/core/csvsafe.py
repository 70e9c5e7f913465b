"""CSV cells that a spreadsheet cannot run: a text starting with =, +, -, @, a tab or a carriage
return is read by Excel, LibreOffice and Google Sheets as a formula ("CSV injection", OWASP),
so such a cell gets a leading apostrophe, which they show as text."""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text
