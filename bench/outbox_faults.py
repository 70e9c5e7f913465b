"""The delivery fault scenario at full scale: the relay's delays go up to 40 s and the workers
run with the default 30 s SMTP timeout, so the lease is the production 5 minutes.

    .venv/bin/python bench/outbox_faults.py [--notifications 300] [--timeout 30] [--seed N]
        [--max-delay 40] [--retry 60]

Runs in a fresh temporary data dir on SQLite (or on DATABASE_URL if set: use an empty
database). The scenario, the checks and the figures are those of
tests/notify/test_reliability.py (see tests/notify/faults.py); only the scale differs. It
takes about a quarter of an hour: a killed worker's row waits out the 5-minute lease.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, default=300)
    parser.add_argument("--timeout", type=int, default=30, help="SMTP timeout of the workers")
    parser.add_argument("--max-delay", type=float, default=40.0)
    parser.add_argument("--retry", type=int, default=60, help="first retry after, seconds")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="zegel-faults-"))
    os.environ["ZEGEL_DATA_DIR"] = str(workdir)
    os.environ["ZEGEL_KEYRING_FILE"] = ""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zegel.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from tests.notify.faults import Scenario, run
    from zegel.orgs.models import Organisation

    call_command("migrate", verbosity=0)
    org = Organisation.objects.create(name="Zorggroep Noord", domain="zorggroep-noord.nl")
    options = {"seed": args.seed} if args.seed is not None else {}
    scenario = Scenario(
        notifications=args.notifications, smtp_timeout=args.timeout,
        # Most answers within two seconds; some after more than the timeout, up to max-delay.
        short_delay=min(2.0, 0.4 * args.timeout),
        long_delay=(args.timeout + 1.0, max(args.max_delay, args.timeout + 2.0)),
        p_long=0.04, kill_every=(3.0, 5.0), pause_every=120.0, retry_seconds=args.retry,
        time_limit=3600.0, **options)
    outcome = run(scenario, org, workdir)
    unexplained = outcome.explain_duplicates()[3]
    arrived = len({d.to for d in outcome.deliveries})
    print(outcome.figures())
    print(f"arrived: {arrived} of {scenario.notifications}; recorded as sent: "
          f"{outcome.sent} ({outcome.sent_events} audit events); "
          f"workers' exit codes on SIGTERM: {outcome.exit_codes}")
    for line in outcome.duplicate_details():
        print("  duplicate:", line)
    for line in unexplained:
        print("  UNEXPLAINED:", line)
    ok = (arrived == outcome.sent == outcome.sent_events == scenario.notifications
          and not unexplained and outcome.exit_codes == [0] * scenario.workers)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
