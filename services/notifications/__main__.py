"""``python -m services.notifications``: HTTP API, consumers, delivery worker and relay."""

from services.notifications.service import SPEC
from services.notifications.settings import NotificationsSettings
from shared.runtime import run

if __name__ == "__main__":
    run(SPEC, NotificationsSettings())
