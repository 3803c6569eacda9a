from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ConsultationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONSULTATION_", extra="ignore")

    service_name: str = "consultation"
    database_url: str = "postgresql://postgres@127.0.0.1:55432/sharaka_consultation"
    http_port: int = 8002
