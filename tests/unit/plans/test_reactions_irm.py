"""Plans' reaction to the IRM's ReviewPublished: the report is filed in the plan's repository,
once, under the review's id."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from services.plans.reactions import reactions
from shared.events.base import Event
from shared.events.envelope import Received
from shared.events.irm import ReviewKind, ReviewPublished
from shared.events.plans import DocumentPublished, DocumentType, PlanState
from tests.fakes.plans import FakePlansUnitOfWork
from tests.unit.plans.conftest import plan

NOW = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)


async def _react(uow: FakePlansUnitOfWork, event: Event) -> None:
    received = Received(
        id=uuid4(), type=event.event_type, source="irm", subject=None, time=NOW, event=event, headers={}
    )
    await reactions().handlers[type(event)](uow, received)  # type: ignore[arg-type]


def _published(plan_id: object, member_id: object, review_id: object = None) -> ReviewPublished:
    return ReviewPublished.model_validate(
        {
            "review_id": review_id or uuid4(),
            "plan_id": plan_id,
            "member_id": member_id,
            "kind": ReviewKind.ACTION_PLAN_REVIEW,
            "title": "Action Plan Review 2025",
            "url": "https://irm.example.org/apr-2025.pdf",
            "published_on": date(2025, 9, 1),
            "published_at": NOW,
            "comments_received": 3,
        }
    )


async def test_a_published_review_is_filed_once_in_the_plans_repository() -> None:
    uow = FakePlansUnitOfWork()
    p = await plan(uow, PlanState.SUBMITTED)
    event = _published(p.id, p.member_id)

    await _react(uow, event)
    await _react(uow, event)  # a replay under a new event id

    [doc] = uow.documents.by_id.values()
    assert doc.id == event.review_id
    assert (doc.type, doc.title, doc.url, doc.published_on) == (
        DocumentType.IRM_REPORT, event.title, event.url, date(2025, 9, 1),
    )  # fmt: skip
    assert doc.created_by == "irm"
    assert [type(e) for e in uow.events] == [DocumentPublished]


async def test_an_unknown_plan_or_another_members_plan_files_nothing() -> None:
    uow = FakePlansUnitOfWork()
    p = await plan(uow, PlanState.SUBMITTED)
    await _react(uow, _published(uuid4(), p.member_id))
    await _react(uow, _published(p.id, uuid4()))
    assert uow.documents.by_id == {}
    assert uow.events == []
