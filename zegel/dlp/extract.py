"""Text from attachments, within a size and time budget, or a clear reason why not.

Supported: PDF (pypdf), DOCX (python-docx), XLSX (openpyxl, read-only), plain text and CSV,
and e-mail files (.eml, with their attachments, nested a few levels at most). Office files
are zip archives, so their directory is checked for decompression bombs before any XML is
parsed. The product runs this code only in a child process with hard limits
(``zegel.dlp.isolation``); the module therefore does not need Django until a reason is
translated, which happens in the process that shows it.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, BinaryIO

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_TIME_BUDGET = 5.0
# Extracted text beyond this is not needed to decide about a message.
MAX_TEXT_CHARS = 5_000_000
# Office documents: total uncompressed size, members, and a per-member compression ratio.
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_ZIP_MEMBERS = 2_000
MAX_COMPRESSION_RATIO = 200
MAX_PDF_PAGES = 2_000
MAX_EMAIL_DEPTH = 3
MAX_EMAIL_PARTS = 200


@dataclass(frozen=True)
class ExtractResult:
    text: str
    scanned: bool
    reason: str = ""


def gettext_noop(message: str) -> str:
    """Marks a reason for translation (makemessages knows this name); it is translated by
    ``reason_text`` where it is shown, because the child process has no Django."""
    return message


def reason_text(message: str, params: dict[str, Any]) -> str:
    """A reason in the active language."""
    from django.utils.translation import gettext

    return gettext(message) % params if params else gettext(message)


class NotScanned(Exception):
    """Extraction stopped; ``message`` (untranslated) and ``params`` are the reason."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def result(self) -> ExtractResult:
        """This reason as a "not scanned" result, translated."""
        return Outcome("", False, self.message, self.params).translated()


class _Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise NotScanned(gettext_noop("time budget of %(s)g s exceeded"), s=self.seconds)


class _TextSink:
    """Collects text up to MAX_TEXT_CHARS."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def add(self, text: str) -> None:
        if self.size >= MAX_TEXT_CHARS or not text:
            return
        text = text[: MAX_TEXT_CHARS - self.size]
        self.parts.append(text)
        self.size += len(text)

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


def _kind(name: str, content_type: str, head: bytes) -> str:
    lower = name.lower()
    ctype = content_type.split(";", 1)[0].strip().lower()
    if head.startswith(b"%PDF") or lower.endswith(".pdf") or ctype == "application/pdf":
        return "pdf"
    if lower.endswith(".docx") or ctype.endswith("wordprocessingml.document"):
        return "docx"
    if lower.endswith((".xlsx", ".xlsm")) or ctype.endswith("spreadsheetml.sheet"):
        return "xlsx"
    if lower.endswith(".eml") or ctype == "message/rfc822":
        return "eml"
    if lower.endswith((".txt", ".csv", ".tsv", ".md", ".log")) or ctype in (
        "text/plain",
        "text/csv",
        "text/tab-separated-values",
        "text/markdown",
    ):
        return "text"
    if ctype == "text/html" or lower.endswith((".html", ".htm")):
        return "html"
    return "unknown"


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


_TAGS = re.compile(r"<[^>]{0,2000}>")


def _html_text(html: str) -> str:
    return _TAGS.sub(" ", html)


def _check_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise NotScanned(gettext_noop("broken document (not a valid zip container)")) from exc
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise NotScanned(gettext_noop("document has more than %(n)d parts"), n=MAX_ZIP_MEMBERS)
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > MAX_COMPRESSION_RATIO and member.file_size > 1024 * 1024:
            raise NotScanned(
                gettext_noop("document looks like a decompression bomb (compression ratio)")
            )
    if total > MAX_UNCOMPRESSED:
        raise NotScanned(gettext_noop("document unpacks to more than the allowed size"))
    return archive


def _pdf(data: bytes, sink: _TextSink, budget: _Budget) -> None:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        # Many PDFs are "encrypted" only against editing and open with an empty password.
        try:
            if not reader.decrypt(""):
                raise NotScanned(gettext_noop("encrypted PDF (password protected)"))
        except (FileNotDecryptedError, NotImplementedError) as exc:
            raise NotScanned(gettext_noop("encrypted PDF (password protected)")) from exc
    if len(reader.pages) > MAX_PDF_PAGES:
        raise NotScanned(gettext_noop("PDF has more than %(n)d pages"), n=MAX_PDF_PAGES)
    found_text = False
    for page in reader.pages:
        budget.check()
        text = page.extract_text() or ""
        if text.strip():
            found_text = True
        sink.add(text)
    if not found_text:
        raise NotScanned(gettext_noop("PDF contains no text (scanned image?)"))


def _docx(data: bytes, sink: _TextSink, budget: _Budget) -> None:
    _check_zip(data)
    import docx

    document = docx.Document(io.BytesIO(data))
    for paragraph in document.paragraphs:
        budget.check()
        sink.add(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            budget.check()
            sink.add("\t".join(cell.text for cell in row.cells))
    for section in document.sections:
        for part in (section.header, section.footer):
            sink.add("\n".join(p.text for p in part.paragraphs))


def _xlsx(data: bytes, sink: _TextSink, budget: _Budget) -> None:
    _check_zip(data)
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            for i, row in enumerate(sheet.iter_rows(values_only=True)):
                if i % 100 == 0:
                    budget.check()
                sink.add("\t".join("" if v is None else str(v) for v in row))
                if sink.size >= MAX_TEXT_CHARS:
                    return
    finally:
        workbook.close()


def _eml_parts(message: EmailMessage, depth: int) -> Iterator[tuple[str, str, bytes, int]]:
    """(filename, content type, payload, depth) of the leaf parts, nested messages included."""
    count = 0
    for part in message.walk():
        count += 1
        if count > MAX_EMAIL_PARTS:
            raise NotScanned(gettext_noop("e-mail has more than %(n)d parts"), n=MAX_EMAIL_PARTS)
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        yield part.get_filename() or "", part.get_content_type(), payload, depth


def _eml(data: bytes, sink: _TextSink, budget: _Budget, depth: int) -> None:
    if depth > MAX_EMAIL_DEPTH:
        raise NotScanned(gettext_noop("e-mails nested too deeply"))
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage):
        raise NotScanned(gettext_noop("broken e-mail file"))
    sink.add(str(message.get("subject", "")))
    for filename, ctype, payload, _depth in _eml_parts(message, depth):
        budget.check()
        if not filename and ctype == "text/plain":
            sink.add(_decode(payload))
        elif not filename and ctype == "text/html":
            sink.add(_html_text(_decode(payload)))
        else:
            _extract_into(filename, ctype, payload, sink, budget, depth + 1)


def _extract_into(
    name: str, content_type: str, data: bytes, sink: _TextSink, budget: _Budget, depth: int
) -> None:
    kind = _kind(name, content_type, data[:8])
    if kind == "pdf":
        _pdf(data, sink, budget)
    elif kind == "docx":
        _docx(data, sink, budget)
    elif kind == "xlsx":
        _xlsx(data, sink, budget)
    elif kind == "eml":
        _eml(data, sink, budget, depth)
    elif kind == "text":
        sink.add(_decode(data))
    elif kind == "html":
        sink.add(_html_text(_decode(data)))
    else:
        if not content_type:
            raise NotScanned(gettext_noop("file type not supported (unknown)"))
        raise NotScanned(gettext_noop("file type not supported (%(type)s)"), type=content_type)


def too_large(max_bytes: int) -> NotScanned:
    return NotScanned(gettext_noop("file larger than %(n)d MB"), n=max_bytes // (1024 * 1024))


def _read(data: bytes | BinaryIO, max_bytes: int) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raw = data.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise too_large(max_bytes)
    return raw


@dataclass(frozen=True)
class Outcome:
    """An extraction's result with the reason not yet translated (what the child sends)."""

    text: str
    scanned: bool
    message: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def translated(self) -> ExtractResult:
        reason = reason_text(self.message, self.params) if self.message else ""
        return ExtractResult(self.text, self.scanned, reason)


def extract_outcome(
    name: str,
    content_type: str,
    data: bytes | BinaryIO,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> Outcome:
    """``extract_text`` without Django: the reason stays untranslated."""
    budget = _Budget(time_budget)
    sink = _TextSink()
    try:
        raw = _read(data, max_bytes)
        _extract_into(name, content_type, raw, sink, budget, depth=0)
    except NotScanned as exc:
        return Outcome(sink.text, False, exc.message, exc.params)
    except RecursionError:
        return Outcome("", False, gettext_noop("broken document (nested too deeply)"))
    except MemoryError:
        return Outcome("", False, gettext_noop("document needs too much memory"))
    except Exception as exc:
        return Outcome("", False, gettext_noop("broken document (%(error)s)"),
                       {"error": type(exc).__name__})
    return Outcome(sink.text, True)


def extract_text(
    name: str,
    content_type: str,
    data: bytes | BinaryIO,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> ExtractResult:
    """The text of an attachment, or ``scanned=False`` with the reason it could not be read.

    Runs in the calling process. Budgets are checked between pages, paragraphs and rows; a
    single pathological page can overrun them, which is why the product calls
    ``zegel.dlp.isolation.extract_text_isolated`` instead.
    """
    return extract_outcome(
        name, content_type, data, max_bytes=max_bytes, time_budget=time_budget
    ).translated()
