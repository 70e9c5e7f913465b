"""The API's side of per-message audiences: send accepts bcc, answer accepts an audience, and
the message and conversation read endpoints report whom each message is addressed to."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from zegel.notify.models import OutboxItem
from zegel.orgs.models import ApiToken, User


@pytest.fixture
def api(sender: User) -> Client:
    _token, secret = ApiToken.issue(sender)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _post(api: Client, path: str, payload: dict[str, Any]) -> Any:
    return api.post(path, json.dumps(payload), content_type="application/json")


@pytest.fixture
def sent(api: Client) -> dict[str, Any]:
    response = _post(api, "/api/v1/messages", {
        "subject": "Uitslag", "body": "Tekst",
        "recipients": [{"email": "moeder@example.nl", "verification": "email"},
                       {"email": "vader@example.nl", "verification": "email", "kind": "bcc"}]})
    assert response.status_code == 201, response.content
    answer: dict[str, Any] = response.json()
    return answer


def _ids(sent: dict[str, Any]) -> dict[str, int]:
    return {r["email"]: r["id"] for r in sent["recipients"]}


def test_send_accepts_bcc_and_reports_the_audience(api: Client, sent: dict[str, Any]) -> None:
    assert [r["kind"] for r in sent["recipients"]] == ["to", "bcc"]
    assert sent["audience"] == sorted(_ids(sent).values())
    assert sent["author_recipient_id"] is None
    again = api.get(f"/api/v1/messages/{sent['id']}").json()
    assert again["audience"] == sent["audience"]


def test_an_answer_to_one_recipient_is_addressed_and_notified_to_that_one(
        api: Client, sent: dict[str, Any]) -> None:
    mother = _ids(sent)["moeder@example.nl"]
    response = _post(api, f"/api/v1/messages/{sent['id']}/answer",
                     {"body": "Alleen voor moeder", "audience": [mother]})
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["audience"] == [mother]
    assert answer["conversation_id"] == sent["conversation_id"]
    assert set(OutboxItem.objects.filter(message_id=answer["id"], purpose="notification")
               .values_list("recipient_id", flat=True)) == {mother}
    everyone = _post(api, f"/api/v1/messages/{answer['id']}/answer", {"body": "Voor beiden"})
    assert everyone.status_code == 201
    assert everyone.json()["audience"] == sorted(_ids(sent).values())
    thread = api.get(f"/api/v1/conversations/{sent['conversation_id']}").json()
    assert [m["audience"] for m in thread["messages"]] == [
        sorted(_ids(sent).values()), [mother], sorted(_ids(sent).values())]
    assert [r["kind"] for r in thread["recipients"]] == ["to", "bcc"]
    assert "subject" not in thread and "body" not in thread["messages"][0]


@pytest.mark.parametrize(("audience", "status"), [
    ([], 400), ([999_999], 400), (["x"], 422), ("other", 400)])
def test_a_bad_audience_is_a_problem_and_sends_nothing(
        api: Client, sent: dict[str, Any], audience: Any, status: int) -> None:
    if audience == "other":
        other = _post(api, "/api/v1/messages", {
            "subject": "Ander", "body": "Tekst",
            "recipients": [{"email": "ander@example.nl", "verification": "email"}]}).json()
        audience = [other["recipients"][0]["id"]]
    count = OutboxItem.objects.count()
    response = _post(api, f"/api/v1/messages/{sent['id']}/answer",
                     {"body": "Tekst", "audience": audience})
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    if status == 400:
        assert response.json()["field"] == "audience"
    assert OutboxItem.objects.count() == count


def test_answer_and_conversation_of_someone_else_are_not_found(
        sent: dict[str, Any], outsider: User) -> None:
    _token, secret = ApiToken.issue(outsider)
    other = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert _post(other, f"/api/v1/messages/{sent['id']}/answer",
                 {"body": "Tekst"}).status_code == 404
    assert other.get(f"/api/v1/conversations/{sent['conversation_id']}").status_code == 404
    assert other.get("/api/v1/conversations/not-a-uuid").status_code == 404


def test_a_bad_kind_is_refused(api: Client) -> None:
    response = _post(api, "/api/v1/messages", {
        "subject": "S", "body": "T",
        "recipients": [{"email": "a@example.nl", "verification": "email", "kind": "bcc2"}]})
    assert response.status_code == 422


@pytest.mark.parametrize(("kind", "flagged"), [("to", True), ("bcc", False)])
def test_many_recipients_in_bcc_do_not_see_each_other(api: Client, kind: str,
                                                      flagged: bool) -> None:
    response = _post(api, "/api/v1/check", {
        "subject": "Nieuwsbrief", "body": "Tekst",
        "recipients": [{"email": f"r{i}@example.nl", "verification": "email", "kind": kind}
                       for i in range(11)]})
    assert response.status_code == 200, response.content
    kinds = {f["kind"] for f in response.json()["recipient_findings"]}
    assert ("many_recipients" in kinds) is flagged
