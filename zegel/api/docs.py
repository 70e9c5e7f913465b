"""/api/v1/docs: Swagger UI from Zegel's own static files, under Zegel's CSP.

django-ninja's own docs page loads Swagger UI from a CDN unless ninja is an installed app, and
its template starts it from a JSON block. This one loads the copy that drf-spectacular-sidecar
ships (pinned with hashes in requirements/base.txt, licence file alongside) and starts it from
zegel/static/zegel/api-docs.js, so the page works offline and needs no inline script.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja.openapi.docs import DocsBase

if TYPE_CHECKING:
    from ninja import NinjaAPI


class LocalSwagger(DocsBase):
    template = "api/docs.html"

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        return render(request, self.template,
                      {"api": api, "openapi_url": self.get_openapi_url(api, kwargs)})
