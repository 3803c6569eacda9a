"""The plans service as the runtime sees it."""

from pathlib import Path

from services.plans.api import router
from services.plans.api_data import body_limits
from services.plans.api_data import router as data_router
from services.plans.api_public import router as public_router
from services.plans.imports.jobs import import_jobs_keeper
from services.plans.reactions import reactions
from services.plans.store import PgPlansUnitOfWork
from services.plans.timers import timer_loop
from shared.events import topics
from shared.kafka import TopicSpec
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="plans",
    title="Sharaka plans",
    description="Members, action plans, commitments and milestones of the Open Government "
    "Partnership. Reads are public; writes need a bearer token.",
    migrations=Path(__file__).parent / "migrations",
    routers=[router, public_router, data_router],
    background=[timer_loop, import_jobs_keeper],
    body_limits=body_limits,
    reactions=lambda _rt: reactions(),
    uow=PgPlansUnitOfWork,
    produces=[TopicSpec(topics.PLANS), TopicSpec(topics.PLANS_CONTACTS, compacted=True)],
)
