"""Filters on Zegel's log handler: no link tokens, and no attachment content, whatever logged it."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

_TOKEN_PATH = re.compile(r"/m/[A-Za-z0-9_-]{20,}")

# The libraries that read attachments for the data-leak scan (zegel.dlp.extract). Their
# warnings quote what they read ("Page resources are not a dictionary: <the page's text>").
# fpdf2 and fontTools write Zegel's PDFs (zegel.core.pdf) and log the characters they draw
# ("missing the following glyphs: …", the glyph names of a font subset).
EXTRACTION_LIBRARIES = ("pypdf", "docx", "openpyxl", "PIL", "lxml", "et_xmlfile", "fpdf",
                        "fontTools")
_LIBRARY_PATH = re.compile(r"[/\\](" + "|".join(EXTRACTION_LIBRARIES) + r")[/\\][^:]*:\d+: (\w+)")
DROPPED = "message text dropped: it may quote attachment content"


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/m/" in message:
            record.msg = _TOKEN_PATH.sub("/m/<token>", message)
            record.args = None
        return True


def _library_logger(name: str) -> bool:
    return any(name == lib or name.startswith(lib + ".") for lib in EXTRACTION_LIBRARIES)


class DropLibraryText(logging.Filter):
    """Keeps the logger name and level of an extraction library's record, drops its text,
    arguments and traceback. Warnings (`warnings.warn`, captured to the "py.warnings" logger)
    are recognised by the file that raised them and keep only their category."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _library_logger(record.name):
            self._drop(record, DROPPED)
        elif record.name == "py.warnings":
            try:
                text = record.getMessage()
            except (TypeError, ValueError):
                text = str(record.msg)
            match = _LIBRARY_PATH.search(text.split("\n", 1)[0])
            if match:
                self._drop(record, f"{match.group(2)} from {match.group(1)}; {DROPPED}")
        return True

    @staticmethod
    def _drop(record: logging.LogRecord, text: str) -> None:
        record.msg = text
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None


def install_in_child() -> None:
    """For a process that reads attachments but did not load Django's LOGGING (a spawned or
    separate child): capture warnings and put the filter on every root handler, adding a
    stderr handler when there is none. A forked child inherits the parent's set-up instead."""
    logging.captureWarnings(True)
    root = logging.getLogger()
    if not root.handlers:
        stderr = logging.StreamHandler()
        stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(stderr)
    for handler in root.handlers:
        if not any(isinstance(f, DropLibraryText) for f in handler.filters):
            handler.addFilter(DropLibraryText())


class StderrHandler(logging.StreamHandler):
    """Writes each record to whatever `sys.stderr` is when it is emitted, not the stream that
    was there when logging was set up: a test runner or a command that swaps stderr (and later
    closes its stand-in) never leaves the handler writing to a closed file. Setting `stream`
    points it at that stream instead; setting it to None goes back to sys.stderr."""

    def __init__(self) -> None:
        self._chosen: Any = None
        super().__init__()
        self._chosen = None

    @property
    def stream(self) -> Any:
        return self._chosen if self._chosen is not None else sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        self._chosen = value
