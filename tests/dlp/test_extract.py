"""Attachment text extraction and its "not scanned" cases."""

from __future__ import annotations

import io
import time
import zipfile
from email.message import EmailMessage

import docx
from openpyxl import Workbook
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from zegel.dlp.extract import extract_text
from zegel.dlp.isolation import extract_text_isolated


def pdf_with_text(text: str, *, password: str | None = None) -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(width=300, height=300)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 20 200 Td ({text}) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(stream)
    if password:
        writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_it_extracts_text_from_a_pdf() -> None:
    result = extract_text("brief.pdf", "application/pdf", pdf_with_text("BSN 111222333"))
    assert result.scanned
    assert "111222333" in result.text


def test_it_reports_an_encrypted_pdf_as_not_scanned() -> None:
    result = extract_text("x.pdf", "application/pdf", pdf_with_text("geheim", password="s3cret"))
    assert not result.scanned
    assert "encrypted" in result.reason


def test_it_reports_an_image_only_pdf_as_not_scanned() -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=100, height=100)
    out = io.BytesIO()
    writer.write(out)
    result = extract_text("scan.pdf", "application/pdf", out.getvalue())
    assert not result.scanned
    assert "no text" in result.reason


def test_it_survives_a_broken_pdf() -> None:
    result = extract_text("kapot.pdf", "application/pdf", b"%PDF-1.7\n" + b"\x00garbage" * 100)
    assert not result.scanned


def test_it_survives_a_deeply_nested_pdf() -> None:
    nested = "[" * 50_000 + "]" * 50_000
    body = (
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R /X " + nested + " >> endobj\n"
        "2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"
    )
    result = extract_text("diep.pdf", "application/pdf", body.encode())
    assert not result.scanned


def test_it_refuses_a_pdf_bomb_within_its_budget() -> None:
    # 40 KB on disk, 40 MB of content stream once inflated.
    writer = PdfWriter()
    page = writer.add_blank_page(width=10, height=10)
    stream = DecodedStreamObject()
    stream.set_data(b"0 " * 20_000_000)
    page[NameObject("/Contents")] = writer._add_object(stream.flate_encode(level=9))
    out = io.BytesIO()
    writer.write(out)
    assert len(out.getvalue()) < 100_000
    for extract in (extract_text, extract_text_isolated):
        started = time.monotonic()
        result = extract("bom.pdf", "application/pdf", out.getvalue(), time_budget=2)
        assert not result.scanned
        assert time.monotonic() - started < 10


def test_it_extracts_text_from_docx_and_xlsx() -> None:
    document = docx.Document()
    document.add_paragraph("Cliënt heeft diabetes")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "IBAN"
    table.cell(0, 1).text = "NL91ABNA0417164300"
    out = io.BytesIO()
    document.save(out)
    result = extract_text("a.docx", "", out.getvalue())
    assert result.scanned and "diabetes" in result.text and "NL91ABNA0417164300" in result.text

    workbook = Workbook()
    workbook.active.append(["naam", "bsn"])
    workbook.active.append(["Jan", "111222333"])
    out = io.BytesIO()
    workbook.save(out)
    result = extract_text("lijst.xlsx", "", out.getvalue())
    assert result.scanned and "111222333" in result.text


def test_it_refuses_a_zip_bomb_docx() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\x00" * 200_000_000)
    result = extract_text("bom.docx", "", out.getvalue())
    assert not result.scanned
    assert "bomb" in result.reason or "unpacks" in result.reason


def test_it_reads_text_csv_and_eml_with_attachments() -> None:
    assert extract_text("a.csv", "text/csv", b"naam;bsn\nJan;111222333").text.endswith("333")
    message = EmailMessage()
    message["Subject"] = "Verwijzing"
    message.set_content("Zie bijlage.")
    message.add_attachment(b"BSN 111222333", maintype="text", subtype="plain", filename="b.txt")
    result = extract_text("bericht.eml", "message/rfc822", message.as_bytes())
    assert result.scanned
    assert "Verwijzing" in result.text and "111222333" in result.text


def test_it_reports_unknown_and_too_large_files() -> None:
    unknown = extract_text("foto.jpg", "image/jpeg", b"\xff\xd8\xff")
    assert not unknown.scanned and "not supported" in unknown.reason
    large = extract_text("a.txt", "text/plain", io.BytesIO(b"x" * 2000), max_bytes=1000)
    assert not large.scanned and "larger" in large.reason


def test_it_extracts_in_an_isolated_process() -> None:
    result = extract_text_isolated("a.pdf", "application/pdf", pdf_with_text("BSN 111222333"))
    assert result.scanned and "111222333" in result.text


def test_the_isolated_reason_is_translated_where_it_is_shown() -> None:
    from django.utils import translation

    with translation.override("nl"):
        result = extract_text_isolated("foto.jpg", "", b"\xff\xd8\xff")
    assert not result.scanned
    assert result.reason == "bestandstype wordt niet ondersteund (onbekend)"
