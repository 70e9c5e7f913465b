"""Portal latency: 50 recipients at once open their link, verify by SMS code and read the
message; against a no-op request (GET /healthz) at the same concurrency, same processes.

    .venv/bin/python bench/portal_latency.py [--rounds 5] [--database postgres://...]

Starts a fresh Zegel (see bench/loadkit.py). Each round, untimed, sends `--recipients`
messages through the API (one SMS recipient each) and takes each recipient's link from the
notification e-mail at the loopback SMTP sink. Then, timed, one thread per recipient, all
released together, each on its own keep-alive connection with its own cookies:

1. GET the link (the verify page, 200);
2. POST .../code (302): the worker sends the SMS, which the benchmark reads from the SMS file
   (the wait for it is reported apart: it is the worker's delivery, not a request);
3. POST .../verify with the code (302);
4. GET the link again: the message itself (200, with its subject).

Every other answer, a code that never came, or a socket error is an error (counted by kind).
After each portal round a healthz round: the same number of threads, released together, each
asks GET /healthz as many times as a recipient made requests. Reported: p50, p95 and max of
the request latencies per round and over all rounds, per step, the errors, and the p95 ratio
to healthz. Nothing here is asserted; it prints figures.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from loadkit import (
    LINK,
    Client,
    SmsFile,
    Stack,
    add_stack_options,
    healthz_burst,
    median_range,
    percentile,
    phone_number,
)

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STEPS = ("open", "code", "verify", "read")
SUBJECT = "Benchmark portal"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class PortalRound:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    sms_wait: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0

    @property
    def all(self) -> list[float]:
        return [x for s in STEPS for x in self.latencies[s]]


def prepare(stack: Stack, count: int, counter: list[int]) -> list[tuple[str, str]]:
    """Send `count` messages; answers (link path, phone) per recipient."""
    client = Client(stack.web_port)
    wanted: dict[str, str] = {}
    for _ in range(count):
        counter[0] += 1
        n = counter[0]
        address = f"p{n}@recipients.example"
        status, data = stack.send_message(client, address, phone_number(n), subject=SUBJECT)
        if status != 201:
            raise SystemExit(f"POST /api/v1/messages answered {status}: {data[:300]!r}")
        wanted[address] = phone_number(n)
    client.close()
    got = stack.sink.wait_for(set(wanted), timeout=180)
    if len(got) < len(wanted):
        raise SystemExit(f"only {len(got)} of {len(wanted)} notification e-mails arrived")
    links = []
    for address, phone in wanted.items():
        match = LINK.search(got[address][0].body)
        if not match:
            raise SystemExit(f"no link in the notification to {address}")
        links.append((match.group(1), phone))
    return links


def portal_round(stack: Stack, sms: SmsFile, links: list[tuple[str, str]],
                 code_timeout: float) -> PortalRound:
    result = PortalRound()
    lock = threading.Lock()
    barrier = threading.Barrier(len(links) + 1)

    def one(path: str, phone: str) -> None:
        client = Client(stack.web_port, timeout=60)
        times: dict[str, float] = {}
        waited: list[float] = []
        errors: Counter[str] = Counter()

        def step(name: str, method: str, url: str, body: dict[str, str] | None,
                 expect: int) -> str | None:
            started = time.perf_counter()
            try:
                status, _headers, data = client.request(
                    method, url, urlencode(body).encode() if body is not None else None,
                    FORM if body is not None else None)
            except OSError as exc:
                errors[f"{name} {type(exc).__name__}"] += 1
                return None
            times[name] = time.perf_counter() - started
            if status != expect:
                errors[f"{name} HTTP {status}"] += 1
                return None
            return data.decode(errors="replace")

        barrier.wait()
        try:
            page = step("open", "GET", path, None, 200)
            token = CSRF.search(page or "")
            if page is None or token is None:
                if page is not None:
                    errors["open: no form"] += 1
                return
            if step("code", "POST", f"{path}/code",
                    {"csrfmiddlewaretoken": token.group(1)}, 302) is None:
                return
            started = time.monotonic()
            code = sms.wait_code(phone, code_timeout)
            waited.append(time.monotonic() - started)
            if code is None:
                errors["no SMS code"] += 1
                return
            if step("verify", "POST", f"{path}/verify",
                    {"csrfmiddlewaretoken": client.cookies.get("csrftoken", token.group(1)),
                     "code": code}, 302) is None:
                return
            page = step("read", "GET", path, None, 200)
            if page is not None and SUBJECT not in page:
                errors["read: no message"] += 1
        finally:
            client.close()
            with lock:
                for name, value in times.items():
                    result.latencies[name].append(value)
                result.sms_wait.extend(waited)
                result.errors.update(errors)

    threads = [threading.Thread(target=one, args=link, daemon=True) for link in links]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join(timeout=code_timeout + 300)
    result.wall_s = time.monotonic() - started
    return result


def ms(values: list[float]) -> str:
    if not values:
        return "p50    n/a  p95    n/a  max    n/a"
    return (f"p50 {percentile(values, 50) * 1000:6.0f}  p95 {percentile(values, 95) * 1000:6.0f}"
            f"  max {max(values) * 1000:6.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="portal rounds (default 5)")
    parser.add_argument("--recipients", type=int, default=50,
                        help="concurrent recipients per round (default 50)")
    parser.add_argument("--code-timeout", type=float, default=60.0,
                        help="seconds to wait for an SMS code (default 60)")
    add_stack_options(parser)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.recipients < 1 or args.web < 1 or args.workers < 1:
        parser.error("--rounds, --recipients, --web and --workers must be positive")

    with Stack(args, label="portal") as stack:
        sms = SmsFile(stack.sms_path)
        counter = [0]
        print(f"{stack.describe()}\n{args.rounds} rounds of {args.recipients} recipients at "
              "once, each followed by a healthz round", flush=True)
        healthz_burst(stack.web_port, args.recipients, requests_each=2)  # warm-up
        warm = portal_round(stack, sms, prepare(stack, 2, counter), args.code_timeout)
        if warm.errors:
            print(f"warm-up errors: {dict(warm.errors)}", flush=True)
        portal: list[PortalRound] = []
        healthz: list[list[float]] = []
        for number in range(1, args.rounds + 1):
            links = prepare(stack, args.recipients, counter)
            r = portal_round(stack, sms, links, args.code_timeout)
            _rate, hz = healthz_burst(stack.web_port, args.recipients,
                                      requests_each=len(STEPS))
            portal.append(r)
            healthz.append(hz.latencies)
            r.errors.update(hz.errors)
            print(f"round {number}: portal ms {ms(r.all)}; SMS wait s median "
                  f"{percentile(r.sms_wait, 50):.2f}; healthz ms {ms(hz.latencies)}; "
                  f"errors {dict(r.errors) or 0}", flush=True)

        everything = [x for r in portal for x in r.all]
        all_hz = [x for h in healthz for x in h]
        errors = sum((r.errors for r in portal), Counter())
        flows = args.rounds * args.recipients
        print()
        print(f"database: {stack.database_label}; web processes {args.web}, workers "
              f"{args.workers}; {args.rounds} rounds x {args.recipients} recipients at once")
        print(f"portal requests, all rounds (ms):  {ms(everything)}  ({len(everything)} "
              "requests)")
        for name in STEPS:
            values = [x for r in portal for x in r.latencies[name]]
            print(f"  {name:<7}                          {ms(values)}")
        print(f"SMS code wait (worker delivery) s: median "
              f"{percentile([x for r in portal for x in r.sms_wait], 50):.2f}, max "
              f"{max((x for r in portal for x in r.sms_wait), default=float('nan')):.2f}")
        print(f"healthz, same concurrency (ms):    {ms(all_hz)}")
        p95s = [percentile(r.all, 95) * 1000 for r in portal if r.all]
        ratios = [percentile(r.all, 95) / percentile(h, 95) for r, h in zip(portal, healthz,
                                                                              strict=True)
                  if r.all and h]
        print(f"portal p95 per round ms:           {median_range(p95s, '{:.0f}')}")
        print(f"portal p95 / healthz p95 per round: {median_range(ratios, '{:.1f}')}")
        print(f"errors: {sum(errors.values())} in {flows} recipient flows "
              f"{dict(errors) or ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
