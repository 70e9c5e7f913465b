"""The worker loop delivers and stops when told."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import send
from zegel.jobs.worker import run_worker
from zegel.notify.models import OutboxItem
from zegel.orgs.models import User


@pytest.mark.django_db(transaction=True)
def test_worker_delivers_and_stops(sender: User) -> None:
    send(sender)
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(stop,), kwargs={"poll_seconds": 0.05})
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if OutboxItem.objects.filter(state="sent").exists():
            break
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert OutboxItem.objects.get().state == "sent"
