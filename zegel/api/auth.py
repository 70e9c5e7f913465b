"""API authentication: bearer tokens, stored only as hashes, each with scopes, an optional
expiry and a rate limit.

The scope an operation needs: `read` for GET, `send` for everything else (upload, check, send,
revoke), unless its router says otherwise (the data-leak settings need `admin`). The token's
user's role must allow the scope too, checked on every call (zegel.orgs.roles). A missing,
wrong, revoked or expired token is 401; a token over its rate limit is 429 with Retry-After;
a token without the scope is 403, in that order. A token whose user must still set up
two-factor login (their organisation requires it and the grace period is over) is 403 as
well, until they have.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer

from zegel.api.problems import ProblemApi, problem_answer
from zegel.orgs import api_rate, roles
from zegel.orgs.models import ApiToken, User, hash_token
from zegel.orgs.twofactor.policy import must_enrol

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class RateLimited(HttpError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(429, _("Too many requests with this token; try again in %(seconds)d "
                                "seconds.") % {"seconds": retry_after})
        self.retry_after = retry_after


def live_token(secret: str) -> ApiToken | None:
    """The token with this secret if it is not revoked, not expired and its user is active."""
    entry = (ApiToken.objects.select_related("user__organisation")
             .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
                     token_hash=hash_token(secret), revoked_at__isnull=True).first())
    if entry is None or not entry.user.is_active:
        return None
    return entry


def needed_scope(request: HttpRequest, scope: str | None) -> str:
    return scope or ("read" if request.method in SAFE_METHODS else "send")


def has_scope(entry: ApiToken, scope: str) -> bool:
    """The token has the scope and its user's role allows it now (a token carries its user's
    role: one whose user was demoted loses what the role no longer allows at once)."""
    return scope in entry.scope_set and roles.scope_allowed(entry.user, scope)


class BearerToken(HttpBearer):
    def __init__(self, scope: str | None = None) -> None:
        super().__init__()
        self.scope = scope

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        entry = live_token(token)
        if entry is None:
            return None
        if settings.API_RATE_LIMIT > 0:
            counted = api_rate.count_request(entry.pk)
            if counted.over:
                raise RateLimited(counted.retry_after)
        if entry.user.organisation.two_factor_required and must_enrol(entry.user):
            raise HttpError(403, _("Your organisation requires two-factor login: set it up on "
                                   "the Security page before using the API."))
        scope = needed_scope(request, self.scope)
        if not has_scope(entry, scope):
            raise HttpError(403, _("This token does not have the '%(scope)s' scope.")
                            % {"scope": scope})
        mark_used(entry)
        return entry.user


# `zegel token list` shows when a token was last used to the minute; writing it on every
# request would cost a write (a commit, on PostgreSQL a WAL flush) per call for nothing.
LAST_USED_PRECISION = timedelta(seconds=60)


def mark_used(entry: ApiToken) -> None:
    """Note that the token was used now, unless that was noted less than a minute ago."""
    now = timezone.now()
    if entry.last_used_at is not None and now - entry.last_used_at < LAST_USED_PRECISION:
        return
    ApiToken.objects.filter(pk=entry.pk).update(last_used_at=now)


def may_upload(request: HttpRequest, view_kwargs: dict[str, Any]) -> int | None:
    """Files sent to POST /attachments are stored only for a valid token with the send scope
    that is not over its rate limit (see zegel.files.uploads); answers the token owner's
    organisation. Counting is left to the view."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    entry = live_token(token.strip())
    if entry is None or not has_scope(entry, "send") or api_rate.over_limit(entry.pk):
        return None
    return entry.user.organisation_id


def api_user(request: HttpRequest) -> User:
    """The staff user whose token authenticated this API request."""
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise HttpError(401, _("Not authenticated."))
    return user


class TokenApi(ProblemApi):
    """Documents what the token check itself can answer, on every operation that needs one."""

    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict[str, Any] | None = None) -> Any:
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                if not operation.get("security"):
                    continue
                responses = operation.setdefault("responses", {})
                listed = {int(status) for status in responses}
                for status in (401, 403, 429):
                    if status not in listed:
                        responses[status] = problem_answer(status)
                limited = responses.get(429) or responses["429"]
                limited["headers"] = {"Retry-After": {
                    "description": "Seconds until the window ends.",
                    "schema": {"type": "integer", "minimum": 1}}}
                operation["responses"] = dict(sorted(responses.items(),
                                                     key=lambda item: int(item[0])))
        return document
