"""Shared parts of the load benchmarks (send_throughput.py, portal_latency.py).

A `Stack` is a fresh Zegel in a temporary data dir: its own database (a SQLite file, or a new
database on the PostgreSQL server named by --database / DATABASE_URL, dropped afterwards), an
organisation, a sender with an API token, `zegel serve` and `zegel worker` processes, a
loopback SMTP sink (aiosmtpd) that notes every Message-ID it accepts, and SMS written to a
file (the `file://` backend) that the benchmark reads codes from. Everything listens on
127.0.0.1 only, every wait is bounded, and every process is stopped at the end.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 90.0
CLI_TIMEOUT = 180.0
DOMAIN = "bench.example"
# The checkout this file is in: its zegel package is what the processes run.
ROOT = Path(__file__).resolve().parent.parent
SENDER = f"sender@{DOMAIN}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def zegel_command() -> list[str]:
    script = Path(sys.executable).with_name("zegel")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from zegel.cli import main; sys.exit(main())"]


def add_stack_options(parser: argparse.ArgumentParser) -> None:
    cores = os.cpu_count() or 2
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL", ""),
                        help="postgres://user@host:port/db: a fresh database is created next "
                        "to this one for the run and dropped after it (default: DATABASE_URL, "
                        "else SQLite in the temporary data dir)")
    parser.add_argument("--web", type=int, default=cores,
                        help=f"gunicorn worker processes of `zegel serve` (default {cores}, "
                        "the cores of this machine)")
    parser.add_argument("--workers", type=int, default=max(1, cores // 2),
                        help=f"`zegel worker` processes (default {max(1, cores // 2)})")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the Zegel processes (repeatable), e.g. "
                        "ZEGEL_DB_CONN_MAX_AGE=0 to compare")
    parser.add_argument("--keep", action="store_true", help="keep the data dir (and database)")


# --- Statistics ----------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; nan for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median_range(values: Sequence[float], fmt: str = "{:.1f}") -> str:
    if not values:
        return "n/a"
    return (f"median {fmt.format(statistics.median(values))}  range "
            f"{fmt.format(min(values))}-{fmt.format(max(values))}")


# --- The SMTP sink -------------------------------------------------------------------------

@dataclass
class Arrival:
    message_id: str
    to: tuple[str, ...]
    at: float
    body: str


class SmtpSink:
    """aiosmtpd on loopback; keeps every accepted message's Message-ID, recipients and text."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.arrivals: list[Arrival] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
                text = ""
                part = parsed.get_body(preferencelist=("plain",))
                if part is not None:
                    text = part.get_content()
                arrival = Arrival(str(parsed.get("Message-ID", "")),
                                  tuple(a.lower() for a in envelope.rcpt_tos),
                                  time.monotonic(), text)
                with sink.changed:
                    sink.arrivals.append(arrival)
                    sink.changed.notify_all()
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname=HOST, port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def since(self, index: int) -> list[Arrival]:
        with self.lock:
            return self.arrivals[index:]

    def wait_for(self, addresses: set[str], timeout: float) -> dict[str, list[Arrival]]:
        """Wait until every address got at least one message (or the timeout); answers the
        arrivals per address (every copy, so duplicates show)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                got: dict[str, list[Arrival]] = {}
                for arrival in self.arrivals:
                    for to in arrival.to:
                        if to in addresses:
                            got.setdefault(to, []).append(arrival)
                left = deadline - time.monotonic()
                if len(got) >= len(addresses) or left <= 0:
                    return got
                self.changed.wait(min(left, 0.5))


LINK = re.compile(r"https?://[^\s/]+(/m/[A-Za-z0-9_\-]+)")


# --- SMS codes from the file backend -------------------------------------------------------

class SmsFile:
    """Reads the JSON lines that the `file://` SMS backend appends; codes by phone number."""

    CODE = re.compile(r"\b(\d{6})\b")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.codes: dict[str, list[str]] = {}
        self.lock = threading.Lock()

    def _read(self) -> None:
        import json

        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].splitlines():
            entry = json.loads(line)
            match = self.CODE.search(entry["body"])
            if match:
                self.codes.setdefault(entry["to"], []).append(match.group(1))

    def wait_code(self, phone: str, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                self._read()
                codes = self.codes.get(phone)
                if codes:
                    return codes[-1]
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)


# --- HTTP ------------------------------------------------------------------------------------

class Client:
    """One keep-alive HTTP/1.1 connection with a cookie jar; reconnects when the server
    closes."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.port, self.timeout = port, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed between requests: once more on a
                # new one (nothing was processed).
                self.close()
                if attempt == 2:
                    raise
                continue
            from http.cookies import SimpleCookie

            for header in response.headers.get_all("Set-Cookie") or []:
                jar: SimpleCookie = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    self.cookies[name] = morsel.value
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --- The stack -----------------------------------------------------------------------------

def wait_healthy(port: int, server: subprocess.Popen[bytes],
                 timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait until `zegel serve` on ``port`` answers /healthz with 200, or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"zegel serve exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"zegel serve did not answer /healthz within {timeout:.0f} s")


def _admin_url(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


class Stack:
    def __init__(self, args: argparse.Namespace, *, extra_env: dict[str, str] | None = None,
                 label: str = "bench") -> None:
        self.args = args
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"zegel-{label}-"))
        self.sms_path = self.data_dir / "sms.jsonl"
        self.sink = SmtpSink()
        self.web_port = free_port()
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.logs: list[Path] = []
        self.db_name = ""
        self.db_admin = ""
        self.env = {**os.environ, "ZEGEL_DATA_DIR": str(self.data_dir),
                    "ZEGEL_BASE_URL": f"http://{HOST}:{self.web_port}",
                    "ZEGEL_EMAIL_URL": f"smtp://{HOST}:{self.sink.port}",
                    "ZEGEL_SMS_URL": f"file://{self.sms_path}",
                    "ZEGEL_LOG_LEVEL": "WARNING",
                    # The benchmarks measure the work, not the limits that guard against abuse.
                    "ZEGEL_API_RATE_LIMIT": "1000000000",
                    "ZEGEL_SMS_PER_ORGANISATION_HOUR": "1000000000",
                    **(extra_env or {})}
        self.env.pop("DATABASE_URL", None)
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        for item in args.env:
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise SystemExit(f"--env takes NAME=VALUE, not {item!r}")
            self.env[name] = value
        if args.database:
            if not args.database.startswith(("postgres://", "postgresql://")):
                raise SystemExit("--database takes a postgres:// URL (SQLite is the default)")
            self.db_name = f"zegel_bench_{secrets.token_hex(4)}"
            self.db_admin = args.database
            self._sql(f'CREATE DATABASE "{self.db_name}"')
            self.env["DATABASE_URL"] = _admin_url(args.database, self.db_name)
        self.token = ""

    @property
    def database_label(self) -> str:
        return "PostgreSQL" if self.db_name else "SQLite"

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.db_admin, autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def cli(self, *args: str) -> str:
        result = subprocess.run([*zegel_command(), *args], env=self.env, capture_output=True,
                                text=True, timeout=CLI_TIMEOUT, check=False)
        if result.returncode != 0:
            raise SystemExit(f"zegel {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log_path = self.data_dir / f"{name}.log"
        self.logs.append(log_path)
        with open(log_path, "wb") as log:
            process = subprocess.Popen([*zegel_command(), *args], env=self.env, stdout=log,
                                       stderr=log, start_new_session=True)
        self.processes.append((name, process))
        return process

    def __enter__(self) -> Stack:
        try:
            self.sink.start()
            self.cli("migrate")
            self.cli("createorg", "--name", "Bench", "--domain", DOMAIN)
            password_file = self.data_dir / "password"
            password_file.write_text(secrets.token_urlsafe(16))
            self.cli("createuser", "--org", DOMAIN, "--email", SENDER, "--name", "Bench",
                     "--password-file", str(password_file))
            self.token = self.cli("token", "create", SENDER)
            server = self._spawn("serve", "serve", f"{HOST}:{self.web_port}",
                                 "--workers", str(self.args.web))
            for n in range(self.args.workers):
                self._spawn(f"worker{n + 1}", "worker", "--poll", "0.2")
            wait_healthy(self.web_port, server)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def describe(self) -> str:
        return (f"{self.database_label}; zegel serve --workers {self.args.web} (gunicorn "
                f"gthread) + {self.args.workers} zegel worker; data dir {self.data_dir}")

    def tail_logs(self) -> str:
        out = []
        for path in self.logs:
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-15:]
                if lines:
                    out.append(f"--- {path.name} (last lines) ---\n" + "\n".join(lines))
        return "\n".join(out)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None and not issubclass(exc_type, KeyboardInterrupt):
            print(self.tail_logs(), file=sys.stderr)
        for _name, process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _name, process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        try:
            self.sink.stop()
        except Exception:  # noqa: S110 - stopping a sink that never started
            pass
        if self.args.keep:
            print(f"kept: data dir {self.data_dir}"
                  + (f", database {self.db_name}" if self.db_name else ""), file=sys.stderr)
            return
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.db_name:
            self._sql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    # --- API --------------------------------------------------------------------------------

    def send_message(self, client: Client, to: str, phone: str,
                     subject: str = "Benchmark") -> tuple[int, bytes]:
        import json

        body = json.dumps({"subject": subject, "body": "Beste lezer,\n\nEen testbericht.",
                           "recipients": [{"email": to, "verification": "sms",
                                           "phone": phone}]}).encode()
        status, _headers, data = client.request("POST", "/api/v1/messages", body, {
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        return status, data


def phone_number(n: int) -> str:
    """A distinct Dutch mobile number per n (E.164, as the server stores it)."""
    return f"+3161{n % 10**7:07d}"


@dataclass
class Healthz:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


def healthz_burst(port: int, clients: int, *, seconds: float | None = None,
                  requests_each: int | None = None) -> tuple[float, Healthz]:
    """`clients` threads asking GET /healthz on keep-alive connections, for `seconds` or
    `requests_each` requests each, all starting together; answers (requests/s, latencies)."""
    result = Healthz()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    done = [0]

    def run() -> None:
        client = Client(port, timeout=30)
        mine: list[float] = []
        errors: Counter[str] = Counter()
        barrier.wait()
        end = time.monotonic() + (seconds or 0)
        n = 0
        while (requests_each is not None and n < requests_each) or (
                requests_each is None and time.monotonic() < end):
            started = time.perf_counter()
            try:
                status, _h, _d = client.request("GET", "/healthz")
                if status != 200:
                    errors[f"healthz {status}"] += 1
            except OSError as exc:
                errors[f"healthz {type(exc).__name__}"] += 1
                client.close()
            mine.append(time.perf_counter() - started)
            n += 1
        client.close()
        with lock:
            result.latencies.extend(mine)
            result.errors.update(errors)
            done[0] += n

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started
    return done[0] / elapsed if elapsed else 0.0, result


def chunks(items: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]
