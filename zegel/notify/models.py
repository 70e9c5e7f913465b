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
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
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
