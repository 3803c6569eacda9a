"""The IRM service as the runtime sees it."""

from pathlib import Path

from services.irm.api import router
from services.irm.handlers import make_handlers
from services.irm.settings import IrmSettings
from shared.events import topics
from shared.kafka import TopicSpec
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="irm",
    title="Sharaka IRM",
    description="Independent Reporting Mechanism: reviews of action plans and their deadlines.",
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    handlers=lambda rt: make_handlers(IrmSettings.of(rt.settings).apr_due_months),
    produces=[TopicSpec(topics.IRM)],
)
