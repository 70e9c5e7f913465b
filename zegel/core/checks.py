"""System checks that `django-admin check --deploy` runs in addition to Django's own."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register("zegel", deploy=True)
def capture_backends_in_production(app_configs: Any, **kwargs: Any) -> list[Error]:
    """The capture backends keep every notification link and code in plaintext for the demo's
    /dev/outbox. In production that would both send nothing and store secrets."""
    errors = []
    if not settings.DEMO and settings.EMAIL.backend == "capture":
        errors.append(Error("ZEGEL_EMAIL_URL is 'capture': no e-mail would be sent.",
                            hint="Set ZEGEL_EMAIL_URL to your SMTP relay.", id="zegel.E001"))
    if not settings.DEMO and settings.SMS.backend == "capture":
        errors.append(Error("ZEGEL_SMS_URL is 'capture': no SMS would be sent.",
                            hint="Set ZEGEL_SMS_URL to your SMS gateway.", id="zegel.E002"))
    if settings.DEBUG:
        errors.append(Error("ZEGEL_DEBUG is on.", hint="Never run production with debug pages.",
                            id="zegel.E003"))
    return errors
