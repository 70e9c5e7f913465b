"""Every change to conversations goes through a function in this package.

Each action opens its transaction first, re-reads and locks the rows it changes, checks, writes,
and appends the audit event and the outbox rows in that same transaction. Views, the API and the
command line call these; none of them writes models directly. Reading goes through
zegel.messaging.content.

The names below are the package's whole surface, one module per area.
"""

from zegel.messaging.actions.attachments import (
    discard_draft_attachments,
    remove_draft,
    store_upload,
)
from zegel.messaging.actions.compose import (
    MAX_BODY,
    MAX_SUBJECT,
    answer_conversation,
    mark_seen_by_sender,
    send_message,
)
from zegel.messaging.actions.guest import (
    LockedOut,
    ReplyRefused,
    record_download,
    record_opened,
    record_own_copy,
    reply_as_recipient,
)
from zegel.messaging.actions.guest_auth import (
    CodeRequest,
    Verification,
    lock_recipient,
    request_code,
    verify_access_code,
    verify_code,
)
from zegel.messaging.actions.guest_held import (
    Released,
    hold_reply,
    purge_held_replies,
    release_held_reply,
)
from zegel.messaging.actions.guest_help import (
    MAX_HELP_NOTE,
    HelpAnswer,
    request_help,
)
from zegel.messaging.actions.guest_remember import (
    Remembered,
    forget_browser,
    open_remembered,
    purge_remembered_browsers,
    remember_browser,
    remembered_until,
)
from zegel.messaging.actions.lifecycle import (
    cancel_revocation,
    resend_notification,
    revoke_conversation,
    revoke_for_recipients,
    revoke_recipient,
    schedule_revocation,
    set_expiry,
)
from zegel.messaging.actions.lifecycle_due import Applied, apply_due
from zegel.messaging.actions.verification import (
    VerificationChange,
    change_verification,
)
from zegel.messaging.drafts import (
    CleanRecipient,
    RecipientSpec,
    clean_recipients,
)
from zegel.messaging.errors import ActionError, ActionErrors, FieldError, NotFound

__all__ = [
    "MAX_BODY",
    "MAX_HELP_NOTE",
    "MAX_SUBJECT",
    "ActionError",
    "ActionErrors",
    "Applied",
    "CleanRecipient",
    "CodeRequest",
    "FieldError",
    "HelpAnswer",
    "LockedOut",
    "NotFound",
    "RecipientSpec",
    "Released",
    "Remembered",
    "ReplyRefused",
    "Verification",
    "VerificationChange",
    "answer_conversation",
    "apply_due",
    "cancel_revocation",
    "change_verification",
    "clean_recipients",
    "discard_draft_attachments",
    "forget_browser",
    "hold_reply",
    "lock_recipient",
    "mark_seen_by_sender",
    "open_remembered",
    "purge_held_replies",
    "purge_remembered_browsers",
    "record_download",
    "record_opened",
    "record_own_copy",
    "release_held_reply",
    "remember_browser",
    "remembered_until",
    "remove_draft",
    "reply_as_recipient",
    "request_code",
    "request_help",
    "resend_notification",
    "revoke_conversation",
    "revoke_for_recipients",
    "revoke_recipient",
    "schedule_revocation",
    "send_message",
    "set_expiry",
    "store_upload",
    "verify_access_code",
    "verify_code",
]
