"""Content that fails its integrity check: a clear page or API problem, and an audit event.

A data key or sealed value that does not belong where it was found (a row moved or altered in
the database, a blob changed) raises ContentIntegrityError wherever it is read. The sender app,
the portal and the API all answer it the same way, here: no content, no 500, and an audit event
`content.integrity_failed` naming the row as found, so an administrator sees that someone
edited the stored data.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from zegel.core.problems import is_api, problem_response
from zegel.keystore.integrity import report_integrity_failure
from zegel.keystore.keys import ContentIntegrityError

# 409: the request was fine, the stored data it asks for is not in the state it must be in.
STATUS = 409


def integrity_failure_response(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return problem_response(request, STATUS, _(
            "The stored content does not belong where it was found and was not shown. The "
            "event was logged."))
    html = render_to_string("error.html", {
        "title": _("This content cannot be shown"),
        "message": _("The stored data failed its security check, so it is not shown. "
                     "Nothing was sent or changed. The event was logged; please tell the "
                     "organisation that sent you the message."),
    }, request=request)
    return HttpResponse(html, status=STATUS)


class ContentIntegrityMiddleware:
    """Answers ContentIntegrityError from any view with the page above."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest,
                          exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ContentIntegrityError):
            return None
        report_integrity_failure(exception, request)
        return integrity_failure_response(request)
