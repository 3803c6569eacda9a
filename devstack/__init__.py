"""Real local infrastructure (Kafka, PostgreSQL, an SMTP catcher) without Docker.

Used by the pytest fixtures and by ``python -m devstack up|down|status|clean``.
"""

from devstack.kafka import KafkaError, KafkaNode
from devstack.mail import MailCatcher, MailDaemon
from devstack.ports import free_port
from devstack.postgres import PostgresCluster, PostgresError

__all__ = [
    "KafkaError",
    "KafkaNode",
    "MailCatcher",
    "MailDaemon",
    "PostgresCluster",
    "PostgresError",
    "free_port",
]
