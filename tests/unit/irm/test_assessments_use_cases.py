"""Assessment use cases and reactions against the in-memory unit of work: who may code, the
commitment known from plans' events, the pre-filled completion, replays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from services.irm.domain.assessments import Codes
from services.irm.domain.reviews import Researcher, Review
from services.irm.store.assessments import CommitmentFacts
from services.irm.use_cases import assessments as use_cases
from shared.auth import Principal
from shared.errors import Forbidden, NotFound, RuleViolation
from shared.events.irm import CommitmentAssessed, ReviewKind, ReviewState
from shared.events.plans import SelfAssessedCompletion
from shared.scales import Completion, ScaleVersion
from tests.fakes.irm import FakeIrmUnitOfWork

T0 = datetime(2025, 6, 1, tzinfo=UTC)
IRM = Principal("irm-staff", frozenset({"irm"}), frozenset())


def researcher_principal(subject: str) -> Principal:
    return Principal(subject, frozenset({"researcher"}), frozenset())


class World:
    def __init__(self, kind: ReviewKind = ReviewKind.ACTION_PLAN_REVIEW) -> None:
        self.uow = FakeIrmUnitOfWork()
        self.plan_id, self.member_id, self.commitment_id = uuid4(), uuid4(), uuid4()
        self.researcher = Researcher(uuid4(), "researcher-ke", "A. Researcher")
        self.review = Review(
            uuid4(), self.plan_id, self.member_id, kind, ReviewState.RESEARCHING,
            date(2025, 6, 1), date(2025, 10, 1), T0, researcher_id=self.researcher.id,
        )  # fmt: skip
        self.uow.reviews.by_id[self.review.id] = self.review
        self.uow.reviews.researchers[self.researcher.id] = self.researcher

    async def know(self, **kw: Any) -> None:
        await use_cases.learn_commitment(
            self.uow,
            CommitmentFacts(
                self.commitment_id, kw.get("plan_id", self.plan_id), self.member_id, 1, "Open contracting", T0
            ),
        )

    async def assess(self, who: Principal = IRM, **codes: Any) -> CommitmentAssessed:
        version = codes.pop("scale_version", None)
        return await use_cases.assess_commitment(
            self.uow,
            use_cases.AssessCommitment(self.review.id, self.commitment_id, Codes(**codes), who, version),
        )


async def test_irm_staff_code_a_commitment_and_the_event_is_published() -> None:
    w = World()
    await w.know()
    event = await w.assess(verifiable=True, potential_for_results="modest")
    assert w.uow.events == [event]
    assert (event.plan_id, event.member_id, event.commitment_id) == (w.plan_id, w.member_id, w.commitment_id)
    assert (event.product, event.review_id, event.scale_version) == (
        ReviewKind.ACTION_PLAN_REVIEW,
        w.review.id,
        "irm-2021",
    )
    stored = w.uow.assessments.by_key[(w.review.id, w.commitment_id)]
    assert (stored.verifiable, stored.assessed_by) == (True, "irm-staff")


async def test_the_assigned_researcher_codes_and_no_one_else() -> None:
    w = World()
    await w.know()
    event = await w.assess(researcher_principal("researcher-ke"), verifiable=True)
    assert event.verifiable is True
    for who in (
        researcher_principal("another-researcher"),
        Principal("staff", frozenset({"staff"}), frozenset()),
        Principal("gov", frozenset({"government"}), frozenset({w.member_id})),
    ):
        with pytest.raises(Forbidden):
            await w.assess(who, promising=True)
    assert len(w.uow.events) == 1


async def test_a_review_without_a_researcher_is_coded_by_irm_staff_only() -> None:
    w = World()
    w.review.researcher_id = None
    await w.know()
    with pytest.raises(Forbidden):
        await w.assess(researcher_principal("researcher-ke"), verifiable=True)
    assert (await w.assess(verifiable=True)).verifiable is True


async def test_unknown_review_or_commitment_is_not_found() -> None:
    w = World()
    with pytest.raises(NotFound, match="commitment"):
        await w.assess(verifiable=True)  # plans' events not seen yet
    await w.know(plan_id=uuid4())  # a commitment of another plan
    with pytest.raises(NotFound, match="commitment"):
        await w.assess(verifiable=True)
    with pytest.raises(NotFound, match="review"):
        await use_cases.assess_commitment(
            w.uow, use_cases.AssessCommitment(uuid4(), w.commitment_id, Codes(verifiable=True), IRM)
        )


async def test_not_verifiable_is_not_assessed_further_and_nothing_is_published() -> None:
    w = World()
    await w.know()
    await w.assess(verifiable=False)
    with pytest.raises(RuleViolation) as caught:
        await w.assess(potential_for_results="substantial")
    assert caught.value.rule == "assessment.not_verifiable"
    assert len(w.uow.events) == 1


async def test_a_published_review_is_not_coded() -> None:
    w = World()
    w.review.state = ReviewState.PUBLISHED
    await w.know()
    with pytest.raises(RuleViolation) as caught:
        await w.assess(verifiable=True)
    assert caught.value.rule == "assessment.review_closed"


async def test_the_scale_version_of_an_assessment_is_fixed() -> None:
    w = World(ReviewKind.RESULTS_REPORT)
    await w.know()
    legacy = await w.assess(scale_version=ScaleVersion.LEGACY_2014, specificity="high")
    assert legacy.scale_version == "legacy-2014"
    with pytest.raises(RuleViolation) as caught:
        await w.assess(scale_version=ScaleVersion.IRM_2021, completion="complete")
    assert (caught.value.rule, caught.value.field) == ("assessment.scale_version_fixed", "scale_version")


async def test_completion_is_prefilled_from_the_self_assessment_before_milestone_progress() -> None:
    w = World(ReviewKind.RESULTS_REPORT)
    await w.know()
    await use_cases.learn_progress(
        w.uow, use_cases.Progress(w.commitment_id, w.plan_id, w.member_id, 60.0, T0)
    )
    assert (
        await w.uow.assessments.commitment(w.commitment_id)
    ).prefilled_completion is Completion.SUBSTANTIAL  # type: ignore[union-attr]
    await use_cases.learn_self_assessment(
        w.uow,
        use_cases.SelfAssessment(
            w.commitment_id, w.plan_id, w.member_id, SelfAssessedCompletion.COMPLETED, T0
        ),
    )
    with pytest.raises(RuleViolation) as caught:
        await w.assess(completion="substantial")
    assert caught.value.rule == "assessment.completion_change_needs_reason"
    event = await w.assess(completion="substantial", completion_reason="The portal is not live")
    assert (event.completion, event.completion_reason) == ("substantial", "The portal is not live")
    stored = w.uow.assessments.by_key[(w.review.id, w.commitment_id)]
    assert stored.completion_prefilled is Completion.COMPLETE


async def test_replays_and_older_events_change_nothing() -> None:
    w = World()
    later = T0 + timedelta(days=3)
    facts = CommitmentFacts(w.commitment_id, w.plan_id, w.member_id, 2, "New title", later)
    await use_cases.learn_commitment(w.uow, facts)
    await use_cases.learn_commitment(w.uow, facts)
    await use_cases.learn_commitment(
        w.uow, CommitmentFacts(w.commitment_id, w.plan_id, w.member_id, 1, "Old", T0)
    )
    progress = use_cases.Progress(w.commitment_id, w.plan_id, w.member_id, 100.0, later)
    await use_cases.learn_progress(w.uow, progress)
    await use_cases.learn_progress(
        w.uow, use_cases.Progress(w.commitment_id, w.plan_id, w.member_id, 10.0, T0)
    )
    await use_cases.learn_progress(w.uow, progress)
    known = await w.uow.assessments.commitment(w.commitment_id)
    assert known is not None
    assert (known.number, known.title, known.progress) == (2, "New title", 100.0)
    assert known.prefilled_completion is Completion.COMPLETE


async def test_events_for_unknown_plans_are_kept() -> None:
    w = World()
    stranger_plan, commitment = uuid4(), uuid4()
    await use_cases.learn_progress(w.uow, use_cases.Progress(commitment, stranger_plan, w.member_id, 0.0, T0))
    await use_cases.learn_withdrawal(
        w.uow, CommitmentFacts(commitment, stranger_plan, w.member_id, 3, "Dropped", T0), "merged into 2"
    )
    known = await w.uow.assessments.commitment(commitment)
    assert known is not None
    assert (known.plan_id, known.withdrawn, known.number, known.prefilled_completion) == (
        stranger_plan, True, 3, Completion.NOT_STARTED,
    )  # fmt: skip
