"""Held recipients and changing how a recipient verifies after sending
(zegel.messaging.actions.verification): one action releases a held recipient and changes a
notified one. Runs on SQLite and, in `make test`, on PostgreSQL (the races below)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from tests.messaging.test_concurrency import run_together
from zegel.audit.models import AuditEvent
from zegel.messaging import actions, content
from zegel.messaging.models import Recipient, RecipientEvent, RecipientLink, VerificationCode
from zegel.notify.models import CapturedMessage, OutboxItem
from zegel.orgs.models import Organisation, User

BODY = "Beste mevrouw, hierbij de uitslag."  # what tests.conftest.send sends too
PIET = actions.RecipientSpec(email="piet@example.nl", name="Piet", method="sms",
                             phone="06 12345678")


def _send_holding(sender: User, *specs: actions.RecipientSpec) -> list[Recipient]:
    message = actions.send_message(sender=sender, subject="Uitslag", body=BODY,
                                   recipients=list(specs), via="api", hold_incomplete=True)
    return list(message.conversation.recipients.order_by("id"))


def _sms_verified(token: str, phone: str = "+31612345678") -> Client:
    guest = Client()
    assert guest.post(f"/m/{token}/code").status_code == 302
    response = guest.post(f"/m/{token}/verify", {"code": latest_sms_code(phone)})
    assert response.status_code == 302
    return guest


def _opens(guest: Client, token: str) -> bool:
    return BODY.encode() in guest.get(f"/m/{token}").content


def test_a_recipient_without_a_way_to_verify_is_held_and_the_others_get_it(
        sender: User) -> None:
    piet, kees, lot = _send_holding(
        sender, PIET, actions.RecipientSpec(email="kees@example.nl", method="sms"),
        actions.RecipientSpec(email="lot@example.nl", method="access_code"))
    assert (piet.held_reason, kees.held_reason, lot.held_reason) == (
        "", "phone_missing", "access_code_missing")
    deliver_and_get_link("piet@example.nl")
    # No link, no notification, no outbox row for the held ones; an event for the sender.
    assert not RecipientLink.objects.filter(recipient__in=[kees, lot]).exists()
    assert not OutboxItem.objects.filter(recipient__in=[kees, lot]).exists()
    assert not CapturedMessage.objects.filter(to__in=[kees.email, lot.email]).exists()
    assert list(RecipientEvent.objects.filter(recipient=kees).values_list("kind", "detail")) \
        == [("held", "phone_missing")]
    sent = AuditEvent.objects.get(action="message.sent")
    assert sent.data["held"] == {"kees@example.nl": "phone_missing",
                                 "lot@example.nl": "access_code_missing"}
    # Nothing a guest does reaches a held recipient; nor does sending again.
    with pytest.raises(actions.NotFound):
        actions.request_code(kees, "a-session")
    with pytest.raises(actions.ActionError) as refused:
        actions.resend_notification(sender=sender, recipient=kees)
    assert refused.value.status == 409
    assert not RecipientLink.objects.filter(recipient=kees).exists()


def test_a_bad_value_is_still_refused_and_the_web_form_refuses_a_missing_one(
        sender: User) -> None:
    # Holding is for what is missing: a wrong number is a mistake to fix now.
    with pytest.raises(actions.ActionErrors) as wrong:
        _send_holding(sender, PIET, actions.RecipientSpec(email="k@example.nl", phone="12"))
    assert [e.field for e in wrong.value.errors] == ["1.phone"]
    # Without hold_incomplete (the compose page) a missing number is a field error too.
    with pytest.raises(actions.ActionErrors) as missing:
        send(sender, recipients=[actions.RecipientSpec(email="k@example.nl", method="sms")])
    assert [e.field for e in missing.value.errors] == ["0.phone"]
    assert not Recipient.objects.exists()


def test_the_e_mail_code_where_it_is_not_allowed_holds(sender: User, org: Organisation) -> None:
    org.email_code_allowed = False
    org.save()
    (kees,) = _send_holding(sender, actions.RecipientSpec(email="kees@example.nl",
                                                          method="email"))
    assert kees.held_reason == "method_not_allowed"
    with pytest.raises(actions.ActionErrors) as refused:
        actions.change_verification(sender=sender, recipient=kees, method="email")
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("method", "method_not_allowed")]


def test_adding_the_number_releases_it_once(sender: User) -> None:
    _piet, kees = _send_holding(sender, PIET,
                               actions.RecipientSpec(email="kees@example.nl", method="sms"))
    result = actions.change_verification(sender=sender, recipient=kees, method="sms",
                                         phone="06 87654321")
    assert result.changed and result.released
    kees.refresh_from_db()
    assert (kees.held_reason, kees.phone) == ("", "+31687654321")
    again = actions.change_verification(sender=sender, recipient=kees, method="sms",
                                        phone="+31 6 87654321")
    assert not again.changed and not again.released
    assert RecipientLink.objects.filter(recipient=kees).count() == 1
    assert OutboxItem.objects.filter(recipient=kees, purpose="notification").count() == 1
    assert AuditEvent.objects.filter(action="recipient.released").count() == 1
    token = deliver_and_get_link("kees@example.nl")
    assert _opens(_sms_verified(token, "+31687654321"), token)
    assert [e.kind for e in RecipientEvent.objects.filter(recipient=kees)] == [
        "held", "released", "notified", "verified", "opened"]
    # The audit log never holds the number in full.
    assert "87654321" not in json.dumps(list(AuditEvent.objects.values_list("data", flat=True)))


def test_changing_the_number_ends_codes_links_and_sessions(sender: User) -> None:
    send(sender, recipients=[PIET])
    old_token = deliver_and_get_link()
    verified = _sms_verified(old_token)
    waiting = Client()
    waiting.post(f"/m/{old_token}/code")
    old_code = latest_sms_code()
    piet = Recipient.objects.get()
    result = actions.change_verification(sender=sender, recipient=piet, method="sms",
                                         phone="06 11112222")
    assert result.changed and not result.released
    assert not VerificationCode.objects.filter(used_at__isnull=True).exists()
    assert content.find_link(old_token) is None
    new_token = deliver_and_get_link()
    assert new_token != old_token
    # The browser verified before must verify again, with a code to the new number; the code
    # sent to the old number opens nothing.
    page = verified.get(f"/m/{new_token}")
    assert BODY.encode() not in page.content and b"+31 6 ** ** ** 22" in page.content
    assert waiting.post(f"/m/{new_token}/verify", {"code": old_code}).status_code == 400
    assert _opens(_sms_verified(new_token, "+31611112222"), new_token)
    event = AuditEvent.objects.get(action="recipient.verification_changed")
    assert event.data["phone"] == "+31 6 ** ** ** 22" and event.data["phone_changed"]
    assert event.data["codes_killed"] == 1 and event.data["links_killed"] == 1
    assert "11112222" not in json.dumps(event.data) and "12345678" not in json.dumps(event.data)


def test_switching_to_an_access_code(sender: User) -> None:
    send(sender, recipients=[PIET])
    deliver_and_get_link()
    piet = Recipient.objects.get()
    with pytest.raises(actions.ActionErrors) as short:
        actions.change_verification(sender=sender, recipient=piet, method="access_code",
                                    access_code="123")
    assert short.value.errors[0].field == "access_code"
    actions.change_verification(sender=sender, recipient=piet, method="access_code",
                                access_code="geheim-42", access_code_hint="de kamer")
    piet.refresh_from_db()
    assert (piet.method, piet.phone, piet.access_code_hint) == ("access_code", "", "de kamer")
    # The same code and hint again: nothing to do.
    assert not actions.change_verification(sender=sender, recipient=piet, method="access_code",
                                           access_code="geheim-42",
                                           access_code_hint="de kamer").changed
    token = deliver_and_get_link()
    guest = Client()
    assert guest.post(f"/m/{token}/verify", {"code": "geheim-42"}).status_code == 302
    assert _opens(guest, token)


def test_a_change_keeps_to_what_the_data_leak_rules_required(sender: User) -> None:
    # The shipped rules require an SMS or access code for a BSN (tests/dlp_integration).
    send(sender, body="BSN: 111222333", recipients=[PIET])
    piet = Recipient.objects.get()
    assert piet.conversation.required_methods == "access_code,sms"
    with pytest.raises(actions.ActionErrors) as weaker:
        actions.change_verification(sender=sender, recipient=piet, method="email")
    assert weaker.value.errors[0].field == "method"
    piet.refresh_from_db()
    assert piet.method == "sms" and piet.auth_version == 0
    assert actions.change_verification(sender=sender, recipient=piet, method="access_code",
                                       access_code="geheim-42").changed


@pytest.mark.parametrize("what", ["recipient", "conversation"])
def test_a_revoked_recipient_or_conversation_cannot_be_changed(sender: User, what: str) -> None:
    _piet, kees = _send_holding(sender, PIET,
                                actions.RecipientSpec(email="kees@example.nl", method="sms"))
    if what == "recipient":
        actions.revoke_recipient(sender=sender, recipient=kees)
    else:
        actions.revoke_conversation(sender=sender, conversation=kees.conversation)
    with pytest.raises(actions.ActionError) as refused:
        actions.change_verification(sender=sender, recipient=kees, method="sms",
                                    phone="06 87654321")
    assert refused.value.status == 409
    assert not RecipientLink.objects.filter(recipient=kees).exists()


def test_bad_input_and_someone_elses_recipient(sender: User, outsider: User) -> None:
    (_piet, kees) = _send_holding(sender, PIET,
                                  actions.RecipientSpec(email="kees@example.nl", method="sms"))
    with pytest.raises(actions.ActionErrors) as bad:
        actions.change_verification(sender=sender, recipient=kees, method="sms", phone="12")
    assert bad.value.errors[0].field == "phone"
    with pytest.raises(actions.ActionErrors) as none:
        actions.change_verification(sender=sender, recipient=kees, method="")
    assert none.value.errors[0].field == "method"
    with pytest.raises(actions.NotFound):
        actions.change_verification(sender=outsider, recipient=kees, method="sms",
                                    phone="06 87654321")
    kees.refresh_from_db()
    assert kees.held_reason == "phone_missing"


def test_an_answer_addresses_a_held_recipient_without_notifying_it(sender: User) -> None:
    piet, kees = _send_holding(sender, PIET,
                               actions.RecipientSpec(email="kees@example.nl", method="sms"))
    answer = actions.answer_conversation(sender=sender, conversation=piet.conversation,
                                         body="Nog iets.")
    assert set(answer.audience.all()) == {piet, kees}
    assert not OutboxItem.objects.filter(recipient=kees).exists()


@pytest.mark.django_db(transaction=True)
def test_two_releases_at_once_notify_once(sender: User, settings: Any) -> None:
    _piet, kees = _send_holding(sender, PIET,
                                actions.RecipientSpec(email="kees@example.nl", method="sms"))

    def release() -> bool:
        return actions.change_verification(sender=sender, recipient=kees, method="sms",
                                           phone="06 87654321").changed

    results = run_together([release] * 4)
    assert sorted(results) == [False, False, False, True]
    assert RecipientLink.objects.filter(recipient=kees).count() == 1
    assert OutboxItem.objects.filter(recipient=kees, purpose="notification").count() == 1


@pytest.mark.django_db(transaction=True)
def test_changes_at_once_and_a_change_racing_a_verification_stay_consistent(
        sender: User) -> None:
    send(sender, recipients=[PIET])
    token = deliver_and_get_link()
    piet = Recipient.objects.get()
    guest = Client()
    guest.post(f"/m/{token}/code")
    code = latest_sms_code()

    def change(phone: str) -> Any:
        return actions.change_verification(sender=sender, recipient=piet, method="sms",
                                           phone=phone).changed

    def verify() -> int:
        return guest.post(f"/m/{token}/verify", {"code": code}).status_code

    results = run_together([lambda: change("06 11112222"), lambda: change("06 33334444"),
                            verify])
    assert results[:2] == [True, True], results
    assert results[2] in (302, 400, 404), results
    piet.refresh_from_db()
    assert piet.auth_version == 2 and piet.phone in ("+31611112222", "+31633334444")
    # One live link and one notification still to go, with the number that won.
    assert RecipientLink.objects.filter(recipient=piet).count() == 1
    waiting = OutboxItem.objects.filter(recipient=piet, purpose="notification",
                                        state=OutboxItem.State.PENDING)
    assert waiting.count() == 1
    assert RecipientEvent.objects.filter(kind="method_changed").count() == 2
    # Whatever the order, the browser is not in: it verified under the old number, or not.
    new_token = deliver_and_get_link()
    assert not _opens(guest, new_token)


def test_the_required_methods_of_several_sends_combine() -> None:
    from zegel.messaging.guards import joined_methods

    assert joined_methods("", {"sms", "access_code"}) == "access_code,sms"
    assert joined_methods("access_code,sms", set()) == "access_code,sms"
    assert joined_methods("access_code,sms", {"sms"}) == "sms"
    assert joined_methods("sms", {"access_code"}) == "access_code"  # never none
    assert joined_methods("", set()) == ""
