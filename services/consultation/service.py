"""The consultation service as the runtime sees it."""

from pathlib import Path

from services.consultation.api import router
from services.consultation.api_forum import router as forum_router
from services.consultation.api_inputs import router as inputs_router
from services.consultation.api_responses import router as responses_router
from services.consultation.reactions import reactions
from services.consultation.settings import ConsultationSettings
from services.consultation.store import PgConsultationUnitOfWork
from services.consultation.timers import timer_loop
from shared.events import topics
from shared.kafka import TopicSpec
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="consultation",
    title="Sharaka consultation",
    description="The multi-stakeholder forum, consultation rounds, submissions and comments, "
    "moderation, reasoned responses and participation reports. Reads are public; writes need a "
    "bearer token.",
    migrations=Path(__file__).parent / "migrations",
    # Routes are matched in this order, one after another: comments, the busiest route by far,
    # come first (no path of one router matches another's, and the documents sort their paths).
    routers=[inputs_router, router, responses_router, forum_router],
    background=[timer_loop],
    reactions=lambda rt: reactions(ConsultationSettings.of(rt.settings)),
    uow=PgConsultationUnitOfWork,
    # The private contacts topic is compacted: erasing an author is a tombstone on its input's key.
    # ErasureRequested's topic is created with the consumer's topics (Runtime.start).
    produces=[TopicSpec(topics.CONSULTATION), TopicSpec(topics.CONSULTATION_CONTACTS, compacted=True)],
)
