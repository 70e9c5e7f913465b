"""Changing an organisation's data-leak rules, patterns and terms: admins of that organisation
only, every change audited. Rows of another organisation are "not found", never readable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from zegel.audit.log import record, staff_actor
from zegel.dlp import patterns, rules
from zegel.dlp.findings import Finding
from zegel.dlp.models import DlpRule, DlpTerm, OrgPattern
from zegel.messaging.errors import ActionError
from zegel.orgs import roles
from zegel.orgs.models import User


def _admin(user: User) -> User:
    if not roles.allows(user, roles.Permission.MANAGE_DLP):
        raise ActionError(roles.refusal(roles.Permission.MANAGE_DLP), status=403)
    return user


def _audit(
    admin: User,
    action: str,
    object_type: str,
    object_id: object,
    request: HttpRequest | None,
    data: dict[str, Any],
) -> None:
    record(
        action,
        organisation=admin.organisation,
        **staff_actor(admin),
        object_type=object_type,
        object_id=object_id,
        request=request,
        data=data,
    )


def _refusal(exc: ValidationError | IntegrityError) -> ActionError:
    if isinstance(exc, IntegrityError):
        return ActionError(_("That name is already in use."), field="name")
    field, messages = next(iter(exc.message_dict.items()))
    return ActionError(" ".join(messages), field=field)


# --- Rules ---------------------------------------------------------------------------------


def rules_of(user: User) -> QuerySet[DlpRule]:
    return DlpRule.objects.filter(organisation=_admin(user).organisation)


def rule_of(user: User, rule_id: int) -> DlpRule:
    rule = rules_of(user).filter(pk=rule_id).first()
    if rule is None:
        raise ActionError(_("Rule not found."), status=404)
    return rule


def save_rule(
    admin: User,
    *,
    rule_id: int | None = None,
    name: str,
    condition: dict[str, Any],
    action: str,
    message_nl: str,
    message_en: str,
    required_methods: Sequence[str] = (),
    enabled: bool = True,
    position: int = 0,
    request: HttpRequest | None = None,
) -> DlpRule:
    rule = (
        rule_of(admin, rule_id)
        if rule_id is not None
        else DlpRule(organisation=_admin(admin).organisation)
    )
    rule.name, rule.condition, rule.action = name.strip(), condition, action
    rule.message_nl, rule.message_en = message_nl.strip(), message_en.strip()
    rule.required_methods, rule.enabled, rule.position = list(required_methods), enabled, position
    if not (rule.name and rule.message_nl and rule.message_en):
        raise ActionError(
            _("A rule needs a name and a message in Dutch and in English."), field="name"
        )
    try:
        with transaction.atomic():
            rule.save()
            _audit(
                admin,
                "dlp.rule.saved",
                "dlp_rule",
                rule.pk,
                request,
                {"name": rule.name, "action": rule.action, "enabled": rule.enabled},
            )
    except (ValidationError, IntegrityError) as exc:
        raise _refusal(exc) from None
    return rule


def delete_rule(admin: User, rule_id: int, *, request: HttpRequest | None = None) -> None:
    rule = rule_of(admin, rule_id)
    with transaction.atomic():
        _audit(admin, "dlp.rule.deleted", "dlp_rule", rule.pk, request, {"name": rule.name})
        rule.delete()


def adopt_default_rules(admin: User, *, request: HttpRequest | None = None) -> list[DlpRule]:
    """Copy the shipped rules into the organisation's own list, so the admin can change them."""
    if rules_of(admin).exists():
        raise ActionError(_("Your organisation already has its own rules."))
    return [
        save_rule(
            admin,
            name=r.name,
            condition=dict(r.condition),
            action=r.action,
            message_nl=r.message_nl,
            message_en=r.message_en,
            required_methods=sorted(r.required_methods),
            enabled=r.enabled,
            position=i,
            request=request,
        )
        for i, r in enumerate(rules.default_rules())
    ]


# --- Patterns ------------------------------------------------------------------------------


def patterns_of(user: User) -> QuerySet[OrgPattern]:
    return OrgPattern.objects.filter(organisation=_admin(user).organisation)


def pattern_of(user: User, pattern_id: int) -> OrgPattern:
    pattern = patterns_of(user).filter(pk=pattern_id).first()
    if pattern is None:
        raise ActionError(_("Pattern not found."), status=404)
    return pattern


def save_pattern(
    admin: User,
    *,
    pattern_id: int | None = None,
    name: str,
    regex: str,
    checksum: str = "",
    enabled: bool = True,
    request: HttpRequest | None = None,
) -> OrgPattern:
    pattern = (
        pattern_of(admin, pattern_id)
        if pattern_id is not None
        else OrgPattern(organisation=_admin(admin).organisation)
    )
    pattern.name, pattern.regex, pattern.checksum = name.strip(), regex, checksum
    pattern.enabled = enabled
    if not pattern.name:
        raise ActionError(_("Give the pattern a name."), field="name")
    try:
        with transaction.atomic():
            pattern.save()
            # The regex is configuration, not message content, so it may be audited.
            _audit(
                admin,
                "dlp.pattern.saved",
                "dlp_pattern",
                pattern.pk,
                request,
                {"name": pattern.name, "regex": pattern.regex, "check": pattern.checksum},
            )
    except (ValidationError, IntegrityError) as exc:
        raise _refusal(exc) from None
    return pattern


def delete_pattern(admin: User, pattern_id: int, *, request: HttpRequest | None = None) -> None:
    pattern = pattern_of(admin, pattern_id)
    with transaction.atomic():
        _audit(
            admin, "dlp.pattern.deleted", "dlp_pattern", pattern.pk, request, {"name": pattern.name}
        )
        pattern.delete()


def try_pattern(admin: User, regex: str, checksum: str, sample: str) -> list[Finding]:
    """The admin page's test field: what the pattern finds in a sample text."""
    _admin(admin)
    try:
        return patterns.test_pattern(regex, checksum or None, sample)
    except patterns.PatternError as exc:
        raise ActionError(str(exc), field="regex") from None


# --- Terms ---------------------------------------------------------------------------------


def terms_of(user: User) -> QuerySet[DlpTerm]:
    return DlpTerm.objects.filter(organisation=_admin(user).organisation)


def add_term(admin: User, term: str, *, request: HttpRequest | None = None) -> DlpTerm:
    text = " ".join(term.split()).lower()
    if len(text.rstrip("*")) < 3 or "#" in text or text.startswith("["):
        raise ActionError(_("A term has at least three letters."), field="term")
    entry, _created = DlpTerm.objects.get_or_create(
        organisation=_admin(admin).organisation, term=text
    )
    _audit(admin, "dlp.term.added", "dlp_term", entry.pk, request, {"term": text})
    return entry


def remove_term(admin: User, term_id: int, *, request: HttpRequest | None = None) -> None:
    entry = terms_of(admin).filter(pk=term_id).first()
    if entry is None:
        raise ActionError(_("Term not found."), status=404)
    with transaction.atomic():
        _audit(admin, "dlp.term.removed", "dlp_term", entry.pk, request, {"term": entry.term})
        entry.delete()
