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


def test_a_chosen_file_is_in_the_hints_and_a_finding_can_be_marked(
        zegel: Zegel, new_context: Any, tmp_path: Any) -> None:
    page = new_context(locale="nl-NL").new_page()
    log_in(page, zegel.url)
    page.goto(f"{zegel.url}/compose")
    page.fill("#r-0-email", "piet@example.nl")
    page.fill("#subject", "Gegevens")
    card = tmp_path / "kaart.txt"
    card.write_text("Kaartnummer 4111 1111 1111 1111", encoding="utf-8")
    page.set_input_files("#attachments", str(card))
    hints = page.locator("#dlp-hints")
    hints.get_by_text("een creditcardnummer in bijlage kaart.txt").wait_for(timeout=10_000)
    assert page.locator("[data-attached] input[name=attachment_ids]").count() == 1
    assert page.locator("#attachments").input_value() == ""  # sent already, named by id

    page.locator("#body").press_sequentially(f"Het nummer is {BSN}", delay=20)
    button = hints.get_by_role("button", name="Dit is geen BSN")
    button.wait_for(timeout=2_000)
    check_a11y(page)
    button.click()
    hints.get_by_text("Genoteerd").wait_for(timeout=2_000)
    assert "een BSN in het bericht" not in hints.inner_text()

    from zegel.dlp.models import AllowedValue

    assert AllowedValue.objects.filter(kind="bsn").count() == 1
