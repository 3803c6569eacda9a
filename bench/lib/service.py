"""A service under test run as its own process: its environment, and the settings it reads."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

from bench.lib import REPO

S = TypeVar("S")

#: Set for the services whatever the environment says: they point at this run's infrastructure.
INFRA_KEYS = ("DATABASE_URL", "KAFKA_BOOTSTRAP", "KAFKA_TOPIC_PREFIX", "HTTP_PORT", "HTTP_HOST")


def tunables(service: str) -> dict[str, str]:
    """The caller's overrides of a service's settings (``IRM_CONSUMER_BATCH_MAX_RECORDS=500``...),
    infrastructure keys excepted."""
    prefix = service.upper() + "_"
    return {
        k: v
        for k, v in sorted(os.environ.items())
        if k.startswith(prefix) and k.removeprefix(prefix) not in INFRA_KEYS
    }


def service_env(
    service: str, infra: Mapping[str, str], defaults: Mapping[str, str], *, overrides: bool = True
) -> dict[str, str]:
    """The environment of ``python -m services.<service>``: this run's ``infra`` (database, Kafka,
    port), over the caller's :func:`tunables` (left out when ``overrides`` is false), over the
    bench's ``defaults``; keys without the ``<SERVICE>_`` prefix."""
    prefix = service.upper() + "_"
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefix)}
    env.update({prefix + k: v for k, v in defaults.items()})
    if overrides:
        env.update(tunables(service))
    env.update({prefix + k: v for k, v in infra.items()})
    env["PYTHONPATH"] = str(REPO)
    return env


@contextlib.contextmanager
def _patched_environ(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def picked(settings: Any, *names: str) -> dict[str, Any]:
    """The named settings that this version of the service has."""
    return {n: getattr(settings, n) for n in names if hasattr(settings, n)}


def settings_of(cls: type[S], env: Mapping[str, str]) -> S:
    """The settings a service process started with ``env`` reads (defaults plus overrides)."""
    with _patched_environ(env):
        return cls()
