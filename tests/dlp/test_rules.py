"""Rule evaluation and the default rules."""

from __future__ import annotations

import json

import pytest

from zegel.dlp.findings import Finding
from zegel.dlp.recipients import RecipientFinding
from zegel.dlp.rules import (
    Rule,
    RuleContext,
    RuleError,
    default_rules,
    evaluate,
    matches,
    validate_rule,
)

BSN = Finding("bsn", 0, 9, 0.95, "BSN")
MEDICAL = Finding("medical", 10, 18, 0.8, "term")
CARD = Finding("payment_card", 20, 39, 0.9, "card")
FREE = RecipientFinding("free_mail", "a@gmail.com", 1.0, "free mail")
CTX = RuleContext(frozenset({"gmail.com"}), 1, "email_code")


def test_it_matches_the_condition_language() -> None:
    assert matches({"any_kind": ["bsn", "iban"]}, [BSN], [], CTX)
    assert not matches({"any_kind": "bsn", "min_count": 2}, [BSN], [], CTX)
    assert matches({"all_kinds": ["bsn", "medical"]}, [BSN, MEDICAL], [], CTX)
    assert not matches({"any_kind": "medical", "min_confidence": 0.9}, [MEDICAL], [], CTX)
    assert matches({"recipient_check": "free_mail", "domains": ["gmail.com"]}, [], [FREE], CTX)
    assert matches({"verification": ["email_code"]}, [], [], CTX)
    assert matches({"any": [{"any_kind": "iban"}, {"any_kind": "bsn"}]}, [BSN], [], CTX)
    assert not matches({"not": {"any_kind": "bsn"}}, [BSN], [], CTX)
    assert matches({}, [], [], CTX)


def test_it_refuses_unknown_condition_keys_and_actions() -> None:
    with pytest.raises(RuleError, match="unknown condition"):
        validate_rule(Rule("x", {"anykind": "bsn"}, "warn", "", ""))
    with pytest.raises(RuleError, match="unknown action"):
        validate_rule(Rule("x", {}, "shout", "", ""))
    with pytest.raises(RuleError, match="verification method"):
        validate_rule(Rule("x", {}, "require", "", ""))


def test_default_rules_are_valid_and_json_serialisable() -> None:
    for rule in default_rules():
        validate_rule(rule)
        json.dumps(dict(rule.condition))


def test_it_warns_about_bsn_to_free_mail_and_requires_strong_verification() -> None:
    decision = evaluate(default_rules(), [BSN], [FREE], CTX)
    actions = {r.action for r in decision.results}
    assert {"warn", "require"} <= actions
    assert decision.needs_confirmation and not decision.blocked
    assert decision.required_methods == {"sms", "access_code"}


def test_it_blocks_a_card_number() -> None:
    decision = evaluate(default_rules(), [CARD], [], CTX)
    assert decision.blocked and not decision.needs_confirmation
    assert decision.highest_action == "block"


def test_it_ignores_disabled_rules() -> None:
    rule = Rule("off", {}, "block", "", "", enabled=False)
    assert not evaluate([rule], [], [], CTX).blocked


def test_it_blocks_when_required_methods_conflict() -> None:
    rules = [
        Rule("a", {}, "require", "", "", required_methods=frozenset({"sms"})),
        Rule("b", {}, "require", "", "", required_methods=frozenset({"access_code"})),
    ]
    assert evaluate(rules, [], [], CTX).blocked


UNREAD = Finding("not_scanned", 0, 0, 1.0, "PDF contains no text (scanned image?)")
EMAIL = RuleContext(frozenset({"example.nl"}), 1, "email_code")


def test_unread_content_counts_as_sensitive_for_the_rules_that_require_a_method() -> None:
    decision = evaluate(default_rules(), [UNREAD], [], EMAIL)
    required = {r.rule for r in decision.results if r.action == "require"}
    assert required == {"BSN needs strong verification",
                        "Medical content needs strong verification"}
    assert decision.required_methods == {"sms", "access_code"}
    assert all(r.unscanned for r in decision.results if r.action == "require")
    # A rule that held on what was read is not put down to the unread part.
    decision = evaluate(default_rules(), [UNREAD, BSN], [], EMAIL)
    assert [r.unscanned for r in decision.results if r.rule.startswith("BSN")] == [False]


def test_unread_content_does_not_block_or_warn() -> None:
    decision = evaluate(default_rules(), [UNREAD], [FREE], CTX)
    assert not decision.blocked and not decision.needs_confirmation
    card_only = Rule("card", {"any_kind": "payment_card"}, "require", "", "",
                     required_methods=frozenset({"sms"}))
    assert evaluate([card_only], [UNREAD], [], EMAIL).results == []


def test_unread_content_holds_a_sensitive_kind_only_where_that_makes_a_rule_hold() -> None:
    def required(condition: dict) -> bool:
        rule = Rule("r", condition, "require", "", "", required_methods=frozenset({"sms"}))
        return bool(evaluate([rule], [UNREAD], [], EMAIL).results)

    assert required({"any_kind": "medical", "min_count": 5})
    assert required({"all_kinds": ["bsn", "medical"]})
    assert required({"any": [{"any_kind": "iban"}, {"any_kind": "bsn"}]})
    # Under "not" the unread part is taken to hold nothing, so "no BSN" still holds...
    assert required({"not": {"any_kind": "bsn"}})
    # ...and under two it holds everything again.
    assert required({"not": {"not": {"any_kind": "bsn"}}})
    assert required({"not": {"any": [{"not": {"any_kind": "bsn"}}]}})
    assert not required({"any_kind": "bsn", "domains": ["elders.nl"]})


def test_it_refuses_a_condition_nested_too_deeply() -> None:
    nested: dict = {"any_kind": "bsn"}
    for _ in range(31):
        nested = {"not": nested}
    validate_rule(Rule("x", nested, "warn", "", ""))  # 32 levels: the most allowed
    with pytest.raises(RuleError, match="nested more than 32 levels"):
        validate_rule(Rule("x", {"not": nested}, "warn", "", ""))
    with pytest.raises(RuleError, match="nested more than 32 levels"):
        validate_rule(Rule("x", {"any_kind": _deep_list()}, "warn", "", ""))


def _deep_list() -> list:
    value: list = ["bsn"]
    for _ in range(40):
        value = [value]
    return value
