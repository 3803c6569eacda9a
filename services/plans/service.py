"""The plans service as the runtime sees it."""

from pathlib import Path

from services.plans.api import router
from shared.events import topics
from shared.kafka import TopicSpec
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="plans",
    title="Sharaka plans",
    description="Members, action plans, commitments and milestones of the Open Government "
    "Partnership. Reads are public; writes need a bearer token.",
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    produces=[TopicSpec(topics.PLANS), TopicSpec(topics.PLANS_CONTACTS, compacted=True)],
)
