from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    database_url: str = "postgresql://postgres@127.0.0.1:55432/sharaka_notifications"
    http_port: int = 8004

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    #: STARTTLS when the server offers it; set to false only for a local catcher.
    smtp_starttls: bool = False
    smtp_timeout_s: float = 10.0
    mail_from: str = "Sharaka <no-reply@sharaka.invalid>"

    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_backoff_initial_s: float = 1.0
    delivery_backoff_max_s: float = 600.0
    delivery_poll_interval_s: float = 1.0
    delivery_batch_size: int = 20
    #: How long a worker's claim on a batch keeps other replicas away from it. A worker that dies
    #: mid-batch delays its deliveries by at most this; a message is not started unless it can
    #: finish (``3 * smtp_timeout_s``) inside the lease.
    delivery_lease_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Self:
        if self.delivery_lease_s <= 3 * self.smtp_timeout_s:
            raise ValueError(
                "delivery_lease_s must exceed 3 * smtp_timeout_s (the longest one send may take)"
            )
        return self
