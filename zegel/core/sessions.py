"""Staff sessions end at the latest SESSION_MAX_AGE after login, however busy they are.

The session itself slides (SESSION_COOKIE_AGE, renewed on every request); this bounds it from
the moment of login, so a session kept alive by a tab left open, or by whoever took over a
cookie, still ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from zegel.orgs.actions import touch_session

LOGIN_AT = "zegel_login_at"


def stamp_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """On user_logged_in: the session's absolute lifetime starts now."""
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT] = time.time()


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase | HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(LOGIN_AT)
            if not isinstance(started, int | float):
                # A session from before this rule: its lifetime starts at its next request.
                request.session[LOGIN_AT] = time.time()
            elif time.time() - started > settings.SESSION_MAX_AGE:
                logout(request)
                return redirect_to_login(request.get_full_path())
            touch_session(user, request)
        return self.get_response(request)
