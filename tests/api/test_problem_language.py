"""API errors in the client's language: English by default, Dutch when Accept-Language asks for
it, for every status, also for what is refused before a view runs (the token check, the rate
limit, a body or upload too large, Django's own 404 and 405). Times are answered in UTC."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import deliver_and_get_link, send
from tests.messaging.test_attachments import make_attachment
from zegel.messaging.models import Attachment
from zegel.orgs.models import ApiToken, User

UNKNOWN = "00000000-0000-0000-0000-000000000000"
MESSAGE = {"subject": "Brief", "body": "Zie bijlage.",
           "recipients": [{"email": "piet@example.nl", "verification": "sms",
                           "phone": "06 12345678"}]}
UTC_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def _token(user: User, scope: str = "send,read") -> str:
    _entry, secret = ApiToken.issue(user, scopes=tuple(scope.split(",")))
    return secret


def _post_json(client: Client, path: str, payload: Any, **extra: Any) -> Any:
    return client.post(path, json.dumps(payload), content_type="application/json", **extra)


Call = Callable[[Client, dict[str, str]], Any]


def _cases(sender: User, outsider: User, settings: Any) -> dict[str, tuple[int, Call]]:
    token = _token(sender)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    read_only = {"HTTP_AUTHORIZATION": f"Bearer {_token(sender, 'read')}"}
    moved = make_attachment(outsider, b"their file " * 40, name="theirs.pdf")
    Attachment.objects.filter(pk=moved.pk).update(organisation_id=sender.organisation_id,
                                                  uploaded_by_user_id=sender.pk)
    return {
        "refused input": (400, lambda c, h: _post_json(c, "/api/v1/messages", {
            **MESSAGE, "recipients": [{"email": "piet@@example", "verification": "email"}]},
            **auth, **h)),
        "body not json": (400, lambda c, h: c.post(
            "/api/v1/messages", "{not json", content_type="application/json", **auth, **h)),
        "no token": (401, lambda c, h: c.get(f"/api/v1/messages/{UNKNOWN}", **h)),
        "wrong token": (401, lambda c, h: c.get(f"/api/v1/messages/{UNKNOWN}",
                                                HTTP_AUTHORIZATION="Bearer zgl_nonsense", **h)),
        "scope": (403, lambda c, h: _post_json(c, "/api/v1/messages", MESSAGE, **read_only,
                                               **h)),
        "unknown id": (404, lambda c, h: c.get(f"/api/v1/messages/{UNKNOWN}", **auth, **h)),
        "unknown path": (404, lambda c, h: c.get("/api/v1/nothing-here", **auth, **h)),
        "wrong method": (405, lambda c, h: c.delete("/api/v1/check", **auth, **h)),
        "integrity": (409, lambda c, h: _post_json(c, "/api/v1/check", {
            **MESSAGE, "attachments": [str(moved.pk)]}, **auth, **h)),
        "json too large": (413, lambda c, h: _post_json(c, "/api/v1/messages", {
            **MESSAGE, "body": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}, **auth, **h)),
        "upload too large": (413, lambda c, h: c.post("/api/v1/attachments", {
            "file": SimpleUploadedFile("big.pdf", b"%PDF" + b"x" * settings.MAX_UPLOAD_SIZE)},
            **auth, **h)),
        "not sent as json": (415, lambda c, h: c.post(
            "/api/v1/messages", json.dumps(MESSAGE), content_type="text/plain", **auth, **h)),
        "upload not a form": (415, lambda c, h: _post_json(c, "/api/v1/attachments", {},
                                                          **auth, **h)),
        "schema": (422, lambda c, h: _post_json(c, "/api/v1/messages", {
            "subject": "x" * 301, "recipients": [{"kind": "bcc"}]}, **auth, **h)),
    }


@pytest.fixture
def small_limits(settings: Any) -> None:
    settings.MAX_UPLOAD_SIZE = 1000


def _answers(case: Call, language: str | None) -> Any:
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    return case(Client(raise_request_exception=False), headers)


def test_every_problem_is_english_by_default_and_dutch_when_asked(
        sender: User, outsider: User, settings: Any, small_limits: None) -> None:
    for what, (status, case) in _cases(sender, outsider, settings).items():
        default, english, dutch = (_answers(case, None), _answers(case, "en"),
                                   _answers(case, "nl-NL,nl;q=0.9,en;q=0.5"))
        for answer, language in ((default, "en"), (english, "en"), (dutch, "nl")):
            assert answer.status_code == status, (what, language, answer.content[:300])
            assert answer["Content-Type"] == "application/problem+json", what
            assert answer["Content-Language"] == language, what
            problem = answer.json()
            assert problem["status"] == status and problem["title"] and problem["detail"], what
        en, nl = english.json(), dutch.json()
        assert default.json() == en, what
        assert nl["detail"] != en["detail"], (what, en["detail"])
        assert {k for k in nl if k not in ("title", "detail", "errors")} == \
               {k for k in en if k not in ("title", "detail", "errors")}, what


def test_the_texts_are_the_ones_a_reader_expects(sender: User, settings: Any) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {_token(sender)}"}
    nl = {"HTTP_ACCEPT_LANGUAGE": "nl"}
    answer = Client().get(f"/api/v1/messages/{UNKNOWN}", **nl).json()
    assert answer["title"] == "Niet geautoriseerd"
    assert "Authorization: Bearer" in answer["detail"]
    answer = Client().get("/api/v1/nothing-here", **auth, **nl).json()
    assert answer == {"type": "about:blank", "title": "Niet gevonden", "status": 404,
                      "detail": "Deze API kent geen GET /api/v1/nothing-here."}
    answer = Client().get("/api/v1/nothing-here", **auth).json()
    assert answer["detail"] == "There is no GET /api/v1/nothing-here in this API."
    schema = _post_json(Client(), "/api/v1/messages", {"recipients": [{"kind": "bc"}]},
                        **auth, **nl).json()
    messages = {tuple(e["loc"][2:]): e["msg"] for e in schema["errors"]}
    assert messages[("subject",)] == "Dit veld is verplicht."
    assert messages[("recipients", "0", "kind")] == "Geef een van 'to', 'cc' of 'bcc'."
    english = _post_json(Client(), "/api/v1/messages", {"recipients": [{"kind": "bc"}]},
                         **auth).json()
    assert {tuple(e["loc"][2:]): e["msg"] for e in english["errors"]}[("subject",)] == \
        "This field is required."


def test_the_rate_limit_answers_in_the_asked_language(sender: User, settings: Any) -> None:
    settings.API_RATE_LIMIT = 1
    auth = {"HTTP_AUTHORIZATION": f"Bearer {_token(sender)}"}
    assert Client().get(f"/api/v1/messages/{UNKNOWN}", **auth).status_code == 404
    english = Client().get(f"/api/v1/messages/{UNKNOWN}", **auth)
    dutch = Client().get(f"/api/v1/messages/{UNKNOWN}", HTTP_ACCEPT_LANGUAGE="nl", **auth)
    assert english.status_code == dutch.status_code == 429
    assert english["Retry-After"] and dutch["Retry-After"]
    assert english["Content-Language"] == "en" and dutch["Content-Language"] == "nl"
    assert "Too many requests" in english.json()["detail"]
    assert "Te veel verzoeken" in dutch.json()["detail"]


@pytest.mark.parametrize(("header", "language"), [
    ("", "en"), ("fr-FR,fr;q=0.9", "en"), ("de, nl;q=0.5", "nl"), ("en-GB", "en"),
    ("NL", "nl"), ("*", "en"), ("nl;q=0", "en"), (";;;,,=", "en"),
])
def test_the_language_comes_from_accept_language_only(
        sender: User, header: str, language: str) -> None:
    client = Client()
    # The web pages' language choice (a cookie) does not change what an API client reads.
    client.cookies["django_language"] = "nl"
    answer = client.get(f"/api/v1/messages/{UNKNOWN}", HTTP_ACCEPT_LANGUAGE=header)
    assert answer.status_code == 401
    assert answer["Content-Language"] == language


@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "America/New_York", "Asia/Kolkata"])
def test_times_are_answered_in_utc_whatever_the_time_zone(
        sender: User, settings: Any, zone: str) -> None:
    settings.TIME_ZONE = zone
    api = Client(HTTP_AUTHORIZATION=f"Bearer {_token(sender)}")
    sent = _post_json(api, "/api/v1/messages",
                      {**MESSAGE, "expires_at": "2031-03-01T17:00:00+02:00"}).json()
    assert sent["expires_at"] == "2031-03-01T15:00:00Z"
    deliver_and_get_link()
    status = api.get(f"/api/v1/messages/{sent['id']}").json()
    times = [status["created_at"], status["expires_at"],
             *(e["at"] for r in status["recipients"] for e in r["events"])]
    assert len(times) == 3
    assert all(UTC_TIME.match(t) for t in times), times
    assert status["expires_at"] == "2031-03-01T15:00:00Z"
    # A time without a zone is read in the server's zone, and answered in UTC.
    naive = _post_json(api, "/api/v1/messages",
                       {**MESSAGE, "expires_at": "2031-07-01T12:00:00"}).json()
    local = datetime(2031, 7, 1, 12, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    assert naive["expires_at"] == local.strftime("%Y-%m-%dT%H:%M:%SZ")
    revoked = api.generic("POST", f"/api/v1/messages/{send(sender).pk}/revoke").json()
    assert UTC_TIME.match(revoked["revoked_at"]), revoked["revoked_at"]
