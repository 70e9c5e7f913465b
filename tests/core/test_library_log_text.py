"""No library writes attachment content into the log: records and warnings of the extraction
libraries keep their logger name and level, and lose their text."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.messaging.test_attachments import make_attachment
from zegel.core.logfilter import DropLibraryText
from zegel.core.pdf import Document
from zegel.dlp import service as dlp
from zegel.dlp.extract import extract_text
from zegel.messaging import actions
from zegel.orgs.models import User

REPO = Path(__file__).resolve().parents[2]
SECRET = b"Geheim: BSN 111222333 van patient Jansen"


def pdf_quoting_itself(secret: bytes) -> bytes:
    """A PDF whose page /Resources is a string: pypdf warns "Page resources are not a
    dictionary: <that string>" while it extracts the text."""
    stream = b"BT /F1 12 Tf 72 712 Td (Hallo) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources (" + secret
        + b") /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


@pytest.fixture
def zegel_log(capfd: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """Zegel's handler (settings.LOGGING) writing to file descriptor 2 as capfd has it, so what
    a forked child logs is captured too."""
    handlers = [h for h in logging.getLogger().handlers
                if isinstance(h, logging.StreamHandler)
                and any(isinstance(f, DropLibraryText) for f in h.filters)]
    assert handlers, "settings.LOGGING has no handler with the library filter"
    # fd 2 itself, not a copy: capfd points fd 2 at its file for the test's call phase.
    stream = open(2, "w", closefd=False)
    # Swapped by hand, not with setStream(): that flushes the old stream, which an earlier test
    # that configured logging under capsys may have left closed.
    for handler in handlers:
        handler.stream = stream
    try:
        yield capfd
    finally:
        for handler in handlers:
            # None: back to whatever sys.stderr is (zegel.core.logfilter.StderrHandler).
            handler.stream = None
        stream.close()


def _assert_named_without_text(log: str) -> None:
    assert "WARNING pypdf._page message text dropped" in log
    for word in ("111222333", "Geheim", "Jansen"):
        assert word not in log


def test_a_pdf_that_makes_pypdf_quote_it_leaves_no_text_in_the_log(
        zegel_log: pytest.CaptureFixture[str]) -> None:
    extract_text("brief.pdf", "application/pdf", pdf_quoting_itself(SECRET))
    _assert_named_without_text(zegel_log.readouterr().err)


def test_checking_a_draft_with_that_pdf_leaves_no_text_in_the_log(
        sender: User, zegel_log: pytest.CaptureFixture[str]) -> None:
    # The way the product reads attachments, wherever the extraction runs (this process, a
    # forked or a fresh child): nothing of the content reaches the log.
    attachment = make_attachment(sender, pdf_quoting_itself(SECRET), "brief.pdf")
    dlp.check_draft(sender=sender, subject="Uitslag", body="Zie bijlage.",
                    recipients=[actions.RecipientSpec(email="piet@example.nl", method="email")],
                    attachments=[attachment])
    log = zegel_log.readouterr().err
    for word in ("111222333", "Geheim", "Jansen"):
        assert word not in log


def test_writing_a_pdf_leaves_no_text_in_the_log(zegel_log: pytest.CaptureFixture[str]) -> None:
    # fpdf2 names the characters its font lacks; fontTools lists a subset's glyphs at INFO.
    doc = Document(title="t", author="a")
    doc.paragraph("Geheim: patiënt Jansen 漢字")
    doc.output_bytes()
    log = zegel_log.readouterr().err
    assert "fpdf" in log, "the warning itself is kept, without its text"
    for word in ("漢", "6f22", "Jansen", "Glyph names"):
        assert word not in log


def test_other_records_keep_their_text(zegel_log: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("zegel.notify.outbox").warning("item %s pushed back", 42)
    assert "item 42 pushed back" in zegel_log.readouterr().err


def _run(script: str, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({"ZEGEL_DATA_DIR": str(tmp_path), "PYTHONPATH": str(REPO),
                "DJANGO_SETTINGS_MODULE": "zegel.settings", "PYTHONWARNINGS": "always"})
    pdf = tmp_path / "brief.pdf"
    pdf.write_bytes(pdf_quoting_itself(SECRET))
    result = subprocess.run([sys.executable, "-c", script, str(pdf)], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


# A warning raised from inside a library file, as openpyxl raises them, quoting a cell.
WARN_FROM_LIBRARY = """
import warnings, openpyxl.reader.excel as where
warnings.warn_explicit("Cell A1 holds Geheim: BSN 111222333", UserWarning, where.__file__, 10,
                       module="openpyxl.reader.excel")
import sys
from pypdf import PdfReader
with open(sys.argv[1], "rb") as pdf:
    PdfReader(pdf).pages[0].extract_text()
"""


def test_a_process_with_zegels_settings_drops_library_text(tmp_path: Path) -> None:
    log = _run("import django; django.setup()\n" + WARN_FROM_LIBRARY, tmp_path)
    _assert_named_without_text(log)
    assert "WARNING py.warnings UserWarning from openpyxl; message text dropped" in log


def test_a_child_without_django_installs_the_same_filter(tmp_path: Path) -> None:
    log = _run("from zegel.core.logfilter import install_in_child; install_in_child()\n"
               + WARN_FROM_LIBRARY, tmp_path)
    _assert_named_without_text(log)
    assert "UserWarning from openpyxl" in log
