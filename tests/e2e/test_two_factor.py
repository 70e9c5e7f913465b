"""Two-factor log-in in a real browser: enrol an authenticator app with a code the test computes
from the key on the page, log out, log in with password and code; register a passkey with
Chromium's virtual authenticator, log out, log in with it. Every page passes axe, at 320 px
and at desktop width."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest

from tests.e2e.conftest import PASSWORD, STAFF_EMAIL, Zegel, check_a11y, log_in

pytestmark = pytest.mark.browser

WIDTHS = [pytest.param({"width": 320, "height": 640}, id="320px"),
          pytest.param({"width": 1280, "height": 800}, id="desktop")]


def _no_sideways_scroll(page: Any, viewport: dict[str, int]) -> None:
    if viewport["width"] == 320:
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, page.url


def _log_out(page: Any) -> None:
    page.locator("nav.nav form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/login$"))


def _password(page: Any, url: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#id_username", STAFF_EMAIL)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/login/verify$"))
    check_a11y(page)


@pytest.mark.parametrize("viewport", WIDTHS)
def test_enrol_an_authenticator_app_and_log_in_with_it(zegel: Zegel, new_context: Any,
                                                       viewport: dict[str, int]) -> None:
    from zegel.orgs.models import TotpDevice

    page = new_context(locale="en-GB", viewport=viewport).new_page()
    log_in(page, zegel.url)
    page.locator("nav.nav a[href='/security']").click()
    page.wait_for_url(re.compile(r"/security$"))
    check_a11y(page)
    _no_sideways_scroll(page, viewport)

    page.locator("form[action='/security/totp/start'] button").click()
    page.wait_for_url(re.compile(r"/security/totp$"))
    check_a11y(page)
    _no_sideways_scroll(page, viewport)
    # The QR code is an image Zegel drew itself.
    assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0
    secret = page.locator("#manual-key").inner_text().replace(" ", "")
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/security/totp$"))
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    check_a11y(page)
    _no_sideways_scroll(page, viewport)
    page.locator("main a.button").click()
    page.wait_for_url(re.compile(r"/security$"))
    assert "Remove the authenticator app" in page.locator("main").inner_text()
    check_a11y(page)

    _log_out(page)
    check_a11y(page)
    # The code of the enrolment was used: wait for the next one instead of replaying it.
    TotpDevice.objects.filter(user=zegel.user).update(last_step=-1)
    _password(page, zegel.url)
    _no_sideways_scroll(page, viewport)
    # Half-way: the inbox is not open yet.
    page.goto(f"{zegel.url}/inbox")
    page.wait_for_url(re.compile(r"/login\?next=/inbox$"))
    _password(page, zegel.url)
    page.fill("#id_code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.locator("main form button[type=submit]").click()
    assert page.locator(".error-summary").count() == 1
    check_a11y(page)
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/inbox$"))
    check_a11y(page)


@pytest.mark.parametrize("viewport", WIDTHS)
def test_register_a_passkey_and_log_in_with_it(zegel: Zegel, new_context: Any,
                                               viewport: dict[str, int]) -> None:
    from zegel.orgs.models import Passkey

    context = new_context(locale="en-GB", viewport=viewport)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True}})

    log_in(page, zegel.url)
    page.goto(f"{zegel.url}/security")
    check_a11y(page)
    # No name: refused in the page, nothing asked of the authenticator.
    page.locator("[data-webauthn-form] button[type=submit]").click()
    assert page.locator(".webauthn-error").is_visible()
    page.fill("#passkey-name", "Work laptop")
    page.locator("[data-webauthn-form] button[type=submit]").click()
    page.wait_for_selector("text=The passkey is added.")
    assert list(Passkey.objects.values_list("name", flat=True)) == ["Work laptop"]
    assert "Work laptop" in page.locator(".passkeys").inner_text()
    check_a11y(page)
    _no_sideways_scroll(page, viewport)

    _log_out(page)
    _password(page, zegel.url)
    _no_sideways_scroll(page, viewport)
    page.locator("[data-webauthn-login] button").click()
    page.wait_for_url(re.compile(r"/inbox$"))
    check_a11y(page)
    assert Passkey.objects.get().last_used_at is not None
