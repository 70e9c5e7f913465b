"""The shared PDF writer: Unicode text survives, tables break across pages, no active content."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from pypdf import PdfReader

from zegel.core.pdf import Document, utc


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_unicode_names_come_out_as_written() -> None:
    doc = Document(title="Bewijs", author="Zorggroep Oost", footer="Zegel")
    doc.heading("Bewijs van aflevering")
    doc.field("Ontvanger:", "Zoë Çelik-Łukasiewicz <zoe@example.nl>")
    doc.paragraph("Ελληνικά, кириллица, ĳ")
    text = _text(doc.output_bytes())
    assert "Bewijs van aflevering" in text
    assert "Zoë Çelik-Łukasiewicz" in text
    assert "кириллица" in text


def test_long_tables_break_across_pages_with_their_header() -> None:
    doc = Document(title="t", author="a")
    rows = [[f"2026-12-0{1 + i % 9}T10:00:00Z", f"event-{i}", "detail"] for i in range(200)]
    doc.rows(["When", "What", "Detail"], rows, [3, 2, 4])
    reader = PdfReader(io.BytesIO(doc.output_bytes()))
    assert len(reader.pages) > 2
    assert all("When" in page.extract_text() for page in reader.pages)
    assert "event-199" in reader.pages[-1].extract_text()


def test_no_javascript_forms_or_links() -> None:
    doc = Document(title="t", author="a")
    doc.paragraph("https://example.org/ plain text only")
    data = doc.output_bytes()
    for marker in (b"/JavaScript", b"/JS", b"/AcroForm", b"/URI", b"/Launch"):
        assert marker not in data


def test_times_are_utc_with_z() -> None:
    from zoneinfo import ZoneInfo
    moment = datetime(2026, 12, 1, 10, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert utc(moment) == "2026-12-01T09:30:00Z"
    assert utc(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"
    assert utc(None) == ""
