"""``python -m devstack run|up|down|status|clean|install|mail|sms``: the developer's local stack.

Everything lives under ``<repo>/.local`` on fixed ports (Kafka 9092, PostgreSQL 55432,
SMTP 1025, the SMS gateway 8025; override with SHARAKA_KAFKA_PORT, SHARAKA_PG_PORT,
SHARAKA_SMTP_PORT, SHARAKA_SMS_PORT) so that services started by hand find it without
configuration.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from devstack import procs
from devstack.kafka import KafkaNode
from devstack.mail import MailCatcher, MailDaemon
from devstack.postgres import PostgresCluster
from devstack.sms import SmsCatcher, SmsDaemon

LOCAL = procs.REPO_ROOT / ".local"
KAFKA_HOME = LOCAL / "kafka"
PG_HOME = LOCAL / "postgres"
MAIL_HOME = LOCAL / "mail"
SMS_HOME = LOCAL / "sms"
DEFAULT_DATABASES = ["sharaka"]


def _env_port(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a port number, not {value!r}") from None


def _kafka(configured: bool, *, secured: bool = False) -> KafkaNode:
    # `up` insists on the configured port; the other commands follow the recorded one. `run`
    # secures the node as the cluster is (devstack.acls); `up` leaves it open for hand use.
    port = _env_port("SHARAKA_KAFKA_PORT", 9092) if configured else None
    if secured:
        from devstack import acls

        return KafkaNode(KAFKA_HOME, port=port, users=acls.users())
    return KafkaNode(KAFKA_HOME, port=port)


def _postgres(configured: bool) -> PostgresCluster:
    port = _env_port("SHARAKA_PG_PORT", 55432) if configured else None
    return PostgresCluster(PG_HOME, port=port)


def _mail(configured: bool) -> MailDaemon:
    port = _env_port("SHARAKA_SMTP_PORT", 1025) if configured else None
    return MailDaemon(MAIL_HOME, port=port)


def _sms(configured: bool) -> SmsDaemon:
    # 8025 is the notifications service's default sms_url, so it finds the catcher unconfigured.
    port = _env_port("SHARAKA_SMS_PORT", 8025) if configured else None
    return SmsDaemon(SMS_HOME, port=port)


def cmd_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    kafka = _kafka(configured=True)
    postgres = _postgres(configured=True)
    print("starting PostgreSQL ...", flush=True)
    postgres.start()
    for name in args.database or DEFAULT_DATABASES:
        postgres.create_database(name)
    if not args.no_mail:
        print("starting the mail catcher ...", flush=True)
        mail = _mail(configured=True)
        mail.start()
    if not args.no_sms:
        print("starting the SMS catcher ...", flush=True)
        sms = _sms(configured=True)
        sms.start()
    print("starting Kafka (the first run fetches its jars) ...", flush=True)
    kafka.start(timeout=args.timeout)
    print(f"up in {time.monotonic() - started:.1f}s")
    print(f"SHARAKA_KAFKA_BOOTSTRAP={kafka.bootstrap}")
    for name in args.database or DEFAULT_DATABASES:
        key = "SHARAKA_DATABASE_URL" if name == "sharaka" else f"DATABASE_URL_{name.upper()}"
        print(f"{key}={postgres.dsn(name)}")
    if not args.no_mail:
        print(f"SHARAKA_SMTP_HOST={mail.host}")
        print(f"SHARAKA_SMTP_PORT={mail.port}")
        print(f"# caught mail is written to {mail.folder}")
    if not args.no_sms:
        print("NOTIFICATIONS_SMS_PROVIDER=twilio")
        print(f"NOTIFICATIONS_SMS_URL={sms.url}")
        print(f"# caught texts: {sms.url}/messages and {sms.folder}")
    return 0


def cmd_install(_args: argparse.Namespace) -> int:
    """Fetch the Kafka jars ahead of time, e.g. as a separate, timed CI step."""
    started = time.monotonic()
    _kafka(configured=False).install()
    print(f"Kafka jars ready in {time.monotonic() - started:.1f}s")
    return 0


def cmd_down(_args: argparse.Namespace) -> int:
    failures = 0
    for name, stop in (
        ("mail", _mail(configured=False).stop),
        ("sms", _sms(configured=False).stop),
        ("kafka", _kafka(configured=False).stop),
        ("postgres", _postgres(configured=False).stop),
    ):
        try:
            stop()
            print(f"{name}: stopped")
        except Exception as exc:  # keep stopping the others
            failures += 1
            print(f"{name}: could not stop: {exc}", file=sys.stderr)
    return 1 if failures else 0


def cmd_status(_args: argparse.Namespace) -> int:
    """Exit 0 when everything runs and 3 otherwise, as ``pg_ctl status`` does."""
    kafka, postgres, mail, sms = _kafka(False), _postgres(False), _mail(False), _sms(False)
    rows = [
        ("kafka", kafka.pid, kafka.bootstrap, str(kafka.log_file)),
        ("postgres", postgres.pid, postgres.dsn(), str(postgres.log_file)),
        ("mail", mail.pid, f"smtp://{mail.host}:{mail.port}", str(mail.folder)),
        ("sms", sms.pid, sms.url, str(sms.folder)),
    ]
    all_up = True
    for name, pid, where, path in rows:
        state = f"running (pid {pid})" if pid else "stopped"
        all_up = all_up and pid is not None
        print(f"{name:9} {state:22} {where}  [{path}]")
    return 0 if all_up else 3


def cmd_clean(args: argparse.Namespace) -> int:
    status = cmd_down(args)
    if status:
        return status
    _kafka(False).remove_data()
    _postgres(False).remove_data()
    shutil.rmtree(MAIL_HOME / "messages", ignore_errors=True)
    shutil.rmtree(SMS_HOME / "messages", ignore_errors=True)
    print(f"removed Kafka, PostgreSQL, mail and SMS data under {LOCAL} (the Kafka jars stay)")
    return 0


def cmd_mail(args: argparse.Namespace) -> int:
    """Run a catcher in the foreground until SIGINT/SIGTERM (what MailDaemon launches)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    catcher = MailCatcher(folder=args.folder, port=args.port, keep=False)
    catcher.start()
    print(f"catching mail on {catcher.host}:{catcher.port} into {args.folder}", flush=True)
    try:
        stop.wait()
    finally:
        catcher.stop()
    return 0


def cmd_sms(args: argparse.Namespace) -> int:
    """Run an SMS gateway catcher in the foreground until SIGINT/SIGTERM (what SmsDaemon launches)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    catcher = SmsCatcher(folder=args.folder, port=args.port)
    catcher.start()
    print(f"catching SMS on {catcher.url} (see {catcher.url}/messages) into {args.folder}", flush=True)
    try:
        stop.wait()
    finally:
        catcher.stop()
    return 0


def cmd_run(_args: argparse.Namespace) -> int:
    from devstack import run

    return run.main(
        _kafka(configured=True, secured=True),
        _postgres(configured=True),
        _mail(configured=True),
        _sms(configured=True),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start Kafka, PostgreSQL and the mail and SMS catchers")
    up.add_argument(
        "--database",
        action="append",
        metavar="NAME",
        help="database to create (repeatable; default: sharaka)",
    )
    up.add_argument("--no-mail", action="store_true", help="do not start the mail catcher")
    up.add_argument("--no-sms", action="store_true", help="do not start the SMS catcher")
    up.add_argument("--timeout", type=float, default=120, help="seconds to wait for Kafka")
    up.set_defaults(func=cmd_up)
    sub.add_parser("run", help="start everything and the four services; Ctrl-C stops it all").set_defaults(
        func=cmd_run
    )
    sub.add_parser("install", help="fetch the Kafka jars (done by up if needed)").set_defaults(
        func=cmd_install
    )
    sub.add_parser("down", help="stop everything (idempotent)").set_defaults(func=cmd_down)
    sub.add_parser("status", help="show what runs; exit 3 if not all").set_defaults(func=cmd_status)
    sub.add_parser("clean", help="down, then delete data (keeps the jars)").set_defaults(func=cmd_clean)
    mail = sub.add_parser("mail", help="run an SMTP catcher in the foreground")
    mail.add_argument("--port", type=int, default=_env_port("SHARAKA_SMTP_PORT", 1025), help="SMTP port")
    mail.add_argument("--folder", type=Path, default=MAIL_HOME / "messages", help="where .eml files go")
    mail.set_defaults(func=cmd_mail)
    sms = sub.add_parser("sms", help="run an SMS gateway catcher (Twilio API shape) in the foreground")
    sms.add_argument("--port", type=int, default=_env_port("SHARAKA_SMS_PORT", 8025), help="HTTP port")
    sms.add_argument("--folder", type=Path, default=SMS_HOME / "messages", help="where .json files go")
    sms.set_defaults(func=cmd_sms)
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
