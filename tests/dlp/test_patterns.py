"""Organisation-defined patterns: validation, bounded matching and the admin's test field."""

from __future__ import annotations

import time

import pytest

from zegel.dlp.detectors import scan_text
from zegel.dlp.patterns import OrgPattern, PatternError, test_pattern, validate_pattern


@pytest.mark.parametrize("regex", [r"(a+)+$", r"(\w*)*x", r"((ab)*c)+", r"(?:x\d?)+", r"(.*a){20}"])
def test_it_refuses_nested_quantifiers(regex: str) -> None:
    with pytest.raises(PatternError, match="nested quantifiers"):
        validate_pattern(regex)


@pytest.mark.parametrize(
    "regex", [r"(a)\1", r"(?=PAT)\d+", r"[", "", r"x*", "a" * 400, r"\d{1000}"]
)
def test_it_refuses_unusable_patterns(regex: str) -> None:
    with pytest.raises(PatternError):
        validate_pattern(regex)


@pytest.mark.parametrize("regex", [r"PAT-\d{7}", r"(\d{3})+", r"(?P<value>\d{9})", r"[A-Z]{2}\d+"])
def test_it_accepts_ordinary_patterns(regex: str) -> None:
    validate_pattern(regex)


def test_it_bounds_matching_time_of_a_backtracking_shaped_regex() -> None:
    # Not refused (no nested quantifier) but exponential in a backtracking engine; RE2 is linear.
    regex = r"(?:a|a)*(?:a|a)*(?:a|a)*c"
    started = time.monotonic()
    findings = test_pattern(regex, None, "a" * 100_000)
    assert findings == []
    assert time.monotonic() - started < 5


def test_it_applies_the_check_to_the_value_group() -> None:
    findings = test_pattern(r"PAT-(?P<value>\d{9})", "bsn", "PAT-111222333 en PAT-111222334")
    assert [(f.start, f.end) for f in findings] == [(0, 13)]
    assert "111222333" not in findings[0].detail


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        ("luhn", "79927398713", "79927398710"),
        ("mod11", "123456789", "123456788"),
        ("mod97", "ABNA0417164300NL91", "ABNA0417164300NL92"),
        ("iban", "NL91ABNA0417164300", "NL92ABNA0417164300"),
    ],
)
def test_it_offers_builtin_checks(check: str, good: str, bad: str) -> None:
    assert len(test_pattern(r"[0-9A-Z]+", check, good)) == 1
    assert test_pattern(r"[0-9A-Z]+", check, bad) == []


def test_it_refuses_an_unknown_check() -> None:
    with pytest.raises(PatternError, match="Unknown check"):
        test_pattern(r"\d+", "crc32", "123")


def test_it_reports_org_patterns_from_scan_text() -> None:
    pattern = OrgPattern("patiëntnummer", r"\bP\d{6}\b")
    findings = [f for f in scan_text("dossier P123456 graag", org_patterns=[pattern])]
    assert [f.kind for f in findings] == ["org:patiëntnummer"]


def test_it_skips_an_invalid_org_pattern_in_scan_text() -> None:
    assert scan_text("aaa", org_patterns=[OrgPattern("bad", r"(a+)+")]) == []
