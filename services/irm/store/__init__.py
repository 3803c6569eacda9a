"""The IRM's repositories: the only write-side SQL of the service, one module per part.

``IrmUnitOfWork`` is the interface use cases see; :class:`PgIrmUnitOfWork` is the Postgres one
(the runtime builds it for HTTP requests, reactions and timers); unit tests use an in-memory one
(``tests/fakes/irm``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from services.irm.store.assessments import Assessments, PgAssessments
from services.irm.store.compliance import ComplianceStore, PgComplianceStore
from services.irm.store.findings import Findings, PgFindings
from services.irm.store.reviews import PgReviews, Reviews
from shared.uow import EventSink, UnitOfWork


class IrmUnitOfWork(EventSink, Protocol):
    # Read-only, so an in-memory repository satisfies it as well as the Postgres one.
    @property
    def reviews(self) -> Reviews: ...
    @property
    def assessments(self) -> Assessments: ...
    @property
    def findings(self) -> Findings: ...
    @property
    def compliance(self) -> ComplianceStore: ...


@dataclass
class PgIrmUnitOfWork(UnitOfWork):
    reviews: PgReviews = field(init=False)
    assessments: PgAssessments = field(init=False)
    findings: PgFindings = field(init=False)
    compliance: PgComplianceStore = field(init=False)

    def __post_init__(self) -> None:
        self.reviews = PgReviews(self)
        self.assessments = PgAssessments(self)
        self.findings = PgFindings(self)
        self.compliance = PgComplianceStore(self)


__all__ = ["IrmUnitOfWork", "PgIrmUnitOfWork"]
