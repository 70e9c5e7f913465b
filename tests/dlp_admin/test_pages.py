"""The admin's data-leak pages: rules, organisation patterns with a test field, and terms."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from zegel.audit.models import AuditEvent
from zegel.dlp import service
from zegel.dlp.models import DlpRule, DlpTerm, OrgPattern
from zegel.messaging.actions import RecipientSpec
from zegel.orgs.models import Organisation, User

BSN = "111222333"  # passes the 11-proef


@pytest.fixture
def admin(org: Organisation) -> User:
    return User.objects.create_user("beheer@zorggroep-noord.nl", org, PASSWORD, role="admin")


def _client(user: User, **kwargs: bool) -> Client:
    """A logged-in browser that asks for English (the product's default is Dutch)."""
    client = Client(headers={"accept-language": "en"}, **kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def client(admin: User) -> Client:
    return _client(admin)


@pytest.fixture
def sender_client(sender: User) -> Client:
    return _client(sender)


@pytest.fixture
def other_admin(outsider: User) -> User:
    return User.objects.create_user("beheer@gemeente-zuid.nl", outsider.organisation, PASSWORD,
                                    role="admin")


def _rule_post(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "BSN blocked", "condition": json.dumps({"any_kind": ["bsn"]}), "action": "block",
        "message_nl": "Geen BSN per e-mail.", "message_en": "No BSN by e-mail.",
        "enabled": "1", "position": "0",
    }
    data.update(overrides)
    return data


def _check(user: User) -> service.DlpResult:
    return service.check_draft(
        sender=user, subject="Gegevens", body=f"Het BSN is {BSN}.",
        recipients=[RecipientSpec(email="piet@example.nl", method="sms", phone="06 12345678")],
    )


def test_the_overview_shows_the_defaults_and_the_add_form(client: Client) -> None:
    response = client.get("/admin/dlp/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "BSN needs strong verification" in text  # a shipped rule
    assert "adopt-defaults" in text
    assert 'name="condition"' in text and 'name="required_methods"' in text
    assert "DLP rules" in text  # the nav link for admins


def test_admin_adds_edits_and_deletes_a_rule_and_it_takes_effect(
    client: Client, admin: User, sender: User
) -> None:
    assert not _check(sender).decision.blocked  # the defaults require a method, not block

    response = client.post("/admin/dlp/", _rule_post())
    assert response.status_code == 302
    rule = DlpRule.objects.get(organisation=admin.organisation)
    assert rule.condition == {"any_kind": ["bsn"]} and rule.action == "block"
    assert _check(sender).decision.blocked
    assert "BSN blocked" in client.get("/admin/dlp/").content.decode()

    page = client.get(f"/admin/dlp/rules/{rule.pk}")
    assert page.status_code == 200 and "BSN blocked" in page.content.decode()
    response = client.post(f"/admin/dlp/rules/{rule.pk}", _rule_post(action="suggest"))
    assert response.status_code == 302
    decision = _check(sender).decision
    assert not decision.blocked
    assert [r.action for r in decision.results] == ["suggest"]

    assert client.get(f"/admin/dlp/rules/{rule.pk}/delete").status_code == 200  # confirm page
    assert DlpRule.objects.filter(pk=rule.pk).exists()
    assert client.post(f"/admin/dlp/rules/{rule.pk}/delete").status_code == 302
    assert not DlpRule.objects.exists()
    assert "sms" in _check(sender).decision.required_methods  # the defaults apply again
    assert AuditEvent.objects.filter(action="dlp.rule.deleted").count() == 1


def test_a_require_rule_keeps_its_methods(client: Client, admin: User) -> None:
    response = client.post("/admin/dlp/", _rule_post(action="require",
                                                     required_methods=["sms", "access_code"]))
    assert response.status_code == 302
    assert sorted(DlpRule.objects.get().required_methods) == ["access_code", "sms"]


def test_adopting_the_defaults_copies_them(client: Client, admin: User) -> None:
    assert client.post("/admin/dlp/rules/adopt-defaults").status_code == 302
    own = DlpRule.objects.filter(organisation=admin.organisation)
    assert own.count() >= 3
    text = client.get("/admin/dlp/").content.decode()
    assert "adopt-defaults" not in text
    assert f"/admin/dlp/rules/{own.first().pk}" in text  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"condition": "{any_kind: bsn"}, "condition", "not valid JSON"),
        ({"condition": "[1, 2]"}, "condition", "JSON object"),
        ({"condition": '{"colour": "red"}'}, "condition", "unknown condition key"),
        ({"action": "explode"}, "action", "Choose an action"),
        ({"action": "require"}, "required_methods", "verification method"),
        ({"position": "first"}, "position", "whole number"),
        ({"position": "2147483648"}, "position", "whole number from 0 to 2147483647"),
        ({"position": "9" * 30}, "position", "whole number from 0 to 2147483647"),
        ({"message_en": ""}, "name", "Dutch and in English"),
        ({"condition": "[" * 100_000}, "condition", "nested more than 32 levels deep"),
        ({"condition": '{"not": ' * 40 + "{}" + "}" * 40}, "condition",
         "nested more than 32 levels deep"),
    ],
)
def test_refused_rules_show_the_form_again_with_the_error(
    client: Client, overrides: dict[str, str], field: str, message: str
) -> None:
    data = _rule_post(**overrides)
    response = client.post("/admin/dlp/", data)
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text
    assert f'id="{field}-error"' in text  # next to the field
    assert 'class="error-summary"' in text
    assert 'value="BSN blocked"' in text  # what was typed is kept
    assert not DlpRule.objects.exists()


def test_a_duplicate_rule_name_is_refused(client: Client) -> None:
    assert client.post("/admin/dlp/", _rule_post()).status_code == 302
    response = client.post("/admin/dlp/", _rule_post())
    assert response.status_code == 400
    assert "already in use" in response.content.decode()
    assert DlpRule.objects.count() == 1


def test_a_bad_edit_is_refused_and_the_rule_stays(client: Client) -> None:
    client.post("/admin/dlp/", _rule_post())
    rule = DlpRule.objects.get()
    response = client.post(f"/admin/dlp/rules/{rule.pk}", _rule_post(condition="{nope"))
    assert response.status_code == 400
    assert "{nope" in response.content.decode()
    rule.refresh_from_db()
    assert rule.condition == {"any_kind": ["bsn"]}


def test_admin_adds_and_deletes_a_pattern(client: Client, admin: User, sender: User) -> None:
    response = client.post("/admin/dlp/patterns", {"name": "patientnummer",
                                                   "regex": r"\bPAT-\d{7}\b", "checksum": "",
                                                   "enabled": "1"})
    assert response.status_code == 302
    pattern = OrgPattern.objects.get(organisation=admin.organisation)
    assert r"PAT-\d{7}" in client.get("/admin/dlp/patterns").content.decode()
    result = service.check_draft(sender=sender, subject="x", body="Patiënt PAT-1234567.",
                                 recipients=[])
    assert [f.finding.kind for f in result.findings] == ["org:patientnummer"]

    assert client.get(f"/admin/dlp/patterns/{pattern.pk}/delete").status_code == 200
    assert client.post(f"/admin/dlp/patterns/{pattern.pk}/delete").status_code == 302
    assert not OrgPattern.objects.exists()


@pytest.mark.parametrize("regex", ["(a+)+$", r"(\d+)*$", ""])
def test_a_catastrophic_or_empty_regex_is_refused(client: Client, regex: str) -> None:
    response = client.post("/admin/dlp/patterns", {"name": "slow", "regex": regex,
                                                   "checksum": "", "enabled": "1"})
    assert response.status_code == 400
    text = response.content.decode()
    assert 'id="regex-error"' in text and 'value="slow"' in text
    assert not OrgPattern.objects.exists()


def test_the_test_field_shows_masked_findings_and_saves_nothing(client: Client) -> None:
    response = client.post("/admin/dlp/patterns/test", {
        "regex": r"\b\d{9}\b", "checksum": "bsn",
        "sample": f"Goed: {BSN}. Fout: 123456789.",
    })
    assert response.status_code == 200
    text = response.content.decode()
    assert "*****2333" in text  # the valid number, masked
    assert BSN not in text.replace(f"Goed: {BSN}", "")  # shown only in the sample field
    assert "6789" not in text.replace("123456789", "")  # fails the 11-proef: no finding
    assert "org:test" in text and "6\u201315" in text
    assert not OrgPattern.objects.exists()


def test_the_test_field_shows_a_refused_pattern(client: Client) -> None:
    response = client.post("/admin/dlp/patterns/test", {"regex": "(a+)+$", "checksum": "",
                                                        "sample": "aaaa"})
    assert response.status_code == 400
    text = response.content.decode()
    assert 'id="test-regex-error"' in text and 'href="#test-regex"' in text
    assert 'value="(a+)+$"' in text


def test_admin_adds_and_removes_a_term(client: Client, admin: User) -> None:
    assert client.post("/admin/dlp/terms", {"term": "Thuisbegeleiding"}).status_code == 302
    term = DlpTerm.objects.get(organisation=admin.organisation)
    assert term.term == "thuisbegeleiding"
    assert "thuisbegeleiding" in client.get("/admin/dlp/terms").content.decode()
    response = client.post("/admin/dlp/terms", {"term": "ab"})
    assert response.status_code == 400 and 'id="term-error"' in response.content.decode()
    assert client.post(f"/admin/dlp/terms/{term.pk}/remove").status_code == 302
    assert not DlpTerm.objects.exists()


@pytest.mark.parametrize("path", ["/admin/dlp/", "/admin/dlp/patterns", "/admin/dlp/terms"])
def test_a_non_admin_gets_a_clear_403(sender_client: Client, path: str) -> None:
    response = sender_client.get(path)
    assert response.status_code == 403
    assert "administrator" in response.content.decode()
    assert sender_client.post(path, {"term": "abcdef", "name": "x", "regex": "x"}).status_code \
        == 403
    assert not DlpTerm.objects.exists() and not OrgPattern.objects.exists()


def test_the_nav_link_is_for_admins_only(sender_client: Client, client: Client) -> None:
    assert "/admin/dlp/" not in sender_client.get("/sent").content.decode()
    assert "/admin/dlp/" in client.get("/sent").content.decode()


def test_anonymous_is_sent_to_log_in() -> None:
    response = Client().get("/admin/dlp/patterns")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_another_organisation_cannot_see_or_change_anything(
    client: Client, admin: User, other_admin: User
) -> None:
    client.post("/admin/dlp/", _rule_post())
    client.post("/admin/dlp/patterns", {"name": "patientnummer", "regex": r"PAT-\d{7}",
                                        "checksum": ""})
    client.post("/admin/dlp/terms", {"term": "thuisbegeleiding"})
    rule, pattern, term = DlpRule.objects.get(), OrgPattern.objects.get(), DlpTerm.objects.get()

    other = _client(other_admin)
    for path in (f"/admin/dlp/rules/{rule.pk}", f"/admin/dlp/rules/{rule.pk}/delete",
                 f"/admin/dlp/patterns/{pattern.pk}/delete"):
        assert other.get(path).status_code == 404
        assert other.post(path, _rule_post(name="taken over")).status_code == 404
    assert other.post(f"/admin/dlp/terms/{term.pk}/remove").status_code == 404
    assert "BSN blocked" not in other.get("/admin/dlp/").content.decode()
    assert "patientnummer" not in other.get("/admin/dlp/patterns").content.decode()
    assert "thuisbegeleiding" not in other.get("/admin/dlp/terms").content.decode()
    rule.refresh_from_db()
    assert rule.name == "BSN blocked" and rule.action == "block"
    assert OrgPattern.objects.count() == 1 and DlpTerm.objects.count() == 1


@pytest.mark.parametrize("path", ["/admin/dlp/", "/admin/dlp/patterns", "/admin/dlp/terms",
                                  "/admin/dlp/patterns/test", "/admin/dlp/rules/adopt-defaults"])
def test_a_post_without_csrf_token_is_refused(admin: User, path: str) -> None:
    client = _client(admin, enforce_csrf_checks=True)
    response = client.post(path, {**_rule_post(), "term": "thuisbegeleiding", "regex": "x",
                                  "sample": "x"})
    assert response.status_code == 403
    assert not DlpRule.objects.exists() and not DlpTerm.objects.exists()
    assert not OrgPattern.objects.exists()
