"""The background worker: delivers the outbox and tidies up, until told to stop."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections

from zegel.audit.log import anchor_due
from zegel.files.blobs import blob_store
from zegel.jobs.lease import renew_lease, take_lease
from zegel.messaging.actions.attachments import discard_draft_attachments
from zegel.messaging.actions.guest_held import purge_held_replies
from zegel.messaging.actions.guest_remember import purge_remembered_browsers
from zegel.messaging.actions.lifecycle_due import apply_due
from zegel.notify.outbox import deliver_due

log = logging.getLogger(__name__)
SWEEP_EVERY = 3600.0
# How often a worker tries the lifecycle lease, and how long one run holds it: however many
# workers run, schedules, end dates and retention are applied at most once a minute.
LIFECYCLE_TRY_EVERY = 10.0
LIFECYCLE_LEASE = "lifecycle"
LIFECYCLE_SECONDS = 60.0


def run_worker(stop: threading.Event, *, poll_seconds: float = 1.0) -> None:
    last_sweep = 0.0
    last_lifecycle = -LIFECYCLE_TRY_EVERY
    while not stop.is_set():
        close_old_connections()
        try:
            handled = deliver_due(stop=stop)
            anchor_due()
            if time.monotonic() - last_lifecycle > LIFECYCLE_TRY_EVERY:
                last_lifecycle = time.monotonic()
                run_lifecycle(stop)
            if time.monotonic() - last_sweep > SWEEP_EVERY:
                discard_draft_attachments()
                purge_remembered_browsers()
                blob_store().remove_stale_parts()
                last_sweep = time.monotonic()
        except Exception:
            # One bad row or a database hiccup must not kill the worker; it is logged and the
            # loop goes on after a pause.
            log.exception("worker loop failed; retrying")
            handled = 0
        if handled == 0:
            stop.wait(poll_seconds)


def run_lifecycle(stop: threading.Event) -> bool:
    """Apply schedules, end dates and retention if this worker gets the lease (True then).
    The lease is renewed between batches; if it ran out and another worker took it, this one
    stops and leaves the rest to it."""
    token = take_lease(LIFECYCLE_LEASE, LIFECYCLE_SECONDS)
    if token is None:
        return False
    renewed = time.monotonic()

    def keep_going() -> bool:
        # Renewed only when a third of the lease is gone: each renewal is a write, and a
        # short run needs none.
        nonlocal renewed
        if stop.is_set():
            return False
        if time.monotonic() - renewed < LIFECYCLE_SECONDS / 3:
            return True
        renewed = time.monotonic()
        return renew_lease(LIFECYCLE_LEASE, token, LIFECYCLE_SECONDS)

    apply_due(keep_going=keep_going)
    purge_held_replies()
    return True
