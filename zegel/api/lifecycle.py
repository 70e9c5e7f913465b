"""Revoking through the API: the request body of POST /messages/{id}/revoke (scope, and a
moment or a number of days for a schedule), the lifecycle part of a message's answer, and
cancelling a scheduled revoke (docs/api.md "Revoking", docs/lifecycle.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import ConfigDict, Field, model_validator

from zegel.api.auth import BearerToken, api_user
from zegel.api.inputs import Input
from zegel.api.problems import UtcDateTime, problems
from zegel.messaging import access, actions
from zegel.messaging.models import Conversation
from zegel.orgs.models import User

router = Router(tags=["messages"], auth=BearerToken())
MAX_AFTER_DAYS = 3650


class RevokeIn(Input):
    # A misspelt field must not fall back to the default scope, which destroys the content.
    model_config = ConfigDict(extra="forbid")

    scope: Literal["everyone", "recipients"] = Field(
        default="everyone", description="'recipients': every recipient's links and portal "
        "sessions stop working, the content stays and the sender still reads it. "
        "'everyone' (the default, as before this field existed): the content is destroyed "
        "too (crypto-shredding), which cannot be undone.")
    at: datetime | None = Field(default=None, description="Schedule the revoke for this "
                                "moment instead of revoking now: ISO 8601 with its zone "
                                "(2027-01-15T08:00:00Z), in the future.")
    after_days: int | None = Field(default=None, ge=1, le=MAX_AFTER_DAYS,
                                   description="Schedule the revoke this many days from "
                                   "now. Give 'at' or 'after_days', not both.")

    @model_validator(mode="after")
    def _one_moment(self) -> RevokeIn:
        if self.at is not None and self.after_days is not None:
            raise ValueError(_("Give 'at' or 'after_days', not both."))
        # A destructive moment is never guessed: 09:00 in which zone?
        if self.at is not None and timezone.is_naive(self.at):
            raise ValueError(_("Give 'at' with its time zone, such as 2027-01-15T08:00:00Z."))
        return self

    def moment(self) -> datetime | None:
        if self.after_days is not None:
            return timezone.now() + timedelta(days=self.after_days)
        return self.at


class ScheduleOut(Schema):
    scope: str = Field(description="'recipients' or 'everyone'.")
    at: UtcDateTime = Field(description="When the revoke is applied, in UTC.")


class LifecycleOut(Schema):
    recipients_revoked_at: UtcDateTime | None = Field(
        description="When the recipients' access ended for all of them (revoked for "
        "recipients, or the end date passed), in UTC; the content stays. Null while open.")
    ended_by: str | None = Field(description="'revoked' or 'expired' once the recipients' "
                                 "access ended; null while it has not.")
    shredded_at: UtcDateTime | None = Field(description="When the content was destroyed, in "
                                            "UTC; null while it exists.")
    shredded_by: str | None = Field(description="'revoked' (for everyone) or 'retention' "
                                    "(the organisation's retention period); null while the "
                                    "content exists.")
    scheduled_revoke: ScheduleOut | None = Field(description="The revoke that is scheduled; "
                                                 "null when none is.")


def lifecycle_out(conversation: Conversation) -> dict[str, Any]:
    scheduled = None
    if conversation.revoke_scheduled_at is not None:
        scheduled = {"scope": conversation.revoke_scheduled_scope,
                     "at": conversation.revoke_scheduled_at}
    shredded_by = None
    if conversation.revoked_at is not None:
        shredded_by = conversation.shredded_reason or Conversation.Shredded.REVOKED
    return {"recipients_revoked_at": conversation.closed_at,
            "ended_by": conversation.closed_reason or None,
            "shredded_at": conversation.revoked_at, "shredded_by": shredded_by,
            "scheduled_revoke": scheduled}


def revoke(user: User, conversation: Conversation, payload: RevokeIn | None,
           request: HttpRequest) -> None:
    """What POST /messages/{id}/revoke does with its body (none: revoke for everyone now)."""
    payload = payload or RevokeIn()
    moment = payload.moment()
    if moment is not None:
        actions.schedule_revocation(sender=user, conversation=conversation, scope=payload.scope,
                                    at=moment, request=request)
    elif payload.scope == Conversation.RevokeScope.RECIPIENTS:
        actions.revoke_for_recipients(sender=user, conversation=conversation, request=request)
    else:
        actions.revoke_conversation(sender=user, conversation=conversation, request=request)


@router.delete("/{message_id}/revoke-schedule", response={200: LifecycleOut, **problems(404)})
def cancel_revoke_schedule(request: HttpRequest, message_id: str) -> Any:
    """Cancel the scheduled revoke of the message's conversation. Idempotent: with none
    scheduled it answers the same, and nothing is recorded."""
    user = api_user(request)
    conversation = access.message_for_user(user, message_id).conversation
    actions.cancel_revocation(sender=user, conversation=conversation, request=request)
    return lifecycle_out(access.conversation_for_user(user, conversation.pk))
