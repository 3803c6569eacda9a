from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

#: For laptops and tests; a deployment that verifies tokens with OIDC must set its own.
DEV_LINK_SECRET = "dev-only-link-secret-change-me-before-use"  # noqa: S105


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
    #: How many SMTP connections the worker keeps open side by side.
    smtp_connections: int = Field(default=8, ge=1, le=64)

    #: Where people reach this service from outside (unsubscribe, confirmation and preference
    #: links in messages; the SMS gateway's callbacks).
    public_url: str = "http://127.0.0.1:8004"
    #: The public consultation API, for links to a round's reasoned responses in messages.
    consultation_url: str = "http://127.0.0.1:8002"
    #: Signs the links in messages (unsubscribe, confirm) so they work without signing in.
    link_secret: SecretStr = SecretStr(DEV_LINK_SECRET)
    #: How long a confirmation link stays valid.
    confirm_link_ttl_s: int = Field(default=7 * 24 * 3600, gt=0)

    #: ``twilio`` (its Messages API shape), ``webhook`` (a generic JSON POST) or ``none``.
    sms_provider: str = Field(default="none", pattern="^(twilio|webhook|none)$")
    #: The gateway's base URL (for ``twilio``, the API root; for ``webhook``, the full URL).
    sms_url: str = "http://127.0.0.1:8025"
    sms_account_sid: str = "AC00000000000000000000000000000000"
    sms_auth_token: SecretStr = SecretStr("dev-only-sms-token")
    sms_from: str = "+15005550006"
    #: Signs the generic webhook's requests and verifies its callbacks (HMAC-SHA256).
    sms_webhook_secret: SecretStr = SecretStr("dev-only-sms-webhook-secret")
    #: Messages per second the provider allows this account.
    sms_rate_per_s: float = Field(default=50.0, gt=0)
    sms_timeout_s: float = Field(default=10.0, gt=0)

    delivery_max_attempts: int = Field(default=8, ge=1)
    delivery_backoff_initial_s: float = 1.0
    delivery_backoff_max_s: float = 600.0
    delivery_poll_interval_s: float = 1.0
    delivery_batch_size: int = Field(default=200, ge=1)
    #: Messages sent side by side and recorded together; also the most one crash can repeat.
    delivery_chunk_size: int = Field(default=32, ge=1)
    #: How often the worker looks for digests due (people's local mornings).
    digest_poll_interval_s: float = Field(default=30.0, gt=0)
    #: How long a worker's claim on a batch keeps other replicas away from it. A worker that dies
    #: mid-batch delays its deliveries by at most this; a message is not started unless it can
    #: finish (``3 * smtp_timeout_s``) inside the lease.
    delivery_lease_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _own_link_secret_in_production(self) -> Self:
        """Anyone who knows the documented key could unsubscribe or confirm anyone."""
        if self.auth_jwks_url and self.link_secret.get_secret_value() == DEV_LINK_SECRET:
            raise ValueError("set NOTIFICATIONS_LINK_SECRET: the development key is public")
        return self

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Self:
        if self.delivery_lease_s <= 3 * max(self.smtp_timeout_s, self.sms_timeout_s):
            raise ValueError(
                "delivery_lease_s must exceed 3 * max(smtp_timeout_s, sms_timeout_s) "
                "(the longest one send may take)"
            )
        return self
