"""Who is asking: the staff user behind a web request."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from zegel.orgs.models import User


def staff_user(request: HttpRequest) -> User:
    """The logged-in staff user; views call it after @login_required."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user
