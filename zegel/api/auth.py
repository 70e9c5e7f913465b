"""API authentication: bearer tokens, stored only as hashes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer

from zegel.orgs.models import ApiToken, User, hash_token


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        entry = (ApiToken.objects.select_related("user__organisation")
                 .filter(token_hash=hash_token(token), revoked_at__isnull=True).first())
        if entry is None or not entry.user.is_active:
            return None
        ApiToken.objects.filter(pk=entry.pk).update(last_used_at=timezone.now())
        return entry.user


def may_upload(request: HttpRequest, view_kwargs: dict[str, Any]) -> int | None:
    """Files sent to POST /attachments are stored only for a valid token (see
    zegel.files.uploads); answers the token owner's organisation."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = BearerToken().authenticate(request, token.strip())
    return user.organisation_id if user is not None else None


def api_user(request: HttpRequest) -> User:
    """The staff user whose token authenticated this API request."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise HttpError(401, "Not authenticated.")
    return user
