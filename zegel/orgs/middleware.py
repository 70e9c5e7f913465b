"""The organisation's "2FA required" policy on web requests: a logged-in user whose grace
period has passed without a second factor reaches only the pages that enrol one (and log-out,
the language switch); every other page sends them there. The API refuses their tokens
(zegel.api.auth)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from zegel.orgs.models import User
from zegel.orgs.twofactor.policy import must_enrol

# URL names (namespace:name) such a user may still open.
# The confirmation page too: enrolling needs a recent authentication (zegel.orgs.reauth).
ENROLMENT_PAGES = frozenset({"sender:logout", "set_language", "healthz", "brand_css",
                             "staff:confirm"})


def _enrolment_page(request: HttpRequest) -> bool:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return True  # a 404 stays a 404
    name = match.view_name
    return name in ENROLMENT_PAGES or name.startswith("sender:security")


class TwoFactorPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if (isinstance(user, User) and user.organisation.two_factor_required
                and not _enrolment_page(request) and must_enrol(user)):
            return redirect("sender:security")
        return self.get_response(request)
