"""Staff log-in: e-mail addresses are matched without regard to case, and an account that saw
many failed log-ins recently is refused for a while (the failures are in the audit log)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from django.utils import timezone

from zegel.audit.models import AuditEvent

MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)


def recently_failed(email: str) -> int:
    return AuditEvent.objects.filter(action="user.login_failed", actor_label=email,
                                     at__gte=timezone.now() - WINDOW).count()


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
