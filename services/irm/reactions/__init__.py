"""The IRM's reactions to other services' events, registered by type, one module per part."""

from __future__ import annotations

from services.irm.reactions import assessments, compliance, findings, reviews
from services.irm.settings import IrmSettings
from services.irm.store import IrmUnitOfWork
from shared.reactions import Reactions


def reactions(settings: IrmSettings) -> Reactions[IrmUnitOfWork]:
    on = Reactions[IrmUnitOfWork]()
    reviews.register(on, settings)
    assessments.register(on, settings)
    findings.register(on, settings)
    compliance.register(on, settings)
    return on
