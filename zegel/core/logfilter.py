"""Keeps link tokens out of log lines, whatever logged them."""

from __future__ import annotations

import logging
import re

_TOKEN_PATH = re.compile(r"/m/[A-Za-z0-9_-]{20,}")


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/m/" in message:
            record.msg = _TOKEN_PATH.sub("/m/<token>", message)
            record.args = None
        return True
