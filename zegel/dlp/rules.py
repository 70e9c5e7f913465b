"""Business rules: a JSON condition over findings and recipient checks, and an action.

A condition is a JSON object; every key present must hold (AND):

    any_kind         [kinds]   at least ``min_count`` findings of these kinds
    all_kinds        [kinds]   at least one finding of each of these kinds
    min_count        int       (default 1) used with any_kind
    min_confidence   float     (default 0.5) findings below it are ignored
    recipient_check  [kinds]   at least one recipient finding of these kinds
    domains          [domains] some recipient's domain is one of these (or a subdomain)
    verification     [methods] the chosen verification method is one of these
    min_recipients   int       at least this many recipients
    has_attachment_not_scanned  bool
    any / all        [conditions]  nested OR / AND
    not              condition

A string may be given where a list is expected. An empty condition always holds.
Actions, least to most severe: audit, suggest, warn, require, block.

Fail closed: content the scan could not read or finish (a ``not_scanned`` finding) may hold
anything, so for a ``require`` rule it counts as holding every sensitive kind, as often as the
rule asks. Other actions see only what was found: an unreadable scan does not block or warn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zegel.dlp.findings import NOT_SCANNED, REPORT_THRESHOLD, Finding
from zegel.dlp.recipients import RecipientFinding

AUDIT = "audit"
SUGGEST = "suggest"
WARN = "warn"
REQUIRE = "require"
BLOCK = "block"
ACTIONS = (AUDIT, SUGGEST, WARN, REQUIRE, BLOCK)
SEVERITY = {action: level for level, action in enumerate(ACTIONS)}

VERIFICATION_METHODS = frozenset(["email_code", "sms", "access_code"])
# Objects and lists inside a condition, counted from the condition itself. Real rules use a
# few; the bound keeps validation and evaluation (both recursive) far from Python's limit.
MAX_DEPTH = 32

CONDITION_KEYS = frozenset(
    [
        "any_kind", "all_kinds", "min_count", "min_confidence", "recipient_check", "domains",
        "verification", "min_recipients", "has_attachment_not_scanned", "any", "all", "not",
    ]
)  # fmt: skip


class RuleError(ValueError):
    """A rule that cannot be evaluated; the message is shown to the admin."""


@dataclass(frozen=True)
class RuleContext:
    """What the rules may look at besides findings."""

    recipient_domains: frozenset[str] = frozenset()
    recipient_count: int = 0
    verification_method: str | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    condition: Mapping[str, Any]
    action: str
    message_nl: str
    message_en: str
    enabled: bool = True
    # For action "require": any one of these methods satisfies the rule.
    required_methods: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RuleResult:
    rule: str
    action: str
    message_nl: str
    message_en: str
    required_methods: frozenset[str] = frozenset()
    # The rule matched only because part of the content could not be scanned.
    unscanned: bool = False


@dataclass(frozen=True)
class Decision:
    results: list[RuleResult] = field(default_factory=list)
    blocked: bool = False
    needs_confirmation: bool = False
    # Methods the recipient may verify with; empty when no rule requires one.
    required_methods: set[str] = field(default_factory=set)

    @property
    def highest_action(self) -> str | None:
        return max((r.action for r in self.results), key=SEVERITY.__getitem__, default=None)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple | set | frozenset):
        return [str(v) for v in value]
    raise RuleError(f"expected a string or a list, got {value!r}")


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether objects and lists sit more than ``limit`` deep in value (without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children = list(item.values())
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def validate_condition(condition: Mapping[str, Any]) -> None:
    """Raise RuleError if the condition uses unknown keys or wrong types, or is too deep."""
    if _nested_deeper_than(condition, MAX_DEPTH):
        raise RuleError(f"the condition is nested more than {MAX_DEPTH} levels deep")
    _validate(condition)


def _validate(condition: Mapping[str, Any]) -> None:
    if not isinstance(condition, Mapping):
        raise RuleError("a condition must be a JSON object")
    unknown = set(condition) - CONDITION_KEYS
    if unknown:
        raise RuleError(f"unknown condition key(s): {', '.join(sorted(unknown))}")
    for key in ("any_kind", "all_kinds", "recipient_check", "domains", "verification"):
        if key in condition:
            _as_list(condition[key])
    for key in ("min_count", "min_recipients"):
        if key in condition and not isinstance(condition[key], int):
            raise RuleError(f"{key} must be a whole number")
    if "min_confidence" in condition and not isinstance(condition["min_confidence"], int | float):
        raise RuleError("min_confidence must be a number")
    for key in ("any", "all"):
        if key in condition:
            if not isinstance(condition[key], list):
                raise RuleError(f"{key} must be a list of conditions")
            for sub in condition[key]:
                _validate(sub)
    if "not" in condition:
        _validate(condition["not"])


def validate_rule(rule: Rule) -> None:
    if rule.action not in ACTIONS:
        raise RuleError(f"unknown action {rule.action!r}; choose one of {', '.join(ACTIONS)}")
    if rule.action == REQUIRE:
        if not rule.required_methods:
            raise RuleError("a 'require' rule needs at least one verification method")
        unknown = set(rule.required_methods) - VERIFICATION_METHODS
        if unknown:
            raise RuleError(f"unknown verification method(s): {', '.join(sorted(unknown))}")
    validate_condition(rule.condition)


def _domain_matches(domain: str, wanted: Iterable[str]) -> bool:
    return any(domain == w or domain.endswith("." + w) for w in wanted)


def matches(
    condition: Mapping[str, Any],
    findings: Sequence[Finding],
    recipient_findings: Sequence[RecipientFinding],
    context: RuleContext,
    *,
    unscanned_as: frozenset[str] = frozenset(),
) -> bool:
    """Whether the condition holds for these findings and this context.

    If there is a ``not_scanned`` finding, the kinds in ``unscanned_as`` count as present,
    as many times as a condition asks, wherever that makes the condition more likely to hold:
    outside a ``not`` as present, inside one as absent, inside two as present again.
    """
    unscanned = any(f.kind == NOT_SCANNED for f in findings)
    assumed = unscanned_as if unscanned else frozenset()
    return _matches(condition, findings, recipient_findings, context, assumed, frozenset())


def _matches(
    condition: Mapping[str, Any],
    findings: Sequence[Finding],
    recipient_findings: Sequence[RecipientFinding],
    context: RuleContext,
    assumed: frozenset[str],
    assumed_under_not: frozenset[str],
) -> bool:
    min_confidence = float(condition.get("min_confidence", REPORT_THRESHOLD))
    relevant = [f for f in findings if f.confidence >= min_confidence]
    if "any_kind" in condition:
        kinds = set(_as_list(condition["any_kind"]))
        count = sum(1 for f in relevant if f.kind in kinds)
        if count < int(condition.get("min_count", 1)) and not kinds & assumed:
            return False
    if "all_kinds" in condition:
        present = {f.kind for f in relevant} | assumed
        if not set(_as_list(condition["all_kinds"])) <= present:
            return False
    if "recipient_check" in condition:
        checks = set(_as_list(condition["recipient_check"]))
        if not any(r.kind in checks for r in recipient_findings):
            return False
    if "domains" in condition:
        wanted = [d.lower() for d in _as_list(condition["domains"])]
        if not any(_domain_matches(d.lower(), wanted) for d in context.recipient_domains):
            return False
    if "verification" in condition:
        if context.verification_method not in _as_list(condition["verification"]):
            return False
    if "min_recipients" in condition and context.recipient_count < int(condition["min_recipients"]):
        return False
    if "has_attachment_not_scanned" in condition:
        unscanned = any(f.kind == NOT_SCANNED for f in findings)
        if unscanned != bool(condition["has_attachment_not_scanned"]):
            return False
    nested = (findings, recipient_findings, context, assumed, assumed_under_not)
    if "any" in condition and not any(_matches(sub, *nested) for sub in condition["any"]):
        return False
    if "all" in condition and not all(_matches(sub, *nested) for sub in condition["all"]):
        return False
    flipped = (findings, recipient_findings, context, assumed_under_not, assumed)
    return not ("not" in condition and _matches(condition["not"], *flipped))


def evaluate(
    rules: Sequence[Rule],
    findings: Sequence[Finding],
    recipient_findings: Sequence[RecipientFinding],
    context: RuleContext,
) -> Decision:
    """Apply every enabled rule; the decision combines all that matched.

    Several ``require`` rules must all be satisfied, so their method sets are intersected;
    if nothing is left, no single method satisfies them and the message is blocked.
    """
    results: list[RuleResult] = []
    methods: set[str] | None = None
    for rule in rules:
        if not rule.enabled:
            continue
        found = matches(rule.condition, findings, recipient_findings, context)
        # Fail closed: a require rule treats unread content as sensitive.
        unscanned = (
            not found
            and rule.action == REQUIRE
            and matches(
                rule.condition,
                findings,
                recipient_findings,
                context,
                unscanned_as=frozenset(SENSITIVE_KINDS),
            )
        )
        if not found and not unscanned:
            continue
        results.append(
            RuleResult(
                rule.name,
                rule.action,
                rule.message_nl,
                rule.message_en,
                rule.required_methods,
                unscanned=unscanned,
            )
        )
        if rule.action == REQUIRE:
            methods = (
                set(rule.required_methods) if methods is None else methods & rule.required_methods
            )
    blocked = any(r.action == BLOCK for r in results)
    if methods is not None and not methods:
        blocked = True
        results.append(
            RuleResult(
                "conflicting verification rules",
                BLOCK,
                "Geen verificatiemethode voldoet aan alle regels; vraag de beheerder.",
                "No verification method satisfies all rules; contact your administrator.",
            )
        )
    return Decision(
        results=results,
        blocked=blocked,
        needs_confirmation=not blocked and any(r.action == WARN for r in results),
        required_methods=methods or set(),
    )


SENSITIVE_KINDS = ["bsn", "medical", "passport_nl", "date_of_birth"]


def default_rules() -> list[Rule]:
    """The rules a new organisation starts with; admins can change or disable each."""
    return [
        Rule(
            "Payment card number",
            {"any_kind": ["payment_card"]},
            BLOCK,
            "Dit bericht bevat een creditcardnummer. Stuur nooit kaartgegevens per e-mail.",
            "This message contains a payment card number. Never send card details by e-mail.",
        ),
        Rule(
            "Sensitive data to a free-mail address",
            {"any_kind": SENSITIVE_KINDS, "recipient_check": ["free_mail"]},
            WARN,
            "U stuurt bijzondere persoonsgegevens naar een gratis e-mailadres. Klopt de ontvanger?",
            "You are sending special-category data to a free-mail address. Is the recipient right?",
        ),
        Rule(
            "BSN needs strong verification",
            {"any_kind": ["bsn"]},
            REQUIRE,
            "Een bericht met een BSN vraagt verificatie per sms of toegangscode.",
            "A message with a BSN needs verification by SMS or access code.",
            required_methods=frozenset(["sms", "access_code"]),
        ),
        Rule(
            "Medical content needs strong verification",
            {"any_kind": ["medical"], "min_count": 2},
            REQUIRE,
            "Een bericht met medische gegevens vraagt verificatie per sms of toegangscode.",
            "A message with medical details needs verification by SMS or access code.",
            required_methods=frozenset(["sms", "access_code"]),
        ),
        Rule(
            "Look-alike domain",
            {"recipient_check": ["lookalike_domain"]},
            WARN,
            "Het domein van een ontvanger lijkt op een bekend domein maar is het niet.",
            "A recipient's domain looks like a known domain but is not the same.",
        ),
        Rule(
            "Look-alike name",
            {"recipient_check": ["lookalike_name"]},
            WARN,
            "Een ontvanger heeft dezelfde naam als een bekend contact, maar een ander adres.",
            "A recipient has the name of a known contact but a different address.",
        ),
        Rule(
            "First sensitive message to this address",
            {
                "any_kind": SENSITIVE_KINDS,
                "recipient_check": ["first_contact", "first_sensitive_contact"],
            },
            SUGGEST,
            "U stuurt voor het eerst gevoelige gegevens naar dit adres. Controleer het adres.",
            "This is the first sensitive message to this address. Please check it.",
        ),
        Rule(
            "Several external organisations",
            {"recipient_check": ["several_organisations"], "any_kind": [*SENSITIVE_KINDS, "iban"]},
            WARN,
            "Gevoelige gegevens gaan naar meerdere organisaties. Is dat de bedoeling?",
            "Sensitive data is going to several organisations. Is that intended?",
        ),
        Rule(
            "Many recipients",
            {"recipient_check": ["many_recipients"]},
            SUGGEST,
            "Veel ontvangers zien elkaars adres. Gebruik BCC of stuur aparte berichten.",
            "Many recipients can see each other's address. Use BCC or separate messages.",
        ),
        Rule(
            "Attachment not scanned",
            {"has_attachment_not_scanned": True},
            AUDIT,
            "Een bijlage kon niet worden gecontroleerd.",
            "An attachment could not be checked.",
        ),
    ]
