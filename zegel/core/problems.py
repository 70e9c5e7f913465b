"""Problem answers (RFC 9457) under /api/, in the API client's language.

An API client gets English unless its Accept-Language asks for a language Zegel ships (Dutch):
the session cookie and LANGUAGE_CODE, which the web pages follow, do not count here. Every
problem Zegel answers under /api/ is built by problem_response, whichever layer refused the
request (the upload middleware, Django's own 404 and 405, the token check, the view), so the
title, the detail and Content-Language always agree.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import trans_real

API_PREFIX = "/api/"
PROBLEM_TYPE = "application/problem+json"
API_DEFAULT_LANGUAGE = "en"

# The HTTP reason phrases (RFC 9110), as the problem's title for type about:blank.
TITLES = {
    400: _lazy("Bad request"),
    401: _lazy("Unauthorized"),
    403: _lazy("Forbidden"),
    404: _lazy("Not found"),
    405: _lazy("Method not allowed"),
    409: _lazy("Conflict"),
    413: _lazy("Content too large"),
    415: _lazy("Unsupported media type"),
    422: _lazy("Unprocessable content"),
    429: _lazy("Too many requests"),
    500: _lazy("Internal server error"),
}


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def api_language(request: HttpRequest) -> str:
    """The first language in Accept-Language that Zegel ships, else English."""
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for code, quality in trans_real.parse_accept_lang_header(header):
        if code == "*":
            break
        if quality <= 0:  # q=0: "not this one"
            continue
        try:
            return trans_real.get_supported_language_variant(code)
        except LookupError:
            continue
    return API_DEFAULT_LANGUAGE if any(
        code == API_DEFAULT_LANGUAGE for code, _name in settings.LANGUAGES
    ) else settings.LANGUAGE_CODE


def problem_response(request: HttpRequest, status: int, detail: Any, **extra: Any
                     ) -> HttpResponse:
    """A problem object for this status; `detail` (a string or a lazy translation) is read
    in the client's language."""
    language = api_language(request)
    with translation.override(language):
        title = str(TITLES.get(status, _lazy("Error")))
        body = {"type": "about:blank", "title": title, "status": status,
                "detail": str(detail), **extra}
        text = json.dumps(body, ensure_ascii=False, default=str)
    response = HttpResponse(text, status=status, content_type=PROBLEM_TYPE)
    response["Content-Language"] = language
    return response
