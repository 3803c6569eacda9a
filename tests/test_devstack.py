"""The devstack really starts Kafka, PostgreSQL and an SMTP catcher, and really stops them.

Every other test relies on these services, so a broken devstack should fail here, with a
message about the devstack, rather than as a timeout somewhere in a service test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from devstack import procs
from devstack.kafka import KafkaNode, metadata_broker_ports
from devstack.mail import MailCatcher
from devstack.ports import free_port, port_open
from devstack.postgres import PostgresCluster

DB = "devstack_check"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("devstack")


@pytest.fixture(scope="module")
def node(home: Path) -> Iterator[KafkaNode]:
    kafka = KafkaNode(home / "kafka")
    kafka.start()
    yield kafka
    kafka.stop()


@pytest.fixture(scope="module")
def cluster(home: Path) -> Iterator[PostgresCluster]:
    pg = PostgresCluster(home / "pg")
    pg.start()
    pg.create_database(DB)
    yield pg
    pg.remove_data()


@pytest.fixture(scope="module")
def catcher(home: Path) -> Iterator[MailCatcher]:
    smtp = MailCatcher(home / "mail")
    smtp.start()
    yield smtp
    smtp.stop()


async def _consume(bootstrap: str, topic: str, group: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        got: list[bytes] = []
        for _ in range(60):
            batch = await consumer.getmany(timeout_ms=500)
            got += [msg.value for msgs in batch.values() for msg in msgs]
            if len(got) >= count:
                break
        await consumer.commit()
        return got
    finally:
        await consumer.stop()


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> int:
    """Send in order to one partition and return how many partitions the topic has."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"same-key")
        return len(await producer.partitions_for(topic))
    finally:
        await producer.stop()


async def test_kafka_idempotent_produce_and_committed_consume(node: KafkaNode) -> None:
    topic = f"devstack-{uuid.uuid4().hex[:8]}"
    values = [f"event-{i}".encode() for i in range(5)]
    partitions = await _produce(node.bootstrap, topic, values)
    assert partitions == 3  # auto-created with the node's num.partitions

    assert await _consume(node.bootstrap, topic, "g1", len(values)) == values

    # The commit took: the same group starts after the last message, a new group from 0.
    consumer = AIOKafkaConsumer(bootstrap_servers=node.bootstrap, group_id="g1")
    await consumer.start()
    try:
        committed = [await consumer.committed(TopicPartition(topic, p)) for p in range(partitions)]
    finally:
        await consumer.stop()
    assert sum(c or 0 for c in committed) == len(values)
    assert await _consume(node.bootstrap, topic, "g2", len(values)) == values


def test_kafka_settings_and_state_are_shared(node: KafkaNode) -> None:
    assert node.pid is not None
    assert metadata_broker_ports("127.0.0.1", node.port) == [node.port]
    config = node.config_file.read_text()
    for line in ("num.partitions=3", "group.initial.rebalance.delay.ms=0"):
        assert line in config
    # Another handle on the same home (another process, in real use) finds the running node.
    again = KafkaNode(node.home)
    again.start()
    assert (again.bootstrap, again.pid) == (node.bootstrap, node.pid)


async def test_postgres_runs_sql(cluster: PostgresCluster) -> None:
    conn = await asyncpg.connect(cluster.dsn(DB))
    try:
        await conn.execute("CREATE TABLE t (id int PRIMARY KEY, name text)")
        await conn.execute("INSERT INTO t VALUES (1, 'sharaka')")
        assert await conn.fetchval("SELECT name FROM t WHERE id = 1") == "sharaka"
        assert await conn.fetchval("SHOW fsync") == "off"
        assert await conn.fetchval("SHOW max_connections") == "300"
        assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
    finally:
        await conn.close()


def test_postgres_database_helpers_are_idempotent(cluster: PostgresCluster) -> None:
    name = 'odd "name"'
    cluster.create_database(name)
    cluster.create_database(name)
    assert name in cluster.psql("SELECT datname FROM pg_database").splitlines()
    cluster.drop_database(name)
    cluster.drop_database(name)
    assert name not in cluster.psql("SELECT datname FROM pg_database").splitlines()
    again = PostgresCluster(cluster.home)
    again.start()
    assert (again.port, again.pid) == (cluster.port, cluster.pid)


async def test_mail_is_caught(catcher: MailCatcher) -> None:
    message = EmailMessage()
    message["From"] = "secretariat@example.org"
    message["To"] = "reviewer@example.org"
    message["Subject"] = "Plan submitted"
    message.set_content("A new action plan was submitted.")
    await aiosmtplib.send(
        message,
        hostname=catcher.host,
        port=catcher.port,
        recipients=["reviewer@example.org", "hidden@example.org"],
    )

    got = catcher.wait_for(lambda m: m["Subject"] == "Plan submitted", timeout=5)
    assert got.get_content().strip() == "A new action plan was submitted."
    assert got["X-Envelope-To"] == "reviewer@example.org, hidden@example.org"
    assert catcher.folder is not None
    assert len(list(catcher.folder.glob("*.eml"))) == 1
    with pytest.raises(TimeoutError):
        catcher.wait_for(lambda m: m["Subject"] == "never sent", timeout=0.2)


@pytest.mark.slow
async def test_kafka_survives_a_kill(node: KafkaNode) -> None:
    topic = f"devstack-kill-{uuid.uuid4().hex[:8]}"
    await _produce(node.bootstrap, topic, [b"before"])
    old_pid = node.pid
    assert old_pid is not None
    node.kill()
    assert node.pid is None
    assert not procs.pid_alive(old_pid)
    node.start()
    assert node.pid not in (None, old_pid)
    await _produce(node.bootstrap, topic, [b"after"])
    assert await _consume(node.bootstrap, topic, "g-kill", 2) == [b"before", b"after"]


def test_stop_leaves_nothing_running(node: KafkaNode, cluster: PostgresCluster, catcher: MailCatcher) -> None:
    pids = [node.pid, cluster.pid]
    assert None not in pids
    node.stop()
    cluster.stop()
    catcher.stop()
    for pid in pids:
        assert pid is not None
        assert not procs.pid_alive(pid)
    assert node.pid is None
    assert cluster.pid is None
    for port in (node.port, cluster.port, catcher.port):
        assert not port_open(port)
    # Stopping again is harmless (the fixtures will do it once more).
    node.stop()
    cluster.stop()
    catcher.stop()


def test_explicit_busy_port_is_refused(tmp_path: Path) -> None:
    catcher = MailCatcher(port=free_port())
    catcher.start()
    try:
        with pytest.raises(RuntimeError, match="already in use"):
            KafkaNode(tmp_path / "kafka", port=catcher.port).start()
        with pytest.raises(RuntimeError, match="already in use"):
            PostgresCluster(tmp_path / "pg", port=catcher.port).start()
    finally:
        catcher.stop()
