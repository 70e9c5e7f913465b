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
from datetime import date, datetime
from pathlib import Path
from typing import Any

DEMO_DOMAIN = "demo.zegel.test"
DEMO_SENDER = f"sender@{DEMO_DOMAIN}"
DEMO_ADMIN = f"admin@{DEMO_DOMAIN}"
# The demo runs on 127.0.0.1 only, with captured mail; its password is printed on purpose.
DEMO_PASSWORD = "lantaarn-plein-2026"  # noqa: S105
SERVERS = ("serve", "worker", "demo")
# The demo organisation once pointed its information link at the demo's front page.
_OLD_DEMO_INFO_URL = "http://127.0.0.1:8000/"


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


def _read_password_file(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8").rstrip("\n")
    except OSError as exc:
        raise CommandError(f"cannot read {name}: {exc.strerror}") from None


def cmd_createorg(args: argparse.Namespace) -> None:
    from zegel.orgs.actions import create_organisation

    org = create_organisation(name=args.name, domain=args.domain)
    say(f"Created organisation {org.name} ({org.domain}).")


def _print_settings(org: Any) -> None:
    from zegel.orgs.actions import organisation_settings

    values = organisation_settings(org)
    width = max(len(name) for name in values) + 2
    for name, value in values.items():
        if isinstance(value, bool):
            shown = "yes" if value else "no"
        elif isinstance(value, list):
            shown = ",".join(value)
        elif isinstance(value, str) and "\n" in value:
            shown = value.replace("\n", "\n" + " " * (width + 2))
        else:
            shown = str(value) if value != "" else "-"
        say(f"  {name + ':':<{width}}{shown}")
    say(f"  {'genuine-message page:':<{width}}{org.genuine_url}")


def cmd_org_set(args: argparse.Namespace) -> None:
    from zegel.orgs.actions import SETTING_NAMES, update_organisation

    # Every check is update_organisation's, the same as the settings page's.
    given = {key: getattr(args, key) for key in SETTING_NAMES if getattr(args, key) is not None}
    if not given:
        raise CommandError("name at least one setting to change, such as --contact-email "
                           "(zegel org set --help lists them)")
    org = update_organisation(args.domain, **given)
    say(f"Updated {org.name} ({org.domain}): {', '.join(sorted(given))}.")
    _print_settings(org)


def cmd_org_show(args: argparse.Namespace) -> None:
    from zegel.orgs.models import Organisation

    org = Organisation.objects.filter(domain=args.domain.strip().lower()).first()
    if org is None:
        raise CommandError(f"no organisation with domain {args.domain.strip()}")
    say(f"{org.name} ({org.domain}):")
    _print_settings(org)


def _yes_no(text: str) -> bool:
    answer = text.strip().lower()
    if answer in ("yes", "true", "on", "1"):
        return True
    if answer in ("no", "false", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"yes or no, not {text!r}")


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number, not {text!r}") from None


def _days(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of days, not {text!r}") from None


def cmd_createuser(args: argparse.Namespace) -> None:
    from zegel.orgs.actions import create_user

    password = _read_password_file(args.password_file) if args.password_file else None
    role = "admin" if args.admin else args.role
    user = create_user(organisation_domain=args.org, email=args.email, name=args.name or "",
                       password=password, role=role)
    say(f"Created user {user.email} in {user.organisation.name} ({user.get_role_display()}).")
    if not password:
        say("The user has no password yet: give one with "
            "zegel user reset-password EMAIL --password-file F.")


def cmd_user_deactivate(args: argparse.Namespace) -> None:
    from zegel.orgs.actions import deactivate_user

    user = deactivate_user(args.email)
    say(f"Deactivated {user.email}: log-in refused, sessions ended, API tokens revoked.")


def cmd_user_reactivate(args: argparse.Namespace) -> None:
    from zegel.orgs.actions import reactivate_user

    user = reactivate_user(args.email)
    say(f"Reactivated {user.email}: log-in works again; revoked API tokens stay revoked.")


def cmd_user_reset_password(args: argparse.Namespace) -> None:
    from zegel.orgs.actions import generate_password, reset_password

    generated = not args.password_file
    password = generate_password() if generated else _read_password_file(args.password_file)
    user = reset_password(args.email, password)
    say(f"New password set for {user.email}; the user's sessions have ended.")
    if generated:
        # Only a password the command made up is printed: the operator has no other copy.
        print(password, flush=True)


def cmd_user_reset_2fa(args: argparse.Namespace) -> None:
    from zegel.orgs.models import User
    from zegel.orgs.twofactor.policy import reset_second_factors

    user = User.objects.select_related("organisation").filter(
        email=args.email.strip().lower()).first()
    if user is None:
        raise CommandError(f"No user {args.email}.")
    outcome = reset_second_factors(user, actor=None)
    say(f"Removed the second factors of {user.email}: "
        f"{'an authenticator app' if outcome.totp else 'no authenticator app'}, "
        f"{outcome.passkeys} passkey(s), {outcome.recovery_codes} recovery code(s). "
        "They log in with their password alone until they set up a new one"
        + (" (their organisation requires one: they can only do that)."
           if user.organisation.two_factor_required else "."))


def cmd_org_two_factor(args: argparse.Namespace) -> None:
    from zegel.orgs.models import Organisation
    from zegel.orgs.twofactor import TwoFactorError
    from zegel.orgs.twofactor.policy import set_policy

    org = Organisation.objects.filter(domain=args.domain.strip().lower()).first()
    if org is None:
        raise CommandError(f"No organisation with domain {args.domain}.")
    try:
        set_policy(org, required=args.policy == "required", grace_days=args.grace_days,
                   actor=None)
    except TwoFactorError as exc:
        raise CommandError(exc.message) from None
    if org.two_factor_required:
        say(f"{org.name} now requires a second factor; each user has {args.grace_days} days "
            "from their account's creation to set one up, then they can only do that.")
    else:
        say(f"{org.name} no longer requires a second factor (users who have one keep it).")


def _expiry(text: str) -> datetime:
    """`90d`, `12h` from now, or a date (`2027-03-01`, the start of that day) or ISO time."""
    from datetime import timedelta

    from django.utils import timezone

    raw = text.strip().lower()
    units = {"d": timedelta(days=1), "h": timedelta(hours=1)}
    if raw[:-1].isdigit() and raw[-1:] in units:
        return timezone.now() + int(raw[:-1]) * units[raw[-1]]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"--expires takes 90d, 12h or a date such as 2027-03-01, "
                           f"not {text!r}") from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def cmd_token_create(args: argparse.Namespace) -> None:
    from zegel.orgs.actions import issue_api_token

    expires_at = _expiry(args.expires) if args.expires else None
    scopes = tuple(args.scope.split(","))
    print(issue_api_token(args.email, label=args.label or "", scopes=scopes,
                          expires_at=expires_at), flush=True)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def cmd_token_list(args: argparse.Namespace) -> None:
    from zegel.orgs.actions import list_api_tokens

    tokens = list_api_tokens(args.email)
    if not tokens:
        say(f"{args.email.strip().lower()} has no API tokens.")
        return
    rows = [("ID", "PREFIX", "CREATED", "LAST USED", "REVOKED", "EXPIRES", "SCOPE", "LABEL")]
    rows += [(str(t.id), t.prefix + "...", _when(t.created_at), _when(t.last_used_at),
              _when(t.revoked_at), _when(t.expires_at), t.scopes, t.label) for t in tokens]
    widths = [max(len(row[i]) for row in rows) for i in range(7)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[7]]).rstrip(), flush=True)


def cmd_token_revoke(args: argparse.Namespace) -> None:
    from zegel.orgs.actions import revoke_api_token

    token = revoke_api_token(args.token)
    say(f"Revoked API token {token.pk} ({token.prefix}...) of {token.user.email}.")


def cmd_keys_rotate(args: argparse.Namespace) -> None:
    from zegel.crypto.keyring import KeyringError
    from zegel.keystore.rotation import rotate_keys

    try:
        new_id, count = rotate_keys()
    except KeyringError as exc:
        raise CommandError(str(exc)) from None
    say(f"New key {new_id} is current; {count} data keys re-wrapped.")


def cmd_keys_retire(args: argparse.Namespace) -> None:
    from zegel.keystore.rotation import RetireRefused, retire_kek

    try:
        retire_kek(args.kek)
    except RetireRefused as exc:
        raise CommandError(str(exc)) from None
    say(f"Key {args.kek} removed from the key file.")


def cmd_audit_verify(args: argparse.Namespace) -> None:
    from zegel.audit.log import HASH_RE, AnchorNotFound, ChainBroken, verify_log

    anchors = tuple(a.strip().lower() for a in args.anchor)
    for anchor in anchors:
        if not HASH_RE.fullmatch(anchor):
            raise CommandError(f"not an audit hash (64 hex digits): {anchor!r}")
    try:
        state = verify_log(anchors)
    except ChainBroken as exc:
        raise CommandError(f"audit chain broken: {exc}") from None
    except AnchorNotFound as exc:
        raise CommandError(str(exc)) from None
    legacy = f" ({state.legacy_events} unkeyed from before the upgrade)" if state.legacy_events \
        else ""
    say(f"Audit chain intact: {state.events} events{legacy}"
        + (f", and it contains the {len(anchors)} anchor(s) given." if anchors else "."))
    say("Newest hash (keep a copy elsewhere to detect removal later):")
    print(state.head, flush=True)


def cmd_audit_anchor(args: argparse.Namespace) -> None:
    from zegel.audit.log import ChainBroken, current_head

    try:
        head = current_head()
    except ChainBroken as exc:
        raise CommandError(str(exc)) from None
    say("The audit log's head; keep it outside this server, check it with "
        "`zegel audit verify --anchor HASH`:")
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


def _serve(addr: str, workers: int, threads: int = 8) -> None:
    from gunicorn.app.base import BaseApplication

    from zegel.wsgi import application

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": addr, "workers": workers, "worker_class": "gthread", "threads": threads,
                # Large uploads stream for minutes; gthread keeps the worker heartbeat alive.
                "timeout": 120, "graceful_timeout": 30, "accesslog": None,
                "limit_request_line": 8190, "forwarded_allow_ips": os.environ.get(
                    "ZEGEL_FORWARDED_ALLOW_IPS", "127.0.0.1"),
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    # Connections are kept between requests now: none may be open in the master when gunicorn
    # forks, or two workers would share one socket to the database.
    from django.db import connections

    connections.close_all()
    Server().run()


def cmd_serve(args: argparse.Namespace) -> None:
    if args.workers < 1 or args.threads < 1:
        raise CommandError("--workers and --threads must be at least 1")
    _serve(args.addr, args.workers, args.threads)


def ensure_demo() -> None:
    from zegel.orgs.actions import create_organisation, create_user
    from zegel.orgs.models import Organisation, User

    if not Organisation.objects.filter(domain=DEMO_DOMAIN).exists():
        org = create_organisation(
            name="Zorggroep Demo", domain=DEMO_DOMAIN,
            explanation="Zorggroep Demo stuurt persoonlijke gegevens alleen via een "
                        "beveiligde verbinding. Zo beschermen wij uw privacy.",
        )
        Organisation.objects.filter(pk=org.pk).update(
            contact_email=f"zorg@{DEMO_DOMAIN}", contact_phone="088 123 45 67")
        say(f"Created demo organisation {org.name}.")
    # What the communication kit fills in (zegel.orgs.kit), also for a demo made before it.
    Organisation.objects.filter(domain=DEMO_DOMAIN, kit_start_date__isnull=True).update(
        kit_start_date=date(2027, 3, 1))
    Organisation.objects.filter(domain=DEMO_DOMAIN, contact_change_procedure="").update(
        contact_change_procedure="Geef uw nieuwe mobiele nummer of e-mailadres door aan de "
                                 "receptie of bel 088 123 45 67; wij vragen u om u te "
                                 "legitimeren.")
    Organisation.objects.filter(domain=DEMO_DOMAIN, nta7516_record_url="").update(
        nta7516_record_url=f"https://{DEMO_DOMAIN}/nta7516")
    # Without a page of its own, its notifications link to Zegel's genuine-message page.
    Organisation.objects.filter(domain=DEMO_DOMAIN, info_url=_OLD_DEMO_INFO_URL).update(info_url="")
    for email, name, admin in ((DEMO_SENDER, "Dr. Anna de Vries", False),
                               (DEMO_ADMIN, "Demo admin", True)):
        if not User.objects.filter(email=email).exists():
            create_user(organisation_domain=DEMO_DOMAIN, email=email, name=name,
                        password=DEMO_PASSWORD, role="admin" if admin else "member",
                        phone="+31612345678")


def _listen_address(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"ADDR:PORT such as 127.0.0.1:8100, not {text!r}")
    return text


def demo_base_url(addr: str) -> str:
    """The demo's links follow the port it listens on; from all addresses, through loopback."""
    host, _sep, port = addr.rpartition(":")
    if host in ("0.0.0.0", "[::]", "::"):  # noqa: S104 - a listening address is read, not bound
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def cmd_demo(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from zegel.orgs.models import Organisation

    call_command("migrate", interactive=False, verbosity=0)
    ensure_demo()
    base = settings.BASE_URL
    if base != f"http://{args.addr}":
        say(f"(Listening on {args.addr}; links in e-mails use ZEGEL_BASE_URL={base}.)")
    say("")
    say("Zegel demo is starting.")
    say(f"  Log in:        {base}/login   as {DEMO_SENDER} / {DEMO_PASSWORD}")
    say(f"  Captured mail and SMS: {base}/dev/outbox")
    say(f"  How recipients recognise a genuine message: "
        f"{Organisation.objects.get(domain=DEMO_DOMAIN).genuine_url}")
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

    def group(name: str, help: str) -> Any:
        parent = verbs.add_parser(name, help=help, description=help)
        return parent.add_subparsers(dest=f"{name}_verb", metavar="VERB", required=True)

    def sub(parent: Any, name: str, func: Callable[[argparse.Namespace], None],
            help: str) -> argparse.ArgumentParser:
        child: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help)
        child.set_defaults(func=func)
        return child

    p = verb("migrate", cmd_migrate, "Create or upgrade the database tables.")
    p.add_argument("-v", "--verbose", action="store_true")
    p = verb("serve", cmd_serve, "Run the web server (gunicorn, static files by WhiteNoise).")
    p.add_argument("addr", nargs="?", default="127.0.0.1:8000", help="ADDR:PORT to listen on")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--threads", type=int, default=8, help="threads per worker process, each "
                   "holding at most one database connection (default 8)")
    p = verb("worker", cmd_worker, "Deliver notifications and run background jobs.")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between polls when idle")
    p = verb("demo", cmd_demo, "Create the demo organisation and run web and worker together; "
             "links use this address unless ZEGEL_BASE_URL says otherwise.")
    p.add_argument("addr", nargs="?", default="127.0.0.1:8000", type=_listen_address,
                   help="ADDR:PORT to listen on (default 127.0.0.1:8000)")
    p = verb("createorg", cmd_createorg, "Create an organisation.")
    p.add_argument("--name", required=True)
    p.add_argument("--domain", required=True)
    org = group("org", "Organisations: what recipients see of them, and their policies.")
    p = sub(org, "set", cmd_org_set, "Change an organisation's settings (the same as its "
            "admins' Organisation page, checked the same way); a setting left out stays as it "
            "is, an empty text clears it.")
    p.add_argument("--domain", required=True, help="the organisation's domain")
    p.add_argument("--name", help="the organisation's name, shown to recipients")
    p.add_argument("--contact-email", help="where recipients can write to the organisation")
    p.add_argument("--contact-phone", help="where recipients can call, e.g. '088 123 45 67'")
    p.add_argument("--info-url", help="the organisation's own page on recognising a genuine "
                   "message; empty for Zegel's page for it")
    p.add_argument("--brand-colour", help="#rrggbb with a contrast of at least 4.5:1 against "
                   "white, e.g. '#154273'")
    p.add_argument("--explanation-nl", help="the organisation's own words in every "
                   "notification, in Dutch (plain text, at most 2000 characters)")
    p.add_argument("--explanation-en", help="the same in English")
    p.add_argument("--button-text", help="the notification's button text (at most 60 "
                   "characters); empty for Zegel's own ('View the message')")
    p.add_argument("--default-expiry-days", type=_days, help="days a new message stays "
                   "available unless its sender chooses otherwise; 0 for no end date")
    p.add_argument("--max-expiry-days", type=_days, help="the longest end date a sender may "
                   "choose, in days; 0 for no maximum")
    p.add_argument("--default-method", help="the verification method a new recipient starts "
                   "with on the compose page: sms, access_code or email")
    p.add_argument("--email-code-allowed", type=_yes_no, metavar="yes|no", help="whether "
                   "senders may choose the e-mail code")
    p.add_argument("--portal-idle-minutes", type=_whole, help="how long a verified recipient "
                   "stays signed in on the portal without activity: 2 to 120, or 0 for the "
                   "installation's")
    p.add_argument("--max-attachment-mb", type=_whole, help="the largest attachment in MB; 0 "
                   "for the installation's ZEGEL_MAX_UPLOAD_SIZE")
    p.add_argument("--notification-sender", metavar="platform|on_behalf", help="whom "
                   "notifications name as their sender: the organisation ('Zorggroep Noord via "
                   "Zegel') or the staff member who sends ('Anna de Vries via Zorggroep "
                   "Noord', with Reply-To their address)")
    p.add_argument("--remember-browser-days", type=_whole, help="days a recipient's browser "
                   "opens new messages without a code after they tick 'remember this "
                   "browser': 0 (off) to 90")
    p.add_argument("--retention-days", type=_whole, help="days after a conversation's last "
                   "message when its content is destroyed for everyone; 0 for off")
    p.add_argument("--languages", metavar="nl,en", help="the languages recipients are "
                   "offered, codes separated by commas (Zegel ships nl and en)")
    p.add_argument("--default-language", metavar="nl|en", help="the language of a "
                   "recipient's notification and portal unless they choose another offered one")
    p = sub(org, "show", cmd_org_show, "Print an organisation's settings.")
    p.add_argument("--domain", required=True, help="the organisation's domain")
    p = sub(org, "two-factor", cmd_org_two_factor, "Require a second factor at log-in for "
            "every user of the organisation, or stop requiring it.")
    p.add_argument("domain")
    p.add_argument("policy", choices=("required", "optional"))
    p.add_argument("--grace-days", type=int, default=14, help="days from each account's "
                   "creation to set one up before the user can do nothing else (default 14)")
    p = verb("createuser", cmd_createuser, "Create a staff user in an organisation.")
    p.add_argument("--org", required=True, help="the organisation's domain")
    p.add_argument("--email", required=True)
    p.add_argument("--name", default="")
    p.add_argument("--password-file", help="file holding the password (never on the command "
                   "line, where other users can see it)")
    p.add_argument("--role", default="member",
                   choices=("admin", "policy_admin", "auditor", "member"),
                   help="what the user may do (docs/admin.md); default member")
    p.add_argument("--admin", action="store_true", help="the same as --role admin")
    user = group("user", "Staff users: deactivate, reactivate, reset a password or two-factor "
                 "login.")
    p = sub(user, "deactivate", cmd_user_deactivate, "Stop a user at once: refuse log-in, end "
            "their sessions and revoke their API tokens.")
    p.add_argument("email")
    p = sub(user, "reactivate", cmd_user_reactivate, "Allow a deactivated user to log in again "
            "(revoked API tokens stay revoked).")
    p.add_argument("email")
    p = sub(user, "reset-password", cmd_user_reset_password, "Set a new password and end the "
            "user's sessions; without --password-file, prints a generated password on stdout.")
    p.add_argument("email")
    p.add_argument("--password-file", help="file holding the new password (never on the "
                   "command line, where other users can see it)")
    p = sub(user, "reset-2fa", cmd_user_reset_2fa, "Remove a user's second factors "
            "(authenticator app, passkeys, recovery codes), for someone who lost them.")
    p.add_argument("email")
    token = group("token", "API tokens.")
    p = sub(token, "create", cmd_token_create, "Create an API token; prints only the token.")
    p.add_argument("email")
    p.add_argument("--label", default="")
    p.add_argument("--scope", default="send,read", help="what the token may do, comma-"
                   "separated: send, read, admin (admin users only); default send,read")
    p.add_argument("--expires", help="when the token stops working: 90d, 12h or a date "
                   "such as 2027-03-01; default never")
    p = sub(token, "list", cmd_token_list, "List a user's API tokens (never the tokens "
            "themselves).")
    p.add_argument("email")
    p = sub(token, "revoke", cmd_token_revoke, "Revoke an API token, given as the token itself "
            "or the ID that 'token list' shows.")
    p.add_argument("token", metavar="TOKEN_OR_ID")
    keys = group("keys", "Key management.")
    p = sub(keys, "rotate", cmd_keys_rotate, "Add a new key-encryption key and re-wrap all data "
            "keys with it. Blobs are not re-encrypted.")
    p = sub(keys, "retire", cmd_keys_retire, "Remove an old key-encryption key from the key "
            "file; refused while any data key still needs it, and for the current key.")
    p.add_argument("kek", metavar="KEK", help="the key id, e.g. k1")
    audit = verbs.add_parser("audit", help="Audit log.", description="Audit log.")
    audit_verbs = audit.add_subparsers(dest="audit_verb", metavar="VERB", required=True)
    p = audit_verbs.add_parser("verify", help="Check the hash chain of the audit log.",
                               description="Check the hash chain of the audit log, in one "
                               "consistent snapshot; prints the newest hash.")
    p.add_argument("--anchor", action="append", default=[], metavar="HASH",
                   help="a hash printed earlier by `zegel audit anchor` that the log must "
                   "still contain (may be given more than once)")
    p.set_defaults(func=cmd_audit_verify)
    p = audit_verbs.add_parser("anchor", help="Print the audit log's current head hash.",
                               description="Print only the audit log's current head hash on "
                               "stdout, to keep outside the server as an anchor.")
    p.set_defaults(func=cmd_audit_anchor)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # data files (database, WAL, blobs, keys, SMS file) are the owner's only
    args = build_parser().parse_args(argv)
    if args.verb == "demo":
        os.environ.setdefault("ZEGEL_DEMO", "true")
        os.environ.setdefault("ZEGEL_BASE_URL", demo_base_url(args.addr))
    try:
        _setup()
        from django.conf import settings
        from django.utils import translation

        from zegel.orgs.actions import Refused

        # The command speaks English, so what the actions say is English too; the servers
        # keep the site's language for what they render.
        language = "en" if args.verb not in SERVERS else settings.LANGUAGE_CODE
        try:
            with translation.override(language):
                args.func(args)
        except Refused as exc:
            raise CommandError(exc.message) from None
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
