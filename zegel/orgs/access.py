"""Who is asking: the staff user behind a web request, and what their role lets them open."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

from zegel.orgs import roles
from zegel.orgs.models import User

View = Callable[..., HttpResponseBase]


def staff_user(request: HttpRequest) -> User:
    """The logged-in staff user; views call it after @login_required."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def not_allowed_page(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "error.html", {"title": _("Not allowed"), "message": message},
                  status=403)


def role_required(permission: roles.Permission) -> Callable[[View], View]:
    """A page only for users whose role has `permission` (a clear 403 page otherwise). Goes
    below @login_required, so a visitor who is not logged in is sent to the log-in page."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not roles.allows(staff_user(request), permission):
                return not_allowed_page(request, roles.refusal(permission))
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
