"""The background worker: delivers the outbox and tidies up, until told to stop."""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections

from zegel.audit.log import anchor_due
from zegel.files.blobs import blob_store
from zegel.messaging.actions.attachments import discard_draft_attachments
from zegel.messaging.actions.guest_held import purge_held_replies
from zegel.messaging.actions.guest_remember import purge_remembered_browsers
from zegel.messaging.actions.lifecycle import expire_due
from zegel.notify.outbox import deliver_due

log = logging.getLogger(__name__)
SWEEP_EVERY = 3600.0
EXPIRE_EVERY = 60.0


def run_worker(stop: threading.Event, *, poll_seconds: float = 1.0) -> None:
    last_sweep = 0.0
    last_expiry = 0.0
    while not stop.is_set():
        close_old_connections()
        try:
            handled = deliver_due(stop=stop)
            anchor_due()
            if time.monotonic() - last_expiry > EXPIRE_EVERY:
                expire_due()
                purge_held_replies()
                last_expiry = time.monotonic()
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
