"""After sending: the sender sets how one recipient verifies. For a held recipient (sent
without a usable way to verify) that releases it: its link is created and it is notified. For
one that was notified, it changes the method, number or access code: the recipient's open
codes and links die, every portal session verified before must verify again, and a new
notification goes out. One action for both, so a release and a change follow the same rules
(docs/architecture.md "Held recipients and changing how a recipient verifies")."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from zegel.audit.log import record, staff_actor
from zegel.db import retry_on_conflict
from zegel.messaging import access
from zegel.messaging.actions.compose import notify_recipient
from zegel.messaging.drafts import (
    CleanRecipient,
    RecipientSpec,
    check_recipients,
    method_refusals,
)
from zegel.messaging.errors import ActionError, ActionErrors, FieldError, NotFound
from zegel.messaging.models import (
    Conversation,
    HeldReason,
    Recipient,
    RecipientEvent,
    RecipientLink,
)
from zegel.messaging.validation import mask_phone, normalise_code
from zegel.notify.outbox import cancel_waiting, record_cancelled
from zegel.orgs.models import User

_argon2 = PasswordHasher()


@dataclass(frozen=True)
class VerificationChange:
    """What change_verification did. ``changed`` is false when the recipient already verified
    exactly so (a request repeated, such as a release sent twice): nothing was written."""

    recipient: Recipient
    changed: bool
    released: bool


@retry_on_conflict
def change_verification(*, sender: User, recipient: Recipient, method: str, phone: str = "",
                        access_code: str = "", access_code_hint: str = "",
                        request: HttpRequest | None = None,
                        via: str = "web") -> VerificationChange:
    """Set how ``recipient`` verifies: ``method`` with the ``phone`` (SMS code) or the
    ``access_code`` and its hint it needs, checked as compose checks them. Releases a held
    recipient; changes one that was notified. Refused (409) once the conversation or the
    recipient was revoked or the conversation ended."""
    # Read without a lock first: the checks and the slow Argon2 hashing run before the
    # transaction, as a send's do. What they relied on is checked again under lock.
    current = access.recipient_for_user(
        sender, access.conversation_for_user(sender, recipient.conversation_id), recipient.pk)
    wanted = _checked(sender, current, method, phone, access_code, access_code_hint)
    same_code = _same_code(current, wanted, access_code)
    with transaction.atomic(durable=True):
        # Conversation, then recipient, then its codes, links and outbox rows; the audit log
        # last (docs/architecture.md "Locking on PostgreSQL").
        conversation = access.conversation_for_user(sender, recipient.conversation_id,
                                                    for_update=True)
        recipient = access.recipient_for_user(sender, conversation, recipient.pk,
                                              for_update=True)
        _refuse_ended(conversation, recipient)
        _refuse_weaker(conversation, wanted)
        # A code checked against a hash that changed meanwhile says nothing about the new one.
        same_code = same_code and recipient.access_code_hash == current.access_code_hash
        if _unchanged(recipient, wanted, same_code):
            return VerificationChange(recipient=recipient, changed=False, released=False)
        latest = (conversation.messages.filter(author_user__isnull=False, audience=recipient)
                  .order_by("-created_at").first())
        if latest is None:
            raise NotFound(_("Recipient not found."))
        before = {"method": recipient.method, "phone": recipient.phone,
                  "code": recipient.access_code_hash}
        released = bool(recipient.held_reason)
        was_locked = recipient.locked_at is not None
        now = timezone.now()
        code_hash = before["code"] if same_code else wanted.access_code_hash
        fields = {"method": wanted.method, "phone": wanted.phone, "access_code_hash": code_hash,
                  "access_code_hint": wanted.access_code_hint, "held_reason": "",
                  # The sender spoke to the recipient, as for sending again: throttle and
                  # lock start from zero.
                  "locked_at": None, "failed_attempts": 0, "last_failed_at": None}
        Recipient.objects.filter(pk=recipient.pk).update(auth_version=F("auth_version") + 1,
                                                         **fields)
        for name, value in fields.items():
            setattr(recipient, name, value)
        recipient.refresh_from_db(fields=["auth_version"])
        # Codes sent before (perhaps to the old number) are dead; so are the links sent before,
        # and a notification or code still waiting in the outbox goes no more.
        codes_killed = recipient.codes.filter(used_at__isnull=True).update(used_at=now)
        links_killed, _by_model = RecipientLink.objects.filter(recipient=recipient).delete()
        reason = ("replaced by the notification of a release" if released
                  else "replaced after the recipient's verification changed")
        cancelled = [*cancel_waiting(recipient_id=recipient.pk, purpose="notification",
                                     reason=reason),
                     *cancel_waiting(recipient_id=recipient.pk, purpose="code", reason=reason)]
        notify_recipient(recipient, latest, sender,
                         dedupe_key=f"verification:{recipient.pk}:{recipient.auth_version}")
        RecipientEvent.objects.create(
            recipient=recipient,
            kind=RecipientEvent.Kind.RELEASED if released else RecipientEvent.Kind.METHOD_CHANGED,
            detail=_event_detail(recipient))
        # The audit log last: its head is the last lock of the transaction. Never a number
        # or a code in full: the masked number, and whether they changed.
        record_cancelled(cancelled, reason)
        record("recipient.released" if released else "recipient.verification_changed",
               organisation=sender.organisation, **staff_actor(sender),
               object_type="recipient", object_id=recipient.pk, request=request,
               data={"email": recipient.email, "via": via,
                     "method_before": before["method"], "method": recipient.method,
                     "phone": mask_phone(recipient.phone) if recipient.phone else "",
                     "phone_changed": before["phone"] != recipient.phone,
                     "access_code_changed": before["code"] != recipient.access_code_hash,
                     "codes_killed": codes_killed, "links_killed": links_killed,
                     "unlocked": was_locked})
    return VerificationChange(recipient=recipient, changed=True, released=released)


def _checked(sender: User, current: Recipient, method: str, phone: str, access_code: str,
             hint: str) -> CleanRecipient:
    """The new way to verify, checked with compose's rules; ActionErrors naming the field
    ("phone", "access_code", ...) otherwise."""
    spec = RecipientSpec(email=current.email, name=current.name, kind=current.kind,
                         method=method, phone=phone, access_code=access_code,
                         access_code_hint=hint)
    clean, errors = check_recipients([spec])
    errors.extend(method_refusals(sender.organisation, [spec]))
    if errors:
        raise ActionErrors([FieldError(e.field.partition(".")[2], e.message, e.code)
                            for e in errors])
    return clean[0]


def _same_code(current: Recipient, wanted: CleanRecipient, code: str) -> bool:
    """The access code asked for is the one the recipient has now (a request repeated)."""
    if wanted.method != Recipient.Method.ACCESS_CODE or not current.access_code_hash:
        return False
    try:
        return _argon2.verify(current.access_code_hash, normalise_code(code.strip()))
    except (VerificationError, InvalidHashError):
        return False


def _refuse_ended(conversation: Conversation, recipient: Recipient) -> None:
    if conversation.revoked_at is not None or recipient.revoked_at is not None:
        raise ActionError(_("Access was revoked; how this recipient verifies can no longer "
                            "be changed."), status=409)
    expires_at = conversation.expires_at
    if expires_at is not None and expires_at <= timezone.now():
        raise ActionError(_("This conversation has ended; how this recipient verifies can no "
                            "longer be changed."), status=409)


def _refuse_weaker(conversation: Conversation, wanted: CleanRecipient) -> None:
    """A method chosen now must be one the data-leak rules required when the conversation's
    messages were sent (Conversation.required_methods): changing it must not get round them."""
    required = [m for m in conversation.required_methods.split(",") if m]
    if required and wanted.method not in required:
        names = ", ".join(str(Recipient.Method(m).label) for m in required
                          if m in Recipient.Method.values)
        raise ActionErrors([FieldError(
            "method", _("The data-leak rules required this conversation's recipients to verify "
                        "with: %(methods)s. Choose one of those.") % {"methods": names},
            HeldReason.METHOD_NOT_ALLOWED)])


def _unchanged(recipient: Recipient, wanted: CleanRecipient, same_code: bool) -> bool:
    if recipient.held_reason or recipient.method != wanted.method:
        return False
    if wanted.method == Recipient.Method.SMS:
        return recipient.phone == wanted.phone
    if wanted.method == Recipient.Method.ACCESS_CODE:
        return same_code and recipient.access_code_hint == wanted.access_code_hint
    return True


def _event_detail(recipient: Recipient) -> str:
    """For the sender's status list: the method, and the masked number of an SMS code."""
    if recipient.method == Recipient.Method.SMS:
        return f"sms {mask_phone(recipient.phone)}"
    return recipient.method
