"""One helper decides every permission: pages, the API and the actions follow the role."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from django.test import Client

from tests.conftest import send
from tests.orgs.staff import client_of, english, make_user
from zegel.orgs.actions import Refused, change_role, issue_api_token
from zegel.orgs.models import ApiToken, Organisation, User
from zegel.orgs.roles import Permission, allows


@pytest.fixture
def admin(org: Organisation) -> User:
    return make_user(org, "beheer@zorggroep-noord.nl", "admin")


@pytest.mark.parametrize(("role", "granted"), [
    ("admin", set(Permission)),
    ("policy_admin", {Permission.SEND, Permission.MANAGE_DLP}),
    ("auditor", {Permission.READ_AUDIT}),
    ("member", {Permission.SEND}),
])
def test_each_role_grants_what_docs_admin_md_says(org: Organisation, role: str,
                                                   granted: set[Permission]) -> None:
    user = make_user(org, f"{role}@zorggroep-noord.nl", role)
    assert {p for p in Permission if allows(user, p)} == granted
    user.is_active = False
    assert not any(allows(user, p) for p in Permission)


ADMIN_PAGES = ["/staff/users", "/staff/users/invite"]


def test_a_member_gets_403_on_the_admin_pages_and_posts(sender: User, admin: User) -> None:
    client = client_of(sender)
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 403
        assert "Only an administrator" in response.content.decode()
    assert client.get(f"/staff/users/{admin.pk}").status_code == 403
    for action in ("suspend", "role", "delete", "reactivate", "resend"):
        assert client.post(f"/staff/users/{admin.pk}/{action}",
                           {"role": "member", "confirm": "yes"}).status_code == 403
    assert client.post("/staff/users/invite", {"email": "x@zorggroep-noord.nl"}
                       ).status_code == 403
    admin.refresh_from_db()
    assert admin.is_active and admin.role == "admin"
    assert not User.objects.filter(email="x@zorggroep-noord.nl").exists()
    # Nor does the menu offer them.
    assert "/staff/users" not in client.get("/sent").content.decode()


def test_a_member_and_an_auditor_get_403_on_the_dlp_pages(org: Organisation,
                                                          sender: User) -> None:
    auditor = make_user(org, "audit@zorggroep-noord.nl", "auditor")
    for user in (sender, auditor):
        assert client_of(user).get("/admin/dlp/").status_code == 403


def test_a_policy_admin_manages_dlp_but_not_users(org: Organisation) -> None:
    policy = make_user(org, "privacy@zorggroep-noord.nl", "policy_admin")
    client = client_of(policy)
    assert client.get("/admin/dlp/").status_code == 200
    assert client.get("/staff/users").status_code == 403
    assert client.get("/compose").status_code == 200
    assert 'href="/admin/dlp/"' in client.get("/sent").content.decode()


def test_an_auditor_sees_no_message_content_and_cannot_send(org: Organisation,
                                                            sender: User) -> None:
    message = send(sender)
    auditor = make_user(org, "audit@zorggroep-noord.nl", "auditor")
    client = client_of(auditor)
    for path in ("/compose", "/inbox", "/sent", "/sent?q=Beste", f"/c/{message.conversation_id}",
                 f"/c/{message.conversation_id}/a/{uuid4()}"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Beste mevrouw" not in response.content.decode()
    assert client.post("/compose", {"subject": "x"}).status_code == 403
    # After log-in an auditor lands on their account page, not on a refusal.
    response = english().post("/login", {"username": auditor.email, "password":
                                        "correct horse battery staple"}, follow=True)
    assert response.redirect_chain[-1][0] == "/account"


def test_an_auditors_token_does_nothing_the_role_does_not(org: Organisation,
                                                          sender: User) -> None:
    message = send(sender)
    auditor = make_user(org, "audit@zorggroep-noord.nl", "auditor")
    with pytest.raises(Refused, match="does not allow"):
        issue_api_token(auditor.email)
    _token, secret = ApiToken.issue(auditor, scopes=("send", "read"))
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(f"/api/v1/messages/{message.pk}").status_code == 403
    assert api.get(f"/api/v1/conversations/{message.conversation_id}").status_code == 403
    answer = api.post(f"/api/v1/messages/{message.pk}/answer", json.dumps({"body": "Hallo"}),
                      content_type="application/json")
    assert answer.status_code == 403
    assert "Beste mevrouw" not in answer.content.decode()
    assert api.get("/api/v1/dlp/rules").status_code == 403


def test_a_member_token_cannot_call_the_admin_api(sender: User) -> None:
    with pytest.raises(Refused, match="not an admin"):
        issue_api_token(sender.email, scopes=("admin",))
    # Even a row with the scope written into it directly: the role decides on every call.
    _token, secret = ApiToken.issue(sender, scopes=("send", "read", "admin"))
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/dlp/rules").status_code == 403
    response = api.post("/api/v1/dlp/rules", json.dumps({}), content_type="application/json")
    assert response.status_code == 403


def test_a_demoted_admins_token_loses_the_admin_api_at_once(org: Organisation,
                                                           admin: User) -> None:
    other = make_user(org, "tweede@zorggroep-noord.nl", "admin")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_api_token(admin.email, scopes=('admin',))}")
    assert api.get("/api/v1/dlp/rules").status_code == 200
    change_role(other, admin.pk, "member")
    assert api.get("/api/v1/dlp/rules").status_code == 403
    change_role(other, admin.pk, "policy_admin")
    assert api.get("/api/v1/dlp/rules").status_code == 200


def test_an_auditor_reads_the_organisations_audit_log_only(org: Organisation, sender: User,
                                                          outsider: User) -> None:
    send(sender, subject="Geheime uitslag")
    issue_api_token(outsider.email)
    auditor = make_user(org, "audit@zorggroep-noord.nl", "auditor")
    client = client_of(auditor)
    page = client.get("/staff/audit").content.decode()
    assert "<td>message.sent</td>" in page and "<td>user.login</td>" in page
    assert "Geheime uitslag" not in page
    assert "<td>token.created</td>" not in page  # the other organisation's event
    only = client.get("/staff/audit", {"action": "user."}).content.decode()
    assert "<td>user.login</td>" in only and "<td>message.sent</td>" not in only
    assert client.get("/staff/audit", {"before": "x"}).status_code == 400
    assert client_of(sender).get("/staff/audit").status_code == 403
    assert 'href="/staff/audit"' in client.get("/account").content.decode()
