"""Text from attachments, within a size and time budget, or a clear reason why not.

Supported: PDF (pypdf), DOCX (python-docx), XLSX (openpyxl, read-only), plain text and CSV,
and e-mail files (.eml, with their attachments, nested a few levels at most). Office files
are zip archives, so their directory is checked for decompression bombs before any XML is
parsed. ``extract_text_isolated`` additionally runs the extraction in a child process with
a hard time and memory limit, for files from outside the organisation.
"""

from __future__ import annotations

import email
import email.policy
import io
import multiprocessing
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import BinaryIO

from django.utils.translation import gettext as _

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


class NotScanned(Exception):
    """Extraction stopped; the message is the reason shown to the sender."""


class _Budget:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise NotScanned(_("time budget of %(s)g s exceeded") % {"s": self.seconds})


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
        raise NotScanned(_("broken document (not a valid zip container)")) from exc
    members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise NotScanned(_("document has more than %(n)d parts") % {"n": MAX_ZIP_MEMBERS})
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > MAX_COMPRESSION_RATIO and member.file_size > 1024 * 1024:
            raise NotScanned(_("document looks like a decompression bomb (compression ratio)"))
    if total > MAX_UNCOMPRESSED:
        raise NotScanned(_("document unpacks to more than the allowed size"))
    return archive


def _pdf(data: bytes, sink: _TextSink, budget: _Budget) -> None:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        # Many PDFs are "encrypted" only against editing and open with an empty password.
        try:
            if not reader.decrypt(""):
                raise NotScanned(_("encrypted PDF (password protected)"))
        except (FileNotDecryptedError, NotImplementedError) as exc:
            raise NotScanned(_("encrypted PDF (password protected)")) from exc
    if len(reader.pages) > MAX_PDF_PAGES:
        raise NotScanned(_("PDF has more than %(n)d pages") % {"n": MAX_PDF_PAGES})
    found_text = False
    for page in reader.pages:
        budget.check()
        text = page.extract_text() or ""
        if text.strip():
            found_text = True
        sink.add(text)
    if not found_text:
        raise NotScanned(_("PDF contains no text (scanned image?)"))


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
            raise NotScanned(_("e-mail has more than %(n)d parts") % {"n": MAX_EMAIL_PARTS})
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        yield part.get_filename() or "", part.get_content_type(), payload, depth


def _eml(data: bytes, sink: _TextSink, budget: _Budget, depth: int) -> None:
    if depth > MAX_EMAIL_DEPTH:
        raise NotScanned(_("e-mails nested too deeply"))
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(message, EmailMessage):
        raise NotScanned(_("broken e-mail file"))
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
        raise NotScanned(_("file type not supported (%(type)s)")
                         % {"type": content_type or _("unknown")})


def _read(data: bytes | BinaryIO, max_bytes: int) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raw = data.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise NotScanned(_("file larger than %(n)d MB") % {"n": max_bytes // (1024 * 1024)})
    return raw


def extract_text(
    name: str,
    content_type: str,
    data: bytes | BinaryIO,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    time_budget: float = DEFAULT_TIME_BUDGET,
) -> ExtractResult:
    """The text of an attachment, or ``scanned=False`` with the reason it could not be read.

    Budgets are checked between pages, paragraphs and rows; a single pathological page
    can overrun them, which ``extract_text_isolated`` guards against.
    """
    budget = _Budget(time_budget)
    sink = _TextSink()
    try:
        raw = _read(data, max_bytes)
        _extract_into(name, content_type, raw, sink, budget, depth=0)
    except NotScanned as exc:
        return ExtractResult(sink.text, scanned=False, reason=str(exc))
    except RecursionError:
        return ExtractResult("", scanned=False, reason=_("broken document (nested too deeply)"))
    except MemoryError:
        return ExtractResult("", scanned=False, reason=_("document needs too much memory"))
    except Exception as exc:
        reason = _("broken document (%(error)s)") % {"error": type(exc).__name__}
        return ExtractResult("", scanned=False, reason=reason)
    return ExtractResult(sink.text, scanned=True)


def _child(
    conn: multiprocessing.connection.Connection,
    name: str,
    content_type: str,
    data: bytes,
    max_bytes: int,
    time_budget: float,
    memory_limit: int,
) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    result = extract_text(name, content_type, data, max_bytes=max_bytes, time_budget=time_budget)
    conn.send(result)
    conn.close()


def extract_text_isolated(
    name: str,
    content_type: str,
    data: bytes | BinaryIO,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    time_budget: float = DEFAULT_TIME_BUDGET,
    memory_limit: int = 1024 * 1024 * 1024,
) -> ExtractResult:
    """``extract_text`` in a forked child that is killed when the budget is over."""
    try:
        raw = _read(data, max_bytes)
    except NotScanned as exc:
        return ExtractResult("", scanned=False, reason=str(exc))
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child,
        args=(sender, name, content_type, raw, max_bytes, time_budget, memory_limit),
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        # A little grace over the budget for the child's own cooperative check to fire.
        if receiver.poll(time_budget + 1.0):
            result = receiver.recv()
            if isinstance(result, ExtractResult):
                return result
        return ExtractResult("", scanned=False,
                             reason=_("time budget of %(s)g s exceeded") % {"s": time_budget})
    except EOFError:
        return ExtractResult(
            "", scanned=False, reason=_("document could not be read (reader crashed)")
        )
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(1.0)
        child.close()
