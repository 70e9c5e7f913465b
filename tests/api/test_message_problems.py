"""POST /api/v1/messages: every problem of a message at once, and the organisation's default
end date when the request names none."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from django.test import Client
from django.utils import timezone

from zegel.orgs.models import ApiToken, Organisation, User


def test_the_api_lists_every_problem(sender: User) -> None:
    _token, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.post("/api/v1/messages", json.dumps({
        "subject": "x", "body": "y", "recipients": [
            # A wrong number, not a missing one: a missing one holds the recipient instead.
            {"email": "a@example.nl", "verification": "sms", "phone": "12"},
            {"email": "b@example.nl", "verification": "access_code", "access_code": "1"}]}),
        content_type="application/json")
    assert response.status_code == 400
    problem = response.json()
    assert problem["field"] == "0.phone"
    assert [e["loc"] for e in problem["errors"]] == [["recipients", "0", "phone"],
                                                     ["recipients", "1", "access_code"]]
    assert "b@example.nl" in problem["errors"][1]["msg"]


def test_the_api_gives_a_message_without_an_end_date_the_default(
        sender: User, org: Organisation) -> None:
    org.default_expiry_days = 7
    org.save()
    _token, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = {"subject": "x", "body": "y",
            "recipients": [{"email": "a@example.nl", "verification": "email"}]}
    left_out = api.post("/api/v1/messages", json.dumps(body), content_type="application/json")
    assert left_out.status_code == 201
    until = datetime.fromisoformat(left_out.json()["expires_at"])
    assert abs(until - (timezone.now() + timedelta(days=7))) < timedelta(minutes=5)
    none = api.post("/api/v1/messages", json.dumps({**body, "expires_at": None}),
                    content_type="application/json")
    assert none.status_code == 201 and none.json()["expires_at"] is None
