"""The recipient's edge cases in a real browser, at 320 px and at desktop width, axe on every
page: the warning before the session ends ("stay signed in"), a reply typed across the idle
timeout that still reaches the sender after a new code, the withdrawn, expired and ended pages,
"show code", and the notice after a reply with a file."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Zegel, assert_fits, check_a11y, link_from, log_in, wait_for

pytestmark = pytest.mark.browser

PHONE_TYPED = "06 12345678"
PHONE_E164 = "+31612345678"
WIDTHS = [320, 1280]
# How long a browser step may take to show its effect (a loaded CI machine is slow).
WAIT_MS = 15_000


def _send(zegel: Zegel, to: str, *, method: str = "sms", access_code: str = "") -> str:
    from zegel.messaging import actions

    before = len([m for rcpt, m in zegel.mailbox.messages() if to in rcpt])
    actions.send_message(
        sender=zegel.user, subject="Uw afspraak", body="Beste, hierbij uw afspraak. BODY-1234",
        recipients=[actions.RecipientSpec(email=to, name=to.split("@")[0].title(), method=method,
                                          phone=PHONE_TYPED if method == "sms" else "",
                                          access_code=access_code)])
    mail = zegel.mailbox.wait_for_mail(to, count=before + 1)[-1]
    zegel.wait_idle()
    return link_from(mail, zegel.url)


def _page(new_context: Any, width: int) -> Any:
    context = new_context(viewport={"width": width, "height": 640 if width < 600 else 900},
                          locale="en-GB", extra_http_headers={"Accept-Language": "en"})
    return context.new_page()


def _fits(page: Any, width: int) -> None:
    if width > 600:
        return
    assert_fits(page, width)


def _sign_in(page: Any, zegel: Zegel, link: str, width: int) -> None:
    page.goto(link)
    _fits(page, width)
    check_a11y(page)
    sent = len(zegel.sms())
    page.locator("[data-send-code]").click()
    page.locator("#code").wait_for()
    # The code field has the focus once the code was sent (autofocus is applied at the next
    # rendering step, so wait for it, within the test's usual bound). Playwright's own check,
    # not wait_for_function: a string predicate that must be retried runs through eval, which
    # the page's CSP refuses.
    expect(page.locator("#code")).to_be_focused(timeout=WAIT_MS)
    check_a11y(page)
    code = zegel.wait_for_code(PHONE_E164, after=sent)
    zegel.wait_idle()
    # Typed the way people read it back: with a space and a dash.
    page.fill("#code", f"{code[:3]} - {code[3:]}")
    page.locator("form[action$='/verify'] button[type=submit]").click()
    page.locator("ol.thread").wait_for()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_warning_before_the_session_ends_and_stay_signed_in(
        zegel: Zegel, new_context: Any, settings: Any, width: int) -> None:
    settings.PORTAL_IDLE_SECONDS = 14
    settings.PORTAL_WARN_SECONDS = 10
    link = _send(zegel, "piet@example.org")
    page = _page(new_context, width)
    _sign_in(page, zegel, link, width)
    _fits(page, width)
    check_a11y(page)
    page.fill("#body", "Ik typ nog even door.")
    warning = page.locator("[data-session-warning]")
    warning.wait_for(state="visible", timeout=15_000)
    assert page.locator("[data-time-left]").inner_text().count(":") == 1
    # The focus is on "Stay signed in", inside the dialog.
    assert page.evaluate("document.activeElement.hasAttribute('data-stay')")
    _fits(page, width)
    check_a11y(page)
    page.locator("[data-stay]").click()
    warning.wait_for(state="hidden")
    # Back where the recipient was typing, and the text is still there.
    assert page.evaluate("document.activeElement.id") == "body"
    assert page.input_value("#body") == "Ik typ nog even door."
    # Still signed in: a reload shows the conversation, not the code page.
    page.reload()
    page.locator("ol.thread").wait_for()
    check_a11y(page)


def test_a_reply_typed_across_the_idle_timeout_reaches_the_sender(
        zegel: Zegel, new_context: Any, settings: Any) -> None:
    from zegel.messaging import content
    from zegel.messaging.models import HeldReply, Message

    settings.PORTAL_IDLE_SECONDS = 8
    settings.PORTAL_WARN_SECONDS = 4
    width = 320
    link = _send(zegel, "piet@example.org")
    page = _page(new_context, width)
    _sign_in(page, zegel, link, width)
    page.fill("#body", "Mijn antwoord, ACROSS-7781, getypt terwijl de tijd verliep.")
    ended = page.locator("[data-warning-ended]")
    ended.wait_for(state="visible", timeout=20_000)
    _fits(page, width)
    check_a11y(page)
    page.locator("[data-warning-close]").click()
    assert page.evaluate("document.activeElement.id") == "body"
    page.locator("section.reply button[type=submit]").click()
    page.get_by_text("Your session ended").wait_for()
    page.get_by_text("Your reply is not lost").wait_for()
    _fits(page, width)
    check_a11y(page)
    assert HeldReply.objects.count() == 1
    assert not Message.objects.filter(author_recipient__isnull=False).exists()

    settings.PORTAL_IDLE_SECONDS = 900
    sent = len(zegel.sms())
    page.locator("[data-send-code]").click()
    page.locator("#code").wait_for()
    check_a11y(page)
    code = zegel.wait_for_code(PHONE_E164, after=sent)
    zegel.wait_idle()
    page.fill("#code", code)
    page.locator("form[action$='/verify'] button[type=submit]").click()
    page.get_by_text("The reply you wrote before was sent securely").wait_for()
    page.locator("ol.thread li.mine", has_text="ACROSS-7781").wait_for()
    _fits(page, width)
    check_a11y(page)
    assert not HeldReply.objects.exists()
    reply = Message.objects.get(author_recipient__isnull=False)
    assert "ACROSS-7781" in content.open_message(reply).body

    # The sender sees it in the conversation.
    sender = _page(new_context, 1280)
    log_in(sender, zegel.url)
    sender.goto(f"{zegel.url}/c/{reply.conversation_id}")
    wait_for("the reply on the sender's page", lambda: "ACROSS-7781" in sender.content())
    check_a11y(sender)


@pytest.mark.parametrize("width", WIDTHS)
def test_withdrawn_expired_ended_and_logged_out_pages(
        zegel: Zegel, new_context: Any, settings: Any, width: int) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from zegel.messaging import actions
    from zegel.messaging.models import Conversation, Recipient

    zegel.org.contact_phone = "050 123 4567"
    zegel.org.contact_email = "balie@zorg.example"
    zegel.org.save()
    page = _page(new_context, width)

    withdrawn = _send(zegel, "jan@example.org")
    recipient = Recipient.objects.get(email="jan@example.org")
    actions.revoke_recipient(sender=zegel.user, recipient=recipient)
    page.goto(withdrawn)
    page.get_by_role("heading", name="This message was withdrawn by the sender").wait_for()
    assert "050 123 4567" in page.content() and "Zorggroep Voorbeeld" in page.content()
    _fits(page, width)
    check_a11y(page)

    expired = _send(zegel, "kees@example.org")
    Conversation.objects.filter(recipients__email="kees@example.org").update(
        expires_at=timezone.now() - timedelta(minutes=1))
    page.goto(expired)
    page.get_by_text("This message was available until").wait_for()
    assert "balie@zorg.example" in page.content()
    _fits(page, width)
    check_a11y(page)

    page.goto(zegel.url + "/m/" + "A" * 43)
    page.get_by_role("heading", name="This link does not work").wait_for()
    assert "Zorggroep" not in page.content()
    check_a11y(page)

    # Ended: the session ran out.
    settings.PORTAL_IDLE_SECONDS = 3
    link = _send(zegel, "piet@example.org")
    _sign_in(page, zegel, link, width)
    wait_for("the session to run out", lambda: page.locator(
        "[data-warning-ended]").is_visible(), timeout=15)
    page.goto(link)
    page.get_by_role("heading", name="Your session ended").wait_for()
    assert "050 123 4567" in page.content()
    _fits(page, width)
    check_a11y(page)

    # Logged out on purpose.
    settings.PORTAL_IDLE_SECONDS = 900
    _sign_in(page, zegel, link, width)
    page.locator("form.end button").click()
    page.get_by_role("heading", name="You are logged out").wait_for()
    check_a11y(page)
    # The language switch is a full-size target.
    box = page.locator("form.lang button").bounding_box()
    assert box is not None and box["width"] >= 44 and box["height"] >= 44


@pytest.mark.parametrize("width", WIDTHS)
def test_show_code_toggles_the_access_code(zegel: Zegel, new_context: Any,
                                           width: int) -> None:
    link = _send(zegel, "anne@example.org", method="access_code", access_code="4821-7730")
    page = _page(new_context, width)
    page.goto(link)
    toggle = page.locator("[data-show-code]")
    toggle.wait_for(state="visible")
    assert toggle.get_attribute("aria-pressed") == "false"
    page.fill("#code", "4821 7730")
    assert page.get_attribute("#code", "type") == "password"
    toggle.click()
    assert toggle.get_attribute("aria-pressed") == "true"
    assert page.get_attribute("#code", "type") == "text"
    _fits(page, width)
    check_a11y(page)
    toggle.click()
    assert page.get_attribute("#code", "type") == "password"
    page.locator("form[action$='/verify'] button[type=submit]").click()
    page.locator("ol.thread").wait_for()
    check_a11y(page)


def test_the_notice_after_a_reply_with_a_file_appears(zegel: Zegel, new_context: Any) -> None:
    link = _send(zegel, "piet@example.org")
    page = _page(new_context, 1280)
    _sign_in(page, zegel, link, 1280)
    path = zegel.tmp / "formulier.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"0" * 120_000)
    page.fill("#body", "Hierbij het formulier.")
    page.set_input_files("#attachments", str(path))
    page.locator("section.reply button[type=submit]").click()
    page.locator(".notice-success", has_text="Your reply was sent securely").wait_for()
    mine = page.locator("ol.thread li.mine", has_text="Hierbij het formulier.")
    mine.wait_for()
    assert "PDF document, 117.2" in mine.inner_text()
    check_a11y(page)
