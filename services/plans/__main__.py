"""``python -m services.plans``: HTTP API and outbox relay in one process."""

from services.plans.service import SPEC
from services.plans.settings import PlansSettings
from shared.runtime import run

if __name__ == "__main__":
    run(SPEC, PlansSettings())
