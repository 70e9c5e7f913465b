"""Send throughput: messages per second from POST /api/v1/messages to the notification
e-mail accepted by an SMTP server, against a no-op request served by the same processes.

    .venv/bin/python bench/send_throughput.py [--seconds 60] [--database postgres://...]

Starts a fresh Zegel (see bench/loadkit.py: temporary data dir, its own database, `zegel
serve` and `zegel worker` processes, a loopback aiosmtpd sink, SMS to a file). Then, in
rounds, interleaved:

1. a send burst: `--clients` threads, each on one keep-alive connection, POST a message with
   one SMS recipient (a new address and phone number each) for `--burst` seconds;
2. the drain: wait until the sink has accepted the notification e-mail of every message the
   burst created. The round's rate is messages / (burst start to the last e-mail accepted);
3. a healthz burst: the same threads ask GET /healthz for `--healthz-seconds`.

Rounds go on until `--seconds` of send bursts have run. Reported: the end-to-end rate, the
rate at which the API accepted messages and the healthz rate (median and range over the
rounds), the ratio of send rate to healthz rate per round, and whether any message was lost
(no e-mail) or doubled (more than one e-mail, or two Message-IDs, for one message).
Nothing here is asserted; it prints figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from loadkit import (
    Client,
    Stack,
    add_stack_options,
    healthz_burst,
    median_range,
    percentile,
    phone_number,
)


@dataclass
class Round:
    created: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    api_latencies: list[float] = field(default_factory=list)
    burst_s: float = 0.0
    e2e_s: float = 0.0
    delivered: int = 0
    healthz_rate: float = 0.0

    @property
    def api_rate(self) -> float:
        return len(self.created) / self.burst_s if self.burst_s else 0.0

    @property
    def e2e_rate(self) -> float:
        return self.delivered / self.e2e_s if self.e2e_s else 0.0


def send_burst(stack: Stack, number: int, clients: int, seconds: float,
               counter: list[int]) -> Round:
    result = Round()
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    shown: list[int] = []

    def run(thread: int) -> None:
        client = Client(stack.web_port, timeout=60)
        created: list[str] = []
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        barrier.wait()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with lock:
                counter[0] += 1
                n = counter[0]
            address = f"r{n}@recipients.example"
            started = time.perf_counter()
            try:
                status, data = stack.send_message(client, address, phone_number(n))
            except OSError as exc:
                errors[type(exc).__name__] += 1
                client.close()
                continue
            latencies.append(time.perf_counter() - started)
            if status == 201:
                created.append(address)
            else:
                errors[f"HTTP {status}"] += 1
                with lock:
                    if not shown:
                        shown.append(status)
                        print(f"  round {number}: HTTP {status}: {data[:200]!r}",
                              file=sys.stderr)
        client.close()
        with lock:
            result.created.extend(created)
            result.api_latencies.extend(latencies)
            result.errors.update(errors)

    threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    result.burst_s = time.monotonic() - started
    drain = stack.sink.wait_for(set(result.created), timeout=max(180.0, 20 * seconds))
    arrivals = [a for copies in drain.values() for a in copies]
    result.delivered = len(drain)
    last = max((a.at for a in arrivals), default=time.monotonic())
    result.e2e_s = last - started
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="seconds of send bursts in all (default 60)")
    parser.add_argument("--burst", type=float, default=10.0,
                        help="seconds per send burst (default 10)")
    parser.add_argument("--healthz-seconds", type=float, default=3.0,
                        help="seconds per healthz burst (default 3)")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent client connections (default 8)")
    add_stack_options(parser)
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.burst <= 0 or args.clients < 1 or args.web < 1 \
            or args.workers < 1:
        parser.error("--seconds, --burst, --clients, --web and --workers must be positive")
    rounds = max(1, round(args.seconds / args.burst))

    with Stack(args, label="send") as stack:
        print(f"{stack.describe()}\n{rounds} rounds: {args.burst:g} s of sends with "
              f"{args.clients} clients, drain, {args.healthz_seconds:g} s of healthz",
              flush=True)
        # Warm-up: every web process and thread imports, connects and renders once.
        healthz_burst(stack.web_port, args.clients, seconds=1.0)
        send_burst(stack, 0, args.clients, 1.0, counter := [0])
        results: list[Round] = []
        for number in range(1, rounds + 1):
            r = send_burst(stack, number, args.clients, args.burst, counter)
            r.healthz_rate, hz = healthz_burst(stack.web_port, args.clients,
                                               seconds=args.healthz_seconds)
            r.errors.update(hz.errors)
            results.append(r)
            print(f"round {number}: {len(r.created)} sent in {r.burst_s:.1f} s "
                  f"(API {r.api_rate:.1f}/s), {r.delivered} e-mails by "
                  f"{r.e2e_s:.1f} s -> {r.e2e_rate:.1f} msg/s end to end; healthz "
                  f"{r.healthz_rate:.0f}/s; errors {dict(r.errors) or 0}", flush=True)

        created = [a for r in results for a in r.created]
        wanted = set(created)
        arrivals = [a for a in stack.sink.since(0)
                    if any(to in wanted for to in a.to)]
        per_address: dict[str, set[str]] = {}
        copies: Counter[str] = Counter()
        for arrival in arrivals:
            for to in arrival.to:
                if to in wanted:
                    per_address.setdefault(to, set()).add(arrival.message_id)
                    copies[to] += 1
        lost = len(wanted - set(per_address))
        doubled = sum(1 for n in copies.values() if n > 1)
        ids = Counter(a.message_id for a in arrivals)
        two_ids = sum(1 for s in per_address.values() if len(s) > 1)
        api_lat = [x for r in results for x in r.api_latencies]
        errors = sum((r.errors for r in results), Counter())

        print()
        print(f"database: {stack.database_label}; web processes {args.web}, workers "
              f"{args.workers}, clients {args.clients}; {rounds} rounds of {args.burst:g} s")
        print(f"end to end (API to e-mail accepted) msg/s: "
              f"{median_range([r.e2e_rate for r in results])}")
        print(f"API accepted msg/s:                        "
              f"{median_range([r.api_rate for r in results])}")
        print(f"healthz req/s (same processes):            "
              f"{median_range([r.healthz_rate for r in results], '{:.0f}')}")
        ratios = [r.e2e_rate / r.healthz_rate for r in results if r.healthz_rate]
        print(f"end to end / healthz per round:            {median_range(ratios, '{:.3f}')}")
        print(f"API latency ms: p50 {percentile(api_lat, 50) * 1000:.0f}, p95 "
              f"{percentile(api_lat, 95) * 1000:.0f}, max {max(api_lat, default=0) * 1000:.0f}")
        print(f"messages created {len(created)}; e-mails accepted {len(arrivals)} "
              f"({len(ids)} distinct Message-IDs); lost {lost}; doubled {doubled} "
              f"(addresses with two Message-IDs: {two_ids}); errors {dict(errors) or 0}")
        total_e2e = statistics.fmean([r.e2e_rate for r in results]) if results else 0
        print(f"mean end to end over the rounds: {total_e2e:.1f} msg/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
