""""Remember this browser": an organisation's option, off by default. A remembered browser
opens new messages from the same organisation to the same person without a code; a copied
cookie opens nobody else's link; forgetting, a revoke, a changed method or number and the
option switched off all end it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import deliver_and_get_link, latest_sms_code, send
from zegel.audit.models import AuditEvent
from zegel.messaging import actions
from zegel.messaging.models import Recipient, RecipientEvent, RememberedBrowser
from zegel.orgs.models import Organisation, User

COOKIE = "zegel_remember"
BODY = b"hierbij de uitslag"
PIET = actions.RecipientSpec(email="piet@example.nl", name="Piet", method="sms",
                             phone="06 12345678")


@pytest.fixture
def remembering(org: Organisation) -> Organisation:
    org.remember_browser_days = 30
    org.save(update_fields=["remember_browser_days"])
    return org


def _message(sender: User, spec: actions.RecipientSpec = PIET) -> str:
    send(sender, recipients=[spec])
    return deliver_and_get_link(spec.email)


def _verify(token: str, *, remember: bool = True, secure: bool = False) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.post(f"/m/{token}/code")
    data = {"code": latest_sms_code(), **({"remember": "1"} if remember else {})}
    response = client.post(f"/m/{token}/verify", data, secure=secure)
    assert response.status_code == 302
    return client


def _code_page(token: str) -> bytes:
    """The page with the code field, where the tick is offered."""
    client = Client(headers={"accept-language": "en"})
    return client.post(f"/m/{token}/code", follow=True).content


def _with_cookie(secret: str) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.cookies[COOKIE] = secret
    return client


def test_it_is_off_by_default(sender: User) -> None:
    token = _message(sender)
    assert b'name="remember"' not in _code_page(token)
    client = _verify(token)
    assert COOKIE not in client.cookies and not RememberedBrowser.objects.exists()


def test_a_remembered_browser_opens_the_next_message_without_a_code(
        sender: User, remembering: Organisation) -> None:
    first = _message(sender)
    assert b"Remember this browser for 30 days" in _code_page(first)
    client = _verify(first, secure=True)
    cookie = client.cookies[COOKIE]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == "/m/"
    secret = cookie.value
    row = RememberedBrowser.objects.get()
    assert (row.email, row.method, row.phone) == ("piet@example.nl", "sms", "+31612345678")
    assert row.secret_hash != secret and secret not in row.secret_hash
    second = _message(sender)
    page = _with_cookie(secret).get(f"/m/{second}")
    assert page.status_code == 200 and BODY in page.content
    assert b"This browser is remembered" in page.content
    newest = Recipient.objects.order_by("-pk")[0]
    assert RecipientEvent.objects.filter(recipient=newest, kind="verified",
                                         detail="remembered browser").exists()
    assert not newest.codes.exists()  # no code was sent for it
    actions_logged = list(AuditEvent.objects.values_list("action", flat=True))
    assert "browser.remembered" in actions_logged and "browser.used" in actions_logged
    for event in AuditEvent.objects.all():  # the secret and its hash are never logged
        assert secret not in json.dumps(event.data) and row.secret_hash not in json.dumps(
            event.data)


def test_without_the_tick_nothing_is_remembered(sender: User,
                                                remembering: Organisation) -> None:
    client = _verify(_message(sender), remember=False)
    assert COOKIE not in client.cookies and not RememberedBrowser.objects.exists()


@pytest.mark.parametrize("other", [
    actions.RecipientSpec(email="klaas@example.nl", method="sms", phone="06 12345678"),
    actions.RecipientSpec(email="piet@example.nl", method="sms", phone="06 87654321"),
    actions.RecipientSpec(email="piet@example.nl", method="access_code",
                          access_code="geheim-123"),
], ids=["another address", "another phone number", "another method"])
def test_a_copied_cookie_does_not_open_another_recipients_link(
        other: actions.RecipientSpec, sender: User, remembering: Organisation) -> None:
    secret = _verify(_message(sender)).cookies[COOKIE].value
    page = _with_cookie(secret).get(f"/m/{_message(sender, other)}")
    assert BODY not in page.content and b"You have a secure message" in page.content
    assert not AuditEvent.objects.filter(action="browser.used").exists()


def test_a_copied_cookie_does_not_open_another_organisations_link(
        sender: User, outsider: User, remembering: Organisation) -> None:
    other_org = outsider.organisation
    other_org.remember_browser_days = 30
    other_org.save(update_fields=["remember_browser_days"])
    secret = _verify(_message(sender)).cookies[COOKIE].value
    page = _with_cookie(secret).get(f"/m/{_message(outsider)}")
    assert BODY not in page.content and b"You have a secure message" in page.content


def test_forget_this_browser_removes_the_row_and_the_cookie(
        sender: User, remembering: Organisation) -> None:
    client = _verify(_message(sender))
    secret = client.cookies[COOKIE].value
    token = _message(sender)
    opened = _with_cookie(secret)
    assert BODY in opened.get(f"/m/{token}").content
    # Logging out says the browser is still remembered, and offers to forget it there too.
    ended = opened.post(f"/m/{token}/end")
    assert b"This browser is still remembered" in ended.content
    assert f'action="/m/{token}/forget"'.encode() in ended.content
    response = opened.post(f"/m/{token}/forget")
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "" and response.cookies[COOKIE]["max-age"] == 0
    assert not RememberedBrowser.objects.exists()
    assert AuditEvent.objects.get(action="browser.forgotten").data["reason"] == "asked"
    assert BODY not in _with_cookie(secret).get(f"/m/{_message(sender)}").content
    # A forged or malformed cookie: nothing to forget, no error.
    assert _with_cookie("not-a-secret").post(f"/m/{token}/forget").status_code == 302


def test_a_revoke_after_remembering_ends_it(sender: User, remembering: Organisation) -> None:
    secret = _verify(_message(sender)).cookies[COOKIE].value
    first = Recipient.objects.get()
    actions.revoke_recipient(sender=sender, recipient=first)
    page = _with_cookie(secret).get(f"/m/{_message(sender)}")
    assert BODY not in page.content
    assert not RememberedBrowser.objects.exists()
    assert AuditEvent.objects.get(action="browser.forgotten").data["reason"] == "revoked"


def test_switching_the_option_off_or_its_time_running_out_ends_it(
        sender: User, remembering: Organisation) -> None:
    secret = _verify(_message(sender)).cookies[COOKIE].value
    remembering.remember_browser_days = 0
    remembering.save(update_fields=["remember_browser_days"])
    assert BODY not in _with_cookie(secret).get(f"/m/{_message(sender)}").content
    remembering.remember_browser_days = 30
    remembering.save(update_fields=["remember_browser_days"])
    secret = _verify(_message(sender)).cookies[COOKIE].value
    RememberedBrowser.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert BODY not in _with_cookie(secret).get(f"/m/{_message(sender)}").content
    assert actions.purge_remembered_browsers() == 0  # the expired row went when it was tried


def test_a_planted_secret_is_replaced_when_the_recipient_remembers(
        sender: User, remembering: Organisation) -> None:
    planted = "A" * 43
    token = _message(sender)
    client = _with_cookie(planted)
    client.post(f"/m/{token}/code")
    client.post(f"/m/{token}/verify", {"code": latest_sms_code(), "remember": "1"})
    assert client.cookies[COOKIE].value != planted
    assert BODY not in _with_cookie(planted).get(f"/m/{_message(sender)}").content


def test_an_idle_session_that_ended_still_needs_a_code(sender: User, remembering: Organisation,
                                                       settings: Any) -> None:
    token = _message(sender)
    client = _verify(token)
    session = client.session
    session["portal"]["t"] -= 10 * 3600
    session.save()
    page = client.get(f"/m/{token}")
    assert BODY not in page.content and b"Your session ended" in page.content


def test_a_changed_method_or_number_ends_it_for_that_recipients_link(
        sender: User, remembering: Organisation) -> None:
    secret = _verify(_message(sender)).cookies[COOKIE].value
    token = _message(sender)
    newest = Recipient.objects.order_by("-pk")[0]
    # As the sender's change of number does it: the same recipient row, another phone.
    Recipient.objects.filter(pk=newest.pk).update(phone="+31687654321")
    assert BODY not in _with_cookie(secret).get(f"/m/{token}").content
    Recipient.objects.filter(pk=newest.pk).update(phone="+31612345678", method="email")
    assert BODY not in _with_cookie(secret).get(f"/m/{token}").content
    Recipient.objects.filter(pk=newest.pk).update(method="sms")
    assert BODY in _with_cookie(secret).get(f"/m/{token}").content  # the same identity again
