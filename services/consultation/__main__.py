"""``python -m services.consultation``: HTTP API, consumers and outbox relay in one process."""

from services.consultation.service import SPEC
from services.consultation.settings import ConsultationSettings
from shared.runtime import run

if __name__ == "__main__":
    run(SPEC, ConsultationSettings())
