"""GET /api/v1/messages (the token user's sent messages with each recipient's status) and
GET /api/v1/messages/{id}/proof."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from tests.conftest import deliver_and_get_link, send
from zegel.api import tracking
from zegel.audit.models import AuditEvent
from zegel.messaging import actions
from zegel.messaging.models import Message
from zegel.orgs.models import ApiToken, User


def _client(user: User, scopes: tuple[str, ...] | None = None) -> Client:
    _token, secret = ApiToken.issue(user, scopes=scopes)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def api(sender: User) -> Client:
    return _client(sender)


def _spec(email: str) -> actions.RecipientSpec:
    return actions.RecipientSpec(email=email, method="email")


def test_the_list_is_newest_first_with_each_recipients_status(sender: User, teammate: User,
                                                              api: Client) -> None:
    first = send(sender)
    deliver_and_get_link()
    second = send(sender, recipients=[_spec("a@example.nl"), _spec("b@example.nl")])
    answer = actions.answer_conversation(sender=sender, conversation=first.conversation,
                                         body="Nog een vraag.")
    send(teammate, recipients=[_spec("c@example.nl")])  # not the token user's
    body = api.get("/api/v1/messages").json()
    assert [m["id"] for m in body["messages"]] == [str(answer.pk), str(second.pk),
                                                   str(first.pk)]
    assert (body["page"], body["pages"], body["total"]) == (1, 1, 3)
    by_id = {m["id"]: m for m in body["messages"]}
    (piet,) = by_id[str(first.pk)]["recipients"]
    assert piet["email"] == "piet@example.nl" and piet["status"] == "notified"
    assert piet["status_at"].endswith("Z")
    # The answer's own notification is not sent yet: its status is its own.
    assert by_id[str(answer.pk)]["recipients"][0]["status"] == "queued"
    assert [r["status"] for r in by_id[str(second.pk)]["recipients"]] == ["queued", "queued"]


def test_pages_and_since(sender: User, api: Client, monkeypatch: Any) -> None:
    monkeypatch.setattr(tracking, "PAGE_SIZE", 2)
    messages = [send(sender, subject=f"Bericht {i}") for i in range(3)]
    old = datetime(2026, 1, 1, 9, tzinfo=UTC)
    Message.objects.filter(pk=messages[0].pk).update(created_at=old)
    page_two = api.get("/api/v1/messages?page=2").json()
    assert page_two["pages"] == 2 and [m["id"] for m in page_two["messages"]] == \
        [str(messages[0].pk)]
    since = (old + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = api.get(f"/api/v1/messages?since={since}").json()
    assert recent["total"] == 2 and str(messages[0].pk) not in str(recent)
    # Without a zone: UTC.
    assert api.get("/api/v1/messages?since=2026-01-01T09:00:00").json()["total"] == 3


@pytest.mark.parametrize(("query", "status", "field"), [
    ("page=0", 400, "page"), ("page=abc", 400, "page"), ("page=-1", 400, "page"),
    ("page=99", 404, "page"), ("since=yesterday", 400, "since"),
    ("since=2026-13-01T00:00:00Z", 400, "since"), ("since=" + "9" * 80, 400, "since"),
])
def test_bad_paging_is_a_problem_naming_the_parameter(sender: User, api: Client, query: str,
                                                      status: int, field: str) -> None:
    send(sender)
    response = api.get(f"/api/v1/messages?{query}")
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["field"] == field


def _queries(api: Client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get("/api/v1/messages").status_code == 200
    return len(captured.captured_queries)


def test_a_page_costs_the_same_queries_for_one_message_or_many(sender: User,
                                                               api: Client) -> None:
    send(sender)
    deliver_and_get_link()
    _queries(api)  # the token's last use is written once a minute: not in what is counted
    one = _queries(api)
    for i in range(6):
        send(sender, recipients=[_spec(f"r{i}@example.nl"), _spec(f"s{i}@example.nl")])
    many = _queries(api)
    assert many == one


def test_the_proof_over_the_api(sender: User, api: Client) -> None:
    message = send(sender)
    deliver_and_get_link()
    doc = api.get(f"/api/v1/messages/{message.pk}/proof").json()
    assert doc["format"] == "zegel-proof-of-delivery/1"
    assert doc["message"]["id"] == str(message.pk)
    event = doc["recipients"][0]["events"][0]
    assert AuditEvent.objects.get(pk=event["audit"]["sequence"]).hash == event["audit"]["hash"]
    issued = AuditEvent.objects.get(pk=doc["issued"]["audit"]["sequence"])
    assert (issued.action, issued.actor_type) == ("proof.created", "api")
    pdf = api.get(f"/api/v1/messages/{message.pk}/proof?format=pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert str(message.pk) in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    bad = api.get(f"/api/v1/messages/{message.pk}/proof?format=docx")
    assert bad.status_code == 400 and bad.json()["field"] == "format"


def test_the_proof_of_someone_elses_message_is_refused(sender: User, teammate: User,
                                                       outsider: User, org: Any) -> None:
    message = send(sender)
    auditor = User.objects.create_user("kees@zorggroep-noord.nl", org, None, name="Kees",
                                       role="auditor")
    for user, status in ((outsider, 404), (teammate, 404), (auditor, 403)):
        # The auditor's token has the read scope; the role does not allow it.
        response = _client(user, ("read",)).get(f"/api/v1/messages/{message.pk}/proof")
        assert response.status_code == status, user.email
        assert response["Content-Type"] == "application/problem+json"
    missing = _client(sender).get("/api/v1/messages/00000000-0000-0000-0000-000000000000"
                                     "/proof")
    assert missing.status_code == 404
    assert not AuditEvent.objects.filter(action="proof.created").exists()
