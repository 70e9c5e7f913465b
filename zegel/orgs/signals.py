"""Logins and failed logins go into the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from zegel.audit.log import record, staff_actor
from zegel.orgs import reauth
from zegel.orgs.actions import record_login
from zegel.orgs.backends import login_throttled
from zegel.orgs.models import User


@receiver(user_logged_in)
def on_login(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    # Instead of Django's update_last_login (disconnected in OrgsConfig.ready): the log-in
    # before this one is kept, to show the user.
    record_login(user, request)
    # Logging in is an authentication: sensitive changes need no second one for a while.
    if getattr(request, "session", None) is not None:
        reauth.mark(request)
    record("user.login", organisation=user.organisation, **staff_actor(user),
           object_type="user", object_id=user.pk, request=request)


@receiver(user_logged_out)
def on_logout(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        record("user.logout", organisation=user.organisation, **staff_actor(user),
               object_type="user", object_id=user.pk, request=request)


@receiver(user_login_failed)
def on_login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                    **kwargs: Any) -> None:
    # The typed address is recorded (who was tried); the password never is.
    username = str(credentials.get("username", "")).strip().lower()[:254]
    user = User.objects.filter(email=username.lower()).select_related("organisation").first()
    # The throttle counted the failure already (zegel.orgs.backends); this is the evidence.
    record("user.login_failed", organisation=user.organisation if user else None,
           actor_type="anonymous", actor_label=username, object_type="user",
           object_id=user.pk if user else "", request=request,
           data={"throttled": True} if login_throttled(request) else None)
