"""What one send through the API and one delivery by the worker cost in queries, pinned at the
level of docs/performance.md ("Profile of the send path"), so the count cannot silently grow
back. Counted after a warm-up send and delivery (the first audit event creates the chain head,
the token's first use is written). SQLite needs one statement more than PostgreSQL (its
BEGIN IMMEDIATE of the transaction that writes)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import SmtpCollector
from zegel.audit.models import AuditEvent
from zegel.messaging.models import Recipient, RecipientEvent
from zegel.notify.models import OutboxItem
from zegel.notify.outbox import deliver_due
from zegel.orgs.models import ApiToken, User

# On SQLite (one statement fewer on PostgreSQL). A send: token, rate count, the recipient
# directory's contacts for the addresses (1), the data-leak settings and history (7), BEGIN
# IMMEDIATE, the transaction's inserts (conversation, two data
# keys, message, the subject's search words, recipient, link, outbox row, the message's
# audience), two audit events (head, event, head each), the history rows (2), and the answer's
# recipient events.
SEND_QUERIES = 29
# A delivery: the claim (2), the row, the revocation check, the fenced completion, the
# recipient's event in its savepoint, the audit event (head, event, head), and the event's
# link to that audit entry (docs/proof.md).
DELIVERY_QUERIES = 13


def _sqlite_begin() -> int:
    return 0 if connection.vendor == "sqlite" else -1


def _send(api: Client, n: int) -> dict[str, object]:
    body = {"subject": "Brief", "body": "Beste lezer,\n\nEen test.",
            "recipients": [{"email": f"r{n}@recipients.example", "verification": "sms",
                            "phone": "06 12345678"}]}
    response = api.post("/api/v1/messages", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    answer: dict[str, object] = response.json()
    return answer


def _statements(captured: CaptureQueriesContext) -> list[str]:
    """The statements sent, as bench/profile_send.py counts them: Django also lists the
    driver's own BEGIN (PostgreSQL) and each COMMIT, which the benchmark's execute wrapper does
    not see. SQLite's BEGIN IMMEDIATE is a statement of ours and counts."""
    return [q["sql"] for q in captured.captured_queries
            if q["sql"].upper() not in ("BEGIN", "COMMIT")]


def _listing(statements: list[str]) -> str:
    return "\n".join(sql[:160] for sql in statements)


@pytest.mark.django_db(transaction=True)
def test_one_api_send_and_one_delivery_stay_at_their_query_counts(
        sender: User, smtp_server: SmtpCollector) -> None:
    _token, secret = ApiToken.issue(sender)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    _send(api, 0)
    assert deliver_due(limit=5) == 1

    with CaptureQueriesContext(connection) as send_queries:
        answer = _send(api, 1)
    sent = _statements(send_queries)
    assert len(sent) <= SEND_QUERIES + _sqlite_begin(), _listing(sent)
    # The answer built from what the send had in hand is the one read back from the database.
    assert answer == api.get(f"/api/v1/messages/{answer['id']}").json()
    recipients = answer["recipients"]
    assert isinstance(recipients, list) and len(recipients) == 1
    assert recipients[0]["email"] == "r1@recipients.example"
    assert recipients[0]["status"] == "queued" and answer["attachments"] == []

    with CaptureQueriesContext(connection) as delivery_queries:
        assert deliver_due(limit=1) == 1
    delivered = _statements(delivery_queries)
    assert len(delivered) <= DELIVERY_QUERIES + _sqlite_begin(), _listing(delivered)

    # Nothing of the send was dropped for it: every audit event, the outbox row, the status.
    recipient = Recipient.objects.get(email="r1@recipients.example")
    item = OutboxItem.objects.get(recipient=recipient)
    assert item.state == OutboxItem.State.SENT and item.dedupe_key.startswith("notify:")
    assert list(RecipientEvent.objects.filter(recipient=recipient)
                .values_list("kind", flat=True)) == [RecipientEvent.Kind.NOTIFIED]
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["message.sent", "dlp.decision", "email.sent"]
    assert len(smtp_server.envelopes) == 2
