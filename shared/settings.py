"""Settings common to every service, read only from the environment.

Each service subclasses :class:`ServiceSettings` with its own ``env_prefix`` (``PLANS_``,
``IRM_``...), so one pod's environment can never configure another service by accident.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHARAKA_", extra="ignore")

    service_name: str = "sharaka"
    #: asyncpg DSN of the service's own database; no other service reaches it.
    database_url: str = "postgresql://postgres@127.0.0.1:55432/sharaka"
    db_pool_min: int = 2
    db_pool_max: int = 10

    kafka_bootstrap: str = "127.0.0.1:9092"
    #: Prepended to every topic and consumer group name, so several environments (staging,
    #: previews, test runs) can share one cluster without seeing each other's events.
    kafka_topic_prefix: str = ""
    #: Partitions given to topics this service creates when they are missing (dev and tests;
    #: in Kubernetes topics are declared as KafkaTopic resources).
    kafka_default_partitions: int = 3
    #: Create missing topics at start-up (local use). Off where topics are declared as
    #: KafkaTopic resources and service users hold no Create ACL.
    kafka_create_topics: bool = True
    #: Client authentication, e.g. SASL_SSL + SCRAM-SHA-512 with a Strimzi KafkaUser's secret.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    #: CA bundle to trust for SSL/SASL_SSL (the cluster CA); the system store when unset.
    kafka_ssl_cafile: str | None = None

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    #: Requests with a larger body are refused with 413 before they are parsed.
    http_max_body_bytes: int = 1_000_000

    log_level: str = "INFO"

    # --- authentication -------------------------------------------------------------
    #: OIDC issuer and JWKS endpoint for production tokens (RS256/ES256).
    auth_issuer: str | None = None
    auth_audience: str = "sharaka"
    auth_jwks_url: str | None = None
    #: Shared HS256 key for local use only; documented in the README, never set in production.
    auth_dev_secret: SecretStr | None = None
    #: Longest accepted lifetime (``exp - iat``) of a token from the OIDC issuer. A stolen bearer
    #: token is good until it expires, so a token minted for a century must not be taken. Two
    #: hours holds the access tokens of common providers (Keycloak 5 min, Okta and Google 1 h,
    #: Entra ID 60 to 90 min) with room to spare; a provider configured longer fails loudly (401
    #: "token lifetime … exceeds …"), never silently. Dev tokens have their own bound
    #: (:data:`shared.auth.DEV_MAX_LIFETIME_S`).
    auth_max_token_lifetime_s: int = Field(default=7200, gt=0)
    #: Clock skew tolerated on ``exp``, ``nbf`` and ``iat`` (the provider's clock and ours).
    auth_clock_leeway_s: int = Field(default=30, ge=0, le=300)

    # --- outbox relay ----------------------------------------------------------------
    relay_batch_size: int = 500
    relay_poll_interval_s: float = 1.0
    relay_retention_days: int = 7
    #: After a wake-up, wait this long for more commits before publishing (latency vs. batching).
    #: Under load the rows that commit during a pass make the next one's batch anyway; 1 ms cut
    #: the p99 at 1,000 events/s from 893 to 126 ms and raised throughput (bench.e2e, 5 ms before).
    relay_coalesce_s: float = 0.001
    #: How long the Kafka producer holds a record for more to share its request. The relay hands
    #: it a whole pass before it awaits, so batches form without waiting: a linger only delays.
    kafka_linger_ms: int = Field(default=0, ge=0, le=1000)

    # --- consumers ------------------------------------------------------------------
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_backoff_initial_s: float = 0.2
    consumer_backoff_max_s: float = 5.0
    consumer_batch_max_records: int = 200
    consumer_batch_timeout_ms: int = 20
    #: How long shutdown waits for in-flight messages before giving up.
    graceful_timeout_s: float = 20.0

    @classmethod
    def of(cls, settings: ServiceSettings) -> Self:
        """A service's own settings from what the runtime holds: the same object when the service
        was started with them, else (a tool starting a spec with bare ServiceSettings) the common
        values plus this service's defaults."""
        if isinstance(settings, cls):
            return settings
        return cls.model_validate(settings.model_dump())
