"""Recent authentication ("confirm it is you") before sensitive changes to an account.

A logged-in session alone is not enough to change how the account logs in: setting up or
removing the authenticator app, making new recovery codes, adding or removing a passkey, and an
admin resetting someone's two-factor login each need the person to have proved who they are
within the last RECENT_SECONDS: by logging in, or by typing their password (or using a passkey)
again on the confirmation page (zegel.staff.confirm). So someone who got hold of a logged-in
session (a borrowed laptop, a stolen cookie) cannot remove the second factor or put their own
in its place. The time is kept in the session itself; a new session starts without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

View = Callable[..., HttpResponseBase]

# How long a log-in or a confirmation counts as recent.
RECENT_SECONDS = 10 * 60
_AT = "zegel_authenticated_at"


def mark(request: HttpRequest) -> None:
    """The person proved who they are just now (log-in, or the confirmation page)."""
    request.session[_AT] = time.time()


def is_recent(request: HttpRequest) -> bool:
    at = request.session.get(_AT)
    return (isinstance(at, int | float) and not isinstance(at, bool)
            and 0 <= time.time() - at <= RECENT_SECONDS)


def confirm_url(next_path: str) -> str:
    return reverse("staff:confirm") + "?" + urlencode({"next": next_path})


def recent_auth_required(back: str, *, back_kwargs: tuple[str, ...] = (),
                         json: bool = False) -> Callable[[View], View]:
    """A view that changes how an account logs in: without a recent authentication it does
    nothing and sends the person to the confirmation page, which brings them back to the page
    `back` (a URL name, given the view's arguments named in `back_kwargs`) to do it again.
    `json`: the view answers fetch() calls, so the refusal is JSON (403) with the
    confirmation page's address. Goes below @login_required."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if is_recent(request):
                return view(request, *args, **kwargs)
            if request.method == "GET":
                target = confirm_url(request.get_full_path())
            else:
                target = confirm_url(reverse(back, kwargs={k: kwargs[k] for k in back_kwargs}
                                             or None))
            if json:
                return JsonResponse({"error": _("Confirm it is you first: enter your password "
                                                "again."), "redirect": target}, status=403)
            return redirect(target)

        return wrapped

    return decorate
