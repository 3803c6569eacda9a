"""A throwaway Kafka broker and PostgreSQL cluster in a folder, for benchmarks and one-off runs:
started together, and stopped and deleted together whatever happens."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from devstack.kafka import KafkaNode
from devstack.postgres import PostgresCluster


@contextlib.contextmanager
def infrastructure(home: Path) -> Iterator[tuple[KafkaNode, PostgresCluster]]:
    kafka = KafkaNode(home / "kafka")
    pg = PostgresCluster(home / "pg")
    try:
        kafka.install()
        kafka.start()
        pg.start()
        yield kafka, pg
    finally:
        with contextlib.suppress(Exception):
            kafka.stop()
        with contextlib.suppress(Exception):
            pg.remove_data()
