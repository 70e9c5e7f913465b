"""Building notification e-mails and SMS texts from templates (subject, text, HTML).

Which language: a recipient's notification is in the organisation's default language
(Organisation.recipient_language; nothing tells Zegel which a recipient reads before they open
the portal), with a short line in each other language the organisation offers; the code a
recipient asks for in the portal comes in the language of that page, which is always an
offered one (zegel.portal.languages); mail to staff is in the site's language
(settings.LANGUAGE_CODE). Dates are written in settings.TIME_ZONE (Europe/Amsterdam).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from zegel.notify.outbox import Email


def render_email(name: str, context: dict[str, Any], *, to: str, from_name: str,
                 language: str = "") -> Email:
    context = {**context, "BASE_URL": settings.BASE_URL}
    with translation.override(language or settings.LANGUAGE_CODE), \
            timezone.override(settings.TIME_ZONE):
        subject_text = str(render_to_string(f"emails/{name}_subject.txt", context))
        text = str(render_to_string(f"emails/{name}_body.txt", context))
        html = str(render_to_string(f"emails/{name}_body.html", context))
    # A subject is one line, whatever a template or a name put in it.
    subject = " ".join(subject_text.split())
    return Email(to=to, subject=subject, text=text, html=html, from_name=from_name)
