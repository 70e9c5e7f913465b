"""Data-leak hints in a real browser: a BSN typed into the compose page is pointed out within a
second, and the warning is confirmed with the box that appears."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.e2e.conftest import Zegel, check_a11y, log_in

pytestmark = pytest.mark.browser

BSN = "111222333"  # passes the 11-proef


def test_a_typed_bsn_is_pointed_out_within_a_second(zegel: Zegel,
                                                     new_context: Any) -> None:
    page = new_context(locale="nl-NL").new_page()
    log_in(page, zegel.url)

    page.goto(f"{zegel.url}/compose")
    page.fill("#r-0-email", "jan.patient@gmail.com")
    page.fill("#r-0-phone", "06 12345678")
    page.fill("#subject", "Gegevens")
    hints = page.locator("#dlp-hints")
    page.locator("#body").press_sequentially(f"Het BSN van uw moeder is {BSN}", delay=40)
    typed = time.monotonic()
    hints.get_by_text("een BSN in het bericht").wait_for(timeout=1_000)
    assert time.monotonic() - typed < 1.0
    assert "gratis e-mailadres" in hints.inner_text()
    assert BSN not in hints.inner_text()
    confirm = page.locator("#dlp_confirm")
    confirm.wait_for(state="visible", timeout=1_000)
    check_a11y(page)

    confirm.check()
    page.locator("form.compose button[type=submit]").click()
    page.wait_for_url(re.compile(r"/c/[0-9a-f-]+$"))

    from zegel.audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="dlp.override").count() == 1
