"""Staff log-in: e-mail addresses are matched without regard to case, and an account that saw
many failed log-ins recently is refused for a while (the failures are counted in FailedLogin,
not read back from the audit log, which is evidence and not operational data)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from django.utils import timezone

from zegel.orgs.models import FailedLogin

MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)


def recently_failed(email: str) -> int:
    return FailedLogin.objects.filter(email=email, at__gte=timezone.now() - WINDOW).count()


def note_failed_login(email: str) -> None:
    """Count one failure for `email` and forget the ones the window has passed."""
    now = timezone.now()
    FailedLogin.objects.create(email=email, at=now)
    # Pruning here keeps the table as small as the window, without a separate job.
    FailedLogin.objects.filter(at__lt=now - WINDOW).delete()


class EmailBackend(ModelBackend):
    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> Any:
        if not username or password is None:
            return None
        email = username.strip().lower()
        if recently_failed(email) >= MAX_FAILURES:
            # Too many tries: even the right password waits until the window has passed.
            return None
        return super().authenticate(request, username=email, password=password, **kwargs)
