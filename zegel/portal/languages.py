"""The portal's language: one of the languages the recipient's organisation offers.

The language switch (Django's set_language, shared with the sender app) accepts every
shipped language; the portal shows a page in the one the recipient chose only when their
organisation offers it, else in the first offered one their browser asks for, else in the
organisation's default. A language that is not offered is ignored, and the switch on portal
pages lists only the offered ones.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import get_language_info
from django.utils.translation.trans_real import parse_accept_lang_header

from zegel.orgs.models import Organisation


def portal_language(request: HttpRequest, org: Organisation) -> str:
    """The language the recipient's page is shown in."""
    offered = org.offered_languages
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if chosen in offered:
        return chosen
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for code, _quality in parse_accept_lang_header(header):
        base = code.split("-")[0].lower()
        if base in offered:
            return base
    return org.recipient_language


def use_portal_language(request: HttpRequest, org: Organisation) -> None:
    """Show the rest of this request (its page, its flash messages, a code e-mail it sends)
    in the portal's language for the organisation."""
    code = portal_language(request, org)
    translation.activate(code)
    request.LANGUAGE_CODE = code


def language_choices(org: Organisation) -> list[tuple[str, str]]:
    """The offered languages as (code, name in that language), for the portal's switch."""
    return [(code, get_language_info(code)["name_local"]) for code in org.offered_languages]
