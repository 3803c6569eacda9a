"""The consultation service as the runtime sees it."""

from pathlib import Path

from services.consultation.api import router
from services.consultation.handlers import HANDLERS
from shared.events import topics
from shared.kafka import TopicSpec
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="consultation",
    title="Sharaka consultation",
    description="Co-creation spaces, consultation rounds, comments and reasoned responses.",
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    handlers=lambda _rt: HANDLERS,
    produces=[TopicSpec(topics.CONSULTATION)],
)
