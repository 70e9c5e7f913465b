"""POST /api/v1/messages holds a recipient it cannot send to yet; PATCH
/api/v1/messages/{id}/recipients/{rid} releases it, or changes how a recipient verifies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import deliver_and_get_link
from zegel.messaging.models import RecipientLink
from zegel.orgs.models import ApiToken, Organisation, User


@pytest.fixture
def api(sender: User) -> Client:
    _token, secret = ApiToken.issue(sender)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _send(api: Client, *recipients: dict[str, Any]) -> Any:
    response = api.post("/api/v1/messages", json.dumps({
        "subject": "Brief", "body": "Zie bijlage.", "recipients": [
            {"email": "piet@example.nl", "verification": "sms", "phone": "06 12345678"},
            *recipients]}), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def _patch(api: Client, message_id: str, recipient_id: object, **body: Any) -> Any:
    return api.patch(f"/api/v1/messages/{message_id}/recipients/{recipient_id}",
                     json.dumps(body), content_type="application/json")


def test_a_recipient_with_only_an_address_is_held_and_released(
        api: Client, org: Organisation) -> None:
    org.email_code_allowed = False
    org.save()
    sent = _send(api, {"email": "kees@example.nl"},
                 {"email": "lot@example.nl", "verification": "email"})
    piet, kees, lot = sent["recipients"]
    assert piet["status"] == "queued" and piet["held_reason"] is None
    assert (kees["status"], kees["held_reason"]) == ("held", "method_missing")
    assert (lot["status"], lot["held_reason"]) == ("held", "method_not_allowed")
    assert "lot@example.nl" in lot["held_text"]
    deliver_and_get_link("piet@example.nl")
    # The held ones stay held and visible when the message is read back.
    again = api.get(f"/api/v1/messages/{sent['id']}").json()["recipients"]
    assert [r["status"] for r in again] == ["notified", "held", "held"]
    released = _patch(api, sent["id"], kees["id"], verification="sms", phone="06 87654321")
    assert released.status_code == 200, released.content
    answer = released.json()
    assert answer["changed"] and answer["released"]
    assert answer["recipient"]["status"] == "released"
    assert answer["recipient"]["held_reason"] is None
    # Sent twice (a retry): nothing more happens.
    twice = _patch(api, sent["id"], kees["id"], verification="sms", phone="+31687654321")
    assert twice.status_code == 200 and not twice.json()["changed"]
    assert RecipientLink.objects.filter(recipient_id=kees["id"]).count() == 1
    deliver_and_get_link("kees@example.nl")


def test_changing_how_a_notified_recipient_verifies(api: Client) -> None:
    sent = _send(api)
    piet = sent["recipients"][0]
    # Left out, the method stays the one the recipient has.
    changed = _patch(api, sent["id"], piet["id"], phone="06 11112222")
    assert changed.status_code == 200, changed.content
    assert changed.json()["changed"] and not changed.json()["released"]
    assert changed.json()["recipient"]["events"][-1]["kind"] == "method_changed"


def test_bad_requests(api: Client, org: Organisation, outsider: User) -> None:
    org.email_code_allowed = False
    org.save()
    sent = _send(api, {"email": "kees@example.nl", "verification": "sms"})
    kees = sent["recipients"][1]
    bad_phone = _patch(api, sent["id"], kees["id"], verification="sms", phone="12")
    assert bad_phone.status_code == 400 and bad_phone.json()["field"] == "phone"
    not_allowed = _patch(api, sent["id"], kees["id"], verification="email")
    assert not_allowed.status_code == 400 and not_allowed.json()["field"] == "method"
    short = _patch(api, sent["id"], kees["id"], verification="access_code", access_code="12")
    assert short.status_code == 400 and short.json()["field"] == "access_code"
    assert _patch(api, sent["id"], 999999, phone="06 87654321").status_code == 404
    assert _patch(api, sent["id"], "x", phone="06 87654321").status_code == 422
    assert _patch(api, "not-a-uuid", kees["id"], phone="06 87654321").status_code == 404
    unknown = _patch(api, sent["id"], kees["id"], verification="fax")
    assert unknown.status_code == 422
    # Another organisation's token finds neither the message nor its recipient.
    _token, secret = ApiToken.issue(outsider)
    other = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert _patch(other, sent["id"], kees["id"], phone="06 87654321").status_code == 404
    # A recipient of another message of the same sender is not this message's.
    second = _send(api)
    assert _patch(api, second["id"], kees["id"], phone="06 87654321").status_code == 404
    assert not RecipientLink.objects.filter(recipient_id=kees["id"]).exists()
    # Revoked: refused with a conflict, and the recipient stays without a link.
    assert api.generic("POST", f"/api/v1/messages/{sent['id']}/revoke").status_code == 200
    revoked = _patch(api, sent["id"], kees["id"], phone="06 87654321")
    assert revoked.status_code == 409 and revoked.json()["detail"]
    assert not RecipientLink.objects.filter(recipient_id=kees["id"]).exists()
