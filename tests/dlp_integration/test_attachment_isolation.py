"""Attachments are extracted in a limited child process, fed the decrypted file in chunks."""

from __future__ import annotations

import io
import os
import random
import resource
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from django.utils import translation
from pypdf import PdfWriter
from pypdf.generic import (
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    NameObject,
)

from tests.messaging.test_attachments import make_attachment
from zegel.dlp import isolation, service
from zegel.dlp.extract import ExtractResult
from zegel.dlp.findings import NOT_SCANNED
from zegel.dlp.medical import default_terms
from zegel.messaging.models import Attachment
from zegel.orgs.models import User

CARD = "4111 1111 1111 1111"
MIB = 1024 * 1024


def scan(attachment: Attachment) -> list[service.LocatedFinding]:
    with translation.override("en"):
        return service._scan_attachments(attachment.organisation, [attachment], [],
                                         default_terms(), set())


def pdf(content: bytes, *, padding: int = 0, compressed: bool = False) -> bytes:
    """A one-page PDF drawing ``content``, plus ``padding`` random bytes in an unused object."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=300, height=300)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                             NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    stream = EncodedStreamObject()
    stream._data = zlib.compress(content, 9) if compressed else content
    if compressed:
        stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    if padding:
        filler = DecodedStreamObject()
        filler.set_data(os.urandom(padding))
        writer._add_object(filler)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def slow_pdf() -> bytes:
    """20 KB whose single page takes pypdf many seconds: its budget is never checked inside."""
    ops = b"BT /F1 12 Tf 20 200 Td " + b"(woord) Tj 1 0 Td " * 500_000 + b"ET\n"
    return pdf(ops, compressed=True)


def greedy_docx(xml_mib: int) -> bytes:
    """A small DOCX whose document.xml (compressed about 47:1, under the bomb check) needs
    some 55 times its size in memory once parsed."""
    base = io.BytesIO()
    docx.Document().save(base)
    source = zipfile.ZipFile(io.BytesIO(base.getvalue()))
    rnd = random.Random(1)  # noqa: S311 (filler, not a secret)
    unit = "<w:p/>" * 30
    count = xml_mib * MIB // (len(unit) + 11)
    body = "".join(f"{unit}<!--{rnd.getrandbits(16):04x}-->" for _ in range(count))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            if item.filename == "word/document.xml":
                head, tail = source.read(item).decode().split("<w:body>")
                archive.writestr(item.filename, f"{head}<w:body>{body}{tail}")
            else:
                archive.writestr(item, source.read(item))
    return out.getvalue()


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_every_format_is_read_through_the_child(sender: User) -> None:
    document = docx.Document()
    document.add_paragraph(f"Kaart {CARD}")
    out = io.BytesIO()
    document.save(out)
    for data, name in ((f"Naam;Kaart\nJan;{CARD}\n".encode(), "lijst.csv"),
                       (out.getvalue(), "brief.docx")):
        findings = scan(make_attachment(sender, data, name))
        assert [f.finding.kind for f in findings] == ["payment_card"], name


def test_the_web_process_never_holds_the_whole_file(
    sender: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = f"BT /F1 12 Tf 20 200 Td (Kaart {CARD}) Tj ET".encode()
    data = pdf(text, padding=25 * MIB - 2000)
    assert 24 * MIB < len(data) <= service.ATTACHMENT_MAX_BYTES
    attachment = make_attachment(sender, data, "groot.pdf")
    del data
    real = service.iter_attachment
    bound = 4 * MIB

    def watched(attachment: Attachment) -> Iterator[bytes]:
        tracemalloc.start()
        try:
            start = tracemalloc.get_traced_memory()[0]
            for count, chunk in enumerate(real(attachment)):
                held = tracemalloc.get_traced_memory()[0] - start
                assert held < bound, f"{held} bytes held after {count} chunks"
                yield chunk
        finally:
            tracemalloc.stop()

    monkeypatch.setattr(service, "iter_attachment", watched)
    findings = scan(attachment)
    assert [f.finding.kind for f in findings] == ["payment_card"]


def test_a_file_over_the_time_budget_is_not_scanned_on_time(
    sender: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "ATTACHMENT_BUDGET_SECONDS", 1.0)
    attachment = make_attachment(sender, slow_pdf(), "traag.pdf")
    started = time.monotonic()
    findings = scan(attachment)
    elapsed = time.monotonic() - started
    assert [(f.finding.kind, f.finding.detail) for f in findings] == [
        (NOT_SCANNED, "time budget of 1 s exceeded")]
    assert elapsed < 1.0 + isolation.STARTUP_GRACE + 1.5


def test_a_file_that_needs_too_much_memory_is_not_scanned_and_the_web_process_stays_small(
    sender: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # raising=False: without the setting the old in-process code runs, and fails below.
    monkeypatch.setattr(service, "ATTACHMENT_MEMORY_LIMIT", 300 * MIB, raising=False)
    # A time budget far beyond what the file needs on a busy machine: what stops the reader
    # here must be the memory limit (the child dies), not the clock.
    monkeypatch.setattr(service, "ATTACHMENT_BUDGET_SECONDS", 60.0)
    attachment = make_attachment(sender, greedy_docx(10), "groot.docx")
    before = peak_rss_mib()
    findings = scan(attachment)
    assert [(f.finding.kind, f.finding.detail) for f in findings] == [
        (NOT_SCANNED, "document needs too much memory")]
    assert peak_rss_mib() - before < 100


def test_a_file_too_large_while_streaming_is_not_scanned(
    sender: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    attachment = make_attachment(sender, b"x" * 3 * MIB, "a.txt")
    monkeypatch.setattr(service, "ATTACHMENT_MAX_BYTES", 2 * MIB)
    [finding] = scan(attachment)
    assert (finding.finding.kind, finding.finding.detail) == (NOT_SCANNED, "file larger than 2 MB")
    # The stored size may lie (a database edit); the stream is counted too.
    Attachment.objects.filter(pk=attachment.pk).update(size=10)
    attachment.refresh_from_db()
    [finding] = scan(attachment)
    assert (finding.finding.kind, finding.finding.detail) == (NOT_SCANNED, "file larger than 2 MB")


def _children() -> set[int]:
    pids = set()
    for task in Path("/proc/self/task").iterdir():
        pids.update(int(p) for p in (task / "children").read_text().split())
    return pids


class PausedExtraction:
    """``extract_text_isolated`` in a thread, paused after the first chunk, so a test can look
    at (or kill) the child while it waits for the rest of the file."""

    def __init__(self, **options: int) -> None:
        self.paused, self.resume = threading.Event(), threading.Event()
        self.results: list[ExtractResult] = []
        before = _children()

        def extract() -> None:
            with translation.override("en"):
                self.results.append(isolation.extract_text_isolated(
                    "a.txt", "text/plain", self.chunks(), **options))

        self.thread = threading.Thread(target=extract)
        self.thread.start()
        assert self.paused.wait(20)
        [self.pid] = _children() - before
        self.proc = Path(f"/proc/{self.pid}")

    def chunks(self) -> Iterator[bytes]:
        yield b"eerste deel "
        self.paused.set()
        self.resume.wait(20)
        yield b"tweede deel"

    def finish(self) -> ExtractResult:
        self.resume.set()
        self.thread.join(30)
        [result] = self.results
        return result


def test_the_child_runs_limited_and_without_the_web_process_environment(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZEGEL_TEST_SECRET", "must-not-leak")
    run = PausedExtraction(memory_limit=400 * MIB)
    try:
        limits = ""
        for _attempt in range(100):  # the child sets its limits after reading the header
            limits = (run.proc / "limits").read_text()
            if str(400 * MIB) in limits:
                break
            time.sleep(0.05)
        lines = {line[:26].strip(): line[26:].split() for line in limits.splitlines()[1:]}
        assert lines["Max address space"][:2] == [str(400 * MIB)] * 2
        assert lines["Max cpu time"][:2] == ["7", "8"]  # 5 s budget + 2 s start-up grace
        assert lines["Max file size"][:2] == ["0", "0"]
        assert lines["Max core file size"][:2] == ["0", "0"]
        assert lines["Max processes"][:2] == ["0", "0"]
        # A fresh interpreter, not a fork of the web process.
        assert (run.proc / "cmdline").read_bytes().split(b"\0")[1:5] == [
            b"-P", b"-s", b"-m", b"zegel.dlp.isolation"]
        environment = (run.proc / "environ").read_bytes()
        assert b"must-not-leak" not in environment and b"ZEGEL_" not in environment
        assert os.readlink(run.proc / "cwd") == "/"
        assert os.readlink(run.proc / "fd" / "2") == "/dev/null"
    finally:
        result = run.finish()
    assert (result.scanned, result.text) == (True, "eerste deel tweede deel")


def test_a_child_that_dies_is_not_scanned() -> None:
    run = PausedExtraction()
    os.kill(run.pid, signal.SIGKILL)
    result = run.finish()
    assert (result.scanned, result.reason) == (False, "document could not be read (reader crashed)")


def test_an_error_reading_the_file_is_the_callers_and_leaves_no_child() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"begin "
        raise OSError("blob unreadable")

    before = _children()
    with pytest.raises(OSError, match="blob unreadable"):
        isolation.extract_text_isolated("a.txt", "text/plain", chunks())
    assert _children() - before == set()


def test_no_child_process_means_not_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(isolation, "_child_command", lambda: ["/nonexistent/python"])
    with translation.override("en"):
        result = isolation.extract_text_isolated("a.txt", "text/plain", b"BSN 111222333")
    assert (result.scanned, result.reason) == (False, "document could not be read (reader crashed)")


def test_the_child_stays_under_a_lower_limit_the_server_runs_with() -> None:
    # A server started under a hard address-space limit of 3 GiB, asked for 4 GiB.
    script = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "from zegel.dlp.isolation import extract_text_isolated\n"
        "result = extract_text_isolated('a.txt', 'text/plain', b'tekst', memory_limit=4 << 30)\n"
        "sys.stdout.write(repr((result.scanned, result.text)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.stdout == "(True, 'tekst')", done.stderr[-500:]
