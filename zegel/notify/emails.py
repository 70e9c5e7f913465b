"""Building notification e-mails and SMS texts from templates (subject, text, HTML)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from zegel.notify.outbox import Email


def render_email(name: str, context: dict[str, Any], *, to: str, from_name: str,
                 language: str = "nl") -> Email:
    context = {**context, "BASE_URL": settings.BASE_URL}
    with translation.override(language):
        subject_text = str(render_to_string(f"emails/{name}_subject.txt", context))
        text = str(render_to_string(f"emails/{name}_body.txt", context))
        html = str(render_to_string(f"emails/{name}_body.html", context))
    # A subject is one line, whatever a template or a name put in it.
    subject = " ".join(subject_text.split())
    return Email(to=to, subject=subject, text=text, html=html, from_name=from_name)
