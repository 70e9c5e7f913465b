"""Conversations, messages, recipients and attachments. Content is stored encrypted only."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zegel.keystore.binding import Owner


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT,
                                     related_name="conversations")
    created_by = models.ForeignKey("orgs.User", on_delete=models.PROTECT,
                                   related_name="conversations")
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now, db_index=True)
    # A guest replied and the sender has not looked yet: the conversation shows in the inbox.
    has_unread_reply = models.BooleanField(default=False)
    # The content's keys were destroyed (crypto-shredding): revoked for everyone, or by the
    # organisation's retention period. Every link stops working; only metadata is left.
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Why the content was destroyed: one of Shredded; "" on rows from before it was kept
    # (then a revoke, or an expiry when expires_at <= revoked_at).
    shredded_reason = models.CharField(max_length=16, blank=True, default="", db_default="")
    # After this moment the links stop working (the recipients' access ends, docs/lifecycle.md);
    # the content stays for the sender until a revoke for everyone or the retention period.
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The verification methods the data-leak rules required of every recipient when its
    # messages were sent, comma-separated ("access_code,sms"); empty: none. A method chosen
    # after sending (actions.verification) must be one of them.
    required_methods = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The recipients' access ended for all of them while the content stays: revoked for
    # recipients, or the end date passed and the periodic job recorded it. One of Closed.
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=16, blank=True, default="", db_default="")
    # A revoke the sender scheduled: at this moment the periodic job applies it, in this scope
    # (RevokeScope). Empty when none is pending.
    revoke_scheduled_at = models.DateTimeField(null=True, blank=True, db_index=True)
    revoke_scheduled_scope = models.CharField(max_length=16, blank=True, default="",
                                              db_default="")

    class RevokeScope(models.TextChoices):
        # The links and sessions of every recipient stop; the sender still reads it all.
        RECIPIENTS = "recipients", _("for recipients")
        # Crypto-shredding: the content is destroyed for everyone, also in backups.
        EVERYONE = "everyone", _("for everyone")

    class Closed(models.TextChoices):
        REVOKED = "revoked", _("revoked for recipients")
        EXPIRED = "expired", _("end date passed")

    class Shredded(models.TextChoices):
        REVOKED = "revoked", _("revoked for everyone")
        RETENTION = "retention", _("retention period")

    # Not a column: the recipients send_message created with this conversation, all it has,
    # in order, so the rest of the same request (the data-leak history, the API's answer)
    # need not read them back. None on a conversation read from the database.
    new_recipients: list[Recipient] | None = None


class Recipient(models.Model):
    class Method(models.TextChoices):
        SMS = "sms", _("SMS code")
        ACCESS_CODE = "access_code", _("Access code")
        EMAIL = "email", _("E-mail code")

    class Kind(models.TextChoices):
        TO = "to", _("To")
        CC = "cc", _("CC")
        # Reads the message like the others but is never shown to them (docs/architecture.md).
        BCC = "bcc", _("BCC")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="recipients")
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=3, choices=Kind.choices, default=Kind.TO)
    method = models.CharField(max_length=16, choices=Method.choices)
    phone = models.CharField(max_length=20, blank=True)  # E.164
    access_code_hash = models.CharField(max_length=200, blank=True)  # Argon2id
    access_code_hint = models.CharField(max_length=200, blank=True)
    # Wrong codes in a row and when the last one came: the throttle's delay is counted from it.
    failed_attempts = models.PositiveIntegerField(default=0)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Held (not empty): sent without a usable way to verify, so it has no link and was not
    # notified until the sender adds what is missing (zegel.messaging.actions.verification).
    # The value is the reason, one of HeldReason.
    held_reason = models.CharField(max_length=32, blank=True, default="", db_default="")
    # Raised each time the sender changes how this recipient verifies: a portal session
    # verified under an earlier value must verify again (portal.views._mine).
    auth_version = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["id"]

    @property
    def held(self) -> bool:
        return bool(self.held_reason)

    @property
    def label(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class HeldReason(models.TextChoices):
    """Why a recipient is held: what the sender must still add (docs/api.md "Held
    recipients")."""

    PHONE_MISSING = "phone_missing", _("mobile number missing")
    ACCESS_CODE_MISSING = "access_code_missing", _("access code missing")
    METHOD_MISSING = "method_missing", _("verification method missing")
    METHOD_NOT_ALLOWED = "method_not_allowed", _("verification method not allowed")


class RecipientLink(models.Model):
    """A personal link sent in one notification. Only the token's hash is stored."""

    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="messages")
    author_user = models.ForeignKey("orgs.User", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    author_recipient = models.ForeignKey(Recipient, null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="replies")
    key = models.ForeignKey("keystore.DataKey", on_delete=models.PROTECT, related_name="+")
    subject_oid = models.UUIDField(default=uuid.uuid4)
    subject_ct = models.BinaryField()
    body_oid = models.UUIDField(default=uuid.uuid4)
    body_ct = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    # Who a staff message is addressed to: only they are notified of it and can read it in the
    # portal. The first message goes to all its recipients, an answer to the ones the sender
    # chose. Empty for a guest's reply, which only its author and the sender read.
    audience = models.ManyToManyField(Recipient, blank=True, related_name="addressed_messages")

    class Meta:
        ordering = ["created_at", "id"]

    def owner(self) -> Owner:
        """What the message's key, subject and body are bound to (docs/crypto.md)."""
        return Owner(kind="message", organisation=self.conversation.organisation_id,
                     conversation=self.conversation_id, message=self.pk)


class Attachment(models.Model):
    """An encrypted file. Uploaded first (a draft, message unset), then bound to a message.

    The name, content type, SHA-256 and size of the file are sealed together in meta_ct
    (content.attachment_meta): a clear hash or extension would let anyone with a database dump
    confirm that a known document was sent, and to whom. `size` stays clear for listings; the
    stored blob's length shows it anyway.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT,
                                     related_name="+")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="attachments")
    uploaded_by_user = models.ForeignKey("orgs.User", null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="+")
    uploaded_by_recipient = models.ForeignKey(Recipient, null=True, blank=True,
                                              on_delete=models.CASCADE, related_name="+")
    key = models.ForeignKey("keystore.DataKey", on_delete=models.PROTECT, related_name="+")
    meta_oid = models.UUIDField(default=uuid.uuid4)
    meta_ct = models.BinaryField()
    blob_id = models.CharField(max_length=32, unique=True)  # also the content's object id
    size = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def upload_owner(self) -> Owner:
        """What the file and its metadata are sealed for: fixed when it is uploaded, before any
        message exists."""
        return Owner(kind="attachment", organisation=self.organisation_id, attachment=self.pk)

    def owner(self) -> Owner:
        """What the attachment's key is wrapped for now: the upload owner while it is a draft,
        and with the conversation and message once a message claimed it."""
        if self.message is None:
            return self.upload_owner()
        conversation = self.message.conversation
        # The conversation's organisation, not the row's own: a conversation moved to another
        # organisation must take its files' keys with it into failure, as it does its messages'.
        return Owner(kind="attachment", organisation=conversation.organisation_id,
                     conversation=conversation.pk, message=self.message_id, attachment=self.pk)


class RecipientEvent(models.Model):
    """What happened to one recipient, shown to the sender as status with times."""

    class Kind(models.TextChoices):
        NOTIFIED = "notified", _("notified")
        BOUNCED = "bounced", _("notification bounced")
        FAILED = "failed", _("notification failed")
        VERIFIED = "verified", _("verified")
        OPENED = "opened", _("opened")
        DOWNLOADED = "downloaded", _("attachment downloaded")
        # The recipient saved their own copy (PDF of the conversation or .eml of a message).
        SAVED = "saved", _("own copy saved")
        REPLIED = "replied", _("replied")
        LOCKED = "locked", _("locked after failed attempts")
        REVOKED = "revoked", _("access revoked")
        # Asked for help on the portal before verifying (HelpRequest has the note, if any).
        HELP_NO_ACCESS_CODE = "help_no_code", _("says they have no access code")
        HELP_NO_SMS = "help_no_sms", _("did not get the SMS")
        HELP_NO_EMAIL_CODE = "help_no_email", _("did not get the e-mail code")
        HELD = "held", _("held: not sent yet")
        RELEASED = "released", _("released")
        METHOD_CHANGED = "method_changed", _("verification changed")

    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="events")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="recipient_events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    detail = models.CharField(max_length=200, blank=True)  # never content
    # The audit log entry written in the same transaction for what happened: its chain
    # position is what a proof of delivery cites (zegel.messaging.proof). Empty for events
    # recorded before events were linked (messaging 0014): their entry is not guessed.
    # No database constraint: a foreign key into the audit table would make PostgreSQL refuse
    # a TRUNCATE of it with its own error before the audit guard's trigger speaks (and the
    # audit rows cannot be deleted anyway: docs/security.md, "append-only" triggers).
    audit_entry = models.ForeignKey("audit.AuditEvent", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+",
                                    db_constraint=False)

    class Meta:
        ordering = ["at", "id"]


class VerificationCode(models.Model):
    """A one-time SMS or e-mail code: keyed hash only, bound to recipient and portal session."""

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        EMAIL = "email", "e-mail"

    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="codes")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    code_hmac = models.CharField(max_length=64)
    session_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)


class HeldReply(models.Model):
    """A reply a recipient posted after their portal session had ended, kept for a short time
    (PORTAL_HELD_REPLY_SECONDS) until they verify again in the same browser.

    Sealed like a message body under its own data key, bound to the recipient (the owner) and,
    inside the sealed value, to the link and to the drafts it carries: a row moved to another
    recipient does not decrypt, and one pointed at another link or other files fails its check.
    Only a hash of the browser's hold secret is stored; the secret lives in that session.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="+")
    link = models.ForeignKey(RecipientLink, on_delete=models.CASCADE, related_name="+")
    key = models.ForeignKey("keystore.DataKey", on_delete=models.PROTECT, related_name="+")
    content_oid = models.UUIDField(default=uuid.uuid4)
    content_ct = models.BinaryField()
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    def owner(self) -> Owner:
        """What the held reply's key and content are bound to (docs/crypto.md)."""
        return Owner(kind="held-reply", organisation=self.recipient.conversation.organisation_id,
                     conversation=self.recipient.conversation_id, recipient=self.recipient_id)


class SubjectWord(models.Model):
    """One word of a conversation's subject, as a keyed hash, so the sender's lists can find it
    without decrypting every subject (zegel.messaging.search, docs/crypto.md "Subject search").
    Deleted with the content when the conversation is revoked or expires."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE,
                                     related_name="subject_words")
    token = models.CharField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "token"],
                                               name="subject_word_once_per_conversation")]
        indexes = [models.Index(fields=["token"], name="subject_word_token")]


class HelpRequest(models.Model):
    """A recipient who could not verify told the sender so from the portal ("I don't have my
    access code", "I did not get the SMS"). Whoever asks holds only the link, so the note is
    treated as reply text is: sealed under the key of the message it is about (revoking for
    everyone destroys it with the message), shown only to the sender, never logged."""

    class Reason(models.TextChoices):
        NO_ACCESS_CODE = "no_access_code", _("does not have the access code")
        NO_SMS = "no_sms", _("did not get the SMS")
        NO_EMAIL_CODE = "no_email_code", _("did not get the e-mail code")

    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE,
                                  related_name="help_requests")
    # The newest message addressed to the recipient when they asked: its key seals the note.
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note_oid = models.UUIDField(default=uuid.uuid4)
    note_ct = models.BinaryField(blank=True, default=b"")  # empty: no note
    # A keyed hash of the client's address, for the cap per client; never the address.
    client_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]


class RememberedBrowser(models.Model):
    """A browser a recipient asked to be remembered after a verification (the organisation's
    option): it opens new messages from the same organisation to the same person, verified
    the same way, without a new code until it expires.

    Only a hash of the browser's secret (its cookie) is stored, with the identity it stands
    for: the organisation, the lower-cased e-mail address, the method and (for SMS) the phone
    number. A recipient whose method or number changed, or another address, is another
    identity; a revoke after the row was made ends it (zegel.messaging.actions.guest_remember).
    """

    organisation = models.ForeignKey("orgs.Organisation", on_delete=models.CASCADE,
                                     related_name="+")
    secret_hash = models.CharField(max_length=64, db_index=True)
    email = models.CharField(max_length=254)
    method = models.CharField(max_length=16)
    phone = models.CharField(max_length=20, blank=True)  # E.164, SMS only
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["secret_hash", "organisation", "email", "method", "phone"],
            name="remembered_browser_once_per_identity")]
