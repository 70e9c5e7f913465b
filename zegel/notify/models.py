"""The outbox: every e-mail and SMS is a row first, written in the same transaction as the
change that caused it, and delivered by the worker."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxItem(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "e-mail"
        SMS = "sms", "SMS"

    class State(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        # Not sent on purpose: the recipient or the conversation was revoked or has expired.
        CANCELLED = "cancelled"

    organisation = models.ForeignKey("orgs.Organisation", on_delete=models.PROTECT,
                                     related_name="+")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # One row per event: a second enqueue for the same event is a no-op, never a second mail.
    dedupe_key = models.CharField(max_length=120, unique=True)
    purpose = models.CharField(max_length=40)  # notification, code, reply_notice, ...
    recipient = models.ForeignKey("messaging.Recipient", null=True, blank=True,
                                  on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey("messaging.Message", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    # The rendered mail or SMS, sealed: SMS codes and personal links are secrets at rest too.
    # Emptied once delivered.
    key = models.ForeignKey("keystore.DataKey", on_delete=models.PROTECT, related_name="+")
    payload_ct = models.BinaryField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # Claims so far, counted when a worker takes the row (a worker that dies mid-send counts).
    attempts = models.PositiveIntegerField(default=0)
    # Attempts that ended in an error the outbox does not expect (a broken key, a gateway that
    # answers garbage): these give up after a few tries instead of after days.
    faults = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The current claim: a random token and the end of its lease. Every completion is written
    # only where the token still matches, so a worker that outlived its lease writes nothing.
    claim = models.CharField(max_length=32, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)


class CapturedMessage(models.Model):
    """Mail and SMS caught by the capture backends (demo and development only)."""

    channel = models.CharField(max_length=8)
    to = models.CharField(max_length=300)
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField()
    html = models.TextField(blank=True)
    raw = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
