"""The IRM service as the runtime sees it."""

from pathlib import Path

from services.irm.api_assessments import router as assessments_router
from services.irm.api_compliance import router as compliance_router
from services.irm.api_findings import router as findings_router
from services.irm.api_reviews import router as reviews_router
from services.irm.reactions import reactions
from services.irm.settings import IrmSettings
from services.irm.store import PgIrmUnitOfWork
from services.irm.timers import timer_loop
from shared.events import topics
from shared.kafka import TopicSpec
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="irm",
    title="Sharaka IRM",
    description="Independent Reporting Mechanism: reviews of action plans and their deadlines.",
    migrations=Path(__file__).parent / "migrations",
    routers=[reviews_router, assessments_router, findings_router, compliance_router],
    reactions=lambda rt: reactions(IrmSettings.of(rt.settings)),
    uow=PgIrmUnitOfWork,
    produces=[TopicSpec(topics.IRM)],
    background=[timer_loop],
)
