"""The sender's pages in a real browser at 320 px and at desktop width: the inbox, the sent list
with a search and a second page, a conversation, the login page, the compose page's frame and
the data-leak pages reflow without sideways scrolling (WCAG 1.4.10), keep the header, headings
and footer on one left edge, and pass axe."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Zegel, check_a11y, log_in

pytestmark = pytest.mark.browser

LONG_ADDRESS = "heel.lang.adres.van.een.ontvanger@een-heel-lange-domeinnaam-van-de-zorg.example.nl"
WIDTHS = [(320, 640), (1280, 800)]


def _no_sideways_scroll(page: Any, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways at {width} px ({scroll} px wide)"


def _one_left_edge(page: Any) -> None:
    lefts = page.evaluate("""() => ['.top .brand', 'main h1', 'footer p'].map(
        s => Math.round(document.querySelector(s).getBoundingClientRect().left))""")
    assert max(lefts) - min(lefts) <= 1, f"{page.url}: header, heading, footer at {lefts}"


def _visit(page: Any, url: str, width: int) -> None:
    page.goto(url)
    _no_sideways_scroll(page, width)
    _one_left_edge(page)
    check_a11y(page)


def _conversations(zegel: Zegel) -> dict[str, Any]:
    from zegel.messaging import actions

    def send(subject: str, *recipients: Any, hold: bool = False) -> Any:
        return actions.send_message(sender=zegel.user, subject=subject, body="Zie bijlage.",
                                    recipients=list(recipients),
                                    hold_incomplete=hold).conversation

    piet = actions.RecipientSpec(email="piet@example.nl", name="Piet de Boer", method="email")
    long = actions.RecipientSpec(email=LONG_ADDRESS, method="email")
    replied = send("Uitslag bloedonderzoek", piet, long)
    revoked = send("Ingetrokken verwijzing", actions.RecipientSpec(email="joke@example.nl",
                                                                   method="email"))
    send("Uitslag röntgenfoto", piet)
    # One recipient held (sent as the API does, without a number): its form is on the page.
    held = send("Afspraak volgende week", piet,
                actions.RecipientSpec(email="kees@example.nl", method="sms"), hold=True)
    zegel.wait_idle()
    actions.reply_as_recipient(replied.recipients.get(email="piet@example.nl"), "Dank u wel.")
    actions.revoke_conversation(sender=zegel.user, conversation=revoked)
    zegel.wait_idle()
    return {"replied": replied, "revoked": revoked, "held": held}


def test_sender_pages_reflow_at_320_px_and_line_up(zegel: Zegel, new_context: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from zegel.sender import lists

    monkeypatch.setattr(lists, "PAGE_SIZE", 2)
    zegel.user.role = "admin"
    zegel.user.save(update_fields=["role"])
    made = _conversations(zegel)

    anonymous = new_context(locale="nl-NL").new_page()
    page = new_context(locale="nl-NL").new_page()
    log_in(page, zegel.url)
    for width, height in WIDTHS:
        for each in (anonymous, page):
            each.set_viewport_size({"width": width, "height": height})
        _visit(anonymous, f"{zegel.url}/login", width)
        _visit(page, f"{zegel.url}/inbox", width)
        # Unread until the conversation is opened below; after that still listed, as read.
        row = page.locator("tr[data-conversation]")
        assert row.count() == 1
        unread = width == WIDTHS[0][0]
        assert row.locator("[data-unread]").count() == (1 if unread else 0)
        assert ("nieuwe reactie" in row.inner_text().lower()) == unread
        assert row.locator("[data-status]").get_attribute("data-status") == "unopened"

        _visit(page, f"{zegel.url}/sent", width)
        assert "Pagina 1 van 2" in page.inner_text("main")
        page.get_by_role("link", name="Volgende pagina").click()
        page.wait_for_url("**/sent?page=2")
        _no_sideways_scroll(page, width)
        check_a11y(page)
        assert page.locator("tr[data-conversation]").count() == 2

        page.fill("#q", "uitslag")
        page.get_by_role("button", name="Zoeken").click()
        page.wait_for_url("**/sent?q=uitslag")
        _no_sideways_scroll(page, width)
        check_a11y(page)
        assert page.locator("tr[data-conversation]").count() == 2
        assert "2 gesprekken gevonden" in page.inner_text("main")

        page.fill("#q", "verwijzing")  # the revoked one's old subject: gone from the index
        page.get_by_role("button", name="Zoeken").click()
        page.wait_for_url("**/sent?q=verwijzing")
        assert page.locator("tr[data-conversation]").count() == 0
        check_a11y(page)

        _visit(page, f"{zegel.url}/c/{made['replied'].pk}", width)
        assert LONG_ADDRESS in page.inner_text("main")
        _visit(page, f"{zegel.url}/c/{made['held'].pk}", width)
        assert "vul een mobiel nummer in voor de sms-code" in page.inner_text("main")
        assert page.get_by_role("button", name="Naar deze ontvanger versturen").is_visible()
        _visit(page, f"{zegel.url}/c/{made['revoked'].pk}", width)
        title = page.inner_text("h1")
        assert title.startswith("Ingetrokken — aan joke@example.nl")
        assert "verwijzing" not in title.lower()

        _visit(page, f"{zegel.url}/compose", width)
        for path in ("", "patterns", "terms", "allowed"):
            _visit(page, f"{zegel.url}/admin/dlp/{path}", width)
