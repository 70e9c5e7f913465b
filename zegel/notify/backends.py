"""Where mail and SMS go: SMTP (Django's backend), a capture for the demo, SMS backends."""

from __future__ import annotations

import fcntl
import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from zegel.config import SmsConfig
from zegel.notify.models import CapturedMessage

# Socket timeout of one SMS webhook call; the outbox's lease is sized from it (and the SMTP one).
SMS_TIMEOUT = 15


class CaptureEmailBackend(BaseEmailBackend):
    """Keeps mail in the database for /dev/outbox instead of sending it."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            html = ""
            for content, mimetype in getattr(message, "alternatives", []):
                if mimetype == "text/html":
                    html = str(content)
            CapturedMessage.objects.create(
                channel="email",
                to=", ".join(message.to),
                subject=str(message.subject),
                text=str(message.body),
                html=html,
                raw=message.message().as_string(),
            )
        return len(email_messages)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        # None: urllib raises the 3xx as an HTTPError instead of following it.
        return None


# The scheme is checked in zegel.config (https, or http to loopback in the demo).
_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


class SmsError(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


def send_sms(to: str, body: str, config: SmsConfig | None = None) -> None:
    config = config or settings.SMS
    payload: dict[str, Any] = {"to": to, "body": body}
    if config.backend == "capture":
        CapturedMessage.objects.create(channel="sms", to=to, text=body)
    elif config.backend == "file":
        line = json.dumps(payload, ensure_ascii=False) + "\n"
        # The file holds live codes: owner-only whatever the process umask.
        fd = os.open(config.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            # Web and worker processes may append at once; a lock keeps lines whole.
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(line)
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    elif config.backend == "webhook":
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in zegel.config
            config.url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "Zegel"},
            method="POST",
        )
        try:
            with _NO_REDIRECTS.open(request, timeout=SMS_TIMEOUT) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                # A gateway that moved is a configuration to fix, not a place to follow the
                # code to: a redirect may point anywhere, even to plain HTTP.
                raise SmsError(f"SMS gateway answered HTTP {exc.code}; redirects are not "
                               "followed: fix ZEGEL_SMS_URL", permanent=True) from None
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            raise SmsError(f"SMS gateway answered HTTP {exc.code}", permanent=permanent) from None
        except (urllib.error.URLError, OSError) as exc:
            raise SmsError(f"SMS gateway unreachable: {type(exc).__name__}",
                           permanent=False) from None
    else:
        raise SmsError(f"unknown SMS backend {config.backend}", permanent=True)
