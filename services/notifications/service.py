"""The notifications service as the runtime sees it."""

from pathlib import Path

from services.notifications.api import router
from services.notifications.reactions import reactions
from services.notifications.store import PgNotificationsUnitOfWork
from services.notifications.worker import delivery_loop
from shared.events import topics
from shared.kafka import TopicSpec
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="notifications",
    title="Sharaka notifications",
    description="Tells participants by e-mail (and SMS) when something concerning them happens.",
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    reactions=lambda _rt: reactions(),
    uow=PgNotificationsUnitOfWork,
    produces=[TopicSpec(topics.NOTIFICATIONS)],
    background=[delivery_loop],
)
