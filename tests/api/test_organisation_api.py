"""GET and PATCH /api/v1/organisation: the organisation's settings for its admins, checked by
the same function as the Organisation page, refusals as problems naming the setting."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from zegel.audit.models import AuditEvent
from zegel.orgs.models import ApiToken, Organisation, User

URL = "/api/v1/organisation"


def _client(user: User, role: str = "admin", scopes: tuple[str, ...] | None = None) -> Client:
    User.objects.filter(pk=user.pk).update(role=role)
    user.refresh_from_db()
    _token, secret = ApiToken.issue(user, scopes=scopes)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _patch(client: Client, body: Any, **extra: Any) -> Any:
    return client.patch(URL, json.dumps(body) if not isinstance(body, str) else body,
                        content_type="application/json", **extra)


def test_an_admin_reads_and_changes_the_settings(sender: User, org: Organisation) -> None:
    client = _client(sender)
    got = client.get(URL)
    assert got.status_code == 200
    assert got.json()["domain"] == "zorggroep-noord.nl"
    assert got.json()["default_expiry_days"] == 30 and got.json()["email_code_allowed"] is True
    answer = _patch(client, {"max_expiry_days": 90, "default_expiry_days": 14,
                             "default_method": "access_code", "email_code_allowed": False,
                             "explanation_en": "{% load %} <b>plain</b>"})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["max_expiry_days"], body["default_expiry_days"], body["default_method"],
            body["email_code_allowed"]) == (90, 14, "access_code", False)
    org.refresh_from_db()
    assert org.explanation_en == "{% load %} <b>plain</b>" and org.name == "Zorggroep Noord"
    event = AuditEvent.objects.get(action="org.updated")
    assert event.actor_id == str(sender.pk) or event.actor_id == sender.pk
    assert event.data == {"fields": ["default_expiry_days", "default_method",
                                     "email_code_allowed", "explanation_en",
                                     "max_expiry_days"]}


@pytest.mark.parametrize(("body", "status", "field", "words"), [
    ({"brand_colour": "#ffcc00"}, 400, "brand_colour", "contrast of 1.5"),
    ({"default_expiry_days": 400}, 400, "default_expiry_days", "0 (no end date) to 365"),
    ({"max_expiry_days": 10}, 400, "default_expiry_days", "longer than the maximum"),
    ({"default_method": "email", "email_code_allowed": False}, 400, "default_method",
     "cannot be the e-mail code"),
    ({"portal_idle_minutes": 1}, 400, "portal_idle_minutes", "2 to 120"),
    ({"max_attachment_mb": 2**40}, 400, "max_attachment_mb", "maximum attachment size"),
    ({"info_url": "javascript:alert(1)"}, 400, "info_url", "Not a web address"),
    ({"name": " "}, 400, "name", "needs a name"),
    ({}, 400, None, "Nothing to change"),
])
def test_refused_values_are_problems_naming_the_setting(
        sender: User, org: Organisation, body: dict[str, Any], status: int, field: str | None,
        words: str) -> None:
    answer = _patch(_client(sender), body)
    assert answer.status_code == status
    assert answer["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem.get("field") == field and words in problem["detail"]
    assert not AuditEvent.objects.filter(action="org.updated").exists()
    org.refresh_from_db()
    assert org.brand_colour == "#154273" and org.default_expiry_days == 30


@pytest.mark.parametrize("body", [
    {"default_expiry_days": "30"}, {"email_code_allowed": "yes"}, {"name": None},
    {"default_method": "pigeon"}, {"domain": "evil.example"}, {"name": "a\x00b"},
])
def test_wrong_types_and_unknown_fields_are_schema_errors(sender: User, body: Any) -> None:
    answer = _patch(_client(sender), body)
    assert answer.status_code == 422, body
    assert answer.json()["errors"]


def test_not_json_is_a_clear_problem(sender: User) -> None:
    client = _client(sender)
    assert _patch(client, "{not json").status_code == 400
    assert client.patch(URL, "name=x", content_type="text/plain").status_code == 415


def test_only_admins_of_this_organisation(sender: User, teammate: User, outsider: User,
                                          org: Organisation) -> None:
    # A policy admin has the admin scope (data-leak rules) but not the settings.
    policy = _client(teammate, role="policy_admin")
    assert policy.get(URL).status_code == 403
    assert _patch(policy, {"name": "Overgenomen"}).status_code == 403
    # A member cannot get a token with the admin scope at all; a send token is refused.
    member = _client(sender, role="member", scopes=("send", "read"))
    assert member.get(URL).status_code == 403
    # An admin of another organisation changes only their own.
    other = _client(outsider)
    assert other.get(URL).json()["domain"] == outsider.organisation.domain
    assert _patch(other, {"name": "Gemeente Zuid-West"}).status_code == 200
    org.refresh_from_db()
    assert org.name == "Zorggroep Noord"
    assert Client().get(URL).status_code == 401
    # A token issued while its user was an admin stops working for this once demoted.
    admin = _client(sender)
    User.objects.filter(pk=sender.pk).update(role="member")
    assert admin.get(URL).status_code == 403


def test_problems_speak_dutch_when_asked(sender: User) -> None:
    answer = _patch(_client(sender), {"portal_idle_minutes": 1}, HTTP_ACCEPT_LANGUAGE="nl")
    assert answer.status_code == 400 and "minuten" in answer.json()["detail"]
