"""The audit log is append-only and chained."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.conftest import send
from zegel.audit.log import ChainBroken, record, verify_chain
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
    newest = AuditEvent.objects.order_by("id").last()
    assert newest is not None and verify_chain() == newest.hash
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL refuses the change itself (see the test below)")
    second = AuditEvent.objects.order_by("id")[1]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'forged' WHERE id = %s",
                       [second.pk])
    with pytest.raises(ChainBroken) as broken:
        verify_chain()
    assert broken.value.event_id == second.pk


def test_removing_the_newest_events_is_detected(db: None) -> None:
    for i in range(3):
        record("test.event", organisation=None, actor_type="system", data={"n": i})
    newest = AuditEvent.objects.order_by("id").last()
    assert newest is not None
    if connection.vendor == "postgresql":
        from django.db import DatabaseError, transaction

        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [newest.pk])
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [newest.pk])
    with pytest.raises(ChainBroken, match="newest events are missing"):
        verify_chain()


def test_events_cannot_be_changed_or_deleted_through_the_orm(db: None) -> None:
    event = record("test.event", organisation=None, actor_type="system")
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_log_lines_never_carry_link_tokens() -> None:
    import logging

    from zegel.core.logfilter import RedactTokens

    record_ = logging.LogRecord("django.request", logging.ERROR, __file__, 1,
                                "Internal Server Error: %s", ("/m/" + "a" * 43 + "/verify",),
                                None)
    RedactTokens().filter(record_)
    assert "a" * 43 not in record_.getMessage()
    assert "/m/<token>/verify" in record_.getMessage()


def test_client_address_behind_a_trusted_proxy(settings: object) -> None:
    import ipaddress

    from django.test import RequestFactory

    from zegel.audit.log import client_ip

    factory = RequestFactory()
    spoofed = factory.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert client_ip(spoofed) == "198.51.100.7"  # not a proxy of ours: header ignored
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]  # type: ignore[attr-defined]
    proxied = factory.get("/", REMOTE_ADDR="127.0.0.1",
                          HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert client_ip(proxied) == "203.0.113.9"  # the left part is the client's own claim
    direct = factory.get("/", REMOTE_ADDR="127.0.0.1")
    assert client_ip(direct) == "127.0.0.1"
