"""The sender revokes while the recipient has the message open: the recipient's next click is
refused with the plain "withdrawn" page, which says how to reach the organisation. Axe on every
page, at 320 px for the recipient."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Zegel, assert_fits, check_a11y, link_from, log_in

pytestmark = pytest.mark.browser

PHONE_E164 = "+31612345678"


def test_the_recipients_next_click_after_a_revoke_is_refused(zegel: Zegel,
                                                            new_context: Any) -> None:
    from zegel.messaging import actions
    from zegel.messaging.models import Conversation, Message

    zegel.org.contact_phone = "050 123 4567"
    zegel.org.save()
    message = actions.send_message(
        sender=zegel.user, subject="Uw uitslag", body="Hierbij de uitslag. BODY-5521",
        recipients=[actions.RecipientSpec(email="piet@example.org", name="Piet",
                                          method="sms", phone="06 12345678")])
    link = link_from(zegel.mailbox.wait_for_mail("piet@example.org")[-1], zegel.url)
    zegel.wait_idle()

    # The recipient signs in on a phone and has the message open.
    guest = new_context(viewport={"width": 320, "height": 640}, locale="en-GB",
                        extra_http_headers={"Accept-Language": "en"}).new_page()
    guest.goto(link)
    check_a11y(guest)
    sent = len(zegel.sms())
    guest.locator("[data-send-code]").click()
    guest.locator("#code").wait_for()
    check_a11y(guest)
    code = zegel.wait_for_code(PHONE_E164, after=sent)
    zegel.wait_idle()
    guest.fill("#code", code)
    guest.locator("form[action$='/verify'] button[type=submit]").click()
    guest.locator("ol.thread", has_text="BODY-5521").wait_for()
    check_a11y(guest)

    # Meanwhile the sender revokes for recipients on the conversation page.
    sender = new_context(viewport={"width": 1280, "height": 900}, locale="en-GB",
                         extra_http_headers={"Accept-Language": "en"}).new_page()
    log_in(sender, zegel.url)
    sender.goto(f"{zegel.url}/c/{message.conversation_id}")
    check_a11y(sender)
    sender.check("#scope-recipients")
    sender.check("#when-now")
    sender.locator("form[data-revoke-form] button[type=submit]").click()
    sender.locator('[data-closed="revoked"]').wait_for()
    assert "BODY-5521" in sender.content()  # the sender still reads it
    check_a11y(sender)
    assert Conversation.objects.get().closed_at is not None

    # The recipient's next click, a reply, is refused with the plain page.
    guest.fill("#body", "Dank u wel.")
    guest.locator("section.reply button[type=submit]").click()
    guest.get_by_role("heading", name="This message was withdrawn by the sender").wait_for()
    page = guest.content()
    assert "050 123 4567" in page and "Zorggroep Voorbeeld" in page
    assert "BODY-5521" not in page
    assert_fits(guest, 320)
    check_a11y(guest)
    assert not Message.objects.filter(author_recipient__isnull=False).exists()
