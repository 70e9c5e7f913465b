"""The public page, per organisation, on how to recognise a genuine notification from it.

Notifications link to it when the organisation has no page of its own (Organisation.info_url).
It shows nothing that is not already public: the organisation's name, explanation and contact
details, the address notifications come from and the address of Zegel's links.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from zegel.notify.outbox import sender_address
from zegel.orgs.models import Organisation
from zegel.portal.languages import language_choices, use_portal_language


@require_GET
def genuine(request: HttpRequest, domain: str) -> HttpResponse:
    org = Organisation.objects.filter(domain=domain.lower()).first()
    if org is None:
        return render(request, "portal/not_found.html", status=404)
    use_portal_language(request, org)
    base = urlsplit(settings.BASE_URL)
    return render(request, "portal/genuine.html", {
        "org": org,
        "offered_languages": language_choices(org),
        "from_address": sender_address(org),
        "link_start": f"{base.scheme}://{base.netloc}/m/",
    })


@require_GET
def info(request: HttpRequest, domain: str) -> HttpResponse:
    """The organisation's public information page for recipients (/o/<domain>/): how to open
    a message, what each code is (only the ways the organisation allows), how to reply, how to
    recognise a genuine notification and whom to ask. The organisation's domain is its slug,
    as on the genuine page."""
    org = Organisation.objects.filter(domain=domain.lower()).first()
    if org is None:
        return render(request, "portal/not_found.html", status=404)
    base = urlsplit(settings.BASE_URL)
    return render(request, "portal/info.html", {
        "org": org,
        "from_address": sender_address(org),
        "link_start": f"{base.scheme}://{base.netloc}/m/",
    })
