"""The data-leak rules stop, warn about or let through a message on every way of sending."""

from __future__ import annotations

import pytest

from tests.conftest import send
from zegel.audit.models import AuditEvent
from zegel.dlp.service import DlpRefused, check_draft
from zegel.messaging import actions
from zegel.messaging.models import Conversation, Message
from zegel.orgs.models import User

BSN = "111222333"  # passes the 11-proef
CARD = "4111 1111 1111 1111"  # a Visa test number, passes Luhn


def gmail(method: str = "sms") -> list[actions.RecipientSpec]:
    return [actions.RecipientSpec(email="jan.patient@gmail.com", name="Jan", method=method,
                                  phone="06 12345678", access_code="geheim-123456")]


def test_an_ordinary_message_to_a_new_address_goes_out(sender: User) -> None:
    send(sender)
    decision = AuditEvent.objects.get(action="dlp.decision")
    assert decision.data["outcome"] == "sent"
    assert decision.data["recipient_findings"] == {"first_contact": 1}


def test_it_refuses_a_bsn_to_free_mail_until_the_sender_confirms(sender: User) -> None:
    with pytest.raises(DlpRefused) as refused:
        send(sender, body=f"Het BSN van uw moeder is {BSN}.", recipients=gmail())
    assert refused.value.field == "dlp" and refused.value.status == 400
    assert "Sensitive data to a free-mail address" in [r["name"] for r in refused.value.rules]
    assert not Message.objects.exists()

    actions.send_message(sender=sender, subject="Gegevens", body=f"Het BSN is {BSN}.",
                         recipients=gmail(), dlp_confirmed=True)
    assert Message.objects.count() == 1

    events = list(AuditEvent.objects.filter(action__startswith="dlp.").order_by("id"))
    assert [(e.action, e.data["outcome"]) for e in events] == [
        ("dlp.decision", "unconfirmed"), ("dlp.decision", "sent"), ("dlp.override", "confirmed"),
    ]
    assert events[-1].data["findings"] == {"bsn": 1}
    assert BSN not in str([e.data for e in events]) and "2333" not in str([e.data for e in events])


def test_a_payment_card_number_is_blocked_even_when_confirmed(sender: User) -> None:
    with pytest.raises(DlpRefused) as refused:
        send(sender, body=f"Kaartnummer {CARD}, vervaldatum 12/29.")
    assert refused.value.rules[0]["name"] == "Payment card number"
    with pytest.raises(DlpRefused):
        actions.send_message(sender=sender, subject="Betaling", body=f"Kaart {CARD}",
                             recipients=gmail(), dlp_confirmed=True)
    assert not Message.objects.exists()
    outcomes = AuditEvent.objects.filter(action="dlp.decision").values_list("data__outcome",
                                                                            flat=True)
    assert list(outcomes) == ["blocked", "blocked"]


def test_a_bsn_with_an_email_code_needs_sms_or_an_access_code(sender: User) -> None:
    recipients = [actions.RecipientSpec(email="piet@example.nl", method="email")]
    with pytest.raises(DlpRefused) as refused:
        send(sender, body=f"BSN: {BSN}", recipients=recipients)
    assert refused.value.rules[0]["action"] == "require"
    result = check_draft(sender=sender, subject="x", body=f"BSN: {BSN}", recipients=recipients)
    assert result.required_methods == ["access_code", "sms"]

    send(sender, body=f"BSN: {BSN}",
         recipients=[actions.RecipientSpec(email="piet@example.nl", method="access_code",
                                           access_code="geheim-123456")])
    assert Message.objects.count() == 1


def test_answers_are_checked_too(sender: User) -> None:
    message = send(sender, recipients=gmail())
    conversation = Conversation.objects.get(pk=message.conversation_id)
    with pytest.raises(DlpRefused):
        actions.answer_conversation(sender=sender, conversation=conversation,
                                    body=f"Nog even het BSN: {BSN}")
    actions.answer_conversation(sender=sender, conversation=conversation,
                                body=f"Nog even het BSN: {BSN}", dlp_confirmed=True)
    assert conversation.messages.count() == 2


def test_findings_never_carry_the_value(sender: User) -> None:
    result = check_draft(sender=sender, subject=f"BSN {BSN}", body=f"Kaart {CARD}",
                         recipients=gmail())
    where = {(f.where, f.finding.kind) for f in result.findings}
    assert where == {("subject", "bsn"), ("body", "payment_card")}
    assert BSN not in str(result.as_json()) and "4111 1111" not in str(result.as_json())
    assert result.blocked


def test_a_second_sensitive_message_to_a_known_address_is_no_first(sender: User) -> None:
    send(sender, body=f"BSN {BSN}")
    result = check_draft(sender=sender, subject="x", body=f"BSN {BSN}",
                         recipients=[actions.RecipientSpec(email="PIET@example.nl")])
    assert [r.kind for r in result.recipient_findings] == []


def test_the_first_sensitive_message_to_a_known_address_is_pointed_out(sender: User) -> None:
    send(sender, body="Tot volgende week.")
    result = check_draft(sender=sender, subject="x", body=f"BSN {BSN}",
                         recipients=[actions.RecipientSpec(email="piet@example.nl")])
    assert [r.kind for r in result.recipient_findings] == ["first_sensitive_contact"]
    assert [r.rule for r in result.decision.results] == [
        "BSN needs strong verification", "First sensitive message to this address"]


def test_history_is_per_organisation(sender: User, outsider: User) -> None:
    send(sender)
    result = check_draft(sender=outsider, subject="x", body="Hallo",
                         recipients=[actions.RecipientSpec(email="piet@example.nl")])
    assert [r.kind for r in result.recipient_findings] == ["first_contact"]


def test_attachments_are_scanned_at_send(sender: User) -> None:
    from tests.messaging.test_attachments import make_attachment

    card_file = make_attachment(sender, f"Naam;Kaart\nJan;{CARD}\n".encode(), "lijst.csv")
    with pytest.raises(DlpRefused):
        send(sender, attachments=[card_file])
    result = check_draft(sender=sender, subject="x", body="", recipients=gmail(),
                         attachments=[card_file])
    [finding] = result.findings
    assert (finding.where, finding.index, finding.name) == ("attachment", 0, "lijst.csv")


def test_an_unreadable_attachment_is_reported_not_scanned(sender: User) -> None:
    from tests.messaging.test_attachments import make_attachment

    broken = make_attachment(sender, b"%PDF-1.4 not really a pdf", "brief.pdf")
    message = send(sender, attachments=[broken])
    assert message.attachments.count() == 1
    decision = AuditEvent.objects.get(action="dlp.decision")
    assert decision.data["findings"] == {"not_scanned": 1}
    # Sent by SMS: the rules that require it count the unread file as sensitive.
    assert [r["name"] for r in decision.data["rules"]] == [
        "BSN needs strong verification", "Medical content needs strong verification",
        "Attachment not scanned",
    ]
    assert decision.data["sensitive"] is True


def test_sensitive_history_is_kept_in_its_own_table(sender: User) -> None:
    from zegel.dlp.models import SensitiveContact

    send(sender, body="Tot volgende week.")
    assert not SensitiveContact.objects.exists()
    send(sender, body=f"BSN {BSN}", recipients=[
        actions.RecipientSpec(email="Piet@Example.nl", name="Piet", method="sms",
                              phone="06 12345678")])
    contact = SensitiveContact.objects.get()
    assert (contact.organisation_id, contact.address) == (sender.organisation_id,
                                                          "piet@example.nl")
    first = contact.first_sent_at
    send(sender, body=f"Nog eens BSN {BSN}")
    assert SensitiveContact.objects.get().first_sent_at == first
    # The decision is still in the audit log, as evidence.
    assert AuditEvent.objects.filter(action="dlp.decision", data__sensitive=True).count() == 2


def test_sensitive_history_does_not_read_the_audit_log(sender: User) -> None:
    from zegel.audit.log import record

    message = send(sender, body="Tot volgende week.")
    # An audit event alone (evidence, not operational data) does not make an address known.
    record("dlp.decision", organisation=sender.organisation, actor_type="system",
           object_type="conversation", object_id=message.conversation_id,
           data={"outcome": "sent", "sensitive": True})
    result = check_draft(sender=sender, subject="x", body=f"BSN {BSN}",
                         recipients=[actions.RecipientSpec(email="piet@example.nl")])
    assert [r.kind for r in result.recipient_findings] == ["first_sensitive_contact"]
