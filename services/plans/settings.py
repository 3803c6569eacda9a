from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PlansSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PLANS_", extra="ignore")

    service_name: str = "plans"
    database_url: str = "postgresql://postgres@127.0.0.1:55432/sharaka_plans"
    http_port: int = 8001
