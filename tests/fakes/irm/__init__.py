"""The IRM's unit of work in memory, one module per part like the service's store."""

from __future__ import annotations

from tests.fakes.irm.assessments import FakeAssessments
from tests.fakes.irm.compliance import FakeComplianceStore
from tests.fakes.irm.findings import FakeFindings
from tests.fakes.irm.reviews import FakeReviews
from tests.fakes.uow import FakeUnitOfWork


class FakeIrmUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.reviews = FakeReviews()
        self.assessments = FakeAssessments()
        self.findings = FakeFindings()
        self.compliance = FakeComplianceStore(self.assessments)
