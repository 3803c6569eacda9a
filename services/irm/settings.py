from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IrmSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IRM_", extra="ignore")

    service_name: str = "irm"
    database_url: str = "postgresql://postgres@127.0.0.1:55432/sharaka_irm"
    http_port: int = 8003
    #: OGP: the Action Plan Review is due four months after the plan's submission.
    apr_due_months: int = Field(default=4, ge=1, le=24)
