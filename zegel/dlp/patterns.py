"""Organisation-defined patterns (e.g. patient numbers): a regex plus an optional check.

Patterns are compiled with RE2, whose matching time is linear in the input, so no admin
regex can make a scan backtrack for minutes. ``validate_pattern`` still refuses nested
quantifiers such as ``(a+)+``: they are a sign the pattern does not say what the admin
meant, and the refusal message tells them why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import re2
from django.utils.translation import gettext as _
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.iso7064 import mod_97_10
from stdnum.nl import bsn as stdnum_bsn

from zegel.dlp import budget as scan_budget
from zegel.dlp.budget import Budget
from zegel.dlp.findings import Finding, mask

MAX_PATTERN_LENGTH = 300
MAX_REPEAT = 100
# Findings per pattern per scanned chunk; a pattern matching everything is a mistake.
MAX_MATCHES = 1000


class PatternError(ValueError):
    """An organisation pattern that cannot be used; the message is shown to the admin."""


def _mod11(value: str) -> bool:
    """Weighted 11-proef over all digits (weights n..1), as for old Dutch bank accounts."""
    digits = [int(c) for c in value if c.isdigit()]
    if not digits:
        return False
    weights = range(len(digits), 0, -1)
    return sum(w * d for w, d in zip(weights, digits, strict=True)) % 11 == 0


def _digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


CHECKS: dict[str, Callable[[str], bool]] = {
    "luhn": lambda v: luhn.is_valid(_digits(v)) if _digits(v) else False,
    "mod11": _mod11,
    "mod97": lambda v: mod_97_10.is_valid("".join(c for c in v if c.isalnum()).upper()),
    "bsn": lambda v: stdnum_bsn.is_valid(_digits(v)),
    "iban": lambda v: stdnum_iban.is_valid(v),
}


@dataclass(frozen=True)
class OrgPattern:
    """An admin-defined pattern; findings get kind ``org:<name>``.

    If the regex has a group named ``value``, the check runs on that group only.
    """

    name: str
    regex: str
    check: str | None = None


_FIXED_COUNT = re.compile(r"\{\d+\}")


def _nested_quantifier(pattern: str) -> str | None:
    """Describe the first quantified group that itself contains a quantifier, if any."""
    # Per open group: (start index, contains a quantifier).
    stack: list[list[int | bool]] = []
    last_group: tuple[int, bool] | None = None
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            last_group = None
            continue
        if c == "[":
            j = i + 1
            if j < len(pattern) and pattern[j] == "^":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            while j < len(pattern) and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            last_group = None
            continue
        if c == "(":
            stack.append([i, False])
            last_group = None
        elif c == ")":
            if stack:
                start, has_quantifier = stack.pop()
                last_group = (int(start), bool(has_quantifier))
                if has_quantifier and stack:
                    stack[-1][1] = True
            i += 1
            continue
        elif c in "*+?{":
            if c == "?" and i > 0 and pattern[i - 1] in "*+?}(":
                i += 1
                continue
            fixed = _FIXED_COUNT.match(pattern, i)
            repeats = c in "*+" or (c == "{" and not pattern.startswith("{1}", i))
            if repeats and last_group is not None and last_group[1]:
                close = pattern.find("}", i) if c == "{" else i
                return pattern[last_group[0] : close + 1]
            # A fixed count such as \d{3} inside a repeated group cannot backtrack.
            if fixed is None and stack:
                stack[-1][1] = True
            if c == "{":
                close = pattern.find("}", i)
                i = close if close > i else i
        last_group = None
        i += 1
    return None


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 << 20
    return options


def validate_pattern(regex: str) -> None:
    """Raise PatternError, with a message for the admin, if the regex is not usable."""
    if not regex.strip():
        raise PatternError(_("The pattern is empty."))
    if len(regex) > MAX_PATTERN_LENGTH:
        raise PatternError(_("The pattern is longer than %(n)d characters.")
                           % {"n": MAX_PATTERN_LENGTH})
    nested = _nested_quantifier(regex)
    if nested is not None:
        raise PatternError(
            _("The pattern repeats a group that itself repeats (%(part)s); such nested "
              "quantifiers can take exponential time. Repeat the inner part only.")
            % {"part": nested}
        )
    for count in re2.findall(r"\{(\d+)(?:,(\d*))?\}", regex):
        if any(part and int(part) > MAX_REPEAT for part in count):
            raise PatternError(_("Repeat counts above %(n)d are not allowed.")
                                   % {"n": MAX_REPEAT})
    try:
        compiled = re2.compile(regex, _options())
    except re2.error as exc:
        message = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(
            _("The pattern is not a valid RE2 regular expression (%(error)s). "
              "Backreferences and look-around are not supported.") % {"error": message}
        ) from exc
    if compiled.search("") is not None:
        raise PatternError(_("The pattern matches empty text; it would match everywhere."))


def validate_check(check: str | None) -> None:
    if check is not None and check not in CHECKS:
        raise PatternError(_("Unknown check %(check)r; choose one of %(checks)s.")
                           % {"check": check, "checks": ", ".join(sorted(CHECKS))})


@lru_cache(maxsize=256)
def _compiled(regex: str) -> re2._Regexp:
    validate_pattern(regex)
    return re2.compile(regex, _options())


def _find(pattern: OrgPattern, text: str, budget: Budget | None = None) -> list[Finding]:
    compiled = _compiled(pattern.regex)
    check = CHECKS[pattern.check] if pattern.check else None
    has_value_group = "value" in compiled.groupindex
    findings: list[Finding] = []
    for m in compiled.finditer(text):
        scan_budget.check(budget)
        value = m.group("value") if has_value_group else m.group()
        if value is None or (check is not None and not check(value)):
            continue
        detail = f"{pattern.name} ({pattern.check} valid)" if check else pattern.name
        confidence = 0.9 if check else 0.7
        findings.append(
            Finding(
                f"org:{pattern.name}", m.start(), m.end(), confidence, f"{detail} {mask(value)}"
            )
        )
        if len(findings) >= MAX_MATCHES:
            break
    return findings


def detect_org_patterns(
    text: str, patterns: Sequence[OrgPattern], budget: Budget | None = None
) -> list[Finding]:
    """Findings for every organisation pattern; invalid patterns are skipped, not fatal."""
    findings: list[Finding] = []
    for pattern in patterns:
        scan_budget.check(budget)
        try:
            findings.extend(_find(pattern, text, budget))
        except PatternError:
            continue
    return findings


def test_pattern(regex: str, check: str | None, sample_text: str) -> list[Finding]:
    """What the pattern finds in the admin's sample text; raises PatternError if refused."""
    validate_pattern(regex)
    validate_check(check)
    return _find(OrgPattern("test", regex, check), sample_text)


# pytest collects module-level functions named test_*; this one is the admin's test field.
test_pattern.__test__ = False  # type: ignore[attr-defined]
