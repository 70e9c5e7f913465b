"""In a real browser: the sender answers only the parent who asked, and the other parent,
logged in to the portal, never sees the answer or the question. Every page is checked with axe,
on a phone (320 px) and at desktop width."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Zegel, assert_fits, check_a11y, link_from, log_in

pytestmark = pytest.mark.browser

MOTHER = "moeder@example.org"
FATHER = "vader@example.org"
CODE = "afgesproken-2026"
BODY = "Beste ouders,\n\nHet verslag FIRSTMARK-1108 staat klaar."
QUESTION = "Mag ik u iets vragen over mijn dochter? QUESTIONMARK-5521"
ANSWER = "Natuurlijk, alleen voor u: ANSWERMARK-7730"
PHONE = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 900}


def _open_portal(zegel: Zegel, new_context: Any, address: str, viewport: dict[str, int],
                 mails: int = 1) -> Any:
    """The recipient opens their newest link and types the access code; the thread shows."""
    link = link_from(zegel.mailbox.wait_for_mail(address, mails)[-1], zegel.url)
    page = new_context(viewport=viewport, locale="nl-NL").new_page()
    page.goto(link)
    page.locator("#code").wait_for()
    check_a11y(page)
    page.fill("#code", CODE)
    page.locator("form[action$='/verify'] button[type=submit]").click()
    page.locator("ol.thread").wait_for()
    check_a11y(page)
    return page


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["320px", "desktop"])
def test_an_answer_to_one_parent_never_reaches_the_other(zegel: Zegel, new_context: Any,
                                                         viewport: dict[str, int]) -> None:
    from zegel.messaging import actions

    actions.send_message(sender=zegel.user, subject="Verslag", body=BODY, recipients=[
        actions.RecipientSpec(email=address, name=name, method="access_code",
                              access_code=CODE)
        for address, name in ((MOTHER, "Moeder"), (FATHER, "Vader"))])
    zegel.wait_idle()

    # The mother asks a question; the form told her only the sender reads it.
    mother = _open_portal(zegel, new_context, MOTHER, viewport)
    assert "Alleen Anna de Vries van Zorggroep Voorbeeld leest uw antwoord" in (
        mother.locator("[data-reply-readers]").inner_text())
    mother.fill("#body", QUESTION)
    mother.locator("section.reply form button[type=submit]").click()
    mother.locator("ol.thread li.mine", has_text="QUESTIONMARK-5521").wait_for()
    check_a11y(mother)
    if viewport is PHONE:
        assert_fits(mother)
    zegel.wait_idle()

    # The sender answers: "only the mother" is chosen already, because she asked.
    sender = new_context(viewport=viewport, locale="nl-NL").new_page()
    log_in(sender, zegel.url)
    sender.goto(f"{zegel.url}/sent")
    sender.locator("a", has_text="Verslag").first.click()
    sender.wait_for_url(re.compile(r"/c/[0-9a-f-]{36}$"))
    choice = sender.locator("[data-audience-choice]")
    assert choice.get_by_label("Alleen Moeder <moeder@example.org>").is_checked()
    assert choice.get_by_label("Iedereen: Moeder, Vader").is_visible()
    check_a11y(sender)
    sender.fill("#body", ANSWER)
    sender.locator("section.reply form button[type=submit]").click()
    answer = sender.locator("ol.thread li[data-author=staff]", has_text="ANSWERMARK-7730")
    answer.wait_for()
    assert answer.locator("[data-audience]").inner_text() == "Aan: Moeder <moeder@example.org>"
    check_a11y(sender)
    zegel.wait_idle()

    # The mother reads it; the father is not notified and, logged in, never sees it.
    mother.reload()
    assert "ANSWERMARK-7730" in mother.locator("ol.thread").inner_text()
    assert len(zegel.mailbox.wait_for_mail(MOTHER, 2)) == 2
    assert len([m for rcpt, m in zegel.mailbox.messages() if FATHER in rcpt]) == 1
    father = _open_portal(zegel, new_context, FATHER, viewport)
    thread = father.locator("ol.thread").inner_text()
    assert "FIRSTMARK-1108" in thread
    assert "ANSWERMARK" not in father.content() and "QUESTIONMARK" not in father.content()
    if viewport is PHONE:
        assert_fits(father)
