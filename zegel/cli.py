"""The `zegel` command for operators: `zegel <verb> [options]`.

A verb that creates a secret prints only that secret on stdout, so scripts can capture it;
everything else goes to stderr. Errors exit non-zero with one clear line.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEMO_DOMAIN = "demo.zegel.test"
DEMO_SENDER = f"sender@{DEMO_DOMAIN}"
DEMO_ADMIN = f"admin@{DEMO_DOMAIN}"
# The demo runs on 127.0.0.1 only, with captured mail; its password is printed on purpose.
DEMO_PASSWORD = "demo-zegel-2026"  # noqa: S105


class CommandError(Exception):
    pass


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zegel.settings")
    import django

    django.setup()


def cmd_migrate(args: argparse.Namespace) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    say("Database is up to date.")


def cmd_createorg(args: argparse.Namespace) -> None:
    from zegel.orgs.models import Organisation

    domain = args.domain.strip().lower()
    if not domain or "." not in domain or any(c in domain for c in "/@ \r\n"):
        raise CommandError(f"not a domain name: {args.domain!r}")
    if Organisation.objects.filter(domain=domain).exists():
        raise CommandError(f"an organisation with domain {domain} exists already")
    org = Organisation.objects.create(name=args.name.strip(), domain=domain)
    say(f"Created organisation {org.name} ({org.domain}).")


def cmd_createuser(args: argparse.Namespace) -> None:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from zegel.orgs.models import Organisation, User

    org = Organisation.objects.filter(domain=args.org.lower()).first()
    if org is None:
        raise CommandError(f"no organisation with domain {args.org}")
    email = args.email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise CommandError(f"not an e-mail address: {args.email!r}") from None
    if User.objects.filter(email=email).exists():
        raise CommandError(f"a user {email} exists already")
    password = None
    if args.password_file:
        try:
            password = Path(args.password_file).read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            raise CommandError(f"cannot read {args.password_file}: {exc.strerror}") from None
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
    User.objects.create_user(email, org, password, name=args.name or "", is_admin=args.admin)
    say(f"Created user {email} in {org.name}" + (" (admin)." if args.admin else "."))
    if not password:
        say("The user has no password yet: give one with --password-file.")


def cmd_token_create(args: argparse.Namespace) -> None:
    from zegel.audit.log import record
    from zegel.orgs.models import ApiToken, User

    user = User.objects.filter(email=args.email.strip().lower()).first()
    if user is None:
        raise CommandError(f"no user {args.email}")
    token, secret = ApiToken.issue(user, label=args.label or "")
    record("token.created", organisation=user.organisation, actor_type="system",
           object_type="api_token", object_id=token.pk, data={"user": user.email})
    print(secret, flush=True)


def cmd_keys_rotate(args: argparse.Namespace) -> None:
    from zegel.keystore.rotation import rotate_keys

    new_id, count = rotate_keys()
    say(f"New key {new_id} is current; {count} data keys re-wrapped.")


def cmd_audit_verify(args: argparse.Namespace) -> None:
    from zegel.audit.log import ChainBroken, verify_chain

    try:
        head = verify_chain()
    except ChainBroken as exc:
        raise CommandError(f"audit chain broken: {exc}") from None
    say("Audit chain intact. Newest hash (keep a copy elsewhere to detect removal later):")
    print(head, flush=True)


def cmd_worker(args: argparse.Namespace) -> None:
    from zegel.jobs.worker import run_worker

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        say("Worker stopping after the current item.")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    say("Worker running.")
    run_worker(stop, poll_seconds=args.poll)


def _serve(addr: str, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    from zegel.wsgi import application

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": addr, "workers": workers, "worker_class": "gthread", "threads": 8,
                # Large uploads stream for minutes; gthread keeps the worker heartbeat alive.
                "timeout": 120, "graceful_timeout": 30, "accesslog": None,
                "limit_request_line": 8190, "forwarded_allow_ips": os.environ.get(
                    "ZEGEL_FORWARDED_ALLOW_IPS", "127.0.0.1"),
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    Server().run()


def cmd_serve(args: argparse.Namespace) -> None:
    _serve(args.addr, args.workers)


def ensure_demo() -> None:
    from zegel.orgs.models import Organisation, User

    org, created = Organisation.objects.get_or_create(
        domain=DEMO_DOMAIN,
        defaults={"name": "Zorggroep Demo",
                  "explanation": "Zorggroep Demo stuurt persoonlijke gegevens alleen via een "
                                 "beveiligde verbinding. Zo beschermen wij uw privacy.",
                  "info_url": "http://127.0.0.1:8000/"},
    )
    if created:
        say(f"Created demo organisation {org.name}.")
    for email, name, admin in ((DEMO_SENDER, "Dr. Anna de Vries", False),
                               (DEMO_ADMIN, "Demo admin", True)):
        if not User.objects.filter(email=email).exists():
            User.objects.create_user(email, org, DEMO_PASSWORD, name=name, is_admin=admin,
                                     phone="+31612345678")


def cmd_demo(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    ensure_demo()
    base = settings.BASE_URL
    if base != f"http://{args.addr}":
        say(f"(Listening on {args.addr}; links in e-mails use ZEGEL_BASE_URL={base}.)")
    say("")
    say("Zegel demo is starting.")
    say(f"  Log in:        {base}/login   as {DEMO_SENDER} / {DEMO_PASSWORD}")
    say(f"  Captured mail and SMS: {base}/dev/outbox")
    say("  Stop with Ctrl-C.")
    say("")
    worker = subprocess.Popen([sys.executable, "-m", "zegel.cli", "worker"])
    try:
        _serve(args.addr, 2)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zegel", description="Zegel secure e-mail: operator "
                                     "commands.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name: str, func: Callable[[argparse.Namespace], None],
             help: str) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=help, description=help)
        sub.set_defaults(func=func)
        return sub

    p = verb("migrate", cmd_migrate, "Create or upgrade the database tables.")
    p.add_argument("-v", "--verbose", action="store_true")
    p = verb("serve", cmd_serve, "Run the web server (gunicorn, static files by WhiteNoise).")
    p.add_argument("addr", nargs="?", default="127.0.0.1:8000", help="ADDR:PORT to listen on")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p = verb("worker", cmd_worker, "Deliver notifications and run background jobs.")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between polls when idle")
    p = verb("demo", cmd_demo, "Create the demo organisation and run web and worker together.")
    p.add_argument("addr", nargs="?", default="127.0.0.1:8000")
    p = verb("createorg", cmd_createorg, "Create an organisation.")
    p.add_argument("--name", required=True)
    p.add_argument("--domain", required=True)
    p = verb("createuser", cmd_createuser, "Create a staff user in an organisation.")
    p.add_argument("--org", required=True, help="the organisation's domain")
    p.add_argument("--email", required=True)
    p.add_argument("--name", default="")
    p.add_argument("--password-file", help="file holding the password (never on the command "
                   "line, where other users can see it)")
    p.add_argument("--admin", action="store_true", help="make the user an organisation admin")
    token = verbs.add_parser("token", help="API tokens.", description="API tokens.")
    token_verbs = token.add_subparsers(dest="token_verb", metavar="VERB", required=True)
    p = token_verbs.add_parser("create", help="Create an API token; prints only the token.",
                               description="Create an API token; prints only the token.")
    p.add_argument("email")
    p.add_argument("--label", default="")
    p.set_defaults(func=cmd_token_create)
    keys = verbs.add_parser("keys", help="Key management.", description="Key management.")
    key_verbs = keys.add_subparsers(dest="keys_verb", metavar="VERB", required=True)
    p = key_verbs.add_parser("rotate", help="Add a new key-encryption key and re-wrap all data "
                             "keys with it.", description="Add a new key-encryption key and "
                             "re-wrap all data keys with it. Blobs are not re-encrypted.")
    p.set_defaults(func=cmd_keys_rotate)
    audit = verbs.add_parser("audit", help="Audit log.", description="Audit log.")
    audit_verbs = audit.add_subparsers(dest="audit_verb", metavar="VERB", required=True)
    p = audit_verbs.add_parser("verify", help="Check the hash chain of the audit log.",
                               description="Check the hash chain of the audit log.")
    p.set_defaults(func=cmd_audit_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # data files (database, WAL, blobs, keys, SMS file) are the owner's only
    args = build_parser().parse_args(argv)
    if args.verb == "demo":
        os.environ.setdefault("ZEGEL_DEMO", "true")
    try:
        _setup()
        args.func(args)
    except CommandError as exc:
        say(f"zegel: error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from zegel.config import ConfigError

        if isinstance(exc, ConfigError):
            say(f"zegel: configuration error: {exc}")
            return 2
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
