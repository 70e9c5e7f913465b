"""Admins manage their own organisation's rules, patterns and terms, and nobody else's."""

from __future__ import annotations

import pytest
from django.utils import translation

from tests.conftest import send
from tests.dlp_integration.test_sending import BSN
from zegel.audit.models import AuditEvent
from zegel.dlp import policy
from zegel.dlp.models import DlpRule, OrgPattern
from zegel.dlp.service import DlpRefused, check_draft
from zegel.messaging import actions
from zegel.messaging.models import Message
from zegel.orgs.models import User

PIET = [actions.RecipientSpec(email="piet@example.nl", method="sms", phone="06 12345678")]


@pytest.fixture
def admin(sender: User) -> User:
    sender.role = "admin"
    sender.save()
    return sender


@pytest.fixture
def other_admin(outsider: User) -> User:
    outsider.role = "admin"
    outsider.save()
    return outsider


def patient_number(admin: User) -> OrgPattern:
    return policy.save_pattern(admin, name="patient number", regex=r"\bPN-\d{6}\b")


def test_an_admin_of_another_organisation_cannot_see_or_change_rules(
        admin: User, other_admin: User) -> None:
    rule = policy.save_rule(admin, name="Stop the word", condition={"any_kind": "medical"},
                            action="block", message_nl="Nee.", message_en="No.")
    assert list(policy.rules_of(other_admin)) == []
    with pytest.raises(actions.ActionError) as refused:
        policy.rule_of(other_admin, rule.pk)
    assert refused.value.status == 404
    with pytest.raises(actions.ActionError):
        policy.save_rule(other_admin, rule_id=rule.pk, name="Hijacked", condition={},
                         action="audit", message_nl="x", message_en="x")
    with pytest.raises(actions.ActionError):
        policy.delete_rule(other_admin, rule.pk)
    rule.refresh_from_db()
    assert rule.name == "Stop the word" and rule.action == "block"


def test_an_admin_of_another_organisation_cannot_see_or_change_patterns(
        admin: User, other_admin: User) -> None:
    pattern = patient_number(admin)
    assert list(policy.patterns_of(other_admin)) == []
    with pytest.raises(actions.ActionError):
        policy.save_pattern(other_admin, pattern_id=pattern.pk, name="x", regex="y+")
    with pytest.raises(actions.ActionError):
        policy.delete_pattern(other_admin, pattern.pk)
    assert OrgPattern.objects.get().regex == r"\bPN-\d{6}\b"
    # Their senders are not affected by it either.
    result = check_draft(sender=other_admin, subject="x", body="PN-123456", recipients=PIET)
    assert result.findings == []


def test_only_admins_manage_rules(sender: User) -> None:
    with pytest.raises(actions.ActionError) as refused:
        policy.rules_of(sender)
    assert refused.value.status == 403


@pytest.mark.parametrize("regex", [r"(a+)+$", r"(x+x+)+y", "", r"(?<=x)y", "a" * 400, ".*"])
def test_a_bad_regex_is_refused(admin: User, regex: str) -> None:
    with pytest.raises(actions.ActionError) as refused:
        policy.save_pattern(admin, name="bad", regex=regex)
    assert refused.value.field == "regex" and refused.value.message
    with pytest.raises(actions.ActionError):
        policy.try_pattern(admin, regex, "", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!")
    assert not OrgPattern.objects.exists()


def test_the_model_refuses_a_bad_regex_on_any_path(org: object) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        OrgPattern.objects.create(organisation=org, name="bad", regex=r"(a*)*")


def test_the_pattern_test_field_shows_masked_findings(admin: User) -> None:
    [finding] = policy.try_pattern(admin, r"PN-(?P<value>\d{6})", "", "Patiënt PN-123456")
    assert finding.kind == "org:test" and "123456" not in finding.detail


def test_an_organisation_pattern_drives_a_rule(admin: User) -> None:
    patient_number(admin)
    policy.save_rule(admin, name="No patient numbers", condition={"any_kind": "org:patient number"},
                     action="block", message_nl="Geen patiëntnummers.",
                     message_en="No patient numbers.")
    with translation.override("nl"), pytest.raises(DlpRefused) as refused:
        send(admin, body="Over PN-123456")
    assert refused.value.rules == [{"name": "No patient numbers", "action": "block",
                                    "message": "Geen patiëntnummers."}]
    assert [e.data["findings"] for e in AuditEvent.objects.filter(action="dlp.decision")] == [
        {"org:patient number": 1}]


def test_own_rules_replace_the_defaults(admin: User) -> None:
    policy.save_rule(admin, name="Audit everything", condition={}, action="audit",
                     message_nl="-", message_en="-")
    send(admin, body=f"BSN {BSN}", recipients=[actions.RecipientSpec(
        email="jan@gmail.com", method="email")])
    assert Message.objects.count() == 1


def test_the_defaults_can_be_adopted_and_then_changed(admin: User) -> None:
    adopted = policy.adopt_default_rules(admin)
    card = adopted[0]
    assert card.name == "Payment card number"
    policy.save_rule(admin, rule_id=card.pk, name=card.name, condition=card.condition,
                     action="warn", message_nl=card.message_nl, message_en=card.message_en)
    assert DlpRule.objects.get(pk=card.pk).action == "warn"
    assert AuditEvent.objects.filter(action="dlp.rule.saved").count() == len(adopted) + 1


@pytest.mark.parametrize(("condition", "action", "methods"), [
    ({"no_such_key": 1}, "block", []),
    ({"any_kind": "bsn"}, "explode", []),
    ({"any_kind": "bsn"}, "require", []),
    ({"any_kind": "bsn"}, "require", ["carrier pigeon"]),
])
def test_a_broken_rule_is_refused(admin: User, condition: dict[str, object], action: str,
                                  methods: list[str]) -> None:
    with pytest.raises(actions.ActionError):
        policy.save_rule(admin, name="Broken", condition=condition, action=action,
                         required_methods=methods, message_nl="x", message_en="x")
    assert not DlpRule.objects.exists()


def test_admins_extend_the_special_category_terms(admin: User) -> None:
    body = "Zij heeft last van zeldzaamsyndroom en zeldzaamsyndroom."
    recipients = [actions.RecipientSpec(email="piet@example.nl", method="email")]
    assert check_draft(sender=admin, subject="x", body=body, recipients=recipients).findings == []
    policy.add_term(admin, "zeldzaamsyndroom")
    result = check_draft(sender=admin, subject="x", body=body, recipients=recipients)
    assert [f.finding.kind for f in result.findings] == ["medical", "medical"]
    assert result.required_methods == ["access_code", "sms"]
