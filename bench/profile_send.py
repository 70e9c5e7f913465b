"""Profile of the send path, in one process: POST /api/v1/messages (one SMS recipient) through
Django's test client, then the worker's delivery of the notifications to a loopback SMTP sink.

    .venv/bin/python bench/profile_send.py [--sends 200] [--database postgres://...] [--top 25]

Prints the database queries per send and per delivery (counted with an execute wrapper, the
statements of one of each when --show-sql is given) and the cProfile functions with the most
cumulative time for each part. SQLite in a temporary data dir by default; with --database a
fresh PostgreSQL database is created next to the one named and dropped afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--database", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--show-sql", action="store_true")
    parser.add_argument("--no-profile", action="store_true",
                        help="only time the sends and deliveries (CPU and wall clock)")
    args = parser.parse_args(argv)

    from loadkit import DOMAIN, SENDER, SmtpSink, _admin_url, phone_number

    data_dir = Path(tempfile.mkdtemp(prefix="zegel-profile-"))
    sink = SmtpSink()
    sink.start()
    os.environ.update({"ZEGEL_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE":
                       "zegel.settings", "ZEGEL_EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
                       "ZEGEL_SMS_URL": f"file://{data_dir / 'sms.jsonl'}",
                       "ZEGEL_LOG_LEVEL": "WARNING", "ZEGEL_API_RATE_LIMIT": "1000000000"})
    db_name = ""
    if args.database:
        import psycopg

        db_name = f"zegel_profile_{secrets.token_hex(4)}"
        with psycopg.connect(args.database, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')  # type: ignore[arg-type]
        os.environ["DATABASE_URL"] = _admin_url(args.database, db_name)
    else:
        os.environ.pop("DATABASE_URL", None)
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from zegel.notify.outbox import deliver_due
        from zegel.orgs.actions import create_organisation, create_user, issue_api_token

        call_command("migrate", interactive=False, verbosity=0)
        create_organisation(name="Bench", domain=DOMAIN)
        create_user(organisation_domain=DOMAIN, email=SENDER, name="Bench",
                    password=secrets.token_urlsafe(16))
        token = issue_api_token(SENDER, label="", scopes=("send", "read"), expires_at=None)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")

        def send(n: int) -> None:
            body = json.dumps({"subject": "Benchmark", "body": "Beste lezer,\n\nEen test.",
                               "recipients": [{"email": f"r{n}@recipients.example",
                                               "verification": "sms",
                                               "phone": phone_number(n)}]})
            response = client.post("/api/v1/messages", body, content_type="application/json")
            if response.status_code != 201:
                raise SystemExit(f"send answered {response.status_code}: "
                                 f"{response.content[:300]!r}")

        for n in range(5):  # warm-up: imports, first key, templates
            send(n)
        deliver_due(limit=10)

        one_send: list[str] = []
        one_delivery: list[str] = []

        def recorder(into: list[str]) -> Any:
            def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                into.append(sql)
                return execute(sql, params, many, context)
            return wrapper

        with connection.execute_wrapper(recorder(one_send)):
            send(10)
        with connection.execute_wrapper(recorder(one_delivery)):
            deliver_due(limit=1)
        deliver_due(limit=100)

        profile = cProfile.Profile()
        started, cpu = time.perf_counter(), time.process_time()
        if not args.no_profile:
            profile.enable()
        for n in range(100, 100 + args.sends):
            send(n)
        profile.disable()
        send_s, send_cpu = time.perf_counter() - started, time.process_time() - cpu
        if not args.no_profile:
            report("send", profile, args.top)

        profile = cProfile.Profile()
        started, cpu = time.perf_counter(), time.process_time()
        if not args.no_profile:
            profile.enable()
        delivered = 0
        while delivered < args.sends:
            handled = deliver_due(limit=args.sends)
            if not handled:
                break
            delivered += handled
        profile.disable()
        deliver_s, deliver_cpu = time.perf_counter() - started, time.process_time() - cpu
        if not args.no_profile:
            report("delivery", profile, args.top)

        print(f"database: {connection.vendor}")
        for label, captured in (("one send", one_send), ("one delivery", one_delivery)):
            kinds = Counter(sql.split()[0].upper() for sql in captured)
            print(f"{label}: {len(captured)} queries {dict(kinds)}")
            if args.show_sql:
                for sql in captured:
                    print(f"    {sql[:200]}")
        print(f"{args.sends} sends in {send_s:.2f} s = {args.sends / send_s:.1f}/s in process "
              f"({send_cpu / args.sends * 1000:.1f} ms CPU each, this process); {delivered} "
              f"deliveries in {deliver_s:.2f} s = {delivered / deliver_s:.1f}/s "
              f"({deliver_cpu / max(delivered, 1) * 1000:.1f} ms CPU each, SMTP sink included)")
    finally:
        sink.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        if db_name:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(args.database, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')  # type: ignore[arg-type]
    return 0


def report(label: str, profile: cProfile.Profile, top: int) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"=== {label}: by cumulative time ===")
    print("\n".join(out.getvalue().splitlines()[4:]))
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    print(f"=== {label}: by own time ===")
    print("\n".join(out.getvalue().splitlines()[4:]))


if __name__ == "__main__":
    sys.exit(main())
