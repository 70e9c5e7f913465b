"""The delivery fault scenario, shared by tests/notify/test_reliability.py (small delays, about a
minute) and bench/outbox_faults.py (the full 40 s delays).

Real `zegel worker` processes deliver the outbox to a loopback SMTP server that delays,
drops the connection and answers 421/451 at random. A chaos loop kills one worker with SIGKILL
every few seconds (and starts a new one), and now and then stops one with SIGSTOP for longer
than the lease, so that its row is taken over while it still holds a claim: when it goes on,
its completion must be fenced off. The SMTP server notes which worker delivered each
Message-ID, so that every duplicate can be checked against the kills and pauses that explain it.
"""

from __future__ import annotations

import asyncio
import email.parser
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from zegel.audit.models import AuditEvent
from zegel.notify.models import OutboxItem
from zegel.notify.outbox import Email, enqueue_email
from zegel.orgs.models import Organisation

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Scenario:
    notifications: int = 300
    workers: int = 3
    smtp_timeout: int = 2  # the workers' ZEGEL_EMAIL_URL ?timeout=; the lease is 10 times it
    short_delay: float = 0.2  # most answers come after up to this long (< the timeout)
    long_delay: tuple[float, float] = (21.0, 24.0)  # some after this long (> the lease)
    p_long: float = 0.03
    p_drop: float = 0.03
    p_421: float = 0.03
    p_451: float = 0.03
    kill_every: tuple[float, float] = (4.0, 7.0)
    pause_every: float = 30.0  # one SIGSTOP for longer than the lease, this often
    retry_seconds: int = 1
    time_limit: float = 360.0
    seed: int = field(default_factory=lambda: random.SystemRandom().randrange(1 << 30))

    @property
    def lease(self) -> float:
        return 10.0 * self.smtp_timeout

    @property
    def send_deadline(self) -> float:
        return 4.0 * self.smtp_timeout


@dataclass
class Delivery:
    message_id: str
    to: str
    pid: int
    at: float


@dataclass
class Outcome:
    scenario: Scenario
    deliveries: list[Delivery]
    kills: list[tuple[int, float]]
    pauses: list[tuple[int, float, float]]
    sent: int
    sent_events: int
    distinct_sent_events: int
    attempts: int
    fenced: int
    exit_codes: list[int | None]
    wall: float
    answers: dict[str, int]
    row_of: dict[str, int]  # recipient address -> outbox row id
    log_of: dict[int, str]  # worker pid -> its log

    @property
    def duplicates(self) -> int:
        return len(self.deliveries) - len({d.message_id for d in self.deliveries})

    def explain_duplicates(self) -> tuple[int, int, int, list[str]]:
        """Duplicates explained by a kill, by a pause, by a lost 250, and the others.

        A kill explains the killed worker's last delivery if it came at most a few seconds
        before the kill (the server had said 250, the worker had not committed yet) and the
        copy came only after the dead worker's lease could have run out. A pause
        explains a delivery by the paused worker from shortly before the stop until it had
        time to finish its send after SIGCONT. Each process is killed once, so one kill
        explains at most one delivery. A lost 250 is SMTP's own duplicate (RFC 1047): the
        server took the message in, but its answer came after the client's timeout or send
        deadline; it counts only if that worker logged the failed attempt for that very row.
        """
        window = self.scenario.send_deadline + 2.0
        # The dead worker's row stayed claimed until its lease ran out, so the copy that
        # replaced its delivery came at least lease - send deadline later.
        gap = self.scenario.lease - self.scenario.send_deadline - 1.0
        kills = dict(self.kills)
        last_by_pid: dict[int, Delivery] = {}
        for delivery in sorted(self.deliveries, key=lambda d: d.at):
            last_by_pid[delivery.pid] = delivery
        by_id: dict[str, list[Delivery]] = {}
        for delivery in self.deliveries:
            by_id.setdefault(delivery.message_id, []).append(delivery)
        by_kill = by_pause = by_lost = 0
        unexplained = []
        for message_id, copies in by_id.items():
            needed = len(copies) - 1
            if not needed:
                continue
            killed = [d for d in copies if d.pid in kills and last_by_pid[d.pid] is d
                      and d.at - 1.0 <= kills[d.pid] <= d.at + window
                      and any(o.at >= d.at + gap for o in copies if o is not d)]
            paused = [d for d in copies if d not in killed and any(
                pid == d.pid and start - window <= d.at <= end + window
                for pid, start, end in self.pauses)]
            lost = [d for d in copies if d not in killed and d not in paused
                    and self._logged_failure(d)]
            left = needed
            for found in (killed, paused, lost):
                take = min(len(found), left)
                left -= take
                if found is killed:
                    by_kill += take
                elif found is paused:
                    by_pause += take
                else:
                    by_lost += take
            if left:
                unexplained.append(
                    f"{message_id}: {[(d.pid, round(d.at, 2)) for d in copies]}")
        return by_kill, by_pause, by_lost, unexplained

    def _logged_failure(self, delivery: Delivery) -> bool:
        row = self.row_of.get(delivery.to)
        text = self.log_of.get(delivery.pid, "")
        return row is not None and (f"outbox item {row}: attempt" in text
                                    or f"outbox item {row}: recording the outcome" in text)

    def duplicate_details(self) -> list[str]:
        """Each duplicated Message-ID with its deliveries (pid, seconds before the kill or the
        pause of that pid), for the report."""
        kills = dict(self.kills)
        by_id: dict[str, list[Delivery]] = {}
        for delivery in self.deliveries:
            by_id.setdefault(delivery.message_id, []).append(delivery)
        lines = []
        for copies in by_id.values():
            if len(copies) < 2:
                continue
            copies = sorted(copies, key=lambda d: d.at)
            parts = []
            for d in sorted(copies, key=lambda d: d.at):
                note = ""
                if d.pid in kills:
                    note = f" killed {kills[d.pid] - d.at:+.2f}s"
                for pid, start, end in self.pauses:
                    if pid == d.pid:
                        note += f" paused {start - d.at:+.2f}..{end - d.at:+.2f}s"
                parts.append(f"pid {d.pid} at +{d.at - copies[0].at:.2f}s{note}")
            lines.append("; ".join(parts))
        return lines

    def figures(self) -> str:
        by_kill, by_pause, by_lost, unexplained = self.explain_duplicates()
        s = self.scenario
        return (f"{s.notifications} notifications, {s.workers} workers, seed {s.seed}: "
                f"{len(self.deliveries)} deliveries of "
                f"{len({d.message_id for d in self.deliveries})} messages, "
                f"{self.duplicates} duplicates ({by_kill} after a kill, {by_pause} after a "
                f"pause, {by_lost} lost 250, {len(unexplained)} unexplained), "
                f"{len(self.kills)} kills, "
                f"{len(self.pauses)} pauses, {self.fenced} completions fenced off, "
                f"{self.attempts} attempts, server answers {self.answers}, "
                f"wall time {self.wall:.0f} s")


def _socket_inode(local_port: int, remote_port: int) -> str:
    """The inode of the loopback TCP socket from local_port to remote_port (the client's)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        local, remote = parts[1], parts[2]
        if (int(local.split(":")[1], 16) == local_port
                and int(remote.split(":")[1], 16) == remote_port):
            return parts[9]
    return ""


def _owner(inode: str, pids: list[int]) -> int:
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return 0


class FaultyRelay:
    """An aiosmtpd handler that misbehaves at random and notes who delivered what."""

    def __init__(self, scenario: Scenario, port: int) -> None:
        self.scenario = scenario
        self.port = port
        self.random = random.Random(scenario.seed)  # noqa: S311 - a replayable schedule
        self.lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self.answers: dict[str, int] = {}
        self.pids: list[int] = []

    def _count(self, answer: str) -> None:
        with self.lock:
            self.answers[answer] = self.answers.get(answer, 0) + 1

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        # Who is sending: looked up now, while the client surely still waits for this answer.
        with self.lock:
            pids = list(self.pids)
        session.worker_pid = _owner(_socket_inode(session.peer[1], self.port), pids)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        s = self.scenario
        pid = getattr(session, "worker_pid", 0)
        roll = self.random.random()
        if roll < s.p_drop:
            self._count("drop")
            server.transport.abort()
            await asyncio.sleep(1)  # cancelled once the connection is gone
            return "421 4.3.2 closing"
        roll -= s.p_drop
        if roll < s.p_421:
            self._count("421")
            return "421 4.3.2 Service not available, closing channel"
        roll -= s.p_421
        if roll < s.p_451:
            self._count("451")
            return "451 4.3.0 Try again later"
        roll -= s.p_451
        if roll < s.p_long:
            # Longer than the client's timeout and the lease: the client gives up and closes,
            # which cancels this handler, so the message is never taken in.
            self._count("long delay")
            await asyncio.sleep(self.random.uniform(*s.long_delay))
        else:
            await asyncio.sleep(self.random.uniform(0, s.short_delay))
        headers = email.parser.BytesHeaderParser().parsebytes(envelope.content)
        with self.lock:
            self.deliveries.append(Delivery(str(headers["Message-ID"]),
                                            ",".join(envelope.rcpt_tos), pid, time.time()))
        self._count("250")
        return "250 OK"


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}@{db['HOST']}{port}/{db['NAME']}"


class Workers:
    def __init__(self, scenario: Scenario, smtp_port: int, logs: Path, relay: FaultyRelay,
                 keyring: Path) -> None:
        self.scenario = scenario
        self.logs = logs
        self.relay = relay
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": _database_url(),
            "ZEGEL_EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}?timeout={scenario.smtp_timeout}",
            "ZEGEL_OUTBOX_RETRY_SECONDS": str(scenario.retry_seconds),
            "ZEGEL_KEYRING_FILE": str(keyring),
            "ZEGEL_SMS_URL": "capture",
        }
        self.started = 0
        self.log_of: dict[int, Path] = {}
        self.up: set[int] = set()

    def start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        path = self.logs / f"worker-{self.started}.log"
        with path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "zegel.cli", "worker", "--poll", "0.2"],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.log_of[proc.pid] = path
        with self.relay.lock:
            self.relay.pids.append(proc.pid)
        return proc

    def fenced(self) -> int:
        return sum(path.read_text(errors="replace").count("claim lost")
                   for path in self.log_of.values())

    def running(self, proc: subprocess.Popen[bytes]) -> bool:
        if proc.pid not in self.up:
            if "Worker running." not in self.log_of[proc.pid].read_text(errors="replace"):
                return False
            self.up.add(proc.pid)
        return True

    def wait_running(self, proc: subprocess.Popen[bytes], limit: float = 60.0) -> None:
        """Until the worker has its SIGTERM handler: a SIGTERM during start-up would end it
        before it could stop cleanly."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and proc.poll() is None:
            if "Worker running." in self.log_of[proc.pid].read_text(errors="replace"):
                return
            time.sleep(0.1)


def _enqueue(org: Organisation, count: int) -> None:
    for i in range(count):
        email = Email(to=f"r{i}@example.nl", subject=f"Melding {i}", text=f"Melding {i}",
                      html="", from_name=org.name)
        enqueue_email(org, email, dedupe_key=f"fault-test:{i}", purpose="fault-test")


def run(scenario: Scenario, org: Organisation, workdir: Path) -> Outcome:
    """Run the scenario against the current database; stops by itself within its time limit."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    _enqueue(org, scenario.notifications)
    keyring = Path(settings.KEYRING_FILE or settings.KEYRING_DEFAULT)
    port = _free_port()
    relay = FaultyRelay(scenario, port)
    controller = Controller(relay, hostname="127.0.0.1", port=port,
                            timeout=scenario.lease / 2)
    controller.start()
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    chaos = random.Random(scenario.seed + 1)  # noqa: S311 - a replayable schedule
    procs: list[subprocess.Popen[bytes]] = []
    kills: list[tuple[int, float]] = []
    pauses: list[tuple[int, float, float]] = []
    started_at = time.monotonic()
    workers = Workers(scenario, port, logs, relay, keyring)
    exit_codes: list[int | None] = []
    paused: tuple[subprocess.Popen[bytes], float, float] | None = None
    try:
        for _ in range(scenario.workers):
            procs.append(workers.start())
        next_kill = time.monotonic() + chaos.uniform(*scenario.kill_every)
        next_pause = time.monotonic() + scenario.pause_every
        deadline = started_at + scenario.time_limit
        while time.monotonic() < deadline:
            if OutboxItem.objects.filter(purpose="fault-test", state="sent").count() \
                    == scenario.notifications:
                break
            now = time.monotonic()
            if paused is not None and now >= paused[2]:
                os.kill(paused[0].pid, signal.SIGCONT)
                pauses.append((paused[0].pid, paused[1], time.time()))
                paused = None
            if now >= next_pause and paused is None and any(map(workers.running, procs)):
                victim = chaos.choice([p for p in procs if workers.running(p)])
                os.kill(victim.pid, signal.SIGSTOP)
                paused = (victim, time.time(), now + scenario.lease + 2.0)
                next_pause = now + scenario.pause_every
            # Only a worker that is up and delivering is worth killing: on a busy machine a
            # start takes seconds, and killing starters would test nothing.
            candidates = [p for p in procs if (paused is None or p is not paused[0])
                          and workers.running(p)]
            if now >= next_kill and candidates:
                victim = chaos.choice(candidates)
                victim.kill()
                kills.append((victim.pid, time.time()))
                victim.wait()
                procs[procs.index(victim)] = workers.start()
                next_kill = now + chaos.uniform(*scenario.kill_every)
            time.sleep(0.1)
        if paused is not None:
            os.kill(paused[0].pid, signal.SIGCONT)
            pauses.append((paused[0].pid, paused[1], time.time()))
            paused = None
        wall = time.monotonic() - started_at
        for proc in procs:
            workers.wait_running(proc)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                exit_codes.append(proc.wait(timeout=scenario.send_deadline + 10))
            except subprocess.TimeoutExpired:
                exit_codes.append(None)
    finally:
        if paused is not None:
            os.kill(paused[0].pid, signal.SIGCONT)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        controller.stop()
    items = OutboxItem.objects.filter(purpose="fault-test")
    sent_ids = list(items.filter(state="sent").values_list("id", flat=True))
    events = AuditEvent.objects.filter(action="email.sent",
                                       object_id__in=[str(pk) for pk in sent_ids])
    return Outcome(
        scenario=scenario, deliveries=list(relay.deliveries), kills=kills, pauses=pauses,
        sent=len(sent_ids), sent_events=events.count(),
        distinct_sent_events=events.values("object_id").distinct().count(),
        attempts=sum(items.values_list("attempts", flat=True)), fenced=workers.fenced(),
        exit_codes=exit_codes, wall=wall, answers=dict(relay.answers),
        row_of={f"r{key.split(':')[1]}@example.nl": pk
                for pk, key in items.values_list("id", "dedupe_key")},
        log_of={pid: path.read_text(errors="replace") for pid, path in workers.log_of.items()},
    )


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
