"""Staff sessions: sliding, and ended absolutely SESSION_MAX_AGE after login; __Host- cookies on
https; API answers are never cached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD
from zegel.core import sessions
from zegel.core.sessions import LOGIN_AT
from zegel.orgs.models import ApiToken, User

REPO = Path(__file__).resolve().parents[2]
HOUR = 3600


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The session rule's clock, moved by hand."""
    now = SimpleNamespace(offset=0.0)
    monkeypatch.setattr(sessions, "time", SimpleNamespace(time=lambda: time.time() + now.offset))
    return now


def _logged_in(sender: User) -> Client:
    client = Client()
    response = client.post("/login", {"username": sender.email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_logging_in_starts_the_absolute_lifetime(sender: User) -> None:
    client = _logged_in(sender)
    assert abs(client.session[LOGIN_AT] - time.time()) < 60


def test_a_busy_session_still_ends_twelve_hours_after_login(sender: User,
                                                             clock: SimpleNamespace) -> None:
    client = _logged_in(sender)
    for hours in (2, 5, 8, 11, 11.9):
        clock.offset = hours * HOUR
        assert client.get("/inbox").status_code == 200
    clock.offset = 12 * HOUR + 1
    response = client.get("/inbox")
    assert response.status_code == 302 and response["Location"] == "/login?next=/inbox"
    clock.offset = 0
    assert client.get("/inbox").status_code == 302  # logged out for good, not only refused


def test_the_absolute_lifetime_is_configurable(sender: User, settings: Any,
                                               clock: SimpleNamespace) -> None:
    settings.SESSION_MAX_AGE = 60
    client = _logged_in(sender)
    clock.offset = 61
    assert client.get("/inbox").status_code == 302


def test_a_session_from_before_the_rule_gets_its_lifetime_at_its_next_request(
        sender_client: Client, clock: SimpleNamespace) -> None:
    session = sender_client.session
    session.pop(LOGIN_AT, None)
    session.save()
    assert sender_client.get("/inbox").status_code == 200
    clock.offset = 12 * HOUR + 1
    assert sender_client.get("/inbox").status_code == 302


# A process started with an https base URL, as in production: its cookie names and the cookies
# a real login sets.
HTTPS_CHILD = """
import json
from zegel.cli import main
assert main(["migrate"]) == 0
from django.conf import settings
from django.test import Client
from zegel.orgs.models import Organisation, User
org = Organisation.objects.create(name="Zorggroep Noord", domain="zorggroep-noord.nl")
User.objects.create_user("anna@zorggroep-noord.nl", org, "correct horse battery staple")
client = Client()
page = client.get("/login", secure=True)
token = client.cookies[settings.CSRF_COOKIE_NAME].value
answer = client.post("/login", {"username": "anna@zorggroep-noord.nl",
                                "password": "correct horse battery staple",
                                "csrfmiddlewaretoken": token}, secure=True)
cookies = {**{k: dict(v) | {"secure": v["secure"]} for k, v in page.cookies.items()},
           **{k: dict(v) | {"secure": v["secure"]} for k, v in answer.cookies.items()}}
print(json.dumps({"status": answer.status_code, "cookies": cookies}))
"""


def test_cookies_carry_the_host_prefix_on_https(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"ZEGEL_DATA_DIR": str(tmp_path), "ZEGEL_BASE_URL": "https://zegel.example.org",
                "ZEGEL_ALLOWED_HOSTS": "testserver", "ZEGEL_EMAIL_URL": "capture",
                "PYTHONPATH": str(REPO)})
    result = subprocess.run([sys.executable, "-c", HTTPS_CHILD], env=env, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 302
    cookies = answer["cookies"]
    assert {"__Host-zegel_session", "__Host-zegel_csrf"} <= set(cookies)
    for name in ("__Host-zegel_session", "__Host-zegel_csrf"):
        # What browsers demand of a __Host- cookie, or they drop it.
        assert cookies[name]["secure"] is True
        assert cookies[name]["path"] == "/"
        assert cookies[name]["domain"] == ""


def test_cookies_keep_plain_names_on_http(settings: Any) -> None:
    # This test run's settings come from an http base URL (the default).
    assert not settings.SECURE
    assert not settings.SESSION_COOKIE_NAME.startswith("__Host-")


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/dlp/rules",
                                  "/api/v1/messages/00000000-0000-0000-0000-000000000000",
                                  "/api/v1/nothing-here"])
def test_api_answers_are_never_cached(sender: User, path: str) -> None:
    _token, secret = ApiToken.issue(sender)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(path)
    assert response["Cache-Control"] == "no-store"
