"""``python -m services.irm``: HTTP API, consumers and outbox relay in one process."""

from services.irm.service import SPEC
from services.irm.settings import IrmSettings
from shared.runtime import run

if __name__ == "__main__":
    run(SPEC, IrmSettings())
