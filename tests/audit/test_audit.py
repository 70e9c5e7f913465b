"""The audit log is append-only and chained."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.conftest import send
from zegel.audit.log import record, verify_chain
from zegel.audit.models import AuditEvent
from zegel.orgs.models import User


def test_sending_is_audited_without_content(sender: User) -> None:
    send(sender, subject="Geheim onderwerp", body="Geheime inhoud")
    event = AuditEvent.objects.get(action="message.sent")
    assert event.actor_label == sender.email
    text = str(event.data)
    assert "Geheim" not in text and "piet@example.nl" in text


def test_chain_verifies_and_detects_tampering(org: object) -> None:
    for i in range(3):
        record("test.event", organisation=None, actor_type="system", data={"n": i})
    assert verify_chain() is None
    second = AuditEvent.objects.order_by("id")[1]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'forged' WHERE id = %s",
                       [second.pk])
    assert verify_chain() == second.pk


def test_events_cannot_be_changed_or_deleted_through_the_orm(db: None) -> None:
    event = record("test.event", organisation=None, actor_type="system")
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_log_lines_never_carry_link_tokens() -> None:
    import logging

    from zegel.logfilter import RedactTokens

    record_ = logging.LogRecord("django.request", logging.ERROR, __file__, 1,
                                "Internal Server Error: %s", ("/m/" + "a" * 43 + "/verify",),
                                None)
    RedactTokens().filter(record_)
    assert "a" * 43 not in record_.getMessage()
    assert "/m/<token>/verify" in record_.getMessage()
