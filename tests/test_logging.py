"""Logs never carry link tokens: the request logger says only errors, and the one handler
redacts portal paths whatever logged them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from zegel.core.logfilter import RedactTokens

TOKEN = "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"


@pytest.fixture
def stderr_log() -> Iterator[io.StringIO]:
    """What Zegel's own stderr handler writes, captured."""
    handlers = [h for h in logging.getLogger().handlers
                if any(isinstance(f, RedactTokens) for f in h.filters)]
    assert len(handlers) == 1, "the stderr handler has no RedactTokens filter"
    handler = handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    captured = io.StringIO()
    # Not setStream(): it flushes the old stream, which pytest's capturing may have closed.
    handler.stream = captured
    try:
        yield captured
    finally:
        # None: back to whatever sys.stderr is (zegel.core.logfilter.StderrHandler).
        handler.stream = None


def test_the_request_logger_says_only_errors() -> None:
    assert logging.getLogger("django.request").getEffectiveLevel() == logging.ERROR
    assert logging.getLogger("django.server").getEffectiveLevel() == logging.ERROR


def test_a_portal_404_leaves_no_token_in_the_log(stderr_log: io.StringIO, db: None) -> None:
    assert Client().get(f"/m/{TOKEN}").status_code == 404
    assert TOKEN not in stderr_log.getvalue()


def test_the_handler_redacts_a_token_from_any_logger(stderr_log: io.StringIO) -> None:
    logging.getLogger("zegel.anything").error("failed for %s", f"/m/{TOKEN}/verify")
    assert TOKEN not in stderr_log.getvalue()
    assert "failed for /m/<token>/verify" in stderr_log.getvalue()
