"""One recipient of a sent message over the API: release a held recipient, or change how a
recipient verifies (zegel.messaging.actions.verification). Also the recipient's answer shape,
RecipientOut, which the message endpoints use too."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from zegel.api.auth import BearerToken, api_user
from zegel.api.inputs import Input
from zegel.api.problems import UtcDateTime, problems
from zegel.messaging import access, actions, status
from zegel.messaging.models import Recipient, RecipientEvent

router = Router(tags=["messages"], auth=BearerToken())


class EventOut(Schema):
    kind: str = Field(description="notified, bounced, failed, verified, opened, downloaded, "
                                  "saved, replied, locked, revoked, held, released, "
                                  "method_changed, help_no_code, help_no_sms or help_no_email "
                                  "(see docs/api.md).")
    at: UtcDateTime = Field(description="When, in UTC.")
    detail: str = Field(description="More about the event, such as the mail server's answer; "
                                    "often empty.")


class RecipientOut(Schema):
    id: int = Field(description="The recipient's id within Zegel.")
    email: str = Field(description="The recipient's e-mail address.")
    name: str = Field(description="The recipient's name; may be empty.")
    kind: str = Field(description="to, cc or bcc.")
    verification: str = Field(description="sms, access_code or email; empty for a held "
                                          "recipient sent without a method.")
    status: str = Field(description="held while the recipient is held (see held_reason); "
                        "otherwise the kind of the newest event; queued before any.")
    held_reason: str | None = Field(
        default=None, description="Why the recipient is held, not sent the message yet: "
        "phone_missing, access_code_missing, method_missing or method_not_allowed. Null when it "
        "is not held. Release it with PATCH /messages/{id}/recipients/{recipient_id}.")
    held_text: str | None = Field(default=None, description="What to add, in the request's "
                                  "language; null when the recipient is not held.")
    events: list[EventOut] = Field(description="What happened to this recipient, oldest "
                                               "first.")


def recipient_out(recipient: Recipient, events: list[dict[str, Any]]) -> dict[str, Any]:
    """One recipient as the API shows it (RecipientOut), with its events already read."""
    return {"id": recipient.pk, "email": recipient.email, "name": recipient.name,
            "kind": recipient.kind, "verification": recipient.method,
            "status": ("held" if recipient.held_reason
                       else events[-1]["kind"] if events else "queued"),
            "held_reason": recipient.held_reason or None,
            "held_text": status.held_text(recipient) or None,
            "events": events}


class VerificationIn(Input):
    verification: Literal["sms", "access_code", "email"] | None = Field(
        default=None, description="How the recipient proves who they are. Left out: the "
        "method the recipient has now (for a held one: the one it was sent with).")
    phone: str = Field(default="", max_length=40, description="Mobile number, for sms; Dutch "
                       "06 numbers are accepted and stored as E.164.")
    access_code: str = Field(default="", max_length=128, description="For access_code: the "
                             "code agreed with the recipient, at least 6 characters; never "
                             "shown again. Send it again to keep it when changing the hint.")
    access_code_hint: str = Field(default="", max_length=200, description="For access_code: "
                                  "a hint shown to the recipient about which code to use.")


class VerificationOut(Schema):
    changed: bool = Field(description="False when the recipient already verified exactly so "
                          "(a request sent twice): nothing was done.")
    released: bool = Field(description="True when this request released a held recipient.")
    recipient: RecipientOut = Field(description="The recipient as it is now.")


@router.patch("/{message_id}/recipients/{recipient_id}",
              response={200: VerificationOut, **problems(400, 404, 409, 413, 422)})
def change_recipient(request: HttpRequest, message_id: str, recipient_id: int,
                     payload: VerificationIn) -> Any:
    """Set how one recipient of the message verifies. A held recipient is released: its link
    is created and it is notified. For one notified before, its codes and links stop working,
    a portal session must verify again, and a new notification goes out. Sending the same
    again changes nothing (changed: false)."""
    user = api_user(request)
    conversation = access.message_for_user(user, message_id).conversation
    recipient = access.recipient_for_user(user, conversation, recipient_id)
    result = actions.change_verification(
        sender=user, recipient=recipient, method=payload.verification or recipient.method,
        phone=payload.phone, access_code=payload.access_code,
        access_code_hint=payload.access_code_hint, request=request, via="api")
    events = [{"kind": e.kind, "at": e.at, "detail": e.detail}
              for e in RecipientEvent.objects.filter(recipient=result.recipient)
              .order_by("at", "id")]
    return {"changed": result.changed, "released": result.released,
            "recipient": recipient_out(result.recipient, events)}
