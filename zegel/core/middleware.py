"""HTTP plumbing every page shares: security headers, problem answers under /api/, page context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.translation import gettext as _

from zegel.core.problems import api_language, is_api, problem_response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        # Portal URLs carry link tokens: never leak them to another site through Referer.
        # Not "no-referrer": with it, browsers send "Origin: null" on form posts and Django's
        # CSRF origin check refuses every form. "same-origin" sends the URL only to Zegel itself.
        response["Referrer-Policy"] = "same-origin"
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.path_info.startswith("/api/"):
            # API answers carry messages' status and admins' settings: never kept by a proxy
            # or the client's cache.
            response["Cache-Control"] = "no-store"
        return response


class ApiProblemMiddleware:
    """Under /api/, every error is a JSON problem object, also the ones Django answers itself
    (an unknown path, a wrong method, a CSRF failure, a server error), never an HTML page; in
    the API client's language (zegel.core.problems)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (is_api(request) and response.status_code >= 400
                and "json" not in response.get("Content-Type", "")):
            status = response.status_code
            where = {"method": request.method, "path": request.path_info}
            with translation.override(api_language(request)):
                if status == 404:
                    detail = _("There is no %(method)s %(path)s in this API.") % where
                elif status == 405:
                    detail = (_("%(method)s is not allowed on %(path)s; allowed: %(allow)s.")
                              % {**where, "allow": response.get("Allow", "")})
                elif status >= 500:
                    detail = _("The server could not answer %(method)s %(path)s; the error "
                               "was logged.") % where
                else:
                    detail = _("%(method)s %(path)s was refused.") % where
            problem = problem_response(request, status, detail)
            if response.has_header("Allow"):
                problem["Allow"] = response["Allow"]
            return problem
        return response


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's, except under /api/: an API client gets the language of its Accept-Language
    header, English by default, whatever the session cookie or LANGUAGE_CODE say."""

    def process_request(self, request: HttpRequest) -> None:
        if is_api(request):
            language = api_language(request)
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
            return
        super().process_request(request)


def site_context(request: HttpRequest) -> dict[str, Any]:
    return {"DEMO": settings.DEMO}


class UploadRedirectMiddleware:
    """An upload sent by the page's script (zegel.js, header X-Zegel-Upload) gets a redirect
    as JSON, ``{"redirect": url}``, with status 200: the browser's XHR would otherwise follow
    the redirect itself, render the next page where nobody sees it and use up the one-time
    notice ("Your reply was sent") before the script navigates there. Only the answer's form
    changes; the header cannot be sent from another site without CORS, which Zegel does not
    allow."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (request.headers.get("X-Zegel-Upload") == "1"
                and response.status_code in (301, 302, 303) and response.has_header("Location")):
            from django.http import JsonResponse

            answer = JsonResponse({"redirect": response["Location"]})
            for name, value in response.items():
                if name.lower() in ("cache-control", "expires", "vary"):
                    answer[name] = value
            answer.cookies = response.cookies
            return answer
        return response
