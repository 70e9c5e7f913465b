"""The organisation admin's data-leak settings over the API: rules, patterns and terms.

Every endpoint goes through ``zegel.dlp.policy``, which checks that the caller is an admin and
only ever touches their own organisation's rows.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from zegel.api.auth import BearerToken, api_user
from zegel.api.inputs import Input
from zegel.api.problems import problems
from zegel.dlp import policy, rules
from zegel.dlp.models import DlpRule, DlpTerm, OrgPattern

# Every endpoint here needs a token with the admin scope, of a user who is an admin.
router = Router(tags=["data-leak settings"], auth=BearerToken(scope="admin"))


class RuleIn(Input):
    name: str = Field(max_length=200, description="The rule's name, shown to admins.")
    condition: dict[str, Any] = Field(default_factory=dict, description=(
        "When the rule applies (see docs/dlp.md, 'Rules'); empty: always."))
    action: Literal["audit", "suggest", "warn", "require", "block"] = Field(
        description="What happens when it applies: only audit, suggest, warn (send after "
        "confirming), require a verification method, or block.")
    required_methods: list[Literal["sms", "access_code", "email_code"]] = Field(
        default_factory=list, max_length=3,
        description="For action 'require': the verification methods every recipient must use."
    )
    message_nl: str = Field(max_length=500, description="What the sender is told, in Dutch.")
    message_en: str = Field(max_length=500, description="What the sender is told, in English.")
    enabled: bool = Field(default=True, description="False keeps the rule without applying it.")
    # The column is a 32-bit integer on PostgreSQL; a larger value is refused with a 400 that
    # names the field (the rule's own validation), like the web form does.
    position: int = Field(default=0, ge=0, description="The order rules are evaluated in, "
                          "lowest first.")


class RuleOut(RuleIn):
    id: int | None = Field(description="Empty for the shipped default rules.")


class RulesOut(Schema):
    defaults: bool = Field(description="True while the organisation uses the shipped rules.")
    rules: list[RuleOut] = Field(description="The rules in the order they are evaluated.")


def _rule_out(rule: DlpRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "name": rule.name,
        "condition": rule.condition,
        "action": rule.action,
        "required_methods": rule.required_methods,
        "message_nl": rule.message_nl,
        "message_en": rule.message_en,
        "enabled": rule.enabled,
        "position": rule.position,
    }


@router.get("/rules", response={200: RulesOut, **problems(403)})
def list_rules(request: HttpRequest) -> Any:
    own = [_rule_out(r) for r in policy.rules_of(api_user(request))]
    if own:
        return {"defaults": False, "rules": own}
    defaults = [
        {
            "id": None,
            "name": r.name,
            "condition": dict(r.condition),
            "action": r.action,
            "required_methods": sorted(r.required_methods),
            "message_nl": r.message_nl,
            "message_en": r.message_en,
            "enabled": r.enabled,
            "position": i,
        }
        for i, r in enumerate(rules.default_rules())
    ]
    return {"defaults": True, "rules": defaults}


@router.post("/rules", response={201: RuleOut, **problems(400, 403, 413, 422)})
def create_rule(request: HttpRequest, payload: RuleIn) -> Status:
    rule = policy.save_rule(api_user(request), request=request, **payload.model_dump())
    return Status(201, _rule_out(rule))


@router.post("/rules/adopt-defaults", response={201: RulesOut, **problems(400, 403)})
def adopt_defaults(request: HttpRequest) -> Status:
    adopted = policy.adopt_default_rules(api_user(request), request=request)
    return Status(201, {"defaults": False, "rules": [_rule_out(r) for r in adopted]})


@router.put("/rules/{int:rule_id}",
            response={200: RuleOut, **problems(400, 403, 404, 413, 422)})
def update_rule(request: HttpRequest, rule_id: int, payload: RuleIn) -> Any:
    admin = api_user(request)
    rule = policy.save_rule(admin, rule_id=rule_id, request=request, **payload.model_dump())
    return _rule_out(rule)


@router.delete("/rules/{int:rule_id}", response={204: None, **problems(403, 404)})
def delete_rule(request: HttpRequest, rule_id: int) -> Status:
    policy.delete_rule(api_user(request), rule_id, request=request)
    return Status(204, None)


class PatternIn(Input):
    name: str = Field(max_length=100, description="The pattern's name; findings are of kind "
                      "'org:<name>'.")
    regex: str = Field(max_length=1000, description="An RE2 regular expression (linear time; "
                       "no backreferences or lookaround).")
    check: Literal["", "luhn", "mod11", "mod97", "bsn", "iban"] = Field(
        default="", description="A checksum a match must also pass; empty: none.")
    enabled: bool = Field(default=True, description="False keeps the pattern without using it.")


class PatternOut(PatternIn):
    id: int = Field(description="The pattern's id.")


def _pattern_out(pattern: OrgPattern) -> dict[str, Any]:
    return {
        "id": pattern.pk,
        "name": pattern.name,
        "regex": pattern.regex,
        "check": pattern.checksum,
        "enabled": pattern.enabled,
    }


def _save_pattern(request: HttpRequest, payload: PatternIn, pattern_id: int | None) -> OrgPattern:
    return policy.save_pattern(
        api_user(request),
        pattern_id=pattern_id,
        name=payload.name,
        regex=payload.regex,
        checksum=payload.check,
        enabled=payload.enabled,
        request=request,
    )


@router.get("/patterns", response={200: list[PatternOut], **problems(403)})
def list_patterns(request: HttpRequest) -> Any:
    return [_pattern_out(p) for p in policy.patterns_of(api_user(request))]


@router.post("/patterns", response={201: PatternOut, **problems(400, 403, 413, 422)})
def create_pattern(request: HttpRequest, payload: PatternIn) -> Status:
    return Status(201, _pattern_out(_save_pattern(request, payload, None)))


@router.put("/patterns/{int:pattern_id}",
            response={200: PatternOut, **problems(400, 403, 404, 413, 422)})
def update_pattern(request: HttpRequest, pattern_id: int, payload: PatternIn) -> Any:
    return _pattern_out(_save_pattern(request, payload, pattern_id))


@router.delete("/patterns/{int:pattern_id}", response={204: None, **problems(403, 404)})
def delete_pattern(request: HttpRequest, pattern_id: int) -> Status:
    policy.delete_pattern(api_user(request), pattern_id, request=request)
    return Status(204, None)


class PatternTestIn(Input):
    regex: str = Field(max_length=1000, description="The RE2 regular expression to try.")
    check: Literal["", "luhn", "mod11", "mod97", "bsn", "iban"] = Field(
        default="", description="A checksum a match must also pass; empty: none.")
    sample: str = Field(max_length=100_000, description="The text to try it on; not stored.")


class PatternMatchOut(Schema):
    start: int = Field(description="Offset of the match's first character in the sample.")
    end: int = Field(description="Offset just past the match's last character.")
    confidence: float = Field(description="From 0 to 1: how sure the finding is.")
    detail: str = Field(description="At most a masked form of the match, never the value.")


@router.post("/patterns/test",
             response={200: list[PatternMatchOut], **problems(400, 403, 413, 422)})
def try_pattern(request: HttpRequest, payload: PatternTestIn) -> Any:
    """The test field: what a pattern finds in a sample text, before it is saved."""
    found = policy.try_pattern(api_user(request), payload.regex, payload.check, payload.sample)
    return [
        {"start": f.start, "end": f.end, "confidence": f.confidence, "detail": f.detail}
        for f in found
    ]


class TermIn(Input):
    term: str = Field(max_length=200, description="A word or phrase of a special category "
                      "(health, for example) that the organisation adds to the shipped list.")


class TermOut(TermIn):
    id: int = Field(description="The term's id.")


def _term_out(term: DlpTerm) -> dict[str, Any]:
    return {"id": term.pk, "term": term.term}


@router.get("/terms", response={200: list[TermOut], **problems(403)})
def list_terms(request: HttpRequest) -> Any:
    return [_term_out(t) for t in policy.terms_of(api_user(request))]


@router.post("/terms", response={201: TermOut, **problems(400, 403, 413, 422)})
def add_term(request: HttpRequest, payload: TermIn) -> Status:
    return Status(201, _term_out(policy.add_term(api_user(request), payload.term, request=request)))


@router.delete("/terms/{int:term_id}", response={204: None, **problems(403, 404)})
def remove_term(request: HttpRequest, term_id: int) -> Status:
    policy.remove_term(api_user(request), term_id, request=request)
    return Status(204, None)
