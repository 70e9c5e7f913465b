"""Signals the outbox sends, so the parts that enqueue mail can follow its fate without the
outbox importing them."""

from django.dispatch import Signal

# Sent inside the transaction that records the outcome, with item (OutboxItem), outcome
# ("sent", "bounced" or "failed") and detail (a reason fit for the sender, never content).
# A receiver may return a callable: the outbox calls it with the audit entry that records the
# outcome, once that is written in the same transaction, so what the receiver noted can name
# its audit entry. It may only update rows the receiver inserted (no savepoint guards it).
delivery_finished = Signal()

# Sent right before a claimed item is delivered, with item (OutboxItem). A receiver that
# returns a non-empty reason ("recipient revoked", "conversation expired") stops the delivery:
# the item is cancelled and audited as not sent. Receivers only read.
delivery_check = Signal()
