"""Signals the outbox sends, so the parts that enqueue mail can follow its fate without the
outbox importing them."""

from django.dispatch import Signal

# Sent inside the transaction that records the outcome, with item (OutboxItem), outcome
# ("sent", "bounced" or "failed") and detail (a reason fit for the sender, never content).
delivery_finished = Signal()
