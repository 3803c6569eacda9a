"""Test fixtures: a real Kafka broker, a real Postgres and a real SMTP server, started once per
run by the test session itself and stopped at the end.

Isolation between tests: each test gets fresh databases and its own Kafka topic prefix, so
consumers of one test never see another test's events.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.kafka import KafkaNode
from devstack.mail import MailCatcher
from devstack.ports import free_port
from devstack.postgres import PostgresCluster
from devstack.sms import SmsCatcher
from shared.auth import DEV_SECRET, mint_token
from shared.runtime import Runtime, ServiceSpec
from shared.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaNode]:
    node = KafkaNode(tmp_path_factory.mktemp("kafka"))
    node.install()
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(tmp_path_factory.mktemp("pg"))
    cluster.start()
    yield cluster
    cluster.stop()
    cluster.remove_data()


@pytest.fixture(scope="session")
def mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailCatcher]:
    catcher = MailCatcher(tmp_path_factory.mktemp("mail"))
    catcher.start()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="session")
def sms() -> Iterator[SmsCatcher]:
    """The local SMS gateway (Twilio's API shape); ``sms.messages``, ``sms.wait_for``, ``sms.fail_next``."""
    catcher = SmsCatcher()
    catcher.start()
    yield catcher
    catcher.stop()


class Env:
    """Everything one test needs to configure services against the shared infrastructure."""

    def __init__(
        self, kafka: KafkaNode, pg: PostgresCluster, mail: MailCatcher, sms: SmsCatcher | None = None
    ) -> None:
        self.kafka = kafka
        self.pg = pg
        self.mail = mail
        self.sms = sms
        self.run_id = uuid.uuid4().hex[:10]
        self.prefix = f"t{self.run_id}."
        self._dbs: list[str] = []

    def database(self, service: str) -> str:
        name = f"{service}_{self.run_id}"
        if name not in self._dbs:
            self.pg.create_database(name)
            self._dbs.append(name)
        return self.pg.dsn(name)

    def settings(self, cls: type[ServiceSettings], service: str, **overrides: Any) -> Any:
        values: dict[str, Any] = {
            "database_url": self.database(service),
            "kafka_bootstrap": self.kafka.bootstrap,
            "kafka_topic_prefix": self.prefix,
            "http_port": free_port(),
            "auth_dev_secret": DEV_SECRET,
            "relay_poll_interval_s": 0.5,
            "consumer_backoff_initial_s": 0.05,
            "consumer_backoff_max_s": 0.5,
            "log_level": "WARNING",
        }
        if service == "notifications":
            values.update(
                smtp_host=self.mail.host,
                smtp_port=self.mail.port,
                delivery_backoff_initial_s=0.2,
                delivery_poll_interval_s=0.2,
            )
            if self.sms is not None:
                values.update(sms_provider="twilio", sms_url=self.sms.url)
        values.update(overrides)
        return cls(**values)

    def env_vars(self, prefix: str, service: str, **overrides: Any) -> dict[str, str]:
        """The same settings as environment variables, for a service run as a subprocess."""
        values: dict[str, Any] = {
            "DATABASE_URL": self.database(service),
            "KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "KAFKA_TOPIC_PREFIX": self.prefix,
            "HTTP_PORT": free_port(),
            "AUTH_DEV_SECRET": DEV_SECRET,
            "RELAY_POLL_INTERVAL_S": 0.5,
            "CONSUMER_BACKOFF_INITIAL_S": 0.05,
            "CONSUMER_BACKOFF_MAX_S": 0.5,
            "LOG_LEVEL": "INFO",
        }
        if service == "notifications":
            values.update(
                SMTP_HOST=self.mail.host,
                SMTP_PORT=self.mail.port,
                DELIVERY_BACKOFF_INITIAL_S=0.2,
                DELIVERY_POLL_INTERVAL_S=0.2,
            )
            if self.sms is not None:
                values.update(SMS_PROVIDER="twilio", SMS_URL=self.sms.url)
        values.update({k.upper(): v for k, v in overrides.items()})
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PLANS_", "IRM_", "CONSULTATION_", "NOTIFICATIONS_"))
        }
        env.update({f"{prefix}{k}": str(v) for k, v in values.items()})
        env["PYTHONPATH"] = str(REPO)
        return env

    def topic(self, name: str) -> str:
        return self.prefix + name

    def drop(self) -> None:
        for name in self._dbs:
            self.pg.drop_database(name)


@pytest.fixture
def env(kafka: KafkaNode, pg: PostgresCluster, mail: MailCatcher, sms: SmsCatcher) -> Iterator[Env]:
    e = Env(kafka, pg, mail, sms)
    yield e
    e.drop()


@asynccontextmanager
async def running(spec: ServiceSpec, settings: ServiceSettings) -> AsyncIterator[Runtime]:
    """A whole service in this process (HTTP app, relay, consumers) against the real parts."""
    rt = Runtime(spec, settings)
    rt.build_app()
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


def client(rt: Runtime) -> httpx.AsyncClient:
    """An HTTP client of a service running in this process (no socket: the ASGI app itself)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=rt.app), base_url="http://test")


@pytest.fixture
async def api(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The HTTP client of the service that the test module's own ``rt`` fixture runs."""
    async with client(rt) as c:
        yield c


def token(*roles: str, sub: str = "tester", member_ids: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_token(DEV_SECRET, sub, list(roles), member_ids=member_ids)}
