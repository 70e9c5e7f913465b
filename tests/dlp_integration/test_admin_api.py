"""The admin's data-leak settings over the API: own organisation only, bad input refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from zegel.dlp.models import DlpRule, OrgPattern
from zegel.orgs.models import ApiToken, User


def _client(user: User, *, admin: bool = True) -> Client:
    user.role = "admin" if admin else "member"
    user.save()
    _token, secret = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _json(client: Client, method: str, path: str, payload: Any = None) -> Any:
    return getattr(client, method)(f"/api/v1/dlp{path}", json.dumps(payload),
                                   content_type="application/json")


RULE = {"name": "No patient numbers abroad", "condition": {"any_kind": "org:patient number"},
        "action": "block", "message_nl": "Niet doen.", "message_en": "Don't."}


@pytest.fixture
def admin_api(sender: User) -> Client:
    return _client(sender)


@pytest.fixture
def other_api(outsider: User) -> Client:
    return _client(outsider)


def test_the_shipped_rules_are_listed_until_the_organisation_has_its_own(
        admin_api: Client) -> None:
    listed = admin_api.get("/api/v1/dlp/rules").json()
    assert listed["defaults"] and listed["rules"][0]["name"] == "Payment card number"
    assert _json(admin_api, "post", "/rules", RULE).status_code == 201
    listed = admin_api.get("/api/v1/dlp/rules").json()
    assert not listed["defaults"] and [r["name"] for r in listed["rules"]] == [RULE["name"]]


def test_another_organisation_cannot_read_or_change_rules_or_patterns(
        admin_api: Client, other_api: Client) -> None:
    rule = _json(admin_api, "post", "/rules", RULE).json()
    pattern = _json(admin_api, "post", "/patterns",
                    {"name": "patient number", "regex": r"\bPN-\d{6}\b"}).json()
    assert other_api.get("/api/v1/dlp/rules").json()["defaults"] is True
    assert other_api.get("/api/v1/dlp/patterns").json() == []
    assert _json(other_api, "put", f"/rules/{rule['id']}",
                 {**RULE, "action": "audit"}).status_code == 404
    assert other_api.delete(f"/api/v1/dlp/rules/{rule['id']}").status_code == 404
    assert _json(other_api, "put", f"/patterns/{pattern['id']}",
                 {"name": "x", "regex": "x"}).status_code == 404
    assert other_api.delete(f"/api/v1/dlp/patterns/{pattern['id']}").status_code == 404
    assert DlpRule.objects.get().action == "block"
    assert OrgPattern.objects.get().regex == r"\bPN-\d{6}\b"


def test_a_non_admin_is_refused(sender: User) -> None:
    staff = _client(sender, admin=False)
    assert staff.get("/api/v1/dlp/rules").status_code == 403
    assert _json(staff, "post", "/terms", {"term": "zeldzaamsyndroom"}).status_code == 403


def test_a_catastrophic_regex_is_refused_with_a_problem(admin_api: Client) -> None:
    response = _json(admin_api, "post", "/patterns", {"name": "bad", "regex": r"(a+)+$"})
    assert response.status_code == 400
    assert response.json()["field"] == "regex" and "(a+)+" in response.json()["detail"]
    tried = _json(admin_api, "post", "/patterns/test",
                  {"regex": r"(a+)+$", "sample": "a" * 50 + "!"})
    assert tried.status_code == 400
    assert not OrgPattern.objects.exists()


def test_the_pattern_test_field(admin_api: Client) -> None:
    response = _json(admin_api, "post", "/patterns/test",
                     {"regex": r"PN-(?P<value>\d{6})", "sample": "Over PN-123456 en PN-12"})
    assert response.status_code == 200
    [match] = response.json()
    assert (match["start"], match["end"]) == (5, 14) and "123456" not in match["detail"]


def test_a_broken_rule_is_refused(admin_api: Client) -> None:
    response = _json(admin_api, "post", "/rules", {**RULE, "condition": {"whatever": 1}})
    assert response.status_code == 400 and "unknown condition key" in response.json()["detail"]
    response = _json(admin_api, "post", "/rules", {**RULE, "action": "require"})
    assert response.status_code == 400
    assert not DlpRule.objects.exists()


def test_terms(admin_api: Client, other_api: Client) -> None:
    created = _json(admin_api, "post", "/terms", {"term": "Zeldzaamsyndroom"})
    assert created.status_code == 201 and created.json()["term"] == "zeldzaamsyndroom"
    assert other_api.get("/api/v1/dlp/terms").json() == []
    assert other_api.delete(f"/api/v1/dlp/terms/{created.json()['id']}").status_code == 404
    assert admin_api.delete(f"/api/v1/dlp/terms/{created.json()['id']}").status_code == 204


@pytest.mark.parametrize("position", [2_147_483_648, 10**20])
def test_a_position_beyond_the_column_is_refused_with_a_problem(
        admin_api: Client, position: int) -> None:
    response = _json(admin_api, "post", "/rules", {**RULE, "position": position})
    assert response.status_code == 400
    problem = response.json()
    assert problem["field"] == "position" and "2147483647" in problem["detail"]
    assert not DlpRule.objects.exists()
    assert _json(admin_api, "post", "/rules", {**RULE, "position": 2_147_483_647}
                 ).status_code == 201


def test_a_deeply_nested_condition_is_refused_with_a_problem(admin_api: Client) -> None:
    nested: dict[str, Any] = {}
    for _ in range(40):
        nested = {"not": nested}
    response = _json(admin_api, "post", "/rules", {**RULE, "condition": nested})
    assert response.status_code == 400
    assert response.json()["field"] == "condition"
    assert "nested more than 32 levels deep" in response.json()["detail"]
    deep = '{"name": "x", "condition": {"any": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    response = admin_api.post("/api/v1/dlp/rules", deep, content_type="application/json")
    assert response.status_code == 400
    assert not DlpRule.objects.exists()
