"""What every command needs: the service's own settings and the Kafka options built from them."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import IO, Any

from pydantic import SecretStr

from shared.kafka import client_options
from shared.runtime import Runtime, ServiceSpec
from shared.settings import ServiceSettings

SERVICES = ("plans", "consultation", "irm", "notifications")

_SETTINGS_CLASSES = {
    "plans": "PlansSettings",
    "consultation": "ConsultationSettings",
    "irm": "IrmSettings",
    "notifications": "NotificationsSettings",
}


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    cls: type[ServiceSettings] = getattr(module, _SETTINGS_CLASSES[service])
    return cls


def service_spec(service: str) -> ServiceSpec:
    spec: ServiceSpec = importlib.import_module(f"services.{service}.service").SPEC
    return spec


@dataclass(frozen=True)
class OpsContext:
    service: str
    settings: ServiceSettings

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap

    @property
    def prefix(self) -> str:
        return self.settings.kafka_topic_prefix

    @property
    def group(self) -> str:
        """The service's own consumer group."""
        return f"{self.prefix}sharaka-{self.service}"

    @property
    def replay_group(self) -> str:
        return f"{self.prefix}sharaka-{self.service}-dlq-replay"

    def kafka(self, **extra: Any) -> dict[str, Any]:
        """aiokafka keyword arguments: bootstrap plus TLS/SASL exactly as the service's pods use."""
        return {**client_options(self.settings), "bootstrap_servers": self.bootstrap, **extra}

    def topic(self, name: str) -> str:
        return self.prefix + name

    def unprefixed(self, topic: str) -> str:
        return topic[len(self.prefix) :] if self.prefix and topic.startswith(self.prefix) else topic

    def consumed_topics(self) -> list[str]:
        """The (prefixed) topics the service's consumer group reads."""
        spec = service_spec(self.service)
        if spec.reactions is None:
            return []
        made = spec.reactions(Runtime(spec, self.settings))
        handlers = made.handlers if hasattr(made, "handlers") else made
        # Tombstones (no topic of their own) arrive on the topics of the contracts they forget.
        return sorted({self.topic(event.topic) for event in handlers if event.topic})


def read_password(source: str, stdin: IO[str] | None = None) -> str:
    """``-`` is standard input (piped from the Secret), anything else a file (a mounted Secret)."""
    if source == "-":
        return (stdin or sys.stdin).readline().strip()
    with open(source, encoding="utf-8") as f:
        return f.read().strip()


def load_context(
    service: str,
    *,
    bootstrap: str | None = None,
    topic_prefix: str | None = None,
    database_url: str | None = None,
    kafka_user: str | None = None,
    kafka_password: str | None = None,
) -> OpsContext:
    """The service's settings from its environment, with the command line's overrides."""
    settings = settings_class(service)()
    update: dict[str, Any] = {}
    if bootstrap:
        update["kafka_bootstrap"] = bootstrap
    if topic_prefix is not None:
        update["kafka_topic_prefix"] = topic_prefix
    if database_url:
        update["database_url"] = database_url
    if kafka_user:
        update["kafka_sasl_username"] = kafka_user
    if kafka_password is not None:
        update["kafka_sasl_password"] = SecretStr(kafka_password)
    if update:
        settings = settings.model_copy(update=update)
    return OpsContext(service, settings)
