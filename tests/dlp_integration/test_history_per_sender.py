"""The recipient check's history is the sender's own: "first message to this address" and
"first sensitive message to this address" never tell a colleague to whom someone else wrote,
because a sender may only see their own conversations."""

from __future__ import annotations

from tests.conftest import send
from zegel.dlp.models import SensitiveContact
from zegel.dlp.service import check_draft
from zegel.messaging import actions
from zegel.orgs.models import User

BSN = "111222333"  # passes the 11-proef
PIET = [actions.RecipientSpec(email="piet@example.nl", name="Piet", method="sms",
                              phone="06 12345678")]


def _kinds(sender: User, body: str = "Hallo") -> list[str]:
    result = check_draft(sender=sender, subject="x", body=body,
                         recipients=[actions.RecipientSpec(email="piet@example.nl")])
    return [r.kind for r in result.recipient_findings]


def test_a_colleagues_mail_does_not_make_an_address_known(sender: User,
                                                          teammate: User) -> None:
    send(teammate, recipients=PIET)
    # Anna never wrote to Piet: she is told it is a first contact, as if nobody had.
    assert _kinds(sender) == ["first_contact"]
    assert _kinds(teammate) == []
    send(sender, recipients=PIET)
    assert _kinds(sender) == []


def test_a_colleagues_sensitive_mail_does_not_count_as_yours(sender: User,
                                                             teammate: User) -> None:
    send(sender, body="Tot volgende week.", recipients=PIET)
    send(teammate, body=f"BSN {BSN}", recipients=PIET)
    assert _kinds(teammate, f"BSN {BSN}") == []
    # Anna wrote to Piet, but never anything sensitive: that is still her first.
    assert _kinds(sender, f"BSN {BSN}") == ["first_sensitive_contact"]
    contact = SensitiveContact.objects.get()
    assert (contact.sender_id, contact.address) == (teammate.pk, "piet@example.nl")
    send(sender, body=f"BSN {BSN}", recipients=PIET)
    assert _kinds(sender, f"BSN {BSN}") == []
    assert SensitiveContact.objects.count() == 2


def test_a_colleagues_contacts_are_not_offered_as_lookalikes(sender: User,
                                                             teammate: User) -> None:
    send(teammate, recipients=[actions.RecipientSpec(
        email="jan@huisartsen-noord.nl", name="Jan", method="sms", phone="06 12345678")])
    result = check_draft(sender=sender, subject="x", body="Hallo",
                         recipients=[actions.RecipientSpec(email="jan@huisartsen-n0ord.nl")])
    # Another sender's correspondent's domain is not revealed through a "looks like" finding.
    assert "huisartsen-noord.nl" not in str([r.detail for r in result.recipient_findings])
    assert "lookalike_domain" not in [r.kind for r in result.recipient_findings]
    own = check_draft(sender=teammate, subject="x", body="Hallo",
                      recipients=[actions.RecipientSpec(email="jan@huisartsen-n0ord.nl")])
    assert "lookalike_domain" in [r.kind for r in own.recipient_findings]


def test_the_upgrade_rebuilds_the_table_per_sender_from_the_audit_log(
        sender: User, teammate: User) -> None:
    import importlib

    from django.apps import apps

    upgrade = importlib.import_module("zegel.dlp.migrations.0003_sensitive_contact_per_sender")
    send(teammate, body=f"BSN {BSN}", recipients=PIET)
    send(sender, body="Tot volgende week.", recipients=PIET)
    # As the organisation-wide table left it: one row, nobody's in particular.
    SensitiveContact.objects.all().delete()
    upgrade.per_sender(apps, None)
    assert list(SensitiveContact.objects.values_list("sender_id", "address")) == [
        (teammate.pk, "piet@example.nl")]
    assert _kinds(sender, f"BSN {BSN}") == ["first_sensitive_contact"]
