"""The user's own sessions: where and when, log out one, log out everywhere; CSRF on every
POST of the staff pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from tests.orgs.staff import client_of, make_user
from zegel.orgs.models import Organisation, StaffSession, User


def test_the_account_page_lists_the_sessions_and_the_previous_log_in(sender: User) -> None:
    client_of(sender, ua="Firefox/128 op werkplek", ip="198.51.100.1")
    phone = client_of(sender, ua="Mobile Safari", ip="198.51.100.2")
    page = phone.get("/account").content.decode()
    assert "Firefox/128 op werkplek" in page and "Mobile Safari" in page
    assert "198.51.100.1" in page and "198.51.100.2" in page
    # The log-in before this one: from the first address.
    assert re.search(r"last logged in on .* from 198\.51\.100\.1", page)
    sender.refresh_from_db()
    assert sender.last_login_ip == "198.51.100.2"


def test_logging_out_another_session_stops_it(sender: User) -> None:
    laptop = client_of(sender, ua="Laptop")
    phone = client_of(sender, ua="Phone")
    row = StaffSession.objects.get(user=sender, user_agent="Laptop")
    assert phone.post(f"/account/sessions/{row.pk}/end").status_code == 302
    assert laptop.get("/sent").status_code == 302
    assert phone.get("/sent").status_code == 200


def test_logging_out_this_session_logs_out(sender: User) -> None:
    phone = client_of(sender, ua="Phone")
    row = StaffSession.objects.get(user=sender)
    response = phone.post(f"/account/sessions/{row.pk}/end")
    assert response.status_code == 302 and response["Location"] == "/login"
    assert phone.get("/sent").status_code == 302


def test_log_out_everywhere_ends_every_session(sender: User) -> None:
    clients = [client_of(sender, ua=f"B{i}") for i in range(3)]
    assert clients[0].post("/account/sessions/end-all").status_code == 302
    assert all(c.get("/sent").status_code == 302 for c in clients)
    assert not StaffSession.objects.exists()


def test_another_users_session_is_not_found(sender: User, teammate: User) -> None:
    mine = client_of(sender)
    theirs = client_of(teammate)
    row = StaffSession.objects.get(user=teammate)
    assert mine.post(f"/account/sessions/{row.pk}/end").status_code == 404
    assert theirs.get("/sent").status_code == 200


@pytest.fixture
def admin(org: Organisation) -> User:
    return make_user(org, "beheer@zorggroep-noord.nl", "admin")


def test_every_post_of_the_staff_pages_needs_the_csrf_token(admin: User, sender: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    row = StaffSession.objects.get(user=admin)
    posts = [f"/staff/users/{sender.pk}/{a}" for a in
             ("role", "suspend", "reactivate", "resend", "delete")]
    posts += ["/staff/users/invite", "/account/password", f"/account/sessions/{row.pk}/end",
              "/account/sessions/end-all"]
    for path in posts:
        assert client.post(path, {"role": "admin", "confirm": "yes",
                                  "email": "x@zorggroep-noord.nl"}).status_code == 403, path
    anonymous = Client(enforce_csrf_checks=True)
    for path in ("/account/forgot-password", "/account/reset/x", "/account/invitation/x"):
        assert anonymous.post(path, {"email": sender.email}).status_code == 403, path
    sender.refresh_from_db()
    assert sender.is_active and sender.role == "member" and sender.check_password(PASSWORD)
    assert not User.objects.filter(email="x@zorggroep-noord.nl").exists()
