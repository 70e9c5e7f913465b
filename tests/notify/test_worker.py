"""The worker loop delivers and stops when told."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import send
from tests.test_configuration import _env
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


def test_zegel_worker_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = _env(tmp_path, ZEGEL_LOG_LEVEL="WARNING")
    migrate = subprocess.run([sys.executable, "-m", "zegel.cli", "migrate"], env=env,
                             capture_output=True, text=True, timeout=120, check=False)
    assert migrate.returncode == 0, migrate.stderr
    worker = subprocess.Popen([sys.executable, "-m", "zegel.cli", "worker", "--poll", "0.1"],
                              env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert worker.stderr is not None
        assert worker.stderr.readline().strip() == "Worker running."
        time.sleep(0.5)  # let it poll a few times
        assert worker.poll() is None
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0
        rest = worker.stderr.read()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=5)
    assert rest.strip() == "Worker stopping after the current item."
