"""The notifications service as the runtime sees it."""

from pathlib import Path

from services.notifications.api import router
from services.notifications.api_links import router as links_router
from services.notifications.api_people import router as people_router
from services.notifications.api_sms import router as sms_router
from services.notifications.reactions import reactions
from services.notifications.settings import NotificationsSettings
from services.notifications.store import PgNotificationsUnitOfWork
from services.notifications.worker import delivery_loop
from shared.events import topics
from shared.kafka import TopicSpec
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="notifications",
    title="Sharaka notifications",
    description="Tells participants by e-mail and SMS when something concerning them happens: what "
    "they follow, in their language, at once or in a digest; with consent, unsubscribe and erasure.",
    migrations=Path(__file__).parent / "migrations",
    routers=[router, people_router, links_router, sms_router],
    reactions=lambda rt: reactions(NotificationsSettings.of(rt.settings)),
    uow=PgNotificationsUnitOfWork,
    produces=[TopicSpec(topics.NOTIFICATIONS), TopicSpec(topics.ERASURES)],
    background=[delivery_loop],
)
