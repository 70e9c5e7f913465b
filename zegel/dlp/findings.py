"""What a detector reports: a kind, where in the sender's text, how sure, and why."""

from __future__ import annotations

from dataclasses import dataclass

# Kinds produced by the built-in detectors; organisation patterns report "org:<name>".
BSN = "bsn"
IBAN = "iban"
PASSPORT_NL = "passport_nl"
PAYMENT_CARD = "payment_card"
PHONE_NL = "phone_nl"
DATE_OF_BIRTH = "date_of_birth"
MEDICAL = "medical"
NOT_SCANNED = "not_scanned"

# Below this confidence a finding is a hint for the audit log, not something to warn about.
REPORT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Finding:
    """A sensitive item at text[start:end] of the caller's original text.

    ``detail`` explains the finding without repeating the sensitive value; at most a masked
    form such as ``*****6782`` appears in it.
    """

    kind: str
    start: int
    end: int
    confidence: float
    detail: str
    # Why, as (code, text) pairs the sender can read: ("term", "diabetes"), ("person",
    # "uw zoon"), ("audience", "iedereen"), ("label", "BSN"), ("column", "bsn"). The sender's
    # own words; never put in the audit log.
    reasons: tuple[tuple[str, str], ...] = ()


def mask(value: str, keep: int = 4) -> str:
    """Hide all but the last ``keep`` alphanumerics of a value, dropping separators."""
    chars = [c for c in value if c.isalnum()]
    if len(chars) <= keep:
        return "*" * len(chars)
    return "*" * (len(chars) - keep) + "".join(chars[-keep:])
