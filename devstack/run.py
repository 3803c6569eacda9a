"""``python -m devstack run``: the whole platform on this machine, in one command.

Starts PostgreSQL (one database per service), the mail and SMS catchers and Kafka, then the four
services as separate processes, waits until each is ready and prints where everything is. Ctrl-C
(or SIGTERM) stops the services gracefully, then the infrastructure.

Kafka runs secured as in the cluster (:mod:`devstack.acls`): SASL/PLAIN, one user per service
with the Strimzi KafkaUsers' ACLs, topics created up front by the admin. Each service connects
as its own user through its ordinary ``<SERVICE>_KAFKA_*`` settings, so a service that wrote
another's topic would be refused here too, not first in production.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass

from devstack import acls, procs
from devstack.kafka import KafkaNode
from devstack.mail import MailDaemon
from devstack.postgres import PostgresCluster
from devstack.sms import DEV_TOKEN, DEV_WEBHOOK_SECRET, SmsDaemon

LOCAL = procs.REPO_ROOT / ".local"
LOG_DIR = LOCAL / "logs"
#: The documented local key (see the README); `make run` is for laptops, never for production.
DEV_SECRET = "sharaka-local-development-key-not-for-production"  # noqa: S105


@dataclass(frozen=True)
class Service:
    name: str
    port: int

    @property
    def prefix(self) -> str:
        return self.name.upper() + "_"

    @property
    def database(self) -> str:
        return f"sharaka_{self.name}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


SERVICES = (
    Service("plans", 8001),
    Service("consultation", 8002),
    Service("irm", 8003),
    Service("notifications", 8004),
)


def service_env(
    svc: Service, kafka: KafkaNode, pg: PostgresCluster, mail: MailDaemon, sms: SmsDaemon
) -> dict[str, str]:
    env = dict(os.environ)
    values = {
        "DATABASE_URL": pg.dsn(svc.database),
        "KAFKA_BOOTSTRAP": kafka.bootstrap,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(svc.port),
        "AUTH_DEV_SECRET": os.environ.get("SHARAKA_AUTH_DEV_SECRET", DEV_SECRET),
        # The service's own Kafka user (SASL) and no topic creation, when the node is secured.
        **kafka.service_env(acls.user(svc.name)),
    }
    if svc.name == "notifications":
        values |= {"SMTP_HOST": mail.host, "SMTP_PORT": str(mail.port)}
        # Texts go to the local catcher in Twilio's API shape; it checks the same token and secret.
        values |= {
            "SMS_PROVIDER": "twilio",
            "SMS_URL": sms.url,
            "SMS_AUTH_TOKEN": DEV_TOKEN,
            "SMS_WEBHOOK_SECRET": DEV_WEBHOOK_SECRET,
        }
    for key, value in values.items():
        env.setdefault(svc.prefix + key, value)
    env["PYTHONPATH"] = str(procs.REPO_ROOT)
    return env


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as resp:  # noqa: S310 (loopback)
            return bool(resp.status == 200)
    except OSError:
        return False


def main(kafka: KafkaNode, pg: PostgresCluster, mail: MailDaemon, sms: SmsDaemon) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    started = time.monotonic()
    print("starting PostgreSQL ...", flush=True)
    pg.start()
    for svc in SERVICES:
        pg.create_database(svc.database)
    print("starting the mail catcher ...", flush=True)
    mail.start()
    print("starting the SMS catcher ...", flush=True)
    sms.start()
    print("starting Kafka (the first run fetches its jars) ...", flush=True)
    kafka.start(timeout=180)
    if kafka.secured:
        print("creating the topics and the Kafka users' ACLs ...", flush=True)
        asyncio.run(acls.provision(kafka))

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for svc in SERVICES:
            log = (LOG_DIR / f"{svc.name}.log").open("ab")
            children[svc.name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{svc.name}"],
                cwd=procs.REPO_ROOT, env=service_env(svc, kafka, pg, mail, sms), stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            log.close()
        pending = list(SERVICES)
        deadline = time.monotonic() + 120
        while pending and not stop.is_set():
            for svc in list(pending):
                if children[svc.name].poll() is not None:
                    print(procs.tail(LOG_DIR / f"{svc.name}.log"), file=sys.stderr)
                    raise SystemExit(f"{svc.name} exited during start-up (log above)")
                if _ready(svc.url):
                    pending.remove(svc)
            if time.monotonic() > deadline:
                raise SystemExit(f"not ready after 120 s: {', '.join(s.name for s in pending)}")
            stop.wait(0.3)
        if not stop.is_set():
            _banner(kafka, pg, mail, sms, time.monotonic() - started)
        while not stop.is_set():
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"{name} exited with {child.returncode}; see {LOG_DIR / (name + '.log')}")
                    stop.set()
            stop.wait(1.0)
    finally:
        print("\nstopping the services ...", flush=True)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for name, child in children.items():
            try:
                child.wait(timeout=40)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in time; killing it", file=sys.stderr)
                child.kill()
                child.wait()
        print("stopping Kafka, PostgreSQL and the mail and SMS catchers ...", flush=True)
        kafka.stop()
        mail.stop()
        sms.stop()
        pg.stop()
        print("all stopped")
    return 0


def _banner(kafka: KafkaNode, pg: PostgresCluster, mail: MailDaemon, sms: SmsDaemon, elapsed: float) -> None:
    secured = f" (SASL/PLAIN; users, passwords: {kafka.home / 'credentials.json'})" if kafka.secured else ""
    lines = [
        f"Sharaka is running (started in {elapsed:.0f}s). Ctrl-C stops everything.",
        "",
        f"  {'service':<14} {'API':<24} OpenAPI page",
    ]
    for svc in SERVICES:
        lines.append(f"  {svc.name:<14} {svc.url:<24} {svc.url}/docs")
    lines += [
        "",
        f"  Kafka          {kafka.bootstrap}{secured}",
        f"  PostgreSQL     {pg.dsn('sharaka_plans').rsplit('/', 1)[0]}/sharaka_<service>",
        f"  Mail (SMTP)    {mail.host}:{mail.port}; caught mail: {mail.folder}/*.eml",
        f"  SMS gateway    {sms.url} (Twilio's API); caught texts: {sms.folder}/*.json",
        f"                 and GET {sms.url}/messages",
        f"  Service logs   {LOG_DIR}/<service>.log",
        "",
        "  A staff token:  uv run python -m shared.auth mint --role staff --sub me",
    ]
    print("\n".join(lines), flush=True)
