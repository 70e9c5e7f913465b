"""The e-mails with invitation and reset links: rendered here and put in the outbox inside the
action's transaction (zegel.orgs.actions.invite_user, request_password_reset)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from zegel.notify.emails import render_email
from zegel.notify.outbox import enqueue_email
from zegel.orgs.models import AccountLink, User


def link_url(name: str, token: str) -> str:
    # Built from the configured base URL, never from the request's Host.
    return settings.BASE_URL.rstrip("/") + reverse(name, args=[token])


def deliver_invitation(user: User, token: str, link: AccountLink) -> None:
    inviter = link.created_by.display_name if link.created_by else ""
    email = render_email("staff_invitation", {
        "org": user.organisation, "user": user, "inviter": inviter,
        "url": link_url("staff:accept_invitation", token), "expires_at": link.expires_at,
    }, to=user.email, from_name=user.organisation.name)
    enqueue_email(user.organisation, email, dedupe_key=f"account-link:{link.pk}",
                  purpose="staff_invitation", new_key=True)


def deliver_reset(user: User | None, token: str, link: AccountLink | None) -> None:
    """The reset e-mail; for an address Zegel does not know (user None) it is rendered all the
    same and then dropped, so the answer takes about as long either way."""
    email = render_email("password_reset", {
        "org": user.organisation if user else None, "user": user,
        "url": link_url("staff:reset_password", token),
    }, to=user.email if user else "", from_name="Zegel")
    if user is not None and link is not None:
        enqueue_email(user.organisation, email, dedupe_key=f"account-link:{link.pk}",
                      purpose="password_reset", new_key=True)
