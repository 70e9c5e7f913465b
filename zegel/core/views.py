"""Small pages that belong to no part in particular."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET

from zegel.notify.models import CapturedMessage
from zegel.orgs.models import Organisation, OrganisationLogo

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def brand_css(request: HttpRequest, org_id: int) -> HttpResponse:
    org = Organisation.objects.filter(pk=org_id).first()
    colour = org.brand_colour if org and _COLOUR.match(org.brand_colour) else "#154273"
    response = HttpResponse(f":root {{ --brand: {colour}; }}\n", content_type="text/css")
    response["Cache-Control"] = "max-age=300"
    return response


@require_GET
def logo_image(request: HttpRequest, domain: str, digest: str) -> HttpResponse:
    """An organisation's logo: public (notifications show it), always the PNG Zegel drew."""
    logo = (OrganisationLogo.objects.filter(organisation__domain=domain, digest=digest)
            .only("png").first())
    if logo is None:
        raise Http404
    response = HttpResponse(bytes(logo.png), content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Disposition"] = 'inline; filename="logo.png"'
    # The digest is in the address: a new logo is a new address.
    response["Cache-Control"] = "public, max-age=86400, immutable"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@never_cache
def dev_outbox(request: HttpRequest) -> HttpResponse:
    if not settings.DEMO:
        raise Http404
    items = CapturedMessage.objects.all()[:50]
    return render(request, "dev_outbox.html", {"items": items})


# A captured mail's HTML, framed by /dev/outbox: the mail's own inline styles apply, nothing in
# it runs (no script, no plug-ins, no forms; a sandbox of its own origin) and it loads nothing
# from elsewhere, whatever a name or text in the mail held.
CAPTURED_HTML_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                     "form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox")


@never_cache
@xframe_options_sameorigin
def dev_outbox_html(request: HttpRequest, item_id: int) -> HttpResponse:
    if not settings.DEMO:
        raise Http404
    item = CapturedMessage.objects.filter(pk=item_id, channel="email").exclude(html="").first()
    if item is None:
        raise Http404
    response = HttpResponse(item.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = CAPTURED_HTML_CSP
    response["X-Content-Type-Options"] = "nosniff"
    return response
